//! `ingress:` (proxy, TLS, SSO, tunnel) and `dns:`.

use crate::decode::{NamedMap, Sp};
use crate::net::Addr;
use crate::reference::SecretRef;
use crate::units::Duration;
use crate::{spec_enum, spec_struct};

spec_struct! {
    /// How traffic gets in.
    pub struct Ingress {
        /// The service terminating HTTP(S).
        opt proxy: Sp<String>,
        opt tls: Tls,
        /// Forward-auth provider for `auth: sso`.
        opt sso: Sp<String>,
        /// Tunnel service for `access: tunnel`.
        opt tunnel: Sp<String>,
        /// VPN service for `access: vpn`.
        opt vpn: Sp<String>,
        /// CrowdSec service guarding the proxy.
        opt crowdsec: Sp<String>,
        /// Response headers on every route (an exposure's `headers` replaces them).
        #[schemars(with = "Option<crate::decode::OrScalar<Headers>>")]
        opt headers: Headers,
        /// Requests per client on every route (an exposure's `rate_limit` replaces it).
        opt rate_limit: RateLimit,
        /// The users of `auth: basic`: user name -> password (a secret reference).
        def basic_auth: NamedMap<Sp<SecretRef>>,
        /// Where the proxy finds routes beside the ones Hearth writes (Traefik's Docker provider).
        opt discover: Discover,
    }
}

spec_struct! {
    /// Route discovery: the proxy reads the routes of one Docker machine's containers from their
    /// labels, through a read-only socket proxy on that machine.
    pub struct Discover {
        /// The Docker machine (guest or host) whose containers carry their routes as labels.
        opt docker: Sp<String>,
    }
}

spec_enum! {
    /// A named set of response headers.
    pub enum HeaderPreset {
        /// HSTS (with TLS), `nosniff`, `SAMEORIGIN` framing and a strict referrer policy.
        Secure = "secure",
        /// No headers beyond those under `set`.
        None = "none",
    }
}

spec_struct! {
    @shorthand preset;
    /// Response headers the proxy adds: a preset and headers of one's own.
    pub struct Headers {
        opt preset: Sp<HeaderPreset>,
        /// Header name -> value, added to (or replacing) the preset's.
        def set: NamedMap<Sp<String>>,
    }
}

spec_struct! {
    /// At most `rate` requests per `per` from one client address, with bursts up to `burst`.
    pub struct RateLimit {
        req rate: Sp<u32>,
        /// The period (default `1s`).
        opt per: Sp<Duration>,
        /// Requests allowed at once above the rate (default: `rate`).
        opt burst: Sp<u32>,
    }
}

spec_struct! {
    /// How the proxy talks to the service: HTTPS, and how its certificate is checked.
    pub struct Backend {
        /// Reach the service over HTTPS.
        opt https: bool,
        /// Check the service's certificate (default true; `false` for a self-signed one).
        opt verify: Sp<bool>,
        /// The PEM certificate of the CA that signed the service's certificate (pins it).
        opt ca: Sp<String>,
        /// The name the certificate is checked against (default: the address).
        opt server_name: Sp<String>,
    }
}

spec_struct! {
    /// Who Cloudflare Access lets through to a name behind the tunnel: an Allow policy of the
    /// name's Access application, which lives in the Cloudflare account.
    pub struct CloudflareAccess {
        /// E-mail addresses admitted.
        def emails: Vec<Sp<String>>,
        /// E-mail domains whose every address is admitted (`example.com`).
        def email_domains: Vec<Sp<String>>,
        /// Access groups of the account admitted, by name.
        def groups: Vec<Sp<String>>,
    }
}

spec_struct! {
    /// Certificates: ACME, an internal CA, or none.
    pub struct Tls {
        opt acme: Acme,
        /// A local certificate authority.
        opt internal: bool,
        /// Plain HTTP only.
        opt none: bool,
    }
}

spec_enum! {
    /// ACME challenge type.
    pub enum Challenge { Http = "http", Dns = "dns", TlsAlpn = "tls-alpn" }
}

spec_struct! {
    /// Let's Encrypt (or another ACME CA).
    pub struct Acme {
        req email: Sp<String>,
        opt challenge: Challenge,
        /// DNS provider for the DNS challenge, e.g. `cloudflare`.
        opt provider: String,
        /// DNS provider API token.
        opt token: SecretRef,
        /// Directory URL (default Let's Encrypt production).
        opt server: String,
    }
}

spec_struct! {
    /// Internal DNS.
    pub struct Dns {
        /// The service answering for the homelab's names.
        opt server: Sp<String>,
        /// Zone (default: `domain`).
        opt zone: Sp<String>,
        /// Extra A records.
        def records: NamedMap<Sp<Addr>>,
    }
}
