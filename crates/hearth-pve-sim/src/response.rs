//! The real server's answers: `{"data": …}` on success; on failure the HTTP status, the first
//! line of the message as the reason phrase, and `{"data":null,"errors":{…},"message":"…\n"}`
//! (`PVE::APIServer::Formatter::Standard`). An authentication failure has no body.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use hyper::ext::ReasonPhrase;
use serde_json::{Value, json};

use crate::schema::Errors;

/// A request the simulated node refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400 `Parameter verification failed.` with messages per parameter.
    Params(Errors),
    /// 500 with the handler's message (`die "…\n"` on the real node).
    Fail(String),
    /// Any status with a message (injected faults, 403, 404).
    Status(u16, String),
    /// 501: no handler for the method and path.
    NotImplemented(String),
    /// 401 with the reason only.
    Unauthorized(String),
}

impl ApiError {
    /// One parameter's message.
    pub fn param(name: &str, msg: &str) -> ApiError {
        ApiError::Params(Errors::from([(name.to_string(), msg.to_string())]))
    }

    /// A 500 from a handler's message.
    pub fn fail(msg: impl Into<String>) -> ApiError {
        ApiError::Fail(msg.into())
    }

    fn parts(&self) -> (u16, String, Option<&Errors>) {
        match self {
            ApiError::Params(e) => (400, "Parameter verification failed.".into(), Some(e)),
            ApiError::Fail(m) => (500, m.clone(), None),
            ApiError::Status(s, m) => (*s, m.clone(), None),
            ApiError::NotImplemented(m) => (501, m.clone(), None),
            ApiError::Unauthorized(m) => (401, m.clone(), None),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.parts().0
    }

    /// The JSON body, or `None` when the real server sends none (401).
    pub fn body(&self) -> Option<Value> {
        let (_, msg, errors) = self.parts();
        if matches!(self, ApiError::Unauthorized(_)) {
            return None;
        }
        let mut body = json!({ "data": null });
        if let Some(e) = errors {
            body["errors"] = json!(e);
        }
        // Handler messages end in a newline on the real node (`die "…\n"`); the 501 does not.
        let message =
            if matches!(self, ApiError::NotImplemented(_)) || msg.ends_with('\n') { msg } else { format!("{msg}\n") };
        body["message"] = json!(message);
        Some(body)
    }

    /// The HTTP response.
    pub fn into_response(self) -> Response {
        let (status, msg, _) = self.parts();
        let body = self.body().map(|b| b.to_string());
        let reason = msg.lines().next().unwrap_or("").to_string();
        build(status, &reason, body)
    }
}

/// A success: `{"data": …}`.
pub fn ok(data: Value) -> Response {
    build(200, "OK", Some(json!({ "data": data }).to_string()))
}

fn build(status: u16, reason: &str, body: Option<String>) -> Response {
    let mut resp = Response::new(match &body {
        Some(b) => Body::from(b.clone()),
        None => Body::empty(),
    });
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if body.is_some() {
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"));
    }
    resp.headers_mut().insert(header::SERVER, HeaderValue::from_static("pve-api-daemon/3.0"));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
    if let Ok(r) = ReasonPhrase::try_from(reason.as_bytes().to_vec()) {
        resp.extensions_mut().insert(r);
    }
    resp
}
