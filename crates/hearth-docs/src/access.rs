//! Cloudflare Access: the Access application and Allow policy each tunnel name needs, as a
//! checklist for the operator. Hearth contacts no outside address and Access lives in the
//! Cloudflare account, so this list is how the spec's `cloudflare_access` reaches it.

use hearth_model::Model;
use hearth_spec::ast::Access;

use crate::md::{Table, code};

pub fn write(model: &Model, out: &mut String) {
    let tunnelled: Vec<_> = model.routes.iter().filter(|r| r.access == Access::Tunnel).collect();
    if !tunnelled.iter().any(|r| r.cloudflare_access.is_some()) {
        return;
    }
    out.push_str("### Cloudflare Access\n\n");
    out.push_str(
        "Set in the Cloudflare account (Zero Trust > Access > Applications): one self-hosted application \
         per name below, with an Allow policy including exactly these identities. A name without a policy \
         is reached by anyone, up to the service's own login.\n\n",
    );
    let mut t =
        Table::new(&["Application domain", "Service", "Allow: e-mails", "Allow: e-mail domains", "Allow: groups"]);
    let list = |v: &[String]| {
        if v.is_empty() { "-".to_string() } else { v.iter().map(|s| code(s)).collect::<Vec<_>>().join(", ") }
    };
    for r in tunnelled {
        let domain = match &r.path {
            Some(p) => format!("{}{p}", r.fqdn),
            None => r.fqdn.clone(),
        };
        let row = match &r.cloudflare_access {
            Some(c) => vec![code(&domain), r.service.clone(), list(&c.emails), list(&c.email_domains), list(&c.groups)],
            None => vec![code(&domain), r.service.clone(), "no policy".into(), "-".into(), "-".into()],
        };
        t.row(&row);
    }
    t.write(out);
}
