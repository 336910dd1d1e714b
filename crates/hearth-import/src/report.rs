//! The import report: everything the fragment does not carry over as Compose had it, each at the
//! compose file and line it comes from.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use hearth_spec::yaml::Node;
use hearth_spec::{SourceMap, Span};

use crate::interpolate::Interpolated;

/// How much a finding matters to the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something Compose did that the imported spec does not do, or does differently.
    Differs,
    /// Something the operator must do before the spec works as the project did.
    Todo,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The compose (or env) file and 1-based line, when the finding has a place.
    pub file: Option<PathBuf>,
    pub line: usize,
    pub level: Level,
    /// The compose service it is about, as named in the compose file.
    pub service: Option<String>,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}:{}: ", file.display(), self.line)?;
        }
        f.write_str(match self.level {
            Level::Differs => "differs: ",
            Level::Todo => "to do: ",
        })?;
        if let Some(s) = &self.service {
            write!(f, "service `{s}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The sources read so far, the variables interpolation reads, and the findings gathered.
pub struct Cx {
    pub sources: SourceMap,
    pub env: BTreeMap<String, String>,
    pub findings: Vec<Finding>,
    /// The folder paths in messages are shown relative to.
    pub cwd: PathBuf,
    /// Variables already reported unset, so each is reported once.
    reported: HashSet<String>,
}

impl Cx {
    pub fn new(env: BTreeMap<String, String>, cwd: PathBuf) -> Cx {
        Cx { sources: SourceMap::new(), env, findings: Vec::new(), cwd, reported: HashSet::new() }
    }

    /// A path as messages show it: relative to the working folder when inside it.
    pub fn shown(&self, path: &std::path::Path) -> PathBuf {
        path.strip_prefix(&self.cwd).map_or_else(|_| path.to_path_buf(), std::path::Path::to_path_buf)
    }

    /// The file and line a span starts on.
    pub fn place(&self, span: Span) -> (PathBuf, usize) {
        let loc = self.sources.location(span);
        (loc.path.to_path_buf(), loc.line)
    }

    /// Records a finding at a span.
    pub fn at(&mut self, span: Span, level: Level, service: Option<&str>, message: impl Into<String>) {
        let (file, line) = self.place(span);
        self.findings.push(Finding {
            file: Some(file),
            line,
            level,
            service: service.map(str::to_string),
            message: message.into(),
        });
    }

    /// A scalar's text after interpolation, reporting unset and required variables once each.
    pub fn text(&mut self, node: &Node) -> Option<Interpolated> {
        let raw = node.as_scalar()?;
        let got = crate::interpolate::interpolate(raw, &self.env);
        let (file, line) = self.place(node.span);
        self.problems(&got, Some(file), line);
        Some(got)
    }

    /// Reports what interpolating one value found wrong.
    pub fn problems(&mut self, got: &Interpolated, file: Option<PathBuf>, line: usize) {
        for var in &got.unset {
            if self.reported.insert(var.clone()) {
                self.findings.push(Finding {
                    file: file.clone(),
                    line,
                    level: Level::Todo,
                    service: None,
                    message: format!(
                        "`${{{var}}}` is not set (not in the environment or `.env`); Compose reads it as an empty string"
                    ),
                });
            }
        }
        for (var, msg) in &got.required {
            if self.reported.insert(var.clone()) {
                self.findings.push(Finding {
                    file: file.clone(),
                    line,
                    level: Level::Todo,
                    service: None,
                    message: format!("`${{{var}}}` is required and not set: {msg}"),
                });
            }
        }
        if got.malformed {
            self.findings.push(Finding {
                file,
                line,
                level: Level::Differs,
                service: None,
                message: "a `${` without its `}` is kept as written".to_string(),
            });
        }
    }

    /// A scalar's interpolated text, or `None` for anything else.
    pub fn string(&mut self, node: &Node) -> Option<String> {
        self.text(node).map(|i| i.text)
    }
}
