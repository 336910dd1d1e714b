//! `/nodes/{node}/tasks`: the task list, one task's status and its log.

use serde_json::{Value, json};

use super::Ctx;
use crate::response::ApiError;

pub fn list(cx: &Ctx) -> Value {
    let vmid = cx.text("vmid");
    let tasks: Vec<Value> = cx.sim.with_state(|s| {
        s.tasks.iter().rev().filter(|t| vmid.as_ref().is_none_or(|v| &t.id == v)).map(|t| t.list_json()).collect()
    });
    json!(tasks)
}

fn find<R>(cx: &Ctx, f: impl FnOnce(&crate::state::Task) -> R) -> Result<R, ApiError> {
    let upid = cx.text("upid").unwrap_or_default();
    if !upid.starts_with("UPID:") || upid.split(':').count() != 9 {
        return Err(ApiError::fail(format!("unable to parse worker upid '{upid}'")));
    }
    cx.sim
        .with_state(|s| s.tasks.iter().find(|t| t.upid == upid).map(f))
        .ok_or_else(|| ApiError::fail(format!("no such task '{upid}'")))
}

pub fn status(cx: &Ctx) -> Result<Value, ApiError> {
    find(cx, |t| t.status_json())
}

pub fn log(cx: &Ctx) -> Result<Value, ApiError> {
    let start: usize = cx.text("start").and_then(|s| s.parse().ok()).unwrap_or(0);
    let limit: usize = cx.text("limit").and_then(|s| s.parse().ok()).unwrap_or(50);
    let lines = find(cx, |t| t.log.clone())?;
    let out: Vec<Value> =
        lines.iter().enumerate().skip(start).take(limit).map(|(i, t)| json!({ "n": i + 1, "t": t })).collect();
    Ok(json!(out))
}
