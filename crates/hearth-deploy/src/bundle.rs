//! The upload of a generation: one tar stream with its files, manifest and scripts.

use std::time::Duration;

use crate::error::DeployError;
use crate::manifest::Manifest;
use crate::script::{self, ROOT, Takeover};

/// One generation ready to go: what the tar holds besides the files.
pub struct Generation<'a> {
    pub manifest: &'a Manifest,
    /// The manifest of the generation it replaces, whose files the revert restores.
    pub previous: Option<&'a Manifest>,
    pub confirm_timeout: Duration,
}

impl Generation<'_> {
    /// `(name, content)` of every metadata file and script, in a fixed order.
    pub fn scripts(&self) -> Vec<(String, String)> {
        let m = self.manifest;
        let g = m.generation;
        let prev_files: &[_] = self.previous.map_or(&[], |p| p.files.as_slice());
        let gone = |from: &[crate::manifest::Entry], to: &Manifest| {
            from.iter().filter(|e| to.get(&e.path).is_none()).cloned().collect::<Vec<_>>()
        };
        let removed = self.previous.map(|p| gone(&p.files, m)).unwrap_or_default();
        let empty = Manifest { files: Vec::new(), ..m.clone() };
        let back_to = self.previous.unwrap_or(&empty);
        let revert_removed = gone(&m.files, back_to);
        let src = format!("{ROOT}/generations/{g}/files");
        let prev_src = self.previous.map_or(src.clone(), |p| format!("{ROOT}/generations/{}/files", p.generation));
        let prev_number = self.previous.map(|p| p.generation);
        vec![
            ("manifest.json".to_string(), m.to_json()),
            ("paths".to_string(), m.paths_table()),
            ("secrets".to_string(), m.secrets_list()),
            (
                "transition.sh".to_string(),
                script::transition(
                    &format!("transition to generation {g}"),
                    &src,
                    &m.files,
                    &removed,
                    &Takeover { from: prev_files, undo: false },
                ),
            ),
            (
                "revert.sh".to_string(),
                script::transition(
                    &format!("return from generation {g} to the one before"),
                    &prev_src,
                    prev_files,
                    &revert_removed,
                    &Takeover { from: &m.files, undo: true },
                ),
            ),
            ("activate.sh".to_string(), script::activate(g, prev_number, self.confirm_timeout)),
            ("rollback.sh".to_string(), script::rollback(g, prev_number)),
        ]
    }

    /// The tar stream: metadata and scripts, then `files/<absolute path>` for each `(path,
    /// content)` given (none for a rollback, which copies them on the machine).
    pub fn tar(&self, machine: &str, files: &[(&str, &[u8])]) -> Result<Vec<u8>, DeployError> {
        let err = |e: std::io::Error| DeployError::Bundle { machine: machine.to_string(), reason: e.to_string() };
        let mut builder = tar::Builder::new(Vec::new());
        let mut add = |name: &str, data: &[u8]| -> Result<(), DeployError> {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o600);
            header.set_mtime(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, name, data).map_err(err)
        };
        for (name, content) in self.scripts() {
            add(&name, content.as_bytes())?;
        }
        for (path, content) in files {
            add(&format!("files{path}"), content)?;
        }
        builder.into_inner().map_err(err)
    }
}
