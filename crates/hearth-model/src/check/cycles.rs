//! Start-order cycles through `uses`, `after` and `via`.

use std::collections::BTreeMap;

use hearth_spec::{Code, Diagnostic, Span, Spec};

pub(super) fn cycles(spec: &Spec, out: &mut Vec<Diagnostic>) {
    // Edges: uses, after and via, all meaning "starts after".
    let mut edges: BTreeMap<&str, Vec<(&str, Span)>> = BTreeMap::new();
    for e in &spec.services.entries {
        let list = edges.entry(e.name.as_str()).or_default();
        for u in &e.value.uses {
            list.push((u.service.value.as_str(), u.service.span));
        }
        for a in e.value.after.iter().chain(e.value.via.iter()) {
            list.push((a.value.as_str(), a.span));
        }
    }
    // Iterative DFS with colours; each cycle is reported once, at the edge that closes it.
    let mut colour: BTreeMap<&str, u8> = BTreeMap::new();
    for &start in edges.keys() {
        if colour.get(start).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        let mut path: Vec<&str> = vec![start];
        colour.insert(start, 1);
        while let Some((node, i)) = stack.pop() {
            let next = edges.get(node).and_then(|l| l.get(i)).copied();
            match next {
                None => {
                    colour.insert(node, 2);
                    path.pop();
                }
                Some((to, span)) => {
                    stack.push((node, i + 1));
                    match colour.get(to).copied().unwrap_or(0) {
                        0 if edges.contains_key(to) => {
                            colour.insert(to, 1);
                            stack.push((to, 0));
                            path.push(to);
                        }
                        1 if to != node => {
                            let pos = path.iter().position(|p| *p == to).unwrap_or(0);
                            let mut cycle: Vec<&str> = path[pos..].to_vec();
                            cycle.push(to);
                            out.push(
                                Diagnostic::new(Code::DependencyCycle, span, format!("dependency cycle: {}", cycle.join(" -> ")))
                                    .label("this edge closes the cycle")
                                    .help("services cannot start in order; remove one of these `uses`, `after` or `via` entries"),
                            );
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}
