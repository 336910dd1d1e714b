//! The Hearth spec language: YAML with spans, strict decoding with recovery, value types,
//! diagnostics and the JSON Schema editors use.
//!
//! Entry points: [`load`] (files and includes), [`load_str`] (one text), [`schema`].
//! This crate does no network or async work; its only I/O is reading spec files through
//! [`load::Files`].

pub mod ast;
pub mod decode;
pub mod diagnostic;
pub mod emit;
pub mod load;
pub mod net;
pub mod reference;
pub mod schedule;
pub mod schema;
pub mod source;
pub mod suggest;
pub mod units;
pub mod yaml;

pub use ast::*;
pub use decode::{NamedMap, Sp};
pub use diagnostic::{Code, Diagnostic, Edit, Label, Severity};
pub use load::{FsFiles, Loaded, load, load_str};
pub use source::{FileId, SourceMap, Span};
