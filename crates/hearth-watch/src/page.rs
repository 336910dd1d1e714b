//! The status page: one server-rendered HTML document, no script, refreshed by the browser
//! every 30 s (`<meta http-equiv="refresh">`). Sparklines are inline SVG drawn here.
//!
//! It reads without colour: each state is a word beside its dot, and each row carries
//! `data-state` and an id derived from its check, which the browser test reads. Every text
//! that comes from the spec or a server's answer is escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::status::{CheckStatus, Status, Uptime};
use crate::time::{human, rfc3339};
use crate::track::{Millis, State};

/// The page.
pub fn render(status: &Status) -> String {
    let mut out = String::with_capacity(4096 + status.checks.len() * 600);
    let title = format!("{} status", status.homelab);
    let s = &status.summary;
    let overall = if s.down > 0 {
        "down"
    } else if s.flapping > 0 {
        "flapping"
    } else if s.pending > 0 && s.up == 0 {
        "pending"
    } else {
        "up"
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"30\"><title>{}</title><style>{CSS}</style></head><body>\n\
         <header><h1>{}</h1><p id=\"summary\" data-state=\"{overall}\">{} up · {} flapping · {} down · {} pending · generated {}</p></header>\n",
        esc(&title),
        esc(&title),
        s.up,
        s.flapping,
        s.down,
        s.pending,
        esc(&status.generated)
    );

    let open: Vec<_> = status.incidents.iter().filter(|i| i.ended.is_none()).collect();
    out.push_str("<section id=\"open-incidents\"><h2>Open incidents</h2>\n");
    if open.is_empty() {
        out.push_str("<p class=\"none\">No open incident</p>\n");
    } else {
        out.push_str("<table><thead><tr><th>Check</th><th>Machine</th><th>Since</th><th>For</th><th>Reason</th></tr></thead><tbody>\n");
        for i in &open {
            let _ = writeln!(
                out,
                "<tr class=\"incident\" data-check=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&i.check),
                esc(&i.summary),
                esc(&i.machine),
                esc(&i.started),
                human(status.generated_ms - i.started_ms),
                esc(&i.reason)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");

    out.push_str("<section id=\"by-machine\"><h2>By machine</h2>\n");
    let mut machines: Vec<&str> = Vec::new();
    for c in &status.checks {
        if !machines.contains(&c.machine.as_str()) {
            machines.push(&c.machine);
        }
    }
    for m in machines {
        let checks: Vec<&CheckStatus> = status.checks.iter().filter(|c| c.machine == m).collect();
        let worst = checks.iter().map(|c| c.state).max().unwrap_or(State::Pending);
        let _ = writeln!(
            out,
            "<section class=\"machine\" id=\"machine-{}\" data-state=\"{}\"><h3>{} {}</h3>",
            slug(m),
            worst.word(),
            dot(worst),
            esc(m)
        );
        out.push_str(
            "<table><thead><tr><th>State</th><th>Check</th><th>Kind</th><th>Latency</th><th>Recent</th>\
             <th>Uptime 24 h / 7 d / 30 d</th><th>Certificate / last success</th><th>Checked</th><th>Reason</th></tr></thead><tbody>\n",
        );
        for c in checks {
            row(&mut out, c, status.generated_ms);
        }
        out.push_str("</tbody></table></section>\n");
    }
    out.push_str("</section>\n");

    out.push_str("<section id=\"by-group\"><h2>By group</h2>\n");
    let mut groups: BTreeMap<&str, BTreeMap<&str, Vec<&CheckStatus>>> = BTreeMap::new();
    for c in &status.checks {
        let Some(service) = c.service.as_deref() else { continue };
        groups.entry(c.group.as_deref().unwrap_or("")).or_default().entry(service).or_default().push(c);
    }
    if groups.is_empty() {
        out.push_str("<p class=\"none\">No service checks</p>\n");
    }
    for (group, services) in &groups {
        let name = if group.is_empty() { "Ungrouped" } else { group };
        let _ = writeln!(
            out,
            "<section class=\"group\" id=\"group-{}\"><h3>{}</h3><ul class=\"tiles\">",
            slug(name),
            esc(name)
        );
        for (service, checks) in services {
            let worst = checks.iter().map(|c| c.state).max().unwrap_or(State::Pending);
            let failing = checks.iter().filter(|c| c.state > State::Up).count();
            let _ = writeln!(
                out,
                "<li class=\"tile\" id=\"service-{}\" data-state=\"{}\">{} <b>{}</b> <span>{}</span> <small>{} check(s){}</small></li>",
                slug(service),
                worst.word(),
                dot(worst),
                esc(service),
                worst.word(),
                checks.len(),
                if failing > 0 { format!(", {failing} failing") } else { String::new() }
            );
        }
        out.push_str("</ul></section>\n");
    }
    out.push_str("</section>\n");

    out.push_str("<section id=\"past-incidents\"><h2>Past incidents</h2>\n");
    let past: Vec<_> = status.incidents.iter().filter(|i| i.ended.is_some()).collect();
    if past.is_empty() {
        out.push_str("<p class=\"none\">No past incident</p>\n");
    } else {
        out.push_str("<table><thead><tr><th>Check</th><th>Machine</th><th>From</th><th>Lasted</th><th>Reason</th></tr></thead><tbody>\n");
        for i in past {
            let lasted = i.ended_ms.map_or_else(String::new, |e| human(e - i.started_ms));
            let _ = writeln!(
                out,
                "<tr class=\"incident\" data-check=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{lasted}</td><td>{}{}</td></tr>",
                esc(&i.check),
                esc(&i.summary),
                esc(&i.machine),
                esc(&i.started),
                esc(&i.reason),
                if i.announced { "" } else { " (maintenance: not announced)" }
            );
        }
        out.push_str("</tbody></table>\n");
    }
    let _ = write!(
        out,
        "</section>\n<footer>hearth watch · started {} · <a href=\"/api/status\">/api/status</a> · <a href=\"/metrics\">/metrics</a></footer>\n</body></html>\n",
        esc(&status.started)
    );
    out
}

fn row(out: &mut String, c: &CheckStatus, now: Millis) {
    let latency = c.latency_ms.map_or_else(|| "–".to_string(), |ms| format!("{ms:.1} ms"));
    let extra = match (c.certificate_expires_ms, c.last_success_ms) {
        (Some(exp), _) => {
            let left = exp - now;
            if left < 0 {
                format!("<span class=\"bad\">expired {}</span>", esc(&rfc3339(exp)))
            } else {
                format!("expires in {} <small>{}</small>", human(left), esc(&rfc3339(exp)))
            }
        }
        (None, Some(ok)) if c.kind == "backup" => format!("verified {} ago", human(now - ok)),
        (None, Some(ok)) => format!("{} ago", human(now - ok)),
        (None, None) => "–".to_string(),
    };
    let checked = c.last_checked_ms.map_or_else(|| "never".to_string(), |at| format!("{} ago", human(now - at)));
    let _ = writeln!(
        out,
        "<tr class=\"check\" id=\"check-{}\" data-state=\"{}\" data-kind=\"{}\"><td class=\"state\">{} {}</td><td title=\"{}\">{}</td><td>{}</td>\
         <td class=\"latency\">{latency}</td><td>{}</td><td class=\"uptime\">{}</td><td>{extra}</td><td>{checked}</td><td class=\"reason\">{}</td></tr>",
        slug(&c.id),
        c.state.word(),
        c.kind,
        dot(c.state),
        c.state.word(),
        esc(&c.location),
        esc(&c.check),
        c.kind,
        sparkline(&c.recent),
        uptime(&c.uptime),
        esc(c.reason.as_deref().unwrap_or(""))
    );
}

fn uptime(u: &Uptime) -> String {
    [u.day, u.week, u.month]
        .iter()
        .map(|v| v.map_or_else(|| "–".to_string(), |f| format!("{:.2} %", f * 100.0)))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// A 120×24 SVG of the latest latencies: a line through the passing runs, scaled to the
/// largest, and a red tick at the bottom for each failure.
pub fn sparkline(recent: &[Option<f64>]) -> String {
    const W: f64 = 120.0;
    const H: f64 = 24.0;
    if recent.is_empty() {
        return format!(
            "<svg class=\"spark\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"no results yet\"></svg>"
        );
    }
    let max = recent.iter().flatten().copied().fold(0.0_f64, f64::max).max(0.001);
    let step = if recent.len() > 1 { W / (recent.len() - 1) as f64 } else { 0.0 };
    let mut points = String::new();
    let mut ticks = String::new();
    for (i, v) in recent.iter().enumerate() {
        let x = i as f64 * step;
        match v {
            Some(ms) => {
                let y = H - 2.0 - (ms / max) * (H - 4.0);
                let _ = write!(points, "{x:.1},{y:.1} ");
            }
            None => {
                let _ = write!(
                    ticks,
                    "<line x1=\"{x:.1}\" y1=\"{H}\" x2=\"{x:.1}\" y2=\"{:.1}\" class=\"fail\"/>",
                    H - 8.0
                );
            }
        }
    }
    let failures = recent.iter().filter(|v| v.is_none()).count();
    format!(
        "<svg class=\"spark\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{} result(s), {failures} failed, slowest {max:.1} ms\"><polyline points=\"{}\"/>{ticks}</svg>",
        recent.len(),
        points.trim_end()
    )
}

fn dot(state: State) -> String {
    format!("<span class=\"dot {}\" aria-hidden=\"true\">●</span>", state.word())
}

/// An id fragment: letters, digits, `-`; anything else becomes `-`.
pub fn slug(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect()
}

/// HTML text and attribute escaping.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
h1{margin:0 0 .2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;width:100%;margin:.4em 0}th,td{text-align:left;padding:.25em .5em;border-bottom:1px solid #eee;vertical-align:middle}\
th{font-weight:600;font-size:12px;color:#555}.dot{font-size:12px}.dot.up{color:#1a7f37}.dot.down{color:#cf222e}\
.dot.flapping{color:#bf8700}.dot.pending{color:#8c959f}tr[data-state=down] td{background:#fff0f0}\
.spark polyline{fill:none;stroke:#0969da;stroke-width:1.5}.spark .fail{stroke:#cf222e;stroke-width:2}\
.tiles{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5em}.tile{border:1px solid #ddd;border-radius:6px;padding:.4em .7em}\
.tile[data-state=down]{border-color:#cf222e}.reason{color:#8a1f11;max-width:30em}.none{color:#555}.bad{color:#cf222e}\
footer{margin-top:2em;color:#555;font-size:12px}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_slowest_and_mark_failures() {
        insta::assert_snapshot!(sparkline(&[Some(1.0), Some(2.0), None, Some(4.0)]), @r#"<svg class="spark" width="120" height="24" viewBox="0 0 120 24" role="img" aria-label="4 result(s), 1 failed, slowest 4.0 ms"><polyline points="0.0,17.0 40.0,12.0 120.0,2.0"/><line x1="80.0" y1="24" x2="80.0" y2="16.0" class="fail"/></svg>"#);
        assert!(sparkline(&[]).contains("no results yet"));
        assert!(sparkline(&[None]).contains("1 failed"));
    }

    #[test]
    fn text_from_outside_is_escaped() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(slug("route/Grafana.home:443"), "route-grafana-home-443");
    }
}
