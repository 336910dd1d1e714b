//! `services:`: what runs, where, and what it is connected to.

use crate::decode::{Cx, Decode, NamedMap, OrScalar, RawYaml, Sp};
use crate::reference::Value;
use crate::units::{Duration, Size};
use crate::yaml::{Node, Value as YamlValue};
use crate::{spec_enum, spec_struct};

spec_enum! {
    /// How a service runs.
    pub enum Form {
        Docker = "docker",
        Native = "native",
        /// Part of an appliance's own system (Home Assistant OS, DSM): routed, monitored and
        /// documented, never deployed by Hearth.
        Appliance = "appliance",
    }
}

spec_struct! {
    /// A service: a catalog app or an image, placed on a guest, host or cluster.
    pub struct Service {
        /// Catalog entry; required unless `image` is given.
        opt app: Sp<String>,
        /// Image tag or package version replacing the catalog's.
        opt version: Sp<String>,
        /// Full image reference.
        opt image: Sp<String>,
        /// A guest, a host with a runtime, or a cluster.
        req on: Sp<String>,
        /// More guests running a replica; the proxy load-balances.
        def also_on: Vec<Sp<String>>,
        /// On a cluster: the member nodes its pods may run on (default: any node).
        def nodes: Vec<Sp<String>>,
        /// A job's schedule: the service runs at these times and exits, instead of running all
        /// the time (on a cluster, a CronJob).
        opt schedule: Sp<crate::schedule::Schedule>,
        /// The network whose interface of its machine the service's ports listen on (default:
        /// every interface); consumers reach it at that address.
        opt network: Sp<String>,
        opt form: Sp<Form>,
        /// Named ports -> host port.
        #[schemars(with = "std::collections::BTreeMap<String, OrScalar<Port>>")]
        def ports: NamedMap<Port>,
        /// Environment; values may be secret references.
        def env: NamedMap<Sp<Value>>,
        /// Catalog volume name (on a service given by `image:`, a container path, or a name mounted at
        /// `/data/<name>`) -> dataset or absolute path, or `false` to drop the catalog's volume.
        #[schemars(with = "std::collections::BTreeMap<String, super::StringOrFalse>")]
        def volumes: NamedMap<Sp<String>>,
        /// Container path -> dataset or absolute path.
        #[schemars(with = "std::collections::BTreeMap<String, OrScalar<super::Mount>>")]
        def mounts: NamedMap<super::Mount>,
        /// Services it connects to.
        #[schemars(with = "Vec<OrScalar<Use>>")]
        def uses: Vec<Use>,
        /// Proxy routes, DNS names and certificates.
        #[schemars(with = "Option<OrScalar<Expose>>")]
        opt expose: Exposures,
        /// A backup policy, or `false`.
        #[schemars(with = "Option<OrScalar<BackupChoice>>")]
        opt backup: BackupChoice,
        /// A VPN service whose network it joins.
        opt via: Sp<String>,
        opt healthcheck: Healthcheck,
        /// How `hearth watch` checks it: interval, timeout, failures before an incident.
        opt watch: Watch,
        opt resources: Resources,
        /// For a database server: databases no consumer declares.
        def databases: Vec<Sp<String>>,
        /// For an object store: buckets.
        def buckets: Vec<Sp<String>>,
        /// Dashboard group.
        opt group: String,
        /// The Homepage widget on its dashboard tile (default: derived for apps Homepage has one for).
        opt widget: super::Widget,
        /// Compose project on its machine.
        opt stack: Sp<String>,
        /// Start order beyond what `uses` implies.
        def after: Vec<Sp<String>>,
        opt description: String,
        /// `planned` or `future`: checked and documented, not deployed (default `active`).
        opt status: Sp<super::Status>,
        /// Why or when, for a planned item (shown in the docs' Planned section).
        opt note: String,
        /// Raw compose keys merged into the rendered service.
        opt compose: RawYaml,
        opt command: Vec<String>,
        opt privileged: bool,
        def devices: Vec<String>,
        def cap_add: Vec<String>,
        /// `host` or `none` instead of the stack's network (Docker only).
        opt network_mode: Sp<super::NetworkMode>,
        /// `uid`, `uid:gid` or a name the container's process runs as (Docker only).
        opt user: Sp<String>,
        /// Docker networks of its machine (`docker.networks`) it joins beside its stack's.
        #[schemars(with = "std::collections::BTreeMap<String, super::DockerAttach>")]
        def docker_networks: NamedMap<super::DockerAttach>,
        /// GPUs reserved for the container: `all` or how many (NVIDIA).
        opt gpus: Sp<super::Gpus>,
        /// Size of `/dev/shm`.
        opt shm_size: Sp<Size>,
        /// Kernel parameters of the container's namespaces (`net.ipv4.ip_forward: 1`).
        def sysctls: NamedMap<Sp<String>>,
        /// Run an init process (tini) as PID 1 that reaps zombies and forwards signals.
        opt init: bool,
        /// Extra groups of the container's process (`video`, `render`, or a gid).
        def group_add: Vec<Sp<String>>,
    }
}

spec_enum! {
    /// A port's protocol.
    pub enum Protocol { Http = "http", Https = "https", Tcp = "tcp", Udp = "udp", Dns = "dns", Grpc = "grpc" }
}

spec_struct! {
    @shorthand host;
    /// A service's port: published on its machine, or reachable only inside its stack.
    pub struct Port {
        /// Port on the machine (default: the catalog's; required unless `publish: false`).
        opt host: Sp<u16>,
        /// Port inside the container (default: the catalog's, or `host`).
        opt container: Sp<u16>,
        opt protocol: Protocol,
        /// `false`: not published on the machine; only containers of its stack reach it.
        opt publish: Sp<bool>,
    }
}

spec_struct! {
    @shorthand service;
    /// A connection to another service.
    pub struct Use {
        req service: Sp<String>,
        /// Database name (default: the consumer's name).
        opt database: Sp<String>,
        /// Database user (default: the database name).
        opt user: Sp<String>,
        /// Redis logical database number (allocated when left out).
        opt db: Sp<u32>,
        /// Bucket (default: the consumer's name).
        opt bucket: Sp<String>,
    }
}

spec_enum! {
    /// Who can reach an exposed name.
    pub enum Access {
        /// From the internet, through the router or a tunnel.
        Public = "public",
        /// From the homelab's networks.
        Internal = "internal",
        /// Through the tunnel service.
        Tunnel = "tunnel",
        /// Through the VPN.
        Vpn = "vpn",
    }
}

spec_enum! {
    /// Authentication in front of an exposed name.
    pub enum Auth { None = "none", Sso = "sso", Basic = "basic" }
}

spec_struct! {
    @shorthand name;
    /// A name under the domain, routed by the proxy to a port of the service.
    pub struct Expose {
        /// Subdomain, or a full name when it contains a dot.
        req name: Sp<String>,
        /// Port name (default: the catalog's primary port).
        opt port: Sp<String>,
        opt access: Sp<Access>,
        opt auth: Sp<Auth>,
        opt path: String,
        /// Sources admitted: network names, zones, CIDRs or addresses (replaces `access`'s).
        def allow: Vec<Sp<String>>,
        /// Response headers (replaces `ingress.headers`).
        #[schemars(with = "Option<crate::decode::OrScalar<super::Headers>>")]
        opt headers: super::Headers,
        /// Requests per client (replaces `ingress.rate_limit`).
        opt rate_limit: super::RateLimit,
        /// HTTPS to the service, and how its certificate is checked.
        opt backend: super::Backend,
        /// Who Cloudflare Access admits to the name (`access: tunnel`); applied in the account.
        opt cloudflare_access: super::CloudflareAccess,
    }
}

/// `expose:` as one name, one mapping, or a list of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exposures(pub Vec<Expose>);

impl Decode for Exposures {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.value {
            YamlValue::Seq(_) => Vec::<Expose>::decode(node, cx).map(Exposures),
            _ => Expose::decode(node, cx).map(|e| Exposures(vec![e])),
        }
    }
}

spec_struct! {
    /// Which backup policy covers a service or guest, and what extra paths.
    pub struct BackupSpec {
        req policy: Sp<String>,
        def paths: Vec<String>,
    }
}

/// `backup:` as a policy name, `false`, `{policy, paths}`, or a list of policy names and
/// `{policy, paths}` (several policies on one service or guest).
#[derive(Debug, Clone, PartialEq)]
pub enum BackupChoice {
    /// `backup: false`: the operator says this needs no backup.
    Disabled(crate::Span),
    /// The policies, in the order written (one for the short forms).
    Policies(Vec<BackupSpec>),
}

impl BackupChoice {
    /// The policies it names; none for `backup: false`.
    pub fn policies(&self) -> &[BackupSpec] {
        match self {
            BackupChoice::Disabled(_) => &[],
            BackupChoice::Policies(p) => p,
        }
    }
}

/// One entry of `backup:`: a policy name, or `{policy, paths}`.
fn backup_spec(node: &Node, cx: &mut Cx) -> Option<BackupSpec> {
    match node.as_scalar() {
        Some(_) => BackupSpec::decode(&crate::decode::wrap_shorthand(node, "policy"), cx),
        None => BackupSpec::decode(node, cx),
    }
}

impl Decode for BackupChoice {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match (&node.value, node.as_scalar()) {
            (_, Some("false")) => Some(BackupChoice::Disabled(node.span)),
            (YamlValue::Seq(items), _) => {
                let mut out = Vec::new();
                let mut ok = true;
                for item in items {
                    match backup_spec(item, cx) {
                        Some(b) => out.push(b),
                        None => ok = false,
                    }
                }
                ok.then_some(BackupChoice::Policies(out))
            }
            _ => backup_spec(node, cx).map(|b| BackupChoice::Policies(vec![b])),
        }
    }
}

impl schemars::JsonSchema for BackupChoice {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BackupChoice".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let one = generator.subschema_for::<BackupSpec>().to_value();
        let mut map = serde_json::Map::new();
        map.insert(
            "anyOf".into(),
            serde_json::json!([one, { "type": "array", "items": { "anyOf": [{ "type": "string" }, one] } }]),
        );
        schemars::Schema::from(map)
    }
}

spec_struct! {
    /// An HTTP health probe.
    pub struct HttpCheck {
        /// Port name or number.
        req port: Sp<String>,
        opt path: String,
    }
}

spec_struct! {
    /// How to tell the service is healthy.
    pub struct Healthcheck {
        opt http: HttpCheck,
        /// Port name or number to connect to.
        opt tcp: Sp<String>,
        /// Command run inside the container.
        opt command: Vec<String>,
        opt interval: Duration,
        opt timeout: Duration,
        opt retries: u32,
        opt start_period: Duration,
    }
}

spec_struct! {
    /// How `hearth watch` checks a service (or, under `monitoring:`, every service that does not
    /// say): each field left out falls back to the default, then to the watcher's own.
    pub struct Watch {
        /// Time between two checks of the service's routes, DNS answers, unit or container,
        /// logins and scrape target (not its certificates and backups, checked hourly).
        opt interval: Sp<Duration>,
        /// Time a check may take before it counts as failed.
        opt timeout: Sp<Duration>,
        /// Failures in a row before an incident opens and is announced.
        opt fail_after: Sp<u32>,
    }
}

spec_struct! {
    /// Resource limits of a service.
    pub struct Resources {
        opt cpus: f64,
        opt memory: Sp<Size>,
    }
}
