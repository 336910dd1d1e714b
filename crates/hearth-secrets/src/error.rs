//! [`SecretsError`]: everything that can go wrong reading, changing or writing the secret store.
//!
//! Messages never hold a secret value or a private key: only file paths, line numbers, secret
//! names (which are readable in the store anyway) and public keys.

use std::io;
use std::path::PathBuf;

/// An error from the secret store or the identity that decrypts it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// The store file exists but cannot be read.
    #[error("cannot read the secret store `{path}`: {error}")]
    Read { path: PathBuf, error: io::Error },

    /// The store could not be written; the previous file is untouched.
    #[error("cannot write the secret store `{path}`: {error}; the previous file is unchanged, fix the cause and retry")]
    Write { path: PathBuf, error: io::Error },

    /// A line of the store file is not `NAME: <age ciphertext>`, a comment or blank.
    #[error("`{path}` line {line}: {reason}; fix the line, or restore the file from version control or a backup")]
    Corrupt { path: PathBuf, line: usize, reason: String },

    /// A secret name asked for is not in the store.
    #[error("secret `{name}` is not in `{path}`: add it with `hearth secrets set {name}`")]
    NotFound { name: String, path: PathBuf },

    /// A secret name that cannot be stored.
    #[error(
        "invalid secret name `{name}`: use at most 128 letters, digits, `-`, `_` and `.`, starting with a letter or digit"
    )]
    InvalidName { name: String },

    /// A generated secret's length out of range.
    #[error("invalid length {length} for secret `{name}`: use a length from 1 to {max}")]
    InvalidLength { name: String, length: usize, max: usize },

    /// The store lists no recipient, so nothing can be encrypted into it.
    #[error(
        "the secret store `{path}` has no recipients: open it with `Store::open_or_init` or add the recipient of an identity first"
    )]
    NoRecipients { path: PathBuf },

    /// age failed to encrypt a value (it does not for X25519 recipients in practice).
    #[error("cannot encrypt secret `{name}`: {reason}")]
    Encrypt { name: String, reason: String },

    /// A value could not be decrypted with the identity given.
    #[error("cannot decrypt secret `{name}` from `{path}`: {reason}")]
    Decrypt { name: String, path: PathBuf, reason: String },

    /// No identity was found and none was to be created.
    #[error(
        "no age identity found to decrypt the secret store: set `HEARTH_AGE_IDENTITY` to the key (`AGE-SECRET-KEY-1...`) or `HEARTH_AGE_IDENTITY_FILE` to a key file, or restore `{path}`"
    )]
    NoIdentity { path: PathBuf },

    /// An identity source holds something other than age X25519 keys.
    #[error("invalid age identity in {origin}: {reason}; it must hold a line `AGE-SECRET-KEY-1...`")]
    InvalidIdentity { origin: String, reason: String },

    /// The identity file exists but cannot be read.
    #[error("cannot read the age identity `{path}`: {error}")]
    IdentityRead { path: PathBuf, error: io::Error },

    /// A new identity file could not be written.
    #[error(
        "cannot create the age identity `{path}`: {error}; check the directory's permissions or set `HEARTH_AGE_IDENTITY`"
    )]
    IdentityWrite { path: PathBuf, error: io::Error },
}
