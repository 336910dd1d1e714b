//! A stateful Proxmox VE API simulator for tests and the lab: every request is validated against
//! the vendored API schema and refused with the real server's error shape; guests, configs with
//! digests, tasks with UPIDs and logs, storage usage and locks are kept; faults are injected on
//! demand; a `Runtime` turns started guests into something real (lab containers).

pub mod control;
pub mod faults;
pub mod response;
pub mod routes;
pub mod runtime;
pub mod schema;
pub mod server;
pub mod sim;
pub mod state;
pub mod tls;

use std::sync::Arc;

pub use faults::{FaultKind, Faults, Rule};
pub use runtime::{CommandRuntime, DockerRuntime, GuestInfo, NoRuntime, Runtime, Started, not_runnable};
pub use schema::Schema;
pub use sim::{Config, Sim, Token};
pub use state::State;

/// Serves the simulator on a bound listener until the future is dropped or fails.
pub async fn serve(listener: tokio::net::TcpListener, sim: Arc<Sim>) -> std::io::Result<()> {
    axum::serve(listener, server::router(sim)).await
}

/// Serves the simulator on an ephemeral loopback port in the background (for tests in other
/// crates) and returns the address; the base URL is `http://ADDR/api2/json`.
pub async fn spawn_local(sim: Arc<Sim>) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve(listener, sim));
    Ok(addr)
}
