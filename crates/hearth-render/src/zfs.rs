//! ZFS on the hosts that have ZFS pools: datasets, snapshots and replication.
//!
//! - `/etc/hearth/zfs/datasets.sh` (kind `zfs`): `zfs create -p -o PROPERTY=VALUE ...` for every
//!   dataset of every ZFS pool with the properties the spec states (`encryption` and the other
//!   `CREATE_ONLY` ones included); a dataset that exists gets `zfs set` of the properties ZFS
//!   can change, so it is safe to re-run. Nothing is destroyed. The pools themselves are not
//!   created: that needs the disks and is done once by hand. `hearth plan` shows the same
//!   datasets of a Proxmox node as host steps (`host_datasets`).
//! - `/etc/hearth/zfs/snapshot.sh DATASET LABEL KEEP` (kind `zfs`): takes
//!   `DATASET@hearth-LABEL-<UTC time>` of it and every dataset below (`-r`) and destroys that label's snapshots beyond the newest
//!   KEEP. The label keeps two schedules of one dataset (hourly and daily) from pruning each
//!   other's snapshots; it is the schedule itself when that is a word (`hourly`), `daily-HHMM`
//!   for a daily time, else the schedule's letters and digits.
//! - `hearth-zfs-snapshot-<dataset>[-<label>].service/.timer` (kind `systemd-unit`) per entry of
//!   `backups.snapshots`, on the host owning the pool (the dataset's first component).
//! - `/etc/hearth/zfs/replicate.sh DATASET REMOTE TARGET` and
//!   `hearth-zfs-replicate-<dataset>.service/.timer` per entry of `backups.replication`: a
//!   `hearth-repl-` snapshot sent incrementally from the previous one
//!   (`zfs send -i | ssh REMOTE zfs receive -u -F TARGET`), keeping the newest two locally. The
//!   remote is the address of the host or guest named before `:` in `to`, or that text as is.

use std::collections::BTreeMap;

use hearth_model::Model;

use crate::shell::sh_quote;
use crate::systemd::{self, timer};
use crate::{Activation, Context, File, Kind, Output};

/// The script that creates the datasets; it skips the ones that exist, so deploy runs it on
/// every change.
const DATASETS_SH: &str = "/etc/hearth/zfs/datasets.sh";

const SNAPSHOT_SH: &str = r#"#!/bin/sh
# Usage: snapshot.sh DATASET LABEL KEEP. Rendered by Hearth.
# Takes DATASET@hearth-LABEL-<UTC time> of the dataset and every dataset below it (-r: a parent's
# data is mostly in its children), then destroys that label's snapshots beyond the newest KEEP,
# in the children too.
set -eu
dataset=$1
label=$2
keep=$3
zfs snapshot -r "$dataset@hearth-$label-$(date -u +%Y%m%d-%H%M%S)"
zfs list -H -t snapshot -o name -s creation -d 1 "$dataset" |
    grep -F "$dataset@hearth-$label-" |
    head -n "-$keep" |
    while read -r snapshot; do
        zfs destroy -r "$snapshot"
    done
"#;

const REPLICATE_SH: &str = r#"#!/bin/sh
# Usage: replicate.sh DATASET REMOTE TARGET. Rendered by Hearth.
# Sends DATASET to TARGET on REMOTE over ssh, incrementally from the last replication snapshot.
set -eu
dataset=$1
remote=$2
target=$3
previous=$(zfs list -H -t snapshot -o name -s creation -d 1 "$dataset" | grep -F "$dataset@hearth-repl-" | tail -n 1 || true)
current="$dataset@hearth-repl-$(date -u +%Y%m%d-%H%M%S)"
zfs snapshot "$current"
if [ -n "$previous" ]; then
    zfs send -i "$previous" "$current"
else
    zfs send "$current"
fi | ssh -o BatchMode=yes "root@$remote" zfs receive -u -F "$target"
# The newest two stay: the next incremental send starts from the newest.
zfs list -H -t snapshot -o name -s creation -d 1 "$dataset" |
    grep -F "$dataset@hearth-repl-" |
    head -n -2 |
    while read -r snapshot; do
        zfs destroy "$snapshot"
    done
"#;

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    for (host, h) in &model.hosts {
        let pools: Vec<_> = h.pools.iter().filter(|(_, p)| p.kind == hearth_spec::ast::PoolKind::Zfs).collect();
        if pools.is_empty() {
            continue;
        }
        let mut sh = String::from(
            "#!/bin/sh\n\
             # ZFS datasets of this host, rendered by Hearth. Idempotent: existing datasets are left alone.\n\
             set -eu\n\
             ensure() {\n    zfs list -H -o name \"$1\" >/dev/null 2>&1 || zfs create -p \"$1\"\n}\n",
        );
        for (pool, p) in &pools {
            sh.push_str(&format!(
                "\n# pool {pool} ({})\nzpool list -H -o name {} >/dev/null\n",
                p.path,
                sh_quote(pool)
            ));
            for d in datasets_of(pool, p) {
                let name = sh_quote(&d.name);
                let create: String =
                    d.properties.iter().map(|(k, v)| format!(" -o {}", sh_quote(&format!("{k}={v}")))).collect();
                let settable: Vec<String> = d
                    .properties
                    .iter()
                    .filter(|(k, _)| !CREATE_ONLY.contains(&k.as_str()))
                    .map(|(k, v)| sh_quote(&format!("{k}={v}")))
                    .collect();
                // An existing dataset keeps what ZFS fixes at creation and gets the rest set.
                let exists = format!("zfs list -H -o name {name} >/dev/null 2>&1");
                if d.properties.is_empty() {
                    sh.push_str(&format!("ensure {name}\n"));
                } else if settable.is_empty() {
                    sh.push_str(&format!("{exists} || zfs create -p{create} {name}\n"));
                } else {
                    sh.push_str(&format!(
                        "if {exists}; then zfs set {} {name}; else zfs create -p{create} {name}; fi\n",
                        settable.join(" ")
                    ));
                }
            }
        }
        out.push(
            File::new(host, DATASETS_SH, Kind::Zfs, sh)
                .mode(0o755)
                .activate(Activation::Run { argv: vec!["/bin/sh".into(), DATASETS_SH.into()] })
                .from(format!("host/{host}")),
        );
    }
    render_snapshots(out, model);
    render_replication(out, model);
}

/// ZFS properties set only when a dataset is created (`zfs set` refuses them afterwards; a key's
/// format and iterations change with `zfs change-key`, which Hearth does not run).
pub const CREATE_ONLY: [&str; 7] =
    ["encryption", "keyformat", "pbkdf2iters", "casesensitivity", "normalization", "utf8only", "volblocksize"];

/// A dataset of a ZFS pool with the properties the spec states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Its full name, `pool/path`.
    pub name: String,
    pub properties: BTreeMap<String, String>,
}

/// The datasets of a ZFS pool, in the spec's order.
pub fn datasets_of(pool: &str, p: &hearth_model::model::Pool) -> Vec<Dataset> {
    p.datasets
        .iter()
        .map(|d| Dataset {
            name: format!("{pool}/{d}"),
            properties: p.dataset_properties.get(d).cloned().unwrap_or_default(),
        })
        .collect()
}

/// Every dataset of a host's ZFS pools, parents before their children (so that an encrypted
/// parent is made before the children that inherit its key): what `datasets.sh` makes and what
/// `hearth plan` compares with the node.
pub fn host_datasets(host: &hearth_model::model::Host) -> Vec<Dataset> {
    let mut out: Vec<Dataset> = host
        .pools
        .iter()
        .filter(|(_, p)| p.kind == hearth_spec::ast::PoolKind::Zfs)
        .flat_map(|(name, p)| datasets_of(name, p))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The host owning a dataset's pool.
fn host_of<'a>(model: &'a Model, dataset: &str) -> Option<&'a str> {
    let pool = dataset.split('/').next()?;
    model
        .hosts
        .iter()
        .find(|(_, h)| h.pools.get(pool).is_some_and(|p| p.kind == hearth_spec::ast::PoolKind::Zfs))
        .map(|(n, _)| n.as_str())
}

/// A dataset as part of a unit name: `tank/media` -> `tank-media`.
fn unit_part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect()
}

/// A short name for a schedule (see the module comment).
fn label(every: &str) -> String {
    if !every.is_empty() && every.chars().all(|c| c.is_ascii_lowercase()) {
        return every.to_string();
    }
    if let Some(time) = every.strip_prefix("*-*-* ") {
        let hm: String = time.split(':').take(2).collect();
        if hm.len() == 4 && hm.chars().all(|c| c.is_ascii_digit()) {
            return format!("daily-{hm}");
        }
    }
    every.chars().filter(char::is_ascii_alphanumeric).collect()
}

fn render_snapshots(out: &mut Output, model: &Model) {
    let mut per_dataset: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &model.backups.snapshots {
        *per_dataset.entry(s.dataset.as_str()).or_default() += 1;
    }
    let mut hosts = Vec::new();
    for s in &model.backups.snapshots {
        let Some(host) = host_of(model, &s.dataset) else { continue };
        let label = label(&s.every);
        let unit = if per_dataset.get(s.dataset.as_str()).copied().unwrap_or(0) > 1 {
            format!("hearth-zfs-snapshot-{}-{}", unit_part(&s.dataset), unit_part(&label))
        } else {
            format!("hearth-zfs-snapshot-{}", unit_part(&s.dataset))
        };
        let service = format!(
            "# Rendered by Hearth: ZFS snapshots of `{ds}` ({every}), keeping {keep}.\n\
             [Unit]\n\
             Description=Hearth ZFS snapshot of {ds} ({label})\n\n\
             [Service]\n\
             Type=oneshot\n\
             ExecStart=/bin/sh /etc/hearth/zfs/snapshot.sh {ds_q} {label_q} {keep}\n",
            ds = s.dataset,
            every = s.every,
            keep = s.keep,
            ds_q = sh_quote(&s.dataset),
            label_q = sh_quote(&label),
        );
        push_units(out, host, &unit, service, timer(&format!("{unit}.service"), &s.every));
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    for host in hosts {
        out.push(File::new(host, "/etc/hearth/zfs/snapshot.sh", Kind::Zfs, SNAPSHOT_SH).mode(0o755).from("backups"));
    }
}

fn render_replication(out: &mut Output, model: &Model) {
    let mut per_dataset: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &model.backups.replication {
        *per_dataset.entry(r.dataset.as_str()).or_default() += 1;
    }
    let mut hosts = Vec::new();
    for r in &model.backups.replication {
        let Some(host) = host_of(model, &r.dataset) else { continue };
        let (remote, target) = r.to.split_once(':').unwrap_or((r.to.as_str(), r.dataset.as_str()));
        let address = model.machine_address(remote).map_or_else(|| remote.to_string(), |a| a.to_string());
        // A dataset sent to several places gets one unit per destination.
        let unit = if per_dataset.get(r.dataset.as_str()).copied().unwrap_or(0) > 1 {
            format!("hearth-zfs-replicate-{}-to-{}", unit_part(&r.dataset), unit_part(&r.to))
        } else {
            format!("hearth-zfs-replicate-{}", unit_part(&r.dataset))
        };
        let service = format!(
            "# Rendered by Hearth: replication of `{ds}` to `{to}`.\n\
             [Unit]\n\
             Description=Hearth ZFS replication of {ds} to {to}\n\
             Wants=network-online.target\n\
             After=network-online.target\n\n\
             [Service]\n\
             Type=oneshot\n\
             ExecStart=/bin/sh /etc/hearth/zfs/replicate.sh {ds_q} {addr} {target}\n",
            ds = r.dataset,
            to = r.to,
            ds_q = sh_quote(&r.dataset),
            addr = sh_quote(&address),
            target = sh_quote(target),
        );
        push_units(out, host, &unit, service, timer(&format!("{unit}.service"), &r.at));
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    for host in hosts {
        out.push(File::new(host, "/etc/hearth/zfs/replicate.sh", Kind::Zfs, REPLICATE_SH).mode(0o755).from("backups"));
    }
}

fn push_units(out: &mut Output, host: &str, unit: &str, service: String, timer: String) {
    for file in systemd::timed(host, unit, service, timer) {
        out.push(file.from("backups").from(format!("host/{host}")));
    }
}
