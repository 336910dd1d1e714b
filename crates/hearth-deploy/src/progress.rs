//! Showing progress: a line per machine on a terminal (indicatif), plain one-line events
//! otherwise, JSON lines for scripts; and the summary table at the end.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::event::{Event, Events};
use crate::report::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A spinner line per machine (stderr is a terminal).
    Terminal,
    /// `machine: what happened`, one line per event on stderr.
    Plain,
    /// One JSON object per event on stdout.
    Json,
}

impl Style {
    /// A spinner line per machine when stderr is a terminal, plain lines otherwise.
    pub fn detect(json: bool) -> Style {
        use std::io::IsTerminal;
        if json {
            Style::Json
        } else if std::io::stderr().is_terminal() {
            Style::Terminal
        } else {
            Style::Plain
        }
    }
}

/// An [`Events`] sink that prints.
pub struct Progress {
    style: Style,
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Progress {
    pub fn new(style: Style) -> Progress {
        Progress { style, multi: MultiProgress::new(), bars: Mutex::new(BTreeMap::new()) }
    }

    fn bar(&self, machine: &str) -> Option<ProgressBar> {
        let mut bars = self.bars.lock().ok()?;
        let bar = bars.entry(machine.to_string()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}") {
                bar.set_style(style);
            }
            bar.set_prefix(machine.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Some(bar.clone())
    }
}

impl Events for Progress {
    fn event(&self, event: Event) {
        match self.style {
            Style::Json => {
                if let Ok(line) = serde_json::to_string(&event) {
                    let mut out = std::io::stdout().lock();
                    // A closed stdout (a pipe to `head`) is the reader's choice; progress is not
                    // worth failing the deploy over.
                    let _ = writeln!(out, "{line}");
                }
            }
            Style::Plain => eprintln!("{}: {}", event.machine, event.kind.describe()),
            Style::Terminal => {
                if let Some(bar) = self.bar(&event.machine) {
                    if event.kind.is_final() {
                        bar.finish_with_message(event.kind.describe());
                    } else {
                        bar.set_message(event.kind.describe());
                    }
                }
            }
        }
    }
}

impl Progress {
    /// Stops every spinner still running (a plan's machines end at `planned`).
    pub fn finish(&self) {
        if let Ok(bars) = self.bars.lock() {
            bars.values().filter(|b| !b.is_finished()).for_each(ProgressBar::abandon);
        }
    }
}

/// The table printed after apply or rollback: one row per machine.
pub fn summary(report: &Report) -> String {
    let rows: Vec<(String, String, String)> = report
        .machines
        .iter()
        .map(|m| {
            let (result, detail) = m.outcome.describe();
            (m.machine.clone(), result.to_string(), detail)
        })
        .collect();
    let width = |f: fn(&(String, String, String)) -> &String, title: &str| {
        rows.iter().map(|r| f(r).chars().count()).max().unwrap_or(0).max(title.len())
    };
    let (w0, w1) = (width(|r| &r.0, "MACHINE"), width(|r| &r.1, "RESULT"));
    let mut out = format!("{:w0$}  {:w1$}  DETAIL\n", "MACHINE", "RESULT");
    for (machine, result, detail) in rows {
        out.push_str(format!("{machine:w0$}  {result:w1$}  {detail}").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{MachineReport, Outcome};

    #[test]
    fn summary_table() {
        let row = |machine: &str, outcome| MachineReport { machine: machine.into(), outcome, plan: None };
        let report = Report {
            machines: vec![
                row("db", Outcome::Applied { generation: 4 }),
                row(
                    "proxy",
                    Outcome::RolledBack { generation: 7, restored: Some(6), reason: "not confirmed in time".into() },
                ),
                row("apps", Outcome::Skipped { reason: "`db` did not succeed".into() }),
                row("dns", Outcome::Unchanged),
            ],
            unmanaged: vec![],
        };
        insta::assert_snapshot!(summary(&report));
    }
}
