//! Homepage widgets (`services.NAME.widget`) the dashboard would not show (W859): the derivation
//! (`derive::dashboard`) leaves out a widget it cannot place, so the operator hears why here
//! instead of finding the tile bare.

use hearth_spec::{Code, Diagnostic, Spec};

use crate::model::Model;

pub(super) fn widgets(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.services.entries {
        let Some(widget) = &e.value.widget else { continue };
        // Planned services are not in the model, and their widgets come with them.
        let Some(s) = model.services.get(&e.name) else { continue };
        if model.monitoring.widgets.contains_key(&e.name) {
            continue;
        }
        let homepage = model
            .monitoring
            .dashboard
            .as_ref()
            .and_then(|d| model.services.get(d))
            .is_some_and(|d| d.app.as_deref() == Some("homepage"));
        let (why, help) = if !homepage {
            (
                "no Homepage dashboard shows widgets".to_string(),
                "name a Homepage service in `monitoring.dashboard`, or remove `widget:`".to_string(),
            )
        } else if s.exposes.is_empty() {
            (
                format!("`{}` has no `expose:`, so it has no tile on the dashboard", e.name),
                format!("expose `{}`, or remove `widget:`", e.name),
            )
        } else if widget.r#type.is_none() && s.app.is_none() {
            (
                format!("`{}` runs no catalog app, so Homepage's widget type is not known", e.name),
                "give the widget Homepage's name for it: `type: NAME` (see gethomepage.dev's widget list)".to_string(),
            )
        } else {
            (
                format!("`{}`'s route has no upstream the widget could read", e.name),
                "give the widget the address it reads: `url: http://ADDRESS:PORT`".to_string(),
            )
        };
        let span = e.value.spans.key("widget").unwrap_or(e.key_span);
        out.push(
            Diagnostic::new(Code::WidgetShowsNowhere, span, format!("this widget shows nowhere: {why}"))
                .label("left out of the dashboard")
                .help(help),
        );
    }
}
