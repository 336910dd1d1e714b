//! Tasks (workers) as the node records them: a UPID in the real format, status, exit status
//! and log lines.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    pub upid: String,
    pub node: String,
    pub pid: u32,
    pub pstart: u32,
    pub starttime: u64,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub user: String,
    /// `None` while running; `OK` or the error text once stopped.
    pub exitstatus: Option<String>,
    pub endtime: Option<u64>,
    pub log: Vec<String>,
}

impl Task {
    /// A new running task; the UPID is `UPID:node:PID:PSTART:STARTTIME:type:id:user:` with the
    /// numbers in upper-case hexadecimal, 8 digits, as `PVE::Tools::upid_encode` writes them.
    pub fn new(node: &str, pid: u32, pstart: u32, starttime: u64, kind: &str, id: &str, user: &str) -> Task {
        let upid = format!("UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{id}:{user}:");
        Task {
            upid,
            node: node.into(),
            pid,
            pstart,
            starttime,
            kind: kind.into(),
            id: id.into(),
            user: user.into(),
            exitstatus: None,
            endtime: None,
            log: Vec::new(),
        }
    }

    /// Ends the task: `Ok` logs `TASK OK`, an error logs `TASK ERROR: …` and becomes the exit
    /// status.
    pub fn finish(&mut self, result: Result<(), String>, now: u64) {
        let (status, line) = match result {
            Ok(()) => ("OK".to_string(), "TASK OK".to_string()),
            Err(e) => {
                let e = e.trim_end().to_string();
                (e.clone(), format!("TASK ERROR: {e}"))
            }
        };
        self.log.push(line);
        self.exitstatus = Some(status);
        self.endtime = Some(now);
    }

    /// `GET /nodes/{node}/tasks/{upid}/status`.
    pub fn status_json(&self) -> Value {
        let mut v = json!({
            "upid": self.upid,
            "node": self.node,
            "pid": self.pid,
            "pstart": self.pstart,
            "starttime": self.starttime,
            "type": self.kind,
            "id": self.id,
            "user": self.user,
            "status": if self.exitstatus.is_some() { "stopped" } else { "running" },
        });
        if let Some(e) = &self.exitstatus {
            v["exitstatus"] = json!(e);
        }
        v
    }

    /// One entry of `GET /nodes/{node}/tasks`.
    pub fn list_json(&self) -> Value {
        let mut v = self.status_json();
        if let Some(obj) = v.as_object_mut() {
            obj.remove("exitstatus");
            if let Some(e) = &self.exitstatus {
                obj.insert("status".into(), json!(e));
            } else {
                obj.remove("status");
            }
            if let Some(t) = self.endtime {
                obj.insert("endtime".into(), json!(t));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upid_has_the_real_format() {
        let t = Task::new("pve", 0x1a2b, 0x99, 0x6566b1c2, "vzcreate", "101", "root@pam!hearth");
        assert_eq!(t.upid, "UPID:pve:00001A2B:00000099:6566B1C2:vzcreate:101:root@pam!hearth:");
    }
}
