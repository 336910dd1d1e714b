//! Redis: `AUTH` (password alone, or ACL user and password), `SELECT` of a DB and `PING`, in
//! hand-written RESP (three commands do not need a client library).
//!
//! Redis's error prefixes tell the failures apart: `WRONGPASS` and `NOAUTH` (credentials),
//! `NOPERM` (an ACL user without the command), `ERR DB index is out of range` (no such DB).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{ProbeError, Secret, connect, tidy, within};

/// How to log in and which DB to select.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// ACL user; `None` sends `AUTH password` (the `default` user).
    pub user: Option<String>,
    /// `None` sends no `AUTH` at all.
    pub password: Option<Secret>,
    pub db: u32,
}

/// Logs in, selects the DB and checks that `PING` answers `PONG`.
pub async fn ping(addr: SocketAddr, auth: &Auth, timeout: Duration) -> Result<(), ProbeError> {
    within(addr, timeout, run(addr, auth)).await
}

async fn run(addr: SocketAddr, auth: &Auth) -> Result<(), ProbeError> {
    let mut conn = BufReader::new(connect(addr).await?);
    let user = auth.user.clone().unwrap_or_else(|| "default".to_string());
    if let Some(password) = &auth.password {
        let mut args = vec!["AUTH"];
        if let Some(u) = &auth.user {
            args.push(u);
        }
        args.push(password.expose());
        // The command carries the password: a failure is reported as `AUTH`, never echoed.
        match command(&mut conn, addr, &args).await? {
            Reply::Simple(s) if s == "OK" => {}
            Reply::Error(e) if e.starts_with("NOPERM") => {
                return Err(ProbeError::Denied { user, reason: e });
            }
            Reply::Error(e) => return Err(ProbeError::Auth { user, reason: e }),
            other => return Err(unexpected("AUTH", &other)),
        }
    }
    let db = auth.db.to_string();
    match command(&mut conn, addr, &["SELECT", &db]).await? {
        Reply::Simple(s) if s == "OK" => {}
        Reply::Error(e) => return Err(refusal(user, &format!("DB {db}"), e)),
        other => return Err(unexpected("SELECT", &other)),
    }
    match command(&mut conn, addr, &["PING"]).await? {
        Reply::Simple(s) if s == "PONG" => Ok(()),
        Reply::Error(e) => Err(refusal(user, &format!("DB {db}"), e)),
        other => Err(unexpected("PING", &other)),
    }
}

fn refusal(user: String, name: &str, e: String) -> ProbeError {
    if e.starts_with("NOAUTH") || e.starts_with("WRONGPASS") {
        ProbeError::Auth { user, reason: e }
    } else if e.starts_with("NOPERM") {
        ProbeError::Denied { user, reason: e }
    } else if e.contains("out of range") {
        ProbeError::Missing { name: name.to_string(), reason: e }
    } else {
        ProbeError::Protocol(format!("Redis: {e}"))
    }
}

fn unexpected(what: &str, reply: &Reply) -> ProbeError {
    ProbeError::Protocol(format!("Redis answered `{what}` with {reply:?}"))
}

/// A reply, as far as these three commands need it.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Simple(String),
    Error(String),
    /// Any other reply, described (these commands never answer one when they work).
    Other(String),
}

/// Sends one command as an array of bulk strings and reads the reply's first element.
async fn command(conn: &mut BufReader<TcpStream>, addr: SocketAddr, args: &[&str]) -> Result<Reply, ProbeError> {
    let broke = |e: std::io::Error| ProbeError::Connect { addr, reason: e.to_string() };
    conn.get_mut().write_all(&encode(args)).await.map_err(broke)?;
    let mut line = String::new();
    if conn.read_line(&mut line).await.map_err(broke)? == 0 {
        return Err(ProbeError::Connect { addr, reason: "Redis closed the connection".into() });
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let Some(kind) = line.chars().next() else {
        return Err(ProbeError::Protocol("Redis sent an empty line".into()));
    };
    let rest = &line[kind.len_utf8()..];
    Ok(match kind {
        '+' => Reply::Simple(rest.to_string()),
        '-' => Reply::Error(tidy(rest)),
        ':' => Reply::Other(format!("the integer {rest}")),
        '$' => {
            // Read the bulk string's body so the connection stays in step.
            if let Ok(n) = rest.parse::<usize>() {
                let mut body = vec![0; n + 2];
                conn.read_exact(&mut body).await.map_err(broke)?;
            }
            Reply::Other("a bulk string".into())
        }
        '*' => Reply::Other("an array".into()),
        _ => return Err(ProbeError::Protocol("Redis sent a reply that is not RESP".into())),
    })
}

fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(encode(&["SELECT", "12"]), b"*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n");
    }
}
