//! The totals a spec states for a host's guests (`hosts.NAME.expect`) against the computed ones:
//! W880 where they differ (the help proposes the computed value), W881 where the host does not
//! declare what the total would be computed from (its memory, its pools' sizes).

use hearth_spec::{Code, Diagnostic, Span, Spec};

use crate::model::Model;
use crate::totals;

pub fn expected(spec: &Spec, model: &Model, out: &mut Vec<Diagnostic>) {
    for e in &spec.hosts.entries {
        let Some(x) = &e.value.expect else { continue };
        let span = |key: &str| -> Option<Span> {
            match key {
                "cores" => x.cores.as_ref().map(|c| c.span),
                "memory" => x.memory.as_ref().map(|c| c.span),
                "disk" => x.disk.as_ref().map(|c| c.span),
                "memory_free" => x.memory_free.as_ref().map(|c| c.span),
                "disk_free" => x.disk_free.as_ref().map(|c| c.span),
                _ => None,
            }
        };
        let host = &e.name;
        for c in totals::compare(model, host) {
            let Some(at) = span(c.key) else { continue };
            match &c.computed {
                None => {
                    let (missing, help) = if c.key == "memory_free" {
                        ("`hardware.memory`", format!("declare the memory of `{host}` under `hardware.memory`"))
                    } else {
                        ("pool `size`", format!("give the storage pools of `{host}` their `size`"))
                    };
                    out.push(
                        Diagnostic::new(
                            Code::StatedTotalUnchecked,
                            at,
                            format!(
                                "`{host}` states {} of {}, but declares no {missing} to check it against",
                                c.stated, c.what
                            ),
                        )
                        .label("cannot be checked")
                        .help(help),
                    );
                }
                Some(computed) if !c.matches() => out.push(
                    Diagnostic::new(
                        Code::StatedTotalDiffers,
                        at,
                        format!("`{host}` states {} of {}; the spec adds up to {computed}", c.stated, c.what),
                    )
                    .label(format!("computed: {computed}"))
                    .help(format!("state `{computed}`, or correct the sizes that make up the total"))
                    .suggest(at, computed.clone()),
                ),
                Some(_) => {}
            }
        }
    }
}
