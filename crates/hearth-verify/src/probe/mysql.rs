//! MariaDB/MySQL: log in with a user and password to a database over plain TCP and run
//! `select current_user(), database()`.
//!
//! Hand-written client protocol (HandshakeV10, HandshakeResponse41, auth switch, COM_QUERY with a
//! text result set): the probe needs one login and one query, and a client crate would bring
//! a connection pool, TLS stacks and a runtime of its own. Two authentication plugins:
//! `mysql_native_password` (MariaDB's default) and `caching_sha2_password` (MySQL 8's), including
//! its full authentication over plain TCP, where the password goes out encrypted with the
//! server's RSA key (RSA-OAEP) after the key is asked for.
//!
//! The server's error numbers tell the failures apart: 1045 (wrong password or unknown user),
//! 1044 (user without rights on the database), 1049 (no such database), 1130 (host not allowed).

use std::net::SocketAddr;
use std::time::Duration;

use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Login, ProbeError, connect, tidy, within};

/// What the server said the session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `current_user()`: the account matched, `user@host`.
    pub user: String,
    pub database: String,
    /// The server's version string from its greeting.
    pub server_version: String,
}

/// Logs in and asks the server who and where the session is.
pub async fn login(addr: SocketAddr, login: &Login, timeout: Duration) -> Result<Session, ProbeError> {
    within(addr, timeout, run(addr, login)).await
}

const CLIENT_LONG_PASSWORD: u32 = 1;
const CLIENT_CONNECT_WITH_DB: u32 = 8;
const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_PLUGIN_AUTH: u32 = 0x80000;
/// utf8mb4_general_ci
const CHARSET: u8 = 45;

async fn run(addr: SocketAddr, login: &Login) -> Result<Session, ProbeError> {
    let mut conn = Conn { stream: connect(addr).await?, addr, seq: 0 };
    let greeting = conn.read().await?;
    if greeting.first() == Some(&0xff) {
        return Err(refusal(login, &greeting));
    }
    let greeting = Greeting::parse(&greeting)
        .ok_or_else(|| ProbeError::Protocol(format!("the server at {addr} does not greet as MariaDB/MySQL")))?;
    let password = login.password.expose();
    let mut plugin = greeting.plugin.clone();
    let mut scramble = greeting.scramble.clone();
    let response = scramble_for(&plugin, password, &scramble)?;
    conn.write(&handshake_response(login, &plugin, &response)).await?;
    loop {
        let packet = conn.read().await?;
        match packet.first() {
            Some(0x00) => break,
            Some(0xff) => return Err(refusal(login, &packet)),
            Some(0xfe) => {
                // Auth switch: another plugin and a fresh scramble.
                let rest = &packet[1..];
                let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                plugin = String::from_utf8_lossy(&rest[..end]).into_owned();
                let data = rest.get(end + 1..).unwrap_or_default();
                scramble = data.strip_suffix(&[0]).unwrap_or(data).to_vec();
                conn.write(&scramble_for(&plugin, password, &scramble)?).await?;
            }
            Some(0x01) if plugin == "caching_sha2_password" => match packet.get(1) {
                // Fast authentication worked; the OK packet follows.
                Some(0x03) => {}
                // Full authentication: ask for the server's public key, send the password with it.
                Some(0x04) => {
                    conn.write(&[0x02]).await?;
                    let key = conn.read().await?;
                    let pem = key.strip_prefix(&[0x01]).unwrap_or(&key);
                    conn.write(&encrypt_password(pem, password, &scramble)?).await?;
                }
                _ => return Err(ProbeError::Protocol("caching_sha2_password sent an unknown step".into())),
            },
            _ => return Err(ProbeError::Protocol(format!("unexpected answer to the login at {addr}"))),
        }
    }
    let (user, database) = conn.query_pair(login, "select current_user(), database()").await?;
    Ok(Session { user, database, server_version: greeting.version })
}

/// The parts of HandshakeV10 the login needs.
struct Greeting {
    version: String,
    scramble: Vec<u8>,
    plugin: String,
}

impl Greeting {
    fn parse(p: &[u8]) -> Option<Self> {
        if *p.first()? != 10 {
            return None;
        }
        let vend = 1 + p[1..].iter().position(|&b| b == 0)?;
        let version = String::from_utf8_lossy(&p[1..vend]).into_owned();
        let mut at = vend + 1 + 4; // connection id
        let mut scramble = p.get(at..at + 8)?.to_vec();
        at += 8 + 1; // filler
        let caps_low = u16::from_le_bytes([*p.get(at)?, *p.get(at + 1)?]) as u32;
        at += 2 + 1 + 2; // charset, status
        let caps_high = u16::from_le_bytes([*p.get(at)?, *p.get(at + 1)?]) as u32;
        let caps = caps_low | (caps_high << 16);
        at += 2;
        let data_len = *p.get(at)? as usize;
        at += 1 + 10; // reserved (MariaDB's extended capabilities)
        let mut plugin = "mysql_native_password".to_string();
        if caps & CLIENT_SECURE_CONNECTION != 0 {
            let n = data_len.saturating_sub(8).max(13);
            let part = p.get(at..(at + n).min(p.len()))?;
            scramble.extend_from_slice(part.strip_suffix(&[0]).unwrap_or(part));
            at += n;
        }
        if caps & CLIENT_PLUGIN_AUTH != 0
            && let Some(rest) = p.get(at..)
        {
            let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
            if end > 0 {
                plugin = String::from_utf8_lossy(&rest[..end]).into_owned();
            }
        }
        Some(Self { version, scramble, plugin })
    }
}

fn handshake_response(login: &Login, plugin: &str, auth: &[u8]) -> Vec<u8> {
    let caps = CLIENT_LONG_PASSWORD
        | CLIENT_CONNECT_WITH_DB
        | CLIENT_PROTOCOL_41
        | CLIENT_SECURE_CONNECTION
        | CLIENT_PLUGIN_AUTH;
    let mut out = Vec::with_capacity(64 + login.user.len() + login.database.len());
    out.extend_from_slice(&caps.to_le_bytes());
    out.extend_from_slice(&(16u32 << 20).to_le_bytes());
    out.push(CHARSET);
    out.extend_from_slice(&[0; 23]);
    out.extend_from_slice(login.user.as_bytes());
    out.push(0);
    out.push(auth.len() as u8);
    out.extend_from_slice(auth);
    out.extend_from_slice(login.database.as_bytes());
    out.push(0);
    out.extend_from_slice(plugin.as_bytes());
    out.push(0);
    out
}

/// The scrambled password a plugin sends first.
fn scramble_for(plugin: &str, password: &str, scramble: &[u8]) -> Result<Vec<u8>, ProbeError> {
    if password.is_empty() {
        return Ok(Vec::new());
    }
    match plugin {
        // SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password)))
        "mysql_native_password" => {
            let h1 = Sha1::digest(password.as_bytes());
            let h2 = Sha1::digest(h1);
            let mut h = Sha1::new();
            h.update(scramble);
            h.update(h2);
            Ok(h1.iter().zip(h.finalize()).map(|(a, b)| a ^ b).collect())
        }
        // SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble)
        "caching_sha2_password" => {
            let h1 = Sha256::digest(password.as_bytes());
            let h2 = Sha256::digest(h1);
            let mut h = Sha256::new();
            h.update(h2);
            h.update(scramble);
            Ok(h1.iter().zip(h.finalize()).map(|(a, b)| a ^ b).collect())
        }
        other => Err(ProbeError::Protocol(format!(
            "the server asks for the authentication plugin `{other}`, which the probe does not speak"
        ))),
    }
}

/// caching_sha2_password's full authentication without TLS: (password + NUL) XOR the scramble,
/// encrypted with the server's RSA public key (OAEP with SHA-1, as the server decrypts it).
fn encrypt_password(pem: &[u8], password: &str, scramble: &[u8]) -> Result<Vec<u8>, ProbeError> {
    use rsa::pkcs8::DecodePublicKey;
    let pem = std::str::from_utf8(pem).map_err(|_| ProbeError::Protocol("the server's RSA key is not PEM".into()))?;
    let key = rsa::RsaPublicKey::from_public_key_pem(pem.trim_end_matches('\0'))
        .or_else(|_| {
            use rsa::pkcs1::DecodeRsaPublicKey;
            rsa::RsaPublicKey::from_pkcs1_pem(pem.trim_end_matches('\0'))
        })
        .map_err(|_| ProbeError::Protocol("the server's RSA key does not parse".into()))?;
    let mut plain: Vec<u8> = password.bytes().chain([0]).collect();
    if !scramble.is_empty() {
        for (i, b) in plain.iter_mut().enumerate() {
            *b ^= scramble[i % scramble.len()];
        }
    }
    key.encrypt(&mut rand::thread_rng(), rsa::Oaep::new::<Sha1>(), &plain)
        .map_err(|_| ProbeError::Protocol("cannot encrypt the password with the server's RSA key".into()))
}

/// The first `n` values of a text result row, NULL as empty. Each is a length-encoded string:
/// one length byte below 251, or 0xfc and a two-byte length; 0xfb is NULL.
fn text_row(row: &[u8], n: usize) -> Option<Vec<String>> {
    let mut at = 0;
    let mut values = Vec::with_capacity(n);
    for _ in 0..n {
        let (len, head) = match *row.get(at)? {
            0xfb => {
                values.push(String::new());
                at += 1;
                continue;
            }
            0xfc => (u16::from_le_bytes([*row.get(at + 1)?, *row.get(at + 2)?]) as usize, 3),
            n if n < 0xfb => (n as usize, 1),
            _ => return None,
        };
        values.push(String::from_utf8_lossy(row.get(at + head..at + head + len)?).into_owned());
        at += head + len;
    }
    Some(values)
}

/// An ERR packet as the probe's reason.
fn refusal(login: &Login, packet: &[u8]) -> ProbeError {
    let code = packet.get(1..3).map(|b| u16::from_le_bytes([b[0], b[1]])).unwrap_or(0);
    let text = match packet.get(3) {
        Some(b'#') => packet.get(9..).unwrap_or_default(),
        _ => packet.get(3..).unwrap_or_default(),
    };
    let reason = format!("{} (error {code})", tidy(&String::from_utf8_lossy(text)));
    let user = login.user.clone();
    match code {
        1045 | 1698 => ProbeError::Auth { user, reason },
        1044 | 1130 | 1129 | 1227 => ProbeError::Denied { user, reason },
        1049 => ProbeError::Missing { name: login.database.clone(), reason },
        _ => ProbeError::Protocol(format!("MariaDB/MySQL refused: {reason}")),
    }
}

struct Conn {
    stream: TcpStream,
    addr: SocketAddr,
    seq: u8,
}

impl Conn {
    async fn read(&mut self) -> Result<Vec<u8>, ProbeError> {
        let addr = self.addr;
        let broke = |e: std::io::Error| ProbeError::Connect { addr, reason: e.to_string() };
        let mut header = [0u8; 4];
        self.stream.read_exact(&mut header).await.map_err(broke)?;
        let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
        self.seq = header[3].wrapping_add(1);
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body).await.map_err(broke)?;
        Ok(body)
    }

    async fn write(&mut self, payload: &[u8]) -> Result<(), ProbeError> {
        let addr = self.addr;
        let len = (payload.len() as u32).to_le_bytes();
        let mut packet = vec![len[0], len[1], len[2], self.seq];
        packet.extend_from_slice(payload);
        self.seq = self.seq.wrapping_add(1);
        self.stream.write_all(&packet).await.map_err(|e| ProbeError::Connect { addr, reason: e.to_string() })
    }

    /// Runs a query whose result is one row of two columns, read as text (NULL as empty).
    async fn query_pair(&mut self, login: &Login, sql: &str) -> Result<(String, String), ProbeError> {
        self.seq = 0;
        let mut packet = vec![0x03];
        packet.extend_from_slice(sql.as_bytes());
        self.write(&packet).await?;
        let first = self.read().await?;
        if first.first() == Some(&0xff) {
            return Err(refusal(login, &first));
        }
        let columns = first.first().copied().unwrap_or(0) as usize;
        for _ in 0..columns {
            self.read().await?;
        }
        // The EOF packet after the column definitions (no CLIENT_DEPRECATE_EOF asked).
        self.read().await?;
        let row = self.read().await?;
        let mut values =
            text_row(&row, 2).ok_or_else(|| ProbeError::Protocol("the query's answer does not parse".into()))?;
        let database = values.pop().unwrap_or_default();
        let user = values.pop().unwrap_or_default();
        Ok((user, database))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The scrambles against values computed independently (Python's hashlib) for scramble
    /// bytes 1..=20 and password `secret`.
    #[test]
    fn scrambles_follow_the_plugins_formulas() {
        let scramble: Vec<u8> = (1..=20).collect();
        let native = scramble_for("mysql_native_password", "secret", &scramble).unwrap();
        assert_eq!(native.len(), 20);
        let sha2 = scramble_for("caching_sha2_password", "secret", &scramble).unwrap();
        assert_eq!(sha2.len(), 32);
        assert_eq!(hex(&native), NATIVE);
        assert_eq!(hex(&sha2), SHA2);
        assert!(scramble_for("mysql_native_password", "", &scramble).unwrap().is_empty());
        assert!(scramble_for("auth_gssapi_client", "x", &scramble).is_err());
    }

    const NATIVE: &str = "b32bb3a583e1340c0a1108d58b1be49781ad8c2f";
    const SHA2: &str = "746ebe205d56a0707acb3e796e834e0dd7b1d61743b26bd5202c7a623230c7c9";

    /// A MySQL 8 greeting: version, 8 + 12 scramble bytes, capabilities with
    /// CLIENT_SECURE_CONNECTION and CLIENT_PLUGIN_AUTH, and the plugin name.
    #[test]
    fn a_greeting_gives_version_scramble_and_plugin() {
        let mut p = vec![10];
        p.extend_from_slice(b"8.0.36\0");
        p.extend_from_slice(&7u32.to_le_bytes());
        p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 0]);
        p.extend_from_slice(&0xf7ffu16.to_le_bytes());
        p.push(255);
        p.extend_from_slice(&2u16.to_le_bytes());
        p.extend_from_slice(&0xdfffu16.to_le_bytes());
        p.push(21);
        p.extend_from_slice(&[0; 10]);
        p.extend_from_slice(&[9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 0]);
        p.extend_from_slice(b"caching_sha2_password\0");
        let g = Greeting::parse(&p).unwrap();
        assert_eq!(g.version, "8.0.36");
        assert_eq!(g.scramble, (1..=20).collect::<Vec<u8>>());
        assert_eq!(g.plugin, "caching_sha2_password");
        assert!(Greeting::parse(&p[..20]).is_none());
        assert!(Greeting::parse(&[9]).is_none());
    }

    /// caching_sha2_password's full authentication: what the server decrypts with its private
    /// key and XORs with the scramble is the password and a NUL.
    #[test]
    fn full_authentication_encrypts_the_password_for_the_server_key() {
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let pem = private.to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
        let scramble: Vec<u8> = (1..=20).collect();
        let sent = encrypt_password(pem.as_bytes(), "secret", &scramble).unwrap();
        let mut plain = private.decrypt(rsa::Oaep::new::<Sha1>(), &sent).unwrap();
        for (i, b) in plain.iter_mut().enumerate() {
            *b ^= scramble[i % scramble.len()];
        }
        assert_eq!(plain, b"secret\0");
        assert!(encrypt_password(b"not a key", "secret", &scramble).is_err());
    }

    #[test]
    fn row_values_are_length_encoded() {
        let long = "u".repeat(300);
        let mut row = vec![0xfc];
        row.extend_from_slice(&300u16.to_le_bytes());
        row.extend_from_slice(long.as_bytes());
        row.push(0xfb);
        assert_eq!(text_row(&row, 2), Some(vec![long.clone(), String::new()]));
        assert_eq!(text_row(b"\x03app\x05appdb", 2), Some(vec!["app".to_string(), "appdb".to_string()]));
        assert_eq!(text_row(b"\x05app", 1), None);
    }

    #[test]
    fn refusals_are_sorted_by_error_number() {
        let login = Login { user: "app".into(), password: "x".into(), database: "appdb".into() };
        let err = |code: u16| {
            let mut p = vec![0xff];
            p.extend_from_slice(&code.to_le_bytes());
            p.extend_from_slice(b"#28000Access denied");
            refusal(&login, &p)
        };
        assert!(matches!(err(1045), ProbeError::Auth { .. }));
        assert!(matches!(err(1044), ProbeError::Denied { .. }));
        assert!(matches!(err(1049), ProbeError::Missing { .. }));
        assert_eq!(err(1045).to_string(), "login as `app` refused: Access denied (error 1045)");
    }
}
