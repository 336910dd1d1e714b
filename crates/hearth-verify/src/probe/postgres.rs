//! PostgreSQL: log in with a user and password to a database over plain TCP (no TLS: the probe
//! reaches the server through an SSH forward or on the machine itself) and run
//! `select current_user, current_database()`.
//!
//! The login goes through `tokio_postgres::Config::connect_raw` on a stream the probe opened, so
//! no name is resolved and the address is exactly the one given. The server's SQLSTATE tells the
//! failures apart: `28P01` (wrong password, or a user that does not exist under password
//! authentication), `28000` (no `pg_hba.conf` line admits this host, user and database),
//! `3D000` (the database does not exist).

use std::net::SocketAddr;
use std::time::Duration;

use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use super::{Login, ProbeError, connect, tidy, within};

/// What the server said the session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub database: String,
}

/// Logs in and asks the server who and where the session is.
pub async fn login(addr: SocketAddr, login: &Login, timeout: Duration) -> Result<Session, ProbeError> {
    within(addr, timeout, run(addr, login)).await
}

async fn run(addr: SocketAddr, login: &Login) -> Result<Session, ProbeError> {
    let stream = connect(addr).await?;
    let mut config = tokio_postgres::Config::new();
    config
        .user(&login.user)
        .password(login.password.expose())
        .dbname(&login.database)
        .application_name("hearth-verify");
    let (client, connection) = config.connect_raw(stream, NoTls).await.map_err(|e| classify(addr, login, &e))?;
    // The connection task ends when the client is dropped at the end of this function.
    let driver = tokio::spawn(connection);
    let row = client
        .query_one("select current_user::text, current_database()::text", &[])
        .await
        .map_err(|e| classify(addr, login, &e));
    drop(client);
    let _ = driver.await;
    let row = row?;
    Ok(Session { user: row.get(0), database: row.get(1) })
}

/// Turns a tokio-postgres error into the probe's reasons. The server's messages name the user and
/// database, never the password.
fn classify(addr: SocketAddr, login: &Login, error: &tokio_postgres::Error) -> ProbeError {
    if let Some(db) = error.as_db_error() {
        let reason = tidy(db.message());
        let code = db.code();
        return if *code == SqlState::INVALID_PASSWORD {
            ProbeError::Auth { user: login.user.clone(), reason }
        } else if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            ProbeError::Denied { user: login.user.clone(), reason }
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            ProbeError::Missing { name: login.database.clone(), reason }
        } else {
            ProbeError::Protocol(format!("PostgreSQL refused ({}): {reason}", code.code()))
        };
    }
    let text = error.to_string();
    if error.is_closed() || std::error::Error::source(error).is_some_and(|s| s.is::<std::io::Error>()) {
        ProbeError::Connect { addr, reason: text }
    } else {
        ProbeError::Protocol(format!("PostgreSQL: {text}"))
    }
}
