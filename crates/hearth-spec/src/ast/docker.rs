//! Docker on a machine (`docker:` of a host or guest: the daemon's settings and its networks)
//! and the Docker-only settings of a service (`network_mode`, `gpus`, `docker_networks` ...).

use crate::decode::{Cx, Decode, NamedMap, Sp};
use crate::net::{Addr, Cidr};
use crate::schedule::Schedule;
use crate::units::{Duration, Size};
use crate::yaml::Node;
use crate::{spec_enum, spec_struct};

spec_struct! {
    /// The Docker daemon of a machine whose runtime is `docker`: `/etc/docker/daemon.json`, a
    /// prune timer and the Docker networks its services attach to.
    pub struct DockerDaemon {
        /// Storage driver (`overlay2`, `zfs`, `btrfs` ...; default: Docker's choice).
        opt storage_driver: Sp<String>,
        /// Container log driver and rotation.
        opt log: DockerLog,
        /// Removing unused images, containers and networks on a schedule.
        #[schemars(with = "Option<crate::decode::OrScalar<DockerPrune>>")]
        opt prune: DockerPrune,
        /// Docker networks beside each stack's own: created by the stack that uses them, or
        /// `external` (created by hand or by another tool).
        def networks: NamedMap<DockerNetwork>,
    }
}

spec_struct! {
    /// Where containers' output goes and how much of it is kept.
    pub struct DockerLog {
        /// Log driver (default `json-file`).
        opt driver: Sp<String>,
        /// Size at which a container's log file is rotated.
        opt max_size: Sp<Size>,
        /// Rotated files kept per container.
        opt max_files: Sp<u32>,
    }
}

spec_struct! {
    @shorthand every;
    /// `docker system prune` on a schedule.
    pub struct DockerPrune {
        req every: Sp<Schedule>,
        /// Also unused images that have a tag, not only dangling ones (`--all`).
        opt all: bool,
        /// Also unused volumes (`--volumes`).
        opt volumes: bool,
        /// Only what has been unused this long (`--filter until=`).
        opt older_than: Duration,
    }
}

spec_struct! {
    /// A Docker network on a machine.
    pub struct DockerNetwork {
        /// The network's name in Docker (default: its key).
        opt name: Sp<String>,
        /// Created outside Hearth (`docker network create`, another stack): never created here.
        opt external: bool,
        /// Its IPv4 or IPv6 subnet; required for static container addresses.
        opt subnet: Sp<Cidr>,
    }
}

spec_struct! {
    /// A service's attachment to one of its machine's Docker networks.
    pub struct DockerAttach {
        /// Static address inside the network's `subnet`.
        opt address: Sp<Addr>,
        /// More names the container answers to on that network.
        def aliases: Vec<String>,
    }
}

spec_enum! {
    /// A container's network namespace other than its stack's network.
    pub enum NetworkMode {
        /// The machine's own: its ports are the machine's ports, nothing is published.
        Host = "host",
        /// No network at all (batch jobs, tools).
        None = "none",
    }
}

/// GPUs a container reserves: `all`, or how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gpus {
    All,
    Count(u32),
}

impl std::fmt::Display for Gpus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gpus::All => f.write_str("all"),
            Gpus::Count(n) => write!(f, "{n}"),
        }
    }
}

impl Decode for Gpus {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = cx.scalar(node, "`all` or a number of GPUs")?;
        if text == "all" {
            return Some(Gpus::All);
        }
        match text.parse::<u32>() {
            Ok(n) if n > 0 => Some(Gpus::Count(n)),
            _ => {
                cx.invalid(node, format!("`{text}` is not a number of GPUs"), "write `all`, or how many GPUs (`1`)");
                None
            }
        }
    }
}

impl schemars::JsonSchema for Gpus {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Gpus".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let schema = serde_json::json!({
            "description": "`all`, or how many GPUs",
            "anyOf": [{ "type": "string", "enum": ["all"] }, { "type": "integer", "minimum": 1 }],
        });
        schemars::Schema::try_from(schema).expect("an object schema")
    }
}

/// The schema of a catalog volume's override: a dataset or path, or `false` to drop it.
pub struct StringOrFalse;

impl schemars::JsonSchema for StringOrFalse {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StringOrFalse".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let schema = serde_json::json!({
            "description": "a dataset or absolute path, or `false` to drop the catalog's volume",
            "anyOf": [{ "type": "string" }, { "const": false }],
        });
        schemars::Schema::try_from(schema).expect("an object schema")
    }
}

impl serde::Serialize for Gpus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
