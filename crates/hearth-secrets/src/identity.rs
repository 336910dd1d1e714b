//! [`Identity`]: the age private key that decrypts the secret store, and where it comes from.
//!
//! Looked up in this order:
//! 1. `HEARTH_AGE_IDENTITY`: the key text itself (`AGE-SECRET-KEY-1...`, or a whole identity file);
//! 2. `HEARTH_AGE_IDENTITY_FILE`: the path of an age identity file (as written by `age-keygen`);
//! 3. `.hearth/identity.txt` beside the store ([`default_identity_path`]), created with mode 0600
//!    (its directory 0700) when asked to, which [`Identity::load`] callers do for a store that
//!    does not exist yet.
//!
//! The key is never printed: `Debug` shows the public key and where the key came from.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use age::secrecy::zeroize::Zeroizing;
use age::x25519;

use crate::SecretsError;

/// The environment variable holding the identity's key text.
pub const IDENTITY_ENV: &str = "HEARTH_AGE_IDENTITY";

/// The environment variable holding the path of an identity file.
pub const IDENTITY_FILE_ENV: &str = "HEARTH_AGE_IDENTITY_FILE";

/// Where an [`Identity`] was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityOrigin {
    /// The `HEARTH_AGE_IDENTITY` environment variable.
    Env,
    /// An existing file: `HEARTH_AGE_IDENTITY_FILE`'s, or the default beside the store.
    File(PathBuf),
    /// A new key just written to this file: tell the user to back it up.
    Created(PathBuf),
    /// Built in memory ([`Identity::generate`], [`Identity::from_key`]).
    Memory,
}

/// An age X25519 private key (one or more: an identity file may list several) that decrypts
/// the store's values.
#[derive(Clone)]
pub struct Identity {
    /// Never empty.
    keys: Vec<x25519::Identity>,
    origin: IdentityOrigin,
}

/// The default identity file for a store: `.hearth/identity.txt` in the store's directory.
pub fn default_identity_path(store_path: &Path) -> PathBuf {
    store_dir(store_path).join(".hearth").join("identity.txt")
}

/// The directory a store file lives in (`.` for a bare file name).
pub(crate) fn store_dir(store_path: &Path) -> &Path {
    match store_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

impl Identity {
    /// Loads the identity for the store at `store_path`: from `HEARTH_AGE_IDENTITY`, else the
    /// file in `HEARTH_AGE_IDENTITY_FILE`, else `.hearth/identity.txt` beside the store.
    ///
    /// When none of them exists and `create` is true, a new key is generated and written to
    /// `.hearth/identity.txt` (mode 0600, directory 0700; a `.hearth/.gitignore` naming it is
    /// added when there is none, so the key is not committed next to the store). Pass `create`
    /// only for a store that does not exist yet: a new key cannot decrypt an existing store.
    pub fn load(store_path: &Path, create: bool) -> Result<Identity, SecretsError> {
        Identity::load_with_env(store_path, create, |name| std::env::var_os(name))
    }

    /// [`Identity::load`] reading the environment through `env` instead of the process's
    /// (tests cannot set variables safely while other tests run).
    pub fn load_with_env(
        store_path: &Path,
        create: bool,
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Identity, SecretsError> {
        if let Some(text) = env(IDENTITY_ENV).filter(|v| !v.is_empty()) {
            let text = Zeroizing::new(text.into_string().map_err(|_| SecretsError::InvalidIdentity {
                origin: format!("`{IDENTITY_ENV}`"),
                reason: "the value is not valid UTF-8".into(),
            })?);
            return Identity::parse(&text, &format!("`{IDENTITY_ENV}`"), IdentityOrigin::Env);
        }
        if let Some(file) = env(IDENTITY_FILE_ENV).filter(|v| !v.is_empty()) {
            let path = PathBuf::from(file);
            return match Identity::read_file(&path)? {
                Some(identity) => Ok(identity),
                None => Err(SecretsError::IdentityRead {
                    error: io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("no such file (named by `{IDENTITY_FILE_ENV}`)"),
                    ),
                    path,
                }),
            };
        }
        let path = default_identity_path(store_path);
        if let Some(identity) = Identity::read_file(&path)? {
            return Ok(identity);
        }
        if !create {
            return Err(SecretsError::NoIdentity { path });
        }
        let identity = Identity::generate();
        write_identity_file(&path, &identity.keys[0])
            .map_err(|error| SecretsError::IdentityWrite { path: path.clone(), error })?;
        Ok(Identity { origin: IdentityOrigin::Created(path), ..identity })
    }

    /// A new random key.
    pub fn generate() -> Identity {
        Identity { keys: vec![x25519::Identity::generate()], origin: IdentityOrigin::Memory }
    }

    /// Parses key text: `AGE-SECRET-KEY-1...`, or the contents of an identity file (blank lines
    /// and `#` comments are skipped, every other line must be a key).
    pub fn from_key(text: &str) -> Result<Identity, SecretsError> {
        Identity::parse(text, "the key given", IdentityOrigin::Memory)
    }

    /// The public key that values are encrypted to.
    pub fn recipient(&self) -> x25519::Recipient {
        self.keys[0].to_public()
    }

    /// Where this identity was found.
    pub fn origin(&self) -> &IdentityOrigin {
        &self.origin
    }

    /// The keys, for [`age::Decryptor::decrypt`].
    pub(crate) fn age_identities(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.keys.iter().map(|key| key as &dyn age::Identity)
    }

    /// Reads an identity file; `None` when it does not exist.
    fn read_file(path: &Path) -> Result<Option<Identity>, SecretsError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => Zeroizing::new(text),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err(SecretsError::IdentityRead { path: path.to_owned(), error });
            }
        };
        let origin = format!("`{}`", path.display());
        Identity::parse(&text, &origin, IdentityOrigin::File(path.to_owned())).map(Some)
    }

    fn parse(text: &str, origin_text: &str, origin: IdentityOrigin) -> Result<Identity, SecretsError> {
        let invalid = |reason: String| SecretsError::InvalidIdentity { origin: origin_text.to_owned(), reason };
        let mut keys = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // The error never quotes the line: it may be a (mistyped) key.
            let key = line.parse::<x25519::Identity>().map_err(|reason| {
                invalid(if line.starts_with("AGE-SECRET-KEY-1") {
                    format!("line {} is not a valid key ({reason})", index + 1)
                } else {
                    format!("line {} is not an age X25519 key", index + 1)
                })
            })?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(invalid("it holds no key".into()));
        }
        Ok(Identity { keys, origin })
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("recipient", &self.recipient().to_string())
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Writes a new identity file in `age-keygen`'s format, never replacing an existing one.
fn write_identity_file(path: &Path, key: &x25519::Identity) -> io::Result<()> {
    // A bare file name has the empty path as its parent: the current directory.
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.exists() {
        create_private_dir(dir)?;
    }
    let gitignore = dir.join(".gitignore");
    if !gitignore.exists() {
        // Best effort: the key must not end up committed beside the store it decrypts.
        let _ =
            fs::write(&gitignore, "# Never commit the age identity: it decrypts hearth.secrets.age\nidentity.txt\n");
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    let secret = key.to_string();
    let text = Zeroizing::new(format!(
        "# Hearth's age identity: it decrypts hearth.secrets.age. Keep it secret and back it up.\n\
         # public key: {}\n{}\n",
        key.to_public(),
        secret.expose_secret()
    ));
    let written = file.write_all(text.as_bytes()).and_then(|()| file.sync_all());
    if let Err(error) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(error);
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
