//! `manifest.json` of a render: per file its path, kind, mode, owner, group, hash, the actions
//! the machine takes when it changes, and the spec lines it came from.

use hearth_model::Model;
use hearth_render::{Activation, File};
use hearth_spec::SourceMap;
use serde::Serialize;

#[derive(Serialize)]
struct Entry<'a> {
    path: String,
    machine: &'a str,
    kind: String,
    mode: String,
    owner: &'a str,
    group: &'a str,
    sha256: String,
    /// What the machine does when the file changes, sorted so the manifest is stable.
    activation: Vec<&'a Activation>,
    source: Vec<String>,
}

/// Spec line ranges (`hearth.yaml:12-30`) of one model entity, e.g. `service/n8n`.
pub fn entity_lines(key: &str, model: &Model, sources: &SourceMap) -> Vec<String> {
    model
        .spans
        .get(key)
        .into_iter()
        .flatten()
        .map(|span| {
            let start = sources.location(*span);
            let end_span = hearth_spec::Span { start: span.end.saturating_sub(1).max(span.start), ..*span };
            let end = sources.location(end_span);
            format!("{}:{}-{}", start.path.display(), start.line, end.line)
        })
        .collect()
}

/// `files` in one contiguous chunk per available core.
pub fn chunks(files: &[File]) -> std::slice::Chunks<'_, File> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    files.chunks(files.len().div_ceil(threads).max(1))
}

/// The manifest as pretty JSON.
pub fn manifest(files: &[File], model: &Model, sources: &SourceMap) -> String {
    // Hashing tens of megabytes is the manifest's main cost: one thread per core.
    let hashes: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            chunks(files).map(|c| scope.spawn(move || c.iter().map(File::sha256).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    // Many files share sources (`backups`, `monitoring`): compute each entity's lines once.
    let mut lines: std::collections::HashMap<&str, Vec<String>> = std::collections::HashMap::new();
    let entries: Vec<Entry> = files
        .iter()
        .zip(hashes)
        .map(|(f, sha256)| {
            let mut source: Vec<String> = f
                .sources
                .iter()
                .flat_map(|key| lines.entry(key.as_str()).or_insert_with(|| entity_lines(key, model, sources)).clone())
                .collect();
            source.sort();
            source.dedup();
            Entry {
                path: format!("{}{}", f.machine, f.path),
                machine: &f.machine,
                kind: f.kind.as_str(),
                mode: format!("{:04o}", f.mode),
                owner: &f.owner,
                group: &f.group,
                sha256,
                activation: {
                    let mut a: Vec<&Activation> = f.activation.iter().collect();
                    a.sort();
                    a
                },
                source,
            }
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&entries).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use hearth_render::{Activation, File, Kind};

    use super::manifest;

    #[test]
    fn records_owner_group_and_sorted_activation() {
        let loaded = hearth_spec::load_str("t.yaml", "homelab: t\n");
        let analysis = hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &Default::default());
        let file = File::new("db", "/etc/redis/redis.conf", Kind::Redis, "port 6379\n")
            .owned_by("redis", "redis")
            .mode(0o600)
            .activate(Activation::Restart { unit: "redis-server.service".to_string() })
            .activate(Activation::InstallPackages);
        insta::assert_snapshot!(manifest(&[file], &analysis.model, &loaded.sources));
    }
}
