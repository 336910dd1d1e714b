//! [`Store`]: the `hearth.secrets.age` file, read, changed in memory and written back atomically.
//!
//! File format (UTF-8, `\n` line ends; blank lines and other `#` comments are accepted on reading
//! and dropped on writing):
//!
//! ```text
//! # Hearth secrets: names are readable, values are age-encrypted. Edit with `hearth secrets`.
//! # recipients: age1... age1...
//! NAME: <base64 of the binary age file, one line>
//! ```
//!
//! The value is what age's ASCII armor holds between its `BEGIN`/`END` lines, with the line
//! breaks removed; reading puts them back (64 columns) and hands the armor to age.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::secrecy::zeroize::{Zeroize, Zeroizing};
use age::x25519::Recipient;

use crate::identity::store_dir;
use crate::{Identity, MAX_GENERATED_LENGTH, SecretString, SecretsError};

/// The store's file name, beside the spec.
pub const STORE_FILE_NAME: &str = "hearth.secrets.age";

/// The first line of every store file.
const HEADER: &str = "# Hearth secrets: names are readable, values are age-encrypted. Edit with `hearth secrets`.";

/// The comment that lists the recipients: `# recipients: age1... age1...`.
const RECIPIENTS: &str = "recipients:";

/// The base64 of `age-encryption.org/v1`, the first 21 bytes of every age v1 file.
const AGE_MAGIC_BASE64: &str = "YWdlLWVuY3J5cHRpb24ub3JnL3Yx";

const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
const ARMOR_END: &str = "-----END AGE ENCRYPTED FILE-----";
const ARMOR_COLUMNS: usize = 64;

/// The longest secret name.
/// The longest secret name a store accepts.
pub const MAX_NAME_LENGTH: usize = 128;

/// The secret store: secret names with their age-encrypted values, and the recipients the values
/// are encrypted to.
///
/// Changes stay in memory until [`Store::save`]. Values are kept encrypted in memory too: an entry
/// keeps its ciphertext until it is set again, so saving an unchanged store rewrites the same bytes
/// (age ciphertexts are randomized: encrypting the same value twice gives different text).
pub struct Store {
    path: PathBuf,
    /// In the order listed in the file (then added); no duplicates.
    recipients: Vec<Recipient>,
    /// Name to the compact armor of its age ciphertext.
    entries: BTreeMap<String, String>,
}

impl Store {
    /// Opens the store at `path`. A file that does not exist is an empty store with no recipients
    /// (nothing is written before [`Store::save`]).
    pub fn open(path: &Path) -> Result<Store, SecretsError> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(Store { path: path.to_owned(), recipients: Vec::new(), entries: BTreeMap::new() });
            }
            Err(error) => {
                return Err(SecretsError::Read { path: path.to_owned(), error });
            }
        };
        let text = String::from_utf8(bytes).map_err(|error| {
            let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
            SecretsError::Corrupt {
                path: path.to_owned(),
                line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
                reason: "the line is not valid UTF-8".into(),
            }
        })?;
        Store::parse(path, &text)
    }

    /// Opens the store at `path` and, when it has no recipient yet (a new store), makes the
    /// loaded identity its recipient: [`Identity::load`] with `create` set when the file does not
    /// exist, so a new store gets a new `.hearth/identity.txt` unless an identity is configured.
    pub fn open_or_init(path: &Path) -> Result<Store, SecretsError> {
        let mut store = Store::open(path)?;
        if store.recipients.is_empty() {
            let identity = Identity::load(path, !path.exists())?;
            store.add_recipient(identity.recipient(), &identity)?;
        }
        Ok(store)
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The public keys every value is encrypted to.
    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }

    /// Makes `recipient` one more key the values are encrypted to, re-encrypting every value
    /// (decrypted with `identity`, which is not used when the store is empty). Returns false,
    /// changing nothing, when it already is a recipient.
    pub fn add_recipient(&mut self, recipient: Recipient, identity: &Identity) -> Result<bool, SecretsError> {
        let key = recipient.to_string();
        if self.recipients.iter().any(|r| r.to_string() == key) {
            return Ok(false);
        }
        let mut recipients = self.recipients.clone();
        recipients.push(recipient);
        let mut entries = BTreeMap::new();
        for name in self.entries.keys() {
            let value = self.get(name, identity)?;
            entries.insert(name.clone(), encrypt(&recipients, &self.path, name, &value)?);
        }
        self.recipients = recipients;
        self.entries = entries;
        Ok(true)
    }

    /// The secret names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Whether the store holds `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The number of secrets.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store holds no secret.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Decrypts the value of `name` with `identity`.
    pub fn get(&self, name: &str, identity: &Identity) -> Result<SecretString, SecretsError> {
        let compact = self.entries.get(name).ok_or_else(|| self.not_found(name))?;
        let failed = |reason: String| SecretsError::Decrypt { name: name.to_owned(), path: self.path.clone(), reason };
        let damaged = |what: String| {
            failed(format!("the value is damaged ({what}); set it again with `hearth secrets set {name}`"))
        };
        let armored = expand(compact);
        let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(armored.as_bytes()))
            .map_err(|error| damaged(describe_decrypt_error(&error)))?;
        let mut reader = decryptor.decrypt(identity.age_identities()).map_err(|error| {
            let key = identity.recipient().to_string();
            match error {
                age::DecryptError::NoMatchingKeys if !self.recipients.iter().any(|r| r.to_string() == key) => {
                    failed(format!(
                        "the identity (public key {key}) is not one of the store's recipients; load the identity the store was created with, from `HEARTH_AGE_IDENTITY`, `HEARTH_AGE_IDENTITY_FILE` or `.hearth/identity.txt`"
                    ))
                }
                error => damaged(describe_decrypt_error(&error)),
            }
        })?;
        // The ciphertext is longer than the plaintext: reading never reallocates (and so never
        // leaves a copy of the value behind).
        let mut plaintext = Zeroizing::new(Vec::with_capacity(compact.len()));
        reader.read_to_end(&mut plaintext).map_err(|error| damaged(error.to_string()))?;
        match String::from_utf8(std::mem::take(&mut *plaintext)) {
            Ok(value) => Ok(SecretString::new(value)),
            Err(error) => {
                error.into_bytes().zeroize();
                Err(failed(format!("the value is not UTF-8 text; set it again with `hearth secrets set {name}`")))
            }
        }
    }

    /// Sets `name` to `value`, encrypted to the store's recipients (a new ciphertext even when the
    /// value is unchanged).
    pub fn set(&mut self, name: &str, value: &SecretString) -> Result<(), SecretsError> {
        check_name(name)?;
        let ciphertext = encrypt(&self.recipients, &self.path, name, value)?;
        self.entries.insert(name.to_owned(), ciphertext);
        Ok(())
    }

    /// Removes `name`; false when it was not there.
    pub fn remove(&mut self, name: &str) -> bool {
        self.entries.remove(name).is_some()
    }

    /// Generates a random `[A-Za-z0-9]` value of the given length for every wanted name the
    /// store does not hold yet, and returns those names (in the order wanted). Names already in
    /// the store keep their value: generating is once-only, so calling it again generates nothing.
    ///
    /// Nothing changes when a name or length is invalid.
    pub fn ensure<N: AsRef<str>>(&mut self, wanted: &[(N, usize)]) -> Result<Vec<String>, SecretsError> {
        for (name, length) in wanted {
            check_name(name.as_ref())?;
            check_length(name.as_ref(), *length)?;
        }
        let mut generated: BTreeMap<&str, String> = BTreeMap::new();
        let mut order = Vec::new();
        for (name, length) in wanted {
            let name = name.as_ref();
            if self.entries.contains_key(name) || generated.contains_key(name) {
                continue;
            }
            let value = SecretString::generate(*length);
            generated.insert(name, encrypt(&self.recipients, &self.path, name, &value)?);
            order.push(name.to_owned());
        }
        for (name, ciphertext) in generated {
            self.entries.insert(name.to_owned(), ciphertext);
        }
        Ok(order)
    }

    /// Replaces the value of `name`, which must be in the store, with a new random `[A-Za-z0-9]`
    /// value of `length` characters.
    pub fn rotate(&mut self, name: &str, length: usize) -> Result<(), SecretsError> {
        check_length(name, length)?;
        if !self.entries.contains_key(name) {
            return Err(self.not_found(name));
        }
        self.set(name, &SecretString::generate(length))
    }

    /// Writes the store to its file: a temporary file in the same directory (mode 0600), synced,
    /// then renamed over the old one, so a failure at any step leaves the previous file as it was.
    pub fn save(&self) -> Result<(), SecretsError> {
        write_atomic(&self.path, self.render().as_bytes(), |_| Ok(()))
            .map_err(|error| SecretsError::Write { path: self.path.clone(), error })
    }

    /// The file's text.
    fn render(&self) -> String {
        let mut text = String::new();
        text.push_str(HEADER);
        text.push('\n');
        text.push_str("# ");
        text.push_str(RECIPIENTS);
        for recipient in &self.recipients {
            text.push(' ');
            text.push_str(&recipient.to_string());
        }
        text.push('\n');
        for (name, ciphertext) in &self.entries {
            text.push_str(name);
            text.push_str(": ");
            text.push_str(ciphertext);
            text.push('\n');
        }
        text
    }

    fn parse(path: &Path, text: &str) -> Result<Store, SecretsError> {
        let mut store = Store { path: path.to_owned(), recipients: Vec::new(), entries: BTreeMap::new() };
        let mut lines_of: HashMap<String, usize> = HashMap::new();
        for (index, line) in text.split('\n').enumerate() {
            let number = index + 1;
            let corrupt = |reason: String| SecretsError::Corrupt { path: path.to_owned(), line: number, reason };
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                if let Some(list) = comment.trim_start().strip_prefix(RECIPIENTS) {
                    for key in list.split(|c: char| c.is_whitespace() || c == ',').filter(|k| !k.is_empty()) {
                        let recipient = key
                            .parse::<Recipient>()
                            .map_err(|reason| corrupt(format!("`{key}` is not an age X25519 recipient ({reason})")))?;
                        if !store.recipients.iter().any(|r| r.to_string() == key) {
                            store.recipients.push(recipient);
                        }
                    }
                }
                continue;
            }
            // Never quote a line that does not parse: it may be a value pasted in plain text.
            let Some((name, value)) = line.split_once(':') else {
                return Err(corrupt("expected `NAME: <age ciphertext>`, a `#` comment or a blank line".into()));
            };
            let (name, value) = (name.trim(), value.trim());
            if !valid_name(name) {
                return Err(corrupt(format!(
                    "invalid secret name `{name}`: use at most {MAX_NAME_LENGTH} letters, digits, `-`, `_` and `.`, starting with a letter or digit"
                )));
            }
            if !looks_like_age(value) {
                return Err(corrupt(format!(
                    "the value of `{name}` is not an age ciphertext (base64 text starting with `{AGE_MAGIC_BASE64}`)"
                )));
            }
            if let Some(first) = lines_of.insert(name.to_owned(), number) {
                return Err(corrupt(format!("`{name}` is already defined on line {first}")));
            }
            store.entries.insert(name.to_owned(), value.to_owned());
        }
        Ok(store)
    }

    fn not_found(&self, name: &str) -> SecretsError {
        SecretsError::NotFound { name: name.to_owned(), path: self.path.clone() }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("recipients", &self.recipients)
            .field("names", &self.entries.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn valid_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LENGTH
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn check_name(name: &str) -> Result<(), SecretsError> {
    if valid_name(name) { Ok(()) } else { Err(SecretsError::InvalidName { name: name.to_owned() }) }
}

fn check_length(name: &str, length: usize) -> Result<(), SecretsError> {
    if (1..=MAX_GENERATED_LENGTH).contains(&length) {
        Ok(())
    } else {
        Err(SecretsError::InvalidLength { name: name.to_owned(), length, max: MAX_GENERATED_LENGTH })
    }
}

/// Whether `value` is plausibly the compact armor of an age v1 file: canonical base64 length and
/// alphabet, starting with the age magic. Decryption checks the rest.
fn looks_like_age(value: &str) -> bool {
    value.len().is_multiple_of(4)
        && value.starts_with(AGE_MAGIC_BASE64)
        && value.trim_end_matches('=').bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        && value.len() - value.trim_end_matches('=').len() <= 2
}

/// Encrypts `value` to `recipients` and returns the compact armor.
fn encrypt(recipients: &[Recipient], path: &Path, name: &str, value: &SecretString) -> Result<String, SecretsError> {
    if recipients.is_empty() {
        return Err(SecretsError::NoRecipients { path: path.to_owned() });
    }
    let failed = |reason: String| SecretsError::Encrypt { name: name.to_owned(), reason };
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|error| failed(describe_encrypt_error(&error)))?;
    let mut armored = Vec::new();
    let io_failed = |error: io::Error| failed(error.to_string());
    let output = ArmoredWriter::wrap_output(&mut armored, Format::AsciiArmor).map_err(io_failed)?;
    let mut writer = encryptor.wrap_output(output).map_err(io_failed)?;
    writer.write_all(value.expose().as_bytes()).map_err(io_failed)?;
    writer.finish().and_then(|output| output.finish()).map_err(io_failed)?;
    let armored = String::from_utf8(armored).map_err(|_| failed("age wrote armor that is not text".into()))?;
    Ok(compact(&armored))
}

// age's own `Display` for its errors loads translations at run time, which panics in a debug build
// run where the age sources are not readable: describe them here instead.

fn describe_decrypt_error(error: &age::DecryptError) -> String {
    use age::DecryptError as E;
    match error {
        E::DecryptionFailed => "the ciphertext does not authenticate".into(),
        E::InvalidHeader => "its age header is invalid".into(),
        E::InvalidMac => "its age header's MAC does not match".into(),
        E::KeyDecryptionFailed => "its file key cannot be decrypted".into(),
        E::NoMatchingKeys => "no key of the identity opens it, although the identity is a recipient".into(),
        E::UnknownFormat => "it is not an age v1 file".into(),
        E::Io(error) => error.to_string(),
        other => format!("age error {other:?}"),
    }
}

fn describe_encrypt_error(error: &age::EncryptError) -> String {
    match error {
        age::EncryptError::Io(error) => error.to_string(),
        other => format!("age error {other:?}"),
    }
}

/// The base64 lines of age armor, joined into one.
fn compact(armored: &str) -> String {
    armored.lines().map(str::trim).filter(|line| !line.starts_with("-----")).collect()
}

/// Age armor from its compact form: the base64 wrapped at 64 columns between the markers.
fn expand(compact: &str) -> String {
    let mut armored = String::with_capacity(compact.len() + compact.len() / ARMOR_COLUMNS + 80);
    armored.push_str(ARMOR_BEGIN);
    armored.push('\n');
    // `compact` is base64 (checked on reading, or written by `encrypt`): ASCII, so any byte
    // offset is a character boundary.
    let mut rest = compact;
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(ARMOR_COLUMNS));
        armored.push_str(line);
        armored.push('\n');
        rest = tail;
    }
    armored.push_str(ARMOR_END);
    armored.push('\n');
    armored
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
/// `before_rename` runs on the synced temporary file (tests use it to fail there).
fn write_atomic(path: &Path, bytes: &[u8], before_rename: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    let dir = store_dir(path);
    let file_name =
        path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file"))?;
    let temp = dir.join(format!(".{}.{:016x}.tmp", file_name.to_string_lossy(), rand::random::<u64>()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp)?;
    let written = (|| {
        file.write_all(bytes)?;
        #[cfg(unix)]
        {
            // The mode given at creation is narrowed by the umask; make it exactly 0600.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        file.sync_all()?;
        drop(file);
        before_rename(&temp)?;
        fs::rename(&temp, path)
    })();
    if let Err(error) = written {
        let _ = fs::remove_file(&temp);
        return Err(error);
    }
    // Make the rename itself durable (best effort: not every platform can sync a directory).
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_armor_expands_back_to_what_age_reads() {
        let identity = Identity::generate();
        let recipients = [identity.recipient()];
        // Lengths around the 64-column line boundaries of the armor.
        for length in [0, 1, 2, 3, 40, 47, 48, 49, 95, 96, 97, 500] {
            let value = SecretString::new("x".repeat(length));
            let compact = encrypt(&recipients, Path::new("s"), "n", &value).unwrap();
            assert!(!compact.contains(['\n', '\r', '-']), "{compact}");
            assert!(looks_like_age(&compact), "{compact}");
            let mut store = Store::parse(Path::new("s"), "").unwrap();
            store.entries.insert("n".into(), compact);
            assert_eq!(store.get("n", &identity).unwrap(), value, "length {length}");
        }
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = std::env::temp_dir().join(format!("hearth-secrets-unit-{:016x}", rand::random::<u64>()));
        fs::create_dir(&dir).unwrap();
        let path = dir.join(STORE_FILE_NAME);
        write_atomic(&path, b"old\n", |_| Ok(())).unwrap();
        let failure = write_atomic(&path, b"new\n", |temp| {
            assert_eq!(fs::read(temp).unwrap(), b"new\n");
            Err(io::Error::other("disk on fire"))
        });
        assert_eq!(failure.unwrap_err().to_string(), "disk on fire");
        assert_eq!(fs::read(&path).unwrap(), b"old\n");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "the temporary file is removed");
        fs::remove_dir_all(&dir).unwrap();
    }
}
