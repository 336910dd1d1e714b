//! The HTTP side: one handler for every path, doing what the real `pveproxy` does in its order:
//! authentication (an API token), handler lookup through the schema (501 when none), URI
//! parameters merged with the query and body, the node check, schema validation (400), then the
//! route. `/_sim/…` is the control interface (faults, state, stats), outside the API.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State as AxumState;
use axum::http::{Request as HttpRequest, header};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::faults::FaultKind;
use crate::response::{ApiError, ok};
use crate::sim::{Request, Sim};
use crate::{control, routes};

/// The largest request body read: more than the real node's 64 KiB of form data, so an
/// oversized parameter meets the schema's `maxLength` rather than a size limit.
const MAX_BODY: usize = 1 << 20;

/// The router serving the simulated node.
pub fn router(sim: Arc<Sim>) -> Router {
    Router::new().fallback(handle).with_state(sim)
}

async fn handle(AxumState(sim): AxumState<Arc<Sim>>, req: HttpRequest<Body>) -> Response {
    let path = req.uri().path().to_string();
    if let Some(rest) = path.strip_prefix("/_sim") {
        let method = req.method().as_str().to_string();
        return control::handle(&sim, &method, rest, req).await;
    }
    let method = req.method().as_str().to_string();
    let rel = path.strip_prefix("/api2/json").unwrap_or(&path).to_string();
    match api(&sim, req).await {
        Ok(data) => {
            sim.record(&method, &rel, Ok(()));
            ok(data)
        }
        Err(e) => {
            let body = e.body();
            let message = body.as_ref().and_then(|b| b["message"].as_str()).unwrap_or("").trim_end().to_string();
            let detail =
                body.as_ref().and_then(|b| b.get("errors")).map(|e| format!("{message} {e}")).unwrap_or(message);
            sim.record(&method, &rel, Err((e.status(), detail)));
            e.into_response()
        }
    }
}

/// Percent-decoding of a path segment or form field (`+` as space only in forms).
pub fn decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `a=1&b=2` into a map of strings; a repeated key joins its values with NUL, as the real
/// server's `decode_urlencoded` does.
pub fn decode_form(text: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for pair in text.split(['&', ';']).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k, true), decode(v, true));
        let joined = match out.get(&k).and_then(Value::as_str) {
            Some(old) => format!("{old}\0{v}"),
            None => v,
        };
        out.insert(k, Value::String(joined));
    }
    out
}

fn authenticate(sim: &Sim, req: &HttpRequest<Body>) -> Result<String, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::Unauthorized("No ticket".into()));
    };
    // As `extract_auth_value`: the key at the start or after white space, then `=` or a space,
    // the value up to `;`, percent-decoded.
    let found = value.match_indices("PVEAPIToken").find(|(i, _)| *i == 0 || value[..*i].ends_with(char::is_whitespace));
    let Some(token) = found.and_then(|(i, k)| value[i + k.len()..].strip_prefix(['=', ' '])) else {
        return Err(ApiError::Unauthorized("No ticket".into()));
    };
    let token = decode(token.split(';').next().unwrap_or(""), false);
    let (id, secret) = token.split_once('=').unwrap_or((&token, ""));
    match sim.config.tokens.iter().find(|t| t.id == id) {
        Some(t) if t.secret == secret => Ok(t.id.clone()),
        _ => Err(ApiError::Unauthorized("invalid token value!".into())),
    }
}

async fn api(sim: &Arc<Sim>, req: HttpRequest<Body>) -> Result<Value, ApiError> {
    let method = req.method().as_str().to_string();
    let full = req.uri().path().to_string();
    let Some(rel) = full.strip_prefix("/api2/json") else {
        return Err(ApiError::NotImplemented("no such uri".into()));
    };
    let rel = if rel.is_empty() { "/".to_string() } else { rel.to_string() };
    let user = authenticate(sim, &req)?;
    let request = Request { method: method.clone(), path: rel.clone(), user };

    if let Some(rule) = sim.fault(FaultKind::Delay, &request) {
        tokio::time::sleep(Duration::from_millis(rule.ms.unwrap_or(1000))).await;
    }
    if let Some(rule) = sim.fault(FaultKind::Status, &request) {
        let status = rule.status.unwrap_or(500);
        return Err(ApiError::Status(
            status,
            rule.message.unwrap_or_else(|| "injected failure (hearth-pve-sim fault)".into()),
        ));
    }

    let segments: Vec<String> = crate::schema::split_path(&rel).map(|s| decode(s, false)).collect();
    let not_implemented = || ApiError::NotImplemented(format!("Method '{method} {rel}' not implemented"));
    let (endpoint, uri_params) = sim.schema.find(&segments).ok_or_else(not_implemented)?;
    let info = endpoint.method(&method).ok_or_else(not_implemented)?;
    let template = endpoint.template.clone();

    let query = req.uri().query().map(decode_form).unwrap_or_default();
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let bytes = to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| ApiError::Status(413, "request entity too large".into()))?;
    let mut params = Map::new();
    if method == "POST" || method == "PUT" {
        let text = String::from_utf8_lossy(&bytes);
        if content_type.split(';').next().is_some_and(|c| c.trim() == "application/json") {
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(m)) => params = m,
                Ok(Value::Null) => {}
                Ok(_) => return Err(ApiError::param("_root", "an object is required")),
                Err(e) => return Err(ApiError::fail(format!("malformed JSON string: {e}"))),
            }
        } else {
            params = decode_form(&text);
        }
    }
    params.extend(query);
    let mut merged: Map<String, Value> =
        uri_params.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    for (k, v) in params {
        if let Some(existing) = merged.get(&k)
            && existing.as_str() != Some(crate::routes::text_of(&v).as_str())
        {
            return Err(ApiError::param(&k, "duplicate parameter (already defined in URI) with conflicting values!"));
        }
        merged.insert(k, v);
    }

    if info.get("proxyto").and_then(Value::as_str) == Some("node")
        && let Some(node) = merged.get("node").and_then(Value::as_str)
        && node != sim.node()
        && node != "localhost"
    {
        return Err(ApiError::fail(format!("unable to get remote IP address for node '{node}'")));
    }

    let errors = sim.schema.validate(info, &merged);
    if !errors.is_empty() {
        return Err(ApiError::Params(errors));
    }
    let result = routes::dispatch(sim, &request, &template, &merged).await;
    if method != "GET" {
        sim.persist();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_like_the_real_server() {
        let m = decode_form("net0=name%3Deth0%2Cbridge%3Dvmbr0&hostname=a+b&x=1&x=2");
        assert_eq!(m["net0"], "name=eth0,bridge=vmbr0");
        assert_eq!(m["hostname"], "a b");
        assert_eq!(m["x"], "1\u{0}2");
        assert_eq!(decode("UPID%3Apve%3A", false), "UPID:pve:");
        assert_eq!(decode("100%", false), "100%");
    }
}
