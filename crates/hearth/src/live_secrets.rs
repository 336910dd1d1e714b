//! Secret values for `render --with-secrets`: from the age store, the environment and 1Password.
//! Nothing here turns a failure into a placeholder; the command fails naming what it could not read.

use hearth_render::SecretValues;

/// Secret values from the store, the environment and 1Password, for `--with-secrets`. A value
/// used in many files is decrypted (or read with `op`) once. A value that cannot be read is
/// remembered with the reason, so the render can fail naming every one of them.
pub struct LiveSecrets {
    store: hearth_secrets::Store,
    identity: hearth_secrets::Identity,
    seen: std::sync::Mutex<std::collections::BTreeMap<String, Result<String, String>>>,
}

impl LiveSecrets {
    pub fn new(store: hearth_secrets::Store, identity: hearth_secrets::Identity) -> LiveSecrets {
        LiveSecrets { store, identity, seen: Default::default() }
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
        seen.entry(reference.to_string()).or_insert_with(|| self.lookup(reference)).as_ref().ok().cloned()
    }
}
