//! Facts about shares: every machine that mounts a share reaches the share's port on its server,
//! checked from that machine, whose address is what the server's export list and firewall admit.
//! This holds whoever serves the share, an appliance Hearth does not manage included, where no
//! firewall edge of Hearth's would check it.

use hearth_model::Model;

use crate::fact::{Check, Fact};
use crate::place;

pub(crate) fn reach(model: &Model, out: &mut Vec<Fact>) {
    for m in &model.share_mounts {
        let Some(share) = model.shares.get(&m.share) else { continue };
        let Some(address) = share.address else { continue };
        let check = Check::Connect { address, port: share.port, protocol: "tcp".into(), open: true };
        let id = format!("share/{}/reached-from/{}", m.share, m.machine);
        let mut fact = Fact::new(id, &m.machine, &m.machine, check, format!("share/{}", m.share));
        fact.needs.extend(share.service.iter().cloned());
        fact.skip = place::machine_skip(model, &m.machine);
        out.push(fact);
    }
}
