//! Secret values for `render --with-secrets` and the deploy commands: from the age store, the
//! environment and 1Password. Nothing here turns a failure into a placeholder; the command fails
//! naming what it could not read.
//!
//! The lab is the one exception, and says so: with `--lab`, a value that cannot be read (a token
//! in a password manager the lab has no access to, a variable not set) is replaced by a lab value,
//! generated once and kept in an age store in the lab's state folder, so `apply --lab` and
//! `verify --lab` agree on it and no real credential has to reach a test machine.

use hearth_render::SecretValues;

/// Secret values from the store, the environment and 1Password, for `--with-secrets`. A value
/// used in many files is decrypted (or read with `op`) once. A value that cannot be read is
/// remembered with the reason, so the render can fail naming every one of them.
pub struct LiveSecrets {
    store: hearth_secrets::Store,
    identity: hearth_secrets::Identity,
    seen: std::sync::Mutex<std::collections::BTreeMap<String, Result<String, String>>>,
    lab: Option<LabValues>,
}

/// The lab's stand-in values, by reference, in their own store.
struct LabValues {
    store: std::sync::Mutex<hearth_secrets::Store>,
    identity: hearth_secrets::Identity,
    /// The references given a lab value, for the note the command prints.
    used: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl LiveSecrets {
    pub fn new(store: hearth_secrets::Store, identity: hearth_secrets::Identity) -> LiveSecrets {
        LiveSecrets { store, identity, seen: Default::default(), lab: None }
    }

    /// With lab values from (and into) the store `lab.secrets.age` in the lab's state folder.
    pub fn with_lab_values(mut self, state_dir: &std::path::Path) -> Result<LiveSecrets, hearth_secrets::SecretsError> {
        let path = state_dir.join("lab.secrets.age");
        let store = hearth_secrets::Store::open_or_init(&path)?;
        let identity = hearth_secrets::Identity::load(&path, false)?;
        self.lab = Some(LabValues { store: std::sync::Mutex::new(store), identity, used: Default::default() });
        Ok(self)
    }

    /// The references that got a lab value, sorted.
    pub fn lab_values_used(&self) -> Vec<String> {
        self.lab.as_ref().map_or_else(Vec::new, |lab| {
            lab.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().cloned().collect()
        })
    }

    /// The lab's value for `reference`, made and saved the first time.
    fn lab_value(lab: &LabValues, reference: &str) -> Result<String, String> {
        let name = lab_name(reference);
        let mut store = lab.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !store.contains(&name) {
            store.set(&name, &lab_secret(reference)).map_err(|e| e.to_string())?;
            store.save().map_err(|e| e.to_string())?;
        }
        let value = store.get(&name, &lab.identity).map_err(|e| e.to_string())?;
        lab.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(reference.to_string());
        Ok(value.expose().to_string())
    }

    fn lookup(&self, reference: &str) -> Result<String, String> {
        if let Some(name) = reference.strip_prefix("secret:") {
            return self.store.get(name, &self.identity).map(|s| s.expose().to_string()).map_err(|e| e.to_string());
        }
        if let Some(var) = reference.strip_prefix("env:") {
            return std::env::var(var).map_err(|e| format!("`{var}`: {e}"));
        }
        if reference.starts_with("op://") {
            let out = std::process::Command::new("op")
                .args(["read", "--no-newline", reference])
                .output()
                .map_err(|e| format!("cannot run `op`: {e}"))?;
            if !out.status.success() {
                return Err(format!("`op read` failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
            }
            return String::from_utf8(out.stdout)
                .map_err(|_| "`op read` printed a value that is not UTF-8".to_string());
        }
        Err("not a reference Hearth can read".to_string())
    }

    /// Every reference that could not be read, with why, sorted.
    pub fn failures(&self) -> Vec<(String, String)> {
        let seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.iter().filter_map(|(r, v)| v.as_ref().err().map(|e| (r.clone(), e.clone()))).collect()
    }
}

impl SecretValues for LiveSecrets {
    fn get(&self, reference: &str) -> Option<String> {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.entry(reference.to_string())
            .or_insert_with(|| {
                let read = self.lookup(reference);
                match &self.lab {
                    Some(lab) if read.is_err() => LiveSecrets::lab_value(lab, reference),
                    _ => read,
                }
            })
            .as_ref()
            .ok()
            .cloned()
    }
}

/// The lab store's name for a reference: `env:X` is `env.X`, `op://a/b/c` is `op.a.b.c`.
fn lab_name(reference: &str) -> String {
    let name: String = reference
        .replace("://", ".")
        .replace(':', ".")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '.' })
        .collect();
    name.chars().take(hearth_secrets::MAX_NAME_LENGTH).collect()
}

/// A new lab value: 32 random letters and digits, or for a WireGuard key (by its name) a valid
/// one, since `wg` refuses anything but 32 bytes in base64.
fn lab_secret(reference: &str) -> hearth_secrets::SecretString {
    use rand::Rng as _;
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let lower = reference.to_ascii_lowercase();
    let mut rng = rand::rng();
    let value: String = if lower.contains("wireguard") || lower.contains("wg") {
        // 43 base64 digits carry 258 bits: the last digit may only use its top 2 bits.
        let mut v: String = (0..42).map(|_| B64[rng.random_range(0..64)] as char).collect();
        v.push(B64[rng.random_range(0..4) * 16] as char);
        v.push('=');
        v
    } else {
        (0..32).map(|_| B64[rng.random_range(0..62)] as char).collect()
    };
    hearth_secrets::SecretString::from(value)
}

#[cfg(test)]
mod tests {
    #[test]
    fn lab_names_are_store_names() {
        for (reference, name) in [
            ("env:CF_DNS_API_TOKEN", "env.CF_DNS_API_TOKEN"),
            ("op://homelab/github/runner-token", "op.homelab.github.runner-token"),
            ("secret:notifiarr-api-key", "secret.notifiarr-api-key"),
        ] {
            assert_eq!(super::lab_name(reference), name);
        }
    }

    #[test]
    fn lab_wireguard_keys_are_32_bytes_of_base64() {
        let key = super::lab_secret("env:WIREGUARD_PRIVATE_KEY");
        let key = key.expose();
        assert_eq!(key.len(), 44, "{key}");
        assert!(key.ends_with('=') && !key.ends_with("=="), "{key}");
        assert!(matches!(key.as_bytes()[42], b'A' | b'Q' | b'g' | b'w'), "{key}");
    }
}
