//! First start: the steps by hand that some apps need once before they work and that Hearth
//! cannot take for the operator (a database schema to load, a configuration file to generate),
//! from the catalog's `setup` of each service's form. The section is left out when no service
//! needs one, since most homelabs have nothing to list.

use hearth_catalog::Catalog;
use hearth_model::Model;
use hearth_spec::ast::Form;

use crate::md::Table;

pub fn write(model: &Model, catalog: &Catalog, out: &mut String) {
    let mut t = Table::new(&["Service", "App", "On", "Step"]);
    for (name, s) in &model.services {
        let Some(app) = s.app.as_deref().and_then(|a| catalog.get(a)) else { continue };
        let step = match s.form {
            Form::Docker => app.setup.as_deref(),
            Form::Native => app.native.as_ref().and_then(|n| n.setup.as_deref()),
            Form::Appliance => None,
        };
        if let Some(step) = step {
            t.row(&[name.as_str(), app.name.value.as_str(), s.on.name(), step]);
        }
    }
    if t.is_empty() {
        return;
    }
    out.push_str("## First start\n\n");
    out.push_str("Steps by hand, once, before these services work: Hearth deploys them but cannot take these.\n\n");
    t.write(out);
}
