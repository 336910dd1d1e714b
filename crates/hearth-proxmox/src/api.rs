//! The calls Hearth makes on a node, typed: reading its guests, creating, updating, resizing,
//! starting, stopping, destroying, and fetching a container template (`aplinfo`) or a cloud image
//! (`download-url`) into storage; the node's bridges; the backup jobs of `/cluster/backup`. Each
//! answers once the node's task has ended.

use hearth_model::model::GuestKind;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::client::{Client, Method};
use crate::desired::kind_path;
use crate::network::{self, Bridge};
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

    /// Every guest of the node with its configuration, and its bridges.
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
        let bridges = Some(self.bridges().await?);
        Ok(Actual { guests, bridges })
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

    /// The node's bridges (`GET /nodes/{node}/network`).
    pub async fn bridges(&self) -> Result<Vec<Bridge>, Error> {
        let path = format!("/nodes/{}/network", self.node());
        match self.get(&path, &Map::new()).await? {
            Value::Array(entries) => Ok(network::bridges(&entries)),
            _ => Err(Error::Protocol { what: format!("GET {path}"), reason: "the answer is not a list".into() }),
        }
    }

    /// The cluster's backup jobs (`GET /cluster/backup`).
    pub async fn backup_jobs(&self) -> Result<Vec<Map<String, Value>>, Error> {
        match self.get("/cluster/backup", &Map::new()).await? {
            Value::Array(jobs) => Ok(jobs
                .into_iter()
                .filter_map(|j| match j {
                    Value::Object(o) => Some(o),
                    _ => None,
                })
                .collect()),
            _ => Err(Error::Protocol { what: "GET /cluster/backup".into(), reason: "the answer is not a list".into() }),
        }
    }

    /// `POST /cluster/backup`: a new job `id` with `params`.
    pub async fn create_backup_job(&self, id: &str, params: &Map<String, Value>) -> Result<(), Error> {
        let mut body = params.clone();
        body.insert("id".into(), json!(id));
        self.call(Method::Post, "/cluster/backup", &body).await.map(drop)
    }

    /// `PUT /cluster/backup/{id}`: `set` properties, `delete` keys.
    pub async fn update_backup_job(&self, id: &str, set: &Map<String, Value>, delete: &[String]) -> Result<(), Error> {
        let mut body = set.clone();
        if !delete.is_empty() {
            body.insert("delete".into(), json!(delete.join(",")));
        }
        self.call(Method::Put, &format!("/cluster/backup/{id}"), &body).await.map(drop)
    }

    /// `DELETE /cluster/backup/{id}`.
    pub async fn delete_backup_job(&self, id: &str) -> Result<(), Error> {
        self.call(Method::Delete, &format!("/cluster/backup/{id}"), &Map::new()).await.map(drop)
    }
}
