//! The manifest of a generation: what each file is, never what a secret holds.

use hearth_render::{Activation, File, Kind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DeployError;

/// One file of a generation. Secret files carry no hash at all: the machine compares them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub kind: String,
    /// Permission bits in octal as `stat -c %a` prints them, e.g. `644`.
    pub mode: String,
    pub owner: String,
    pub group: String,
    pub secret: bool,
    /// Hex SHA-256 of the content; `None` for secret files.
    pub sha256: Option<String>,
    pub activation: Vec<Activation>,
}

impl Entry {
    /// The entry for a rendered file, after checking its path is one the machine-side scripts
    /// can carry safely.
    pub fn of(file: &File) -> Result<Entry, DeployError> {
        check_path(&file.machine, &file.path)?;
        let secret = file.kind == Kind::EnvSecret;
        Ok(Entry {
            path: file.path.clone(),
            kind: file.kind.as_str(),
            mode: format!("{:o}", file.mode),
            owner: file.owner.clone(),
            group: file.group.clone(),
            secret,
            sha256: (!secret).then(|| file.sha256()),
            activation: file.activation.clone(),
        })
    }

    /// `mode owner group` as `stat -c '%a %U %G'` prints it.
    pub fn meta(&self) -> String {
        format!("{} {} {}", self.mode, self.owner, self.group)
    }
}

/// How a generation came to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "origin", rename_all = "kebab-case")]
pub enum Origin {
    Apply,
    /// A copy of an earlier generation's files, made by `rollback`.
    Rollback {
        of: u64,
    },
}

/// A generation's manifest (`manifest.json` on the machine).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub generation: u64,
    pub previous: Option<u64>,
    #[serde(flatten)]
    pub origin: Origin,
    /// Sorted by path.
    pub files: Vec<Entry>,
}

impl Manifest {
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.files.binary_search_by(|e| e.path.as_str().cmp(path)).ok().map(|i| &self.files[i])
    }

    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail; an empty manifest would only
        // surface as a protocol error on the next read, never silently.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// `mode<TAB>owner<TAB>group<TAB>path` per file: what the machine-side drift check reads.
    pub fn paths_table(&self) -> String {
        self.files.iter().map(|e| format!("{}\t{}\t{}\t{}\n", e.mode, e.owner, e.group, e.path)).collect()
    }

    /// The paths of secret files, one per line: the machine hashes these with the plan's nonce.
    pub fn secrets_list(&self) -> String {
        self.files.iter().filter(|e| e.secret).map(|e| format!("{}\n", e.path)).collect()
    }
}

/// Refuses paths the line-oriented machine protocol cannot carry.
pub fn check_path(machine: &str, path: &str) -> Result<(), DeployError> {
    let bad = !path.starts_with('/')
        || path.contains(['\n', '\t', '\0'])
        || path.split('/').any(|part| part == ".." || part == ".")
        || path.ends_with('/');
    if bad {
        return Err(DeployError::BadPath { machine: machine.to_string(), path: path.to_string() });
    }
    Ok(())
}

/// SHA-256 of the nonce followed by the content: what the machine reports for a secret file.
/// The nonce is fresh for every plan, so the value says nothing outside that one comparison and
/// is never printed.
pub fn keyed_hex(nonce: &str, content: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(nonce.as_bytes());
    hasher.update(content);
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str, ok: bool) {
        assert_eq!(check_path("m", path).is_ok(), ok, "path {path:?}");
    }

    #[test]
    fn paths() {
        check("/etc/caddy/Caddyfile", true);
        check("/srv/app name/.env", true);
        check("etc/x", false);
        check("/etc/../shadow", false);
        check("/etc/x\ny", false);
        check("/etc/", false);
    }

    #[test]
    fn secrets_have_no_hash() {
        let file = File::new("m", "/srv/app/.env", Kind::EnvSecret, "TOKEN=canary");
        let entry = Entry::of(&file).unwrap();
        assert_eq!((entry.secret, entry.sha256.clone(), entry.mode.as_str()), (true, None, "600"));
        let json = serde_json::to_string(&entry).unwrap();
        assert!(!json.contains("canary"));
    }
}
