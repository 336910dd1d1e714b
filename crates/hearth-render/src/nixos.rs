//! Renderer stub: not written yet.

use crate::{Context, Output};

pub fn render(_cx: &Context, _out: &mut Output) {}
