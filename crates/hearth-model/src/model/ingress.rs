//! The model's ingress: the proxy, TLS, the SSO provider and tunnel, Docker discovery, each
//! service's exposures with their middleware and backend, and the routes the proxy serves.

use std::collections::BTreeMap;

use hearth_spec::ast::{Access, Auth, Challenge};
use hearth_spec::units::Duration;
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Ingress {
    pub proxy: Option<String>,
    pub proxy_app: Option<String>,
    pub tls: Tls,
    pub sso: Option<String>,
    pub sso_app: Option<String>,
    pub tunnel: Option<String>,
    pub vpn: Option<String>,
    pub crowdsec: Option<String>,
    /// The users of `auth: basic`, each with its password's secret reference; empty: the
    /// operator stores one user and its bcrypt hash (`proxy-basic-auth-user`/`-hash`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub basic_auth: Vec<BasicUser>,
    /// `discover.docker`: the Docker machine whose exposed containers carry their routers as
    /// labels, read by Traefik through the socket proxy service named here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discover: Option<Discovery>,
}

/// Traefik's Docker provider on a remote machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovery {
    /// The Docker machine.
    pub machine: String,
    /// The `docker-socket-proxy` service on it that Traefik's provider connects to.
    pub socket_proxy: String,
}

/// A basic-auth user; the proxies get its password's bcrypt hash, made when secrets are filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BasicUser {
    pub name: String,
    /// The password's secret reference.
    pub password: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Tls {
    #[default]
    None,
    Internal,
    Acme {
        email: String,
        challenge: Challenge,
        provider: Option<String>,
        token: Option<String>,
        server: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Exposure {
    pub fqdn: String,
    pub path: Option<String>,
    pub port: u16,
    pub access: Access,
    pub auth: Auth,
    /// What the proxy does on the way: allow-list, headers, rate limit, HTTPS to the service.
    pub middleware: Middleware,
    /// Who Cloudflare Access admits to the name behind the tunnel.
    pub cloudflare_access: Option<CloudflareAccess>,
}

/// A Cloudflare Access application's Allow policy for one name: set in the Cloudflare account
/// (the docs list it for the operator), never by a file Hearth renders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CloudflareAccess {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_domains: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// The proxy's handling of one route beyond access and auth, resolved from the exposure and the
/// `ingress` defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Middleware {
    /// Source ranges admitted (from `allow:`'s networks, zones, CIDRs and addresses); `None`:
    /// the exposure's `access` decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    /// Response headers, by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// How the proxy reaches the service, as the spec states it; `None`: the port's own protocol
    /// decides, and an HTTPS port's certificate is not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
}

impl Middleware {
    /// Whether it does anything beyond what `access` and `auth` say.
    pub fn is_empty(&self) -> bool {
        *self == Middleware::default()
    }
}

/// At most `rate` requests per `per` from one client address, bursts up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateLimit {
    pub rate: u32,
    pub per: Duration,
    pub burst: u32,
}

/// The proxy reaches the service over HTTPS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backend {
    /// `false` reaches the service over plain HTTP even where its port speaks HTTPS.
    pub https: bool,
    /// Whether the service's certificate is checked (against `ca`, else the system's roots).
    pub verify: bool,
    /// The PEM certificate of the CA the service's certificate must chain to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Route {
    pub fqdn: String,
    /// Path prefix, when only part of the name goes to this service.
    pub path: Option<String>,
    pub service: String,
    pub upstreams: Vec<String>,
    pub access: Access,
    pub auth: Auth,
    #[serde(skip_serializing_if = "Middleware::is_empty")]
    pub middleware: Middleware,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudflare_access: Option<CloudflareAccess>,
}
