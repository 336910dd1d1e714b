//! The plan of a node's ZFS datasets: the spec's (`hearth_render::zfs::host_datasets`, the same
//! ones the host's `datasets.sh` makes) against what `zfs get` prints on the node, read as root
//! over SSH (`NodeShell`). Pure: the commands are built and the output parsed here, run elsewhere.
//!
//! Rules:
//! - a dataset the node lacks is created with every property the spec states
//!   (`zfs create -p -o KEY=VALUE ... NAME`), `encryption` and its key options included;
//! - a property that differs is set (`zfs set KEY=VALUE ... NAME`), except those ZFS takes only at
//!   creation (`hearth_render::zfs::CREATE_ONLY`: `encryption`, `keyformat`, `casesensitivity`,
//!   ...): a difference there is refused, since the only way is a new dataset and moving the data;
//! - a dataset is never destroyed, and a pool that does not exist is refused (making one needs
//!   the disks and is done once by hand).
//!
//! Values compare as ZFS prints them with `-p`: sizes in bytes (`1M` and `1048576` are the same,
//! ZFS's suffixes being powers of 1024), `none` as `0`, and `encryption: on` as any cipher.

use std::collections::{BTreeMap, BTreeSet};

use hearth_render::zfs::{CREATE_ONLY, Dataset};
use serde::Serialize;

/// What the node has: per dataset, property -> value (`zfs get -H -p` output).
pub type ActualDatasets = BTreeMap<String, BTreeMap<String, String>>;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetPlan {
    pub name: String,
    pub action: DatasetAction,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DatasetAction {
    Create { properties: BTreeMap<String, String> },
    Set { changes: Vec<PropertyChange> },
    Unchanged,
    Refused { reasons: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyChange {
    pub key: String,
    pub from: String,
    pub to: String,
}

/// The pools of `datasets` (each name's first component), in order.
pub fn pools(datasets: &[Dataset]) -> Vec<String> {
    let set: BTreeSet<&str> = datasets.iter().filter_map(|d| d.name.split('/').next()).collect();
    set.into_iter().map(str::to_string).collect()
}

/// The command reading what the node has of `pool`: the spec's properties (and `type`, so that
/// a dataset without any still shows) of the pool and everything below it.
pub fn read_argv(pool: &str, datasets: &[Dataset]) -> Vec<String> {
    let mut props: BTreeSet<&str> = datasets
        .iter()
        .filter(|d| d.name.split('/').next() == Some(pool))
        .flat_map(|d| d.properties.keys().map(String::as_str))
        .collect();
    props.insert("type");
    let props: Vec<&str> = props.into_iter().collect();
    ["zfs", "get", "-H", "-p", "-r", "-o", "name,property,value", "-t", "filesystem,volume", &props.join(","), pool]
        .iter()
        .map(|s| (*s).to_string())
        .collect()
}

/// Adds the lines of `zfs get -H -p -o name,property,value` to `actual`.
pub fn parse_get(output: &str, actual: &mut ActualDatasets) {
    for line in output.lines() {
        let mut f = line.split('\t');
        let (Some(name), Some(prop), Some(value)) = (f.next(), f.next(), f.next()) else { continue };
        actual.entry(name.to_string()).or_default().insert(prop.to_string(), value.to_string());
    }
}

/// A ZFS size (`1M`, `2TB`, `512K`, `100G`) in bytes; `none` is 0.
fn bytes(text: &str) -> Option<u128> {
    if text == "none" {
        return Some(0);
    }
    let t = text.trim().trim_end_matches(['B', 'b']).trim_end_matches('i');
    let (num, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        "P" => 50,
        "E" => 60,
        _ => return None,
    };
    let value: f64 = num.parse().ok()?;
    if value < 0.0 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((value * (1u128 << shift) as f64).round() as u128)
}

/// Whether the node's `have` is what the spec's `want` says.
fn same(key: &str, want: &str, have: &str) -> bool {
    if want == have {
        return true;
    }
    if key == "encryption" && want == "on" {
        return have != "off" && have != "-";
    }
    match (bytes(want), bytes(have)) {
        (Some(w), Some(h)) => w == h,
        _ => false,
    }
}

/// The plan of a node's datasets: `desired` from the spec, `actual` from `zfs get`, `pools` the
/// pools the node has.
pub fn plan_datasets(desired: &[Dataset], actual: &ActualDatasets) -> Vec<DatasetPlan> {
    let mut out = Vec::new();
    for d in desired {
        let pool = d.name.split('/').next().unwrap_or_default();
        let action = match actual.get(&d.name) {
            _ if !actual.contains_key(pool) => DatasetAction::Refused {
                reasons: vec![format!(
                    "pool `{pool}` does not exist on the node: create it once by hand (`zpool create {pool} ...` with its disks); Hearth makes its datasets"
                )],
            },
            None => match unkeyed(d, desired, actual) {
                Some(reason) => DatasetAction::Refused { reasons: vec![reason] },
                None => DatasetAction::Create { properties: d.properties.clone() },
            },
            Some(have) => {
                let mut changes = Vec::new();
                let mut reasons = Vec::new();
                for (key, want) in &d.properties {
                    let now = have.get(key).map_or("-", String::as_str);
                    if same(key, want, now) {
                        continue;
                    }
                    if CREATE_ONLY.contains(&key.as_str()) {
                        reasons.push(format!(
                            "`{key}` is `{now}` on the node and `{want}` in the spec: ZFS sets it only when it creates a dataset, and Hearth never destroys one; move the data to a new dataset made with it (`zfs send | zfs receive`), or state `{key}: {now}`"
                        ));
                    } else {
                        changes.push(PropertyChange { key: key.clone(), from: now.to_string(), to: want.clone() });
                    }
                }
                if !reasons.is_empty() {
                    DatasetAction::Refused { reasons }
                } else if changes.is_empty() {
                    DatasetAction::Unchanged
                } else {
                    DatasetAction::Set { changes }
                }
            }
        };
        out.push(DatasetPlan { name: d.name.clone(), action });
    }
    out
}

/// Whether `encryption` is on in `props` (any cipher).
fn encrypted(props: &BTreeMap<String, String>) -> bool {
    props.get("encryption").is_some_and(|e| e != "off" && e != "-")
}

/// Why an encrypted dataset cannot be created as the spec states it: ZFS needs its key's
/// `keyformat` and `keylocation` unless it inherits both from an encrypted parent, and Hearth
/// creates it over SSH, where no one answers `keylocation=prompt`.
fn unkeyed(d: &Dataset, desired: &[Dataset], actual: &ActualDatasets) -> Option<String> {
    if !encrypted(&d.properties) {
        return None;
    }
    let location = d.properties.get("keylocation").map(String::as_str);
    let key = format!("/etc/zfs/keys/{}.key", d.name.replace('/', "-"));
    let fix = format!(
        "state `keyformat: raw` and `keylocation: file://{key}` and put a key there first (`dd if=/dev/urandom of={key} bs=32 count=1` on the node)"
    );
    if location == Some("prompt") {
        return Some(format!(
            "`keylocation: prompt` asks for the key when the dataset is created, and Hearth creates it over SSH where no one answers; {fix}"
        ));
    }
    if d.properties.contains_key("keyformat") && location.is_some() {
        return None;
    }
    // A parent that is encrypted (in the spec or on the node) hands its key down.
    let mut parent = d.name.as_str();
    while let Some((p, _)) = parent.rsplit_once('/') {
        parent = p;
        let in_spec = desired.iter().any(|o| o.name == parent && encrypted(&o.properties));
        if in_spec || actual.get(parent).is_some_and(encrypted) {
            return None;
        }
    }
    Some(format!(
        "`encryption: {}` needs the key's `keyformat` and `keylocation` when ZFS creates the dataset; {fix}",
        d.properties["encryption"]
    ))
}

/// The command carrying out a dataset's plan, if it does anything.
pub fn argv(plan: &DatasetPlan) -> Option<Vec<String>> {
    match &plan.action {
        DatasetAction::Create { properties } => {
            let mut argv = vec!["zfs".to_string(), "create".into(), "-p".into()];
            for (k, v) in properties {
                argv.push("-o".into());
                argv.push(format!("{k}={v}"));
            }
            argv.push(plan.name.clone());
            Some(argv)
        }
        DatasetAction::Set { changes } => {
            let mut argv = vec!["zfs".to_string(), "set".into()];
            argv.extend(changes.iter().map(|c| format!("{}={}", c.key, c.to)));
            argv.push(plan.name.clone());
            Some(argv)
        }
        DatasetAction::Unchanged | DatasetAction::Refused { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn sizes_read_as_zfs_does() {
        for (text, expected) in [
            ("1M", Some(1 << 20)),
            ("2TB", Some(2 << 40)),
            ("512K", Some(512 << 10)),
            ("1.5G", Some(3 << 29)),
            ("none", Some(0)),
            ("1048576", Some(1 << 20)),
            ("lz4", None),
        ] {
            assert_eq!(bytes(text), expected, "{text}");
        }
    }
}
