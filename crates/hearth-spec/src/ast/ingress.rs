//! `ingress:` (proxy, TLS, SSO, tunnel) and `dns:`.

use crate::decode::{NamedMap, Sp};
use crate::net::Addr;
use crate::reference::SecretRef;
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
