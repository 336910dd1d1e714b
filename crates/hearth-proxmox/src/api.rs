//! The calls Hearth makes on a node, typed: reading its guests, creating, updating, resizing,
//! starting, stopping, destroying, and fetching a container template (`aplinfo`) or a cloud image
//! (`download-url`) into storage. Each answers once the node's task has ended.

use hearth_model::model::GuestKind;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::client::{Client, Method};
use crate::desired::kind_path;
use crate::plan::{Actual, ActualGuest};

/// A power action (`POST .../status/{action}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Power {
    Start,
    Stop,
    Shutdown,
    Reboot,
}

impl Power {
    fn path(self) -> &'static str {
        match self {
            Power::Start => "start",
            Power::Stop => "stop",
            Power::Shutdown => "shutdown",
            Power::Reboot => "reboot",
        }
    }
}

fn params(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect()
}

fn vmid_of(entry: &Value) -> Option<u32> {
    match entry.get("vmid")? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

impl Client {
    fn guest_path(&self, kind: GuestKind, vmid: u32) -> String {
        format!("/nodes/{}/{}/{vmid}", self.node(), kind_path(kind))
    }

    /// Every guest of the node with its configuration.
    pub async fn actual(&self) -> Result<Actual, Error> {
        let mut guests = Vec::new();
        for kind in [GuestKind::Lxc, GuestKind::Vm] {
            let path = format!("/nodes/{}/{}", self.node(), kind_path(kind));
            let list = self.get(&path, &Map::new()).await?;
            let Value::Array(entries) = list else {
                return Err(Error::Protocol { what: format!("GET {path}"), reason: "the answer is not a list".into() });
            };
            for entry in entries {
                let Some(vmid) = vmid_of(&entry) else { continue };
                let running = entry.get("status").and_then(Value::as_str) == Some("running");
                let config = self.config(kind, vmid).await?;
                guests.push(ActualGuest { vmid, kind, running, config });
            }
        }
        guests.sort_by_key(|g| g.vmid);
        Ok(Actual { guests })
    }

    /// `GET .../config`, with its `digest`.
    pub async fn config(&self, kind: GuestKind, vmid: u32) -> Result<Map<String, Value>, Error> {
        let path = format!("{}/config", self.guest_path(kind, vmid));
        match self.get(&path, &Map::new()).await? {
            Value::Object(o) => Ok(o),
            _ => Err(Error::Protocol { what: format!("GET {path}"), reason: "the answer is not an object".into() }),
        }
    }

    /// Whether the guest runs (`GET .../status/current`).
    pub async fn running(&self, kind: GuestKind, vmid: u32) -> Result<bool, Error> {
        let path = format!("{}/status/current", self.guest_path(kind, vmid));
        let status = self.get(&path, &Map::new()).await?;
        Ok(status.get("status").and_then(Value::as_str) == Some("running"))
    }

    /// Whether the guest exists on the node.
    pub async fn exists(&self, kind: GuestKind, vmid: u32) -> Result<bool, Error> {
        match self.config(kind, vmid).await {
            Ok(_) => Ok(true),
            Err(Error::Api { status: 404 | 500, ref message, .. })
                if message.contains("does not exist") || message.contains("not found") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// `POST /nodes/{node}/lxc` or `/qemu` with the full create body (`vmid` included).
    pub async fn create(&self, kind: GuestKind, body: &Map<String, Value>) -> Result<(), Error> {
        let path = format!("/nodes/{}/{}", self.node(), kind_path(kind));
        self.task(Method::Post, &path, body).await
    }

    /// `PUT .../config`: `set` keys, `delete` keys, guarded by `digest`.
    pub async fn update(
        &self,
        kind: GuestKind,
        vmid: u32,
        set: &Map<String, Value>,
        delete: &[String],
        digest: Option<&str>,
    ) -> Result<(), Error> {
        let path = format!("{}/config", self.guest_path(kind, vmid));
        let mut body = set.clone();
        if !delete.is_empty() {
            body.insert("delete".into(), json!(delete.join(",")));
        }
        if let Some(d) = digest {
            body.insert("digest".into(), json!(d));
        }
        // A container's update is synchronous; a VM's PUT too (its POST would be a task). Either
        // way `task` waits when the answer is a UPID.
        self.task(Method::Put, &path, &body).await
    }

    /// `PUT .../resize` of `disk` to `size` (`16G`); the node refuses to shrink.
    pub async fn resize(&self, kind: GuestKind, vmid: u32, disk: &str, size: &str) -> Result<(), Error> {
        let path = format!("{}/resize", self.guest_path(kind, vmid));
        self.task(Method::Put, &path, &params(&[("disk", json!(disk)), ("size", json!(size))])).await
    }

    pub async fn power(&self, kind: GuestKind, vmid: u32, action: Power) -> Result<(), Error> {
        let path = format!("{}/status/{}", self.guest_path(kind, vmid), action.path());
        self.task(Method::Post, &path, &Map::new()).await
    }

    /// A power action that answers its task's log (the start of an appliance says there why
    /// its OS does not run).
    pub async fn power_logged(&self, kind: GuestKind, vmid: u32, action: Power) -> Result<Vec<String>, Error> {
        let path = format!("{}/status/{}", self.guest_path(kind, vmid), action.path());
        self.task_logged(Method::Post, &path, &Map::new()).await
    }

    /// `DELETE` of a stopped guest, its disks and its jobs (`purge`).
    pub async fn destroy(&self, kind: GuestKind, vmid: u32) -> Result<(), Error> {
        let path = self.guest_path(kind, vmid);
        let p = params(&[("purge", json!(1)), ("destroy-unreferenced-disks", json!(1))]);
        self.task(Method::Delete, &path, &p).await
    }

    /// The volume ids of `content` (`vztmpl`, `import`) in `storage`.
    pub async fn volumes(&self, storage: &str, content: &str) -> Result<Vec<String>, Error> {
        let path = format!("/nodes/{}/storage/{storage}/content", self.node());
        let list = self.get(&path, &params(&[("content", json!(content))])).await?;
        Ok(list
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.get("volid").and_then(Value::as_str).map(str::to_string)).collect())
            .unwrap_or_default())
    }

    /// Downloads an appliance template (`pveam download`) into `storage`.
    pub async fn download_template(&self, storage: &str, template: &str) -> Result<(), Error> {
        let path = format!("/nodes/{}/aplinfo", self.node());
        self.task(Method::Post, &path, &params(&[("storage", json!(storage)), ("template", json!(template))])).await
    }

    /// Downloads `url` into `storage` as `filename` of `content` (`import` for cloud images).
    pub async fn download_url(&self, storage: &str, url: &str, filename: &str, content: &str) -> Result<(), Error> {
        let path = format!("/nodes/{}/storage/{storage}/download-url", self.node());
        let p = params(&[("content", json!(content)), ("filename", json!(filename)), ("url", json!(url))]);
        self.task(Method::Post, &path, &p).await
    }
}
