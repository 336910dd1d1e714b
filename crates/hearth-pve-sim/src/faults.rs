//! Faults on demand: rules the tests or the lab add through `POST /_sim/faults` (or `--fault`)
//! and requests consume in order. A rule matches a request by method and by a substring of its
//! path, and fires `count` times.

use serde::{Deserialize, Serialize};

/// What a rule does to the request it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Answer only after `ms` milliseconds (a slow node, a client timeout).
    Delay,
    /// Answer with HTTP `status` and `message` instead of handling the request.
    Status,
    /// The guest's config lock is held elsewhere: `can't lock file … - got timeout`, or the
    /// rule's `message` (another lock's timeout).
    Lock,
    /// The request's task ends with an error (`message`, or a generic one) and leaves nothing.
    TaskFail,
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub kind: FaultKind,
    /// How many requests it fires for.
    #[serde(default = "one")]
    pub count: u32,
    /// Only requests with this method (`POST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only requests whose path (below `/api2/json`) contains this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

fn one() -> u32 {
    1
}

/// The rules not yet used up.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Faults {
    pub rules: Vec<Rule>,
}

impl Faults {
    /// Takes one firing of the first rule of `kind` matching the request.
    pub fn take(&mut self, kind: FaultKind, method: &str, path: &str) -> Option<Rule> {
        let i = self.rules.iter().position(|r| {
            r.kind == kind
                && r.count > 0
                && r.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
                && r.path.as_deref().is_none_or(|p| path.contains(p))
        })?;
        self.rules[i].count -= 1;
        let rule = self.rules[i].clone();
        if self.rules[i].count == 0 {
            self.rules.remove(i);
        }
        Some(rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_and_run_out() {
        let mut f: Faults = serde_json::from_str(r#"{"rules":[{"kind":"lock","count":2,"path":"/lxc/101"}]}"#).unwrap();
        assert!(f.take(FaultKind::Lock, "PUT", "/nodes/pve/lxc/102/config").is_none());
        assert!(f.take(FaultKind::Delay, "PUT", "/nodes/pve/lxc/101/config").is_none());
        assert!(f.take(FaultKind::Lock, "PUT", "/nodes/pve/lxc/101/config").is_some());
        assert!(f.take(FaultKind::Lock, "POST", "/nodes/pve/lxc/101/status/start").is_some());
        assert!(f.take(FaultKind::Lock, "PUT", "/nodes/pve/lxc/101/config").is_none());
        assert!(f.rules.is_empty());
    }
}
