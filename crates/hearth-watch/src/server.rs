//! The web server (axum): `/` the status page, `/api/status` the snapshot as JSON, `/metrics`
//! in Prometheus's text format.
//!
//! On loopback it answers anyone on the machine; elsewhere `daemon::start` refuses to run
//! without `Auth`, and every request must then carry the token, as `Authorization: Bearer` (for
//! Prometheus and scripts) or as the password of HTTP basic auth (for browsers, which ask for
//! it), compared in constant time.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hearth_verify::probe::Secret;
use tokio::sync::watch;

use crate::daemon::Shared;
use crate::{metrics, page, status, time};

/// How a request proves it may read the page.
#[derive(Debug, Clone)]
pub enum Auth {
    /// A token: `Authorization: Bearer TOKEN`, or basic auth with any user and TOKEN as the
    /// password.
    Token(Secret),
}

struct App {
    shared: Arc<Shared>,
    auth: Option<Auth>,
}

/// Serves until `stopped` turns true.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    auth: Option<Auth>,
    mut stopped: watch::Receiver<bool>,
    log: Arc<dyn Fn(&str) + Send + Sync>,
) {
    let app = Arc::new(App { shared, auth });
    let router = axum::Router::new()
        .route("/", get(index))
        .route("/api/status", get(api))
        .route("/metrics", get(prometheus))
        .with_state(app);
    let shutdown = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
        log(&format!("warning: the status server stopped: {e}"));
    }
}

fn allowed(app: &App, headers: &HeaderMap) -> bool {
    let Some(Auth::Token(token)) = &app.auth else { return true };
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let presented = if let Some(t) = value.strip_prefix("Bearer ") {
        t.trim().to_string()
    } else if let Some(b) = value.strip_prefix("Basic ") {
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD.decode(b.trim()).unwrap_or_default();
        let text = String::from_utf8_lossy(&decoded).to_string();
        text.split_once(':').map(|(_, p)| p.to_string()).unwrap_or_default()
    } else {
        return false;
    };
    constant_time_eq(presented.as_bytes(), token.expose().as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized() -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        "authentication required: a bearer token, or the token as the basic-auth password\n",
    )
        .into_response();
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"hearth watch\""));
    r
}

fn snapshot(app: &App) -> Result<status::Status, Box<Response>> {
    status::snapshot(&app.shared, time::now(), 20)
        .map_err(|e| Box::new((StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()))
}

async fn index(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if !allowed(&app, &headers) {
        return unauthorized();
    }
    match snapshot(&app) {
        Ok(s) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page::render(&s)).into_response(),
        Err(r) => *r,
    }
}

async fn api(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if !allowed(&app, &headers) {
        return unauthorized();
    }
    match snapshot(&app) {
        Ok(s) => axum::Json(s).into_response(),
        Err(r) => *r,
    }
}

async fn prometheus(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if !allowed(&app, &headers) {
        return unauthorized();
    }
    match snapshot(&app) {
        Ok(s) => {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics::render(&s)).into_response()
        }
        Err(r) => *r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
