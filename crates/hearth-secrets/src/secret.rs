//! [`SecretString`]: a secret value that never prints, and random generation of new values.

use std::fmt;

use age::secrecy::{self, ExposeSecret};
use rand::Rng;
use rand::distr::Alphanumeric;

/// The longest value [`Store::ensure`](crate::Store::ensure) and
/// [`Store::rotate`](crate::Store::rotate) generate.
pub const MAX_GENERATED_LENGTH: usize = 4096;

/// A secret value. `Debug` and `Display` print `***`; the memory is wiped when it is dropped.
///
/// Read the value with [`SecretString::expose`], only where it is handed to what needs it.
#[derive(Clone)]
pub struct SecretString(secrecy::SecretString);

impl SecretString {
    /// Wraps a value.
    pub fn new(value: String) -> SecretString {
        SecretString(secrecy::SecretString::from(value))
    }

    /// The value itself. Never log or print it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// A random value of `length` characters from `[A-Za-z0-9]` (about 5.95 bits each), drawn
    /// from a cryptographically secure generator seeded by the operating system.
    pub(crate) fn generate(length: usize) -> SecretString {
        let mut value = String::with_capacity(length);
        value.extend(rand::rng().sample_iter(Alphanumeric).take(length).map(char::from));
        SecretString::new(value)
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> SecretString {
        SecretString::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> SecretString {
        SecretString::new(value.to_owned())
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &SecretString) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for SecretString {}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let secret = SecretString::from("hunter2");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(***)");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn generates_alphanumeric_values_of_the_length_asked() {
        for length in [1, 16, 32, 64, 200] {
            let value = SecretString::generate(length);
            assert_eq!(value.expose().len(), length);
            assert!(value.expose().bytes().all(|b| b.is_ascii_alphanumeric()), "{length}");
        }
        assert_ne!(SecretString::generate(32), SecretString::generate(32));
    }
}
