//! `/etc/wireguard/wg0.conf` for every native service of the `wireguard` app: a `wg-quick`
//! skeleton with the interface's address and listening port, the private key kept out of it.
//!
//! The key lives only in the 0600 file `/etc/wireguard/private.key` (kind `env-secret`, the
//! secret `<service>-private-key`); `PostUp = wg set %i private-key /etc/wireguard/private.key`
//! loads it once `wg-quick` has created the interface, so `wg0.conf` can be read, diffed and
//! shown. A WireGuard key is a Curve25519 key (`wg genkey`), not a random string Hearth can
//! generate, so the secret is the operator's.
//!
//! The spec has no tunnel subnet and no peers yet: the address is `10.13.13.1/24`, the default
//! subnet of the LinuxServer image the catalog uses for the Docker form (so both forms agree),
//! and the peers are a commented template. A Docker service is configured by the image itself
//! (its `PEERS` variable) and gets no file here.

use hearth_model::model::Template;
use hearth_spec::ast::Form;

use crate::reader::Runner;
use crate::{Context, File, Kind, Output, fill};

pub const CONFIG: &str = "/etc/wireguard/wg0.conf";
pub const KEY: &str = "/etc/wireguard/private.key";
/// The interface address while the spec has no tunnel subnet.
pub const ADDRESS: &str = "10.13.13.1/24";

pub fn render(cx: &Context, out: &mut Output) {
    for (name, s) in &cx.model.services {
        if s.app.as_deref() != Some("wireguard") || s.form != Form::Native {
            continue;
        }
        let port = s.ports.iter().find(|p| p.name == "wireguard").and_then(|p| p.host).unwrap_or(51820);
        let conf = format!(
            "# WireGuard interface of `{name}`, rendered by Hearth (wg-quick).\n\
             # The private key is in {KEY} (mode 0600), loaded after the interface is up.\n\
             [Interface]\n\
             Address = {ADDRESS}\n\
             ListenPort = {port}\n\
             PostUp = wg set %i private-key {KEY}\n\
             \n\
             # Peers: the spec has none yet. One section per peer:\n\
             # [Peer]\n\
             # PublicKey = <the peer's public key>\n\
             # AllowedIPs = 10.13.13.2/32\n"
        );
        let source = format!("service/{name}");
        // wg-quick (root) reads both when the interface comes up.
        let runner = Runner::of(cx, name, s);
        for machine in std::iter::once(s.on.name()).chain(s.also_on.iter().map(String::as_str)) {
            out.push(runner.config(File::new(machine, CONFIG, Kind::Wireguard, conf.clone())).from(&source));
            let key = fill(&Template::secret(format!("secret:{name}-private-key")), cx.secrets);
            out.push(runner.env(File::new(machine, KEY, Kind::EnvSecret, format!("{key}\n"))).from(&source));
        }
    }
}
