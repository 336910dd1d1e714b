//! Hearth's encrypted secret store: `hearth.secrets.age` beside the spec.
//!
//! Secrets Hearth needs and nobody declared (database passwords, Redis `requirepass`, app keys)
//! are generated once and kept in a text file whose key names stay readable and whose values are
//! encrypted with [age](https://age-encryption.org) (X25519):
//!
//! ```text
//! # Hearth secrets: names are readable, values are age-encrypted. Edit with `hearth secrets`.
//! # recipients: age1...
//! grafana-admin: YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOS...
//! nextcloud-db: YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOS...
//! ```
//!
//! - One entry per line, sorted by name. The value is one age file, ASCII-armored, with the armor
//!   lines and line breaks removed (that is the standard base64 of the binary age file).
//! - `# recipients:` lists the public keys every value is encrypted to, so [`Store::set`] and
//!   [`Store::ensure`] work without the private key. Only [`Store::get`] needs an [`Identity`].
//! - Entries keep their ciphertext until their value changes: saving an unchanged store writes the
//!   same bytes, so the file diffs well in version control.
//!
//! The private key ([`Identity`]) comes from `HEARTH_AGE_IDENTITY` (the key text), else from the
//! file named by `HEARTH_AGE_IDENTITY_FILE`, else from `.hearth/identity.txt` beside the store,
//! which is created (mode 0600) when a new store is started.
//!
//! Values are [`SecretString`]s: their `Debug` and `Display` print `***`, and no error message
//! ever holds a value.
//!
//! ```no_run
//! use hearth_secrets::{Identity, SecretString, Store};
//! use std::path::Path;
//!
//! # fn main() -> Result<(), hearth_secrets::SecretsError> {
//! let path = Path::new("hearth.secrets.age");
//! // Opens the store; a new store gets the identity's recipient (creating the identity if needed).
//! let mut store = Store::open_or_init(path)?;
//! let generated = store.ensure(&[("nextcloud-db".to_string(), 32)])?;
//! store.set("telegram-token", &SecretString::from("123:abc"))?;
//! store.save()?;
//!
//! let identity = Identity::load(path, false)?;
//! let password = store.get("nextcloud-db", &identity)?;
//! assert_eq!(password.expose().len(), 32);
//! # let _ = generated;
//! # Ok(())
//! # }
//! ```

mod error;
mod identity;
mod secret;
mod store;

pub use age::x25519::Recipient;
pub use error::SecretsError;
pub use identity::{IDENTITY_ENV, IDENTITY_FILE_ENV, Identity, IdentityOrigin, default_identity_path};
pub use secret::{MAX_GENERATED_LENGTH, SecretString};
pub use store::MAX_NAME_LENGTH;
pub use store::{STORE_FILE_NAME, Store};
