//! MongoDB: SCRAM-SHA-256 login over OP_MSG (`saslStart`/`saslContinue`), then
//! `listCollections` on the database.
//!
//! There is no live test: Debian 12 ships no MongoDB server (and PyPI none that speaks the wire
//! protocol with SCRAM), so the tests check the SCRAM exchange against the RFC 5802 and RFC 7677
//! vectors (`scram`), BSON against the specification's example (`bson`), the OP_MSG framing and
//! the command documents here byte for byte, and the whole conversation against a stand-in
//! server in the test that plays MongoDB's side of SCRAM-SHA-256 from a stored key.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::bson::{self, Doc, Value};
use super::scram::{self, Hash};
use super::{Login, ProbeError, connect, tidy, within};

/// OP_MSG's opcode.
const OP_MSG: i32 = 2013;

/// Authenticates `login.user` against `auth_source` (the database holding the user, `admin`
/// for most) and lists the collection names of `login.database`, which needs read access.
pub async fn login(
    addr: SocketAddr,
    login: &Login,
    auth_source: &str,
    timeout: Duration,
) -> Result<Vec<String>, ProbeError> {
    within(addr, timeout, run(addr, login, auth_source)).await
}

async fn run(addr: SocketAddr, login: &Login, auth_source: &str) -> Result<Vec<String>, ProbeError> {
    let mut conn = Conn { stream: connect(addr).await?, addr, next_id: 1 };
    let user = &login.user;
    let auth = |reason: String| ProbeError::Auth { user: user.clone(), reason };
    let client = scram::Client::new(Hash::Sha256, user, &scram::Client::random_nonce());
    let reply = conn.command(sasl_start(auth_source, &client.first())).await?;
    let reply = ok(reply, user)?;
    let conversation = bson::get(&reply, "conversationId").cloned().unwrap_or(Value::Int32(1));
    let server_first = payload(&reply)?;
    let last = client.respond(&server_first, login.password.expose()).map_err(|e| auth(e.0))?;
    let reply = conn.command(sasl_continue(auth_source, conversation.clone(), last.message.as_bytes())).await?;
    let reply = ok(reply, user)?;
    last.verify(&payload(&reply)?).map_err(|e| auth(e.0))?;
    if bson::get(&reply, "done") != Some(&Value::Bool(true)) {
        // Servers that do not honour `skipEmptyExchange` want one more empty round.
        let reply = conn.command(sasl_continue(auth_source, conversation, b"")).await?;
        ok(reply, user)?;
    }
    let reply = conn.command(list_collections(&login.database)).await?;
    let reply = ok(reply, user)?;
    Ok(collection_names(&reply))
}

fn sasl_start(db: &str, first: &str) -> Doc {
    vec![
        ("saslStart".into(), Value::Int32(1)),
        ("mechanism".into(), Value::Str("SCRAM-SHA-256".into())),
        ("payload".into(), Value::Binary(first.as_bytes().to_vec())),
        ("autoAuthorize".into(), Value::Int32(1)),
        ("options".into(), Value::Doc(vec![("skipEmptyExchange".into(), Value::Bool(true))])),
        ("$db".into(), Value::Str(db.into())),
    ]
}

fn sasl_continue(db: &str, conversation: Value, payload: &[u8]) -> Doc {
    vec![
        ("saslContinue".into(), Value::Int32(1)),
        ("conversationId".into(), conversation),
        ("payload".into(), Value::Binary(payload.to_vec())),
        ("$db".into(), Value::Str(db.into())),
    ]
}

fn list_collections(db: &str) -> Doc {
    vec![
        ("listCollections".into(), Value::Int32(1)),
        ("nameOnly".into(), Value::Bool(true)),
        ("authorizedCollections".into(), Value::Bool(true)),
        ("$db".into(), Value::Str(db.into())),
    ]
}

/// An answer with `ok: 1`, or the server's refusal sorted by its error code.
fn ok(reply: Doc, user: &str) -> Result<Doc, ProbeError> {
    if bson::get(&reply, "ok").and_then(Value::as_f64) == Some(1.0) {
        return Ok(reply);
    }
    let text = |key: &str| match bson::get(&reply, key) {
        Some(Value::Str(s)) => s.clone(),
        _ => String::new(),
    };
    let code = bson::get(&reply, "code").and_then(Value::as_f64).unwrap_or(0.0) as i64;
    let reason = format!("{} ({code} {})", tidy(&text("errmsg")), text("codeName"));
    Err(match code {
        18 => ProbeError::Auth { user: user.to_string(), reason },
        13 => ProbeError::Denied { user: user.to_string(), reason },
        _ => ProbeError::Protocol(format!("MongoDB refused: {reason}")),
    })
}

fn payload(reply: &Doc) -> Result<String, ProbeError> {
    match bson::get(reply, "payload") {
        Some(Value::Binary(b)) => {
            String::from_utf8(b.clone()).map_err(|_| ProbeError::Protocol("MongoDB's SCRAM payload is not text".into()))
        }
        _ => Err(ProbeError::Protocol("MongoDB's SASL answer has no payload".into())),
    }
}

fn collection_names(reply: &Doc) -> Vec<String> {
    let Some(Value::Doc(cursor)) = bson::get(reply, "cursor") else { return Vec::new() };
    let Some(Value::Array(batch)) = bson::get(cursor, "firstBatch") else { return Vec::new() };
    batch
        .iter()
        .filter_map(|c| match c {
            Value::Doc(d) => match bson::get(d, "name") {
                Some(Value::Str(n)) => Some(n.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// An OP_MSG with one body section (kind 0).
fn encode_msg(request_id: i32, body: &Doc) -> Vec<u8> {
    let doc = bson::encode(body);
    let len = 16 + 4 + 1 + doc.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(len as i32).to_le_bytes());
    out.extend_from_slice(&request_id.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&OP_MSG.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&doc);
    out
}

/// The body of an OP_MSG reply (everything after the 16-byte header).
fn decode_msg(body: &[u8]) -> Option<Doc> {
    let flags = u32::from_le_bytes(body.get(..4)?.try_into().ok()?);
    // A checksum (flag bit 0) trails the sections.
    let end = if flags & 1 == 1 { body.len().checked_sub(4)? } else { body.len() };
    if *body.get(4)? != 0 {
        return None;
    }
    let len = i32::from_le_bytes(body.get(5..9)?.try_into().ok()?) as usize;
    let doc = body.get(5..5 + len)?;
    (5 + len <= end).then_some(())?;
    bson::decode(doc)
}

struct Conn {
    stream: TcpStream,
    addr: SocketAddr,
    next_id: i32,
}

impl Conn {
    async fn command(&mut self, body: Doc) -> Result<Doc, ProbeError> {
        let addr = self.addr;
        let broke = |e: std::io::Error| ProbeError::Connect { addr, reason: e.to_string() };
        let id = self.next_id;
        self.next_id += 1;
        self.stream.write_all(&encode_msg(id, &body)).await.map_err(broke)?;
        let mut header = [0u8; 16];
        self.stream.read_exact(&mut header).await.map_err(broke)?;
        let field = |i: usize| i32::from_le_bytes(header[i..i + 4].try_into().expect("four bytes"));
        let (len, opcode) = (field(0), field(12));
        if opcode != OP_MSG || !(21..=48_000_000).contains(&len) {
            return Err(ProbeError::Protocol(format!(
                "the server at {addr} does not answer MongoDB's OP_MSG (opcode {opcode})"
            )));
        }
        let mut body = vec![0u8; len as usize - 16];
        self.stream.read_exact(&mut body).await.map_err(broke)?;
        decode_msg(&body).ok_or_else(|| ProbeError::Protocol("MongoDB's answer is not valid BSON".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_msg_frames_one_body_section() {
        let body = vec![("ping".to_string(), Value::Int32(1)), ("$db".to_string(), Value::Str("admin".into()))];
        let msg = encode_msg(7, &body);
        let doc = bson::encode(&body);
        assert_eq!(&msg[..4], &((21 + doc.len()) as i32).to_le_bytes());
        assert_eq!(&msg[4..8], &7i32.to_le_bytes());
        assert_eq!(&msg[12..16], &2013i32.to_le_bytes());
        assert_eq!(&msg[16..21], &[0, 0, 0, 0, 0]);
        assert_eq!(&msg[21..], &doc[..]);
        assert_eq!(decode_msg(&msg[16..]), Some(body));
    }

    #[test]
    fn sasl_start_carries_the_client_first_message_as_binary() {
        let doc = sasl_start("admin", "n,,n=app,r=abc");
        assert_eq!(bson::get(&doc, "mechanism"), Some(&Value::Str("SCRAM-SHA-256".into())));
        assert_eq!(bson::get(&doc, "payload"), Some(&Value::Binary(b"n,,n=app,r=abc".to_vec())));
        assert_eq!(doc.last().unwrap().0, "$db");
    }

    #[test]
    fn refusals_are_sorted_by_code() {
        let refusal = |code| {
            vec![
                ("ok".to_string(), Value::Double(0.0)),
                ("errmsg".to_string(), Value::Str("Authentication failed.".into())),
                ("code".to_string(), Value::Int32(code)),
                ("codeName".to_string(), Value::Str("X".into())),
            ]
        };
        assert!(matches!(ok(refusal(18), "app"), Err(ProbeError::Auth { .. })));
        assert!(matches!(ok(refusal(13), "app"), Err(ProbeError::Denied { .. })));
        let names = vec![
            ("ok".to_string(), Value::Int32(1)),
            (
                "cursor".to_string(),
                Value::Doc(vec![(
                    "firstBatch".to_string(),
                    Value::Array(vec![Value::Doc(vec![("name".to_string(), Value::Str("users".into()))])]),
                )]),
            ),
        ];
        assert_eq!(collection_names(&ok(names, "app").unwrap()), vec!["users".to_string()]);
    }

    /// MongoDB's side of the conversation, on a loopback socket: it knows the user's stored and
    /// server keys (as MongoDB keeps them), checks the client's proof, signs, and lists one
    /// collection. A wrong password fails the proof and gets MongoDB's code 18.
    async fn stand_in(listener: tokio::net::TcpListener, password: &str) {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD as B64;
        let h = Hash::Sha256;
        let salted = h.hi(password.as_bytes(), b"salt-of-the-user", 4096);
        let stored_key = h.digest(&h.hmac(&salted, b"Client Key"));
        let server_key = h.hmac(&salted, b"Server Key");
        let (mut stream, _) = listener.accept().await.unwrap();
        let read = async |stream: &mut TcpStream| {
            let mut header = [0u8; 16];
            stream.read_exact(&mut header).await.ok()?;
            let len = i32::from_le_bytes(header[..4].try_into().unwrap()) as usize;
            let mut body = vec![0u8; len - 16];
            stream.read_exact(&mut body).await.ok()?;
            decode_msg(&body)
        };
        let bin = |d: &Doc, k: &str| match bson::get(d, k) {
            Some(Value::Binary(b)) => String::from_utf8(b.clone()).unwrap(),
            other => panic!("{k}: {other:?}"),
        };
        let start = read(&mut stream).await.unwrap();
        assert_eq!(bson::get(&start, "$db"), Some(&Value::Str("admin".into())));
        let client_first = bin(&start, "payload");
        let bare = client_first.strip_prefix("n,,").unwrap().to_string();
        let nonce = format!("{}srv", bare.split("r=").nth(1).unwrap());
        let server_first = format!("r={nonce},s={},i=4096", B64.encode(b"salt-of-the-user"));
        let reply = vec![
            ("conversationId".to_string(), Value::Int32(1)),
            ("done".to_string(), Value::Bool(false)),
            ("payload".to_string(), Value::Binary(server_first.clone().into_bytes())),
            ("ok".to_string(), Value::Double(1.0)),
        ];
        stream.write_all(&encode_msg(100, &reply)).await.unwrap();
        let cont = read(&mut stream).await.unwrap();
        assert_eq!(bson::get(&cont, "conversationId"), Some(&Value::Int32(1)));
        let client_final = bin(&cont, "payload");
        let (without_proof, proof) = client_final.rsplit_once(",p=").unwrap();
        let auth_message = format!("{bare},{server_first},{without_proof}");
        let signature = h.hmac(&stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = B64.decode(proof).unwrap().iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        if h.digest(&client_key) != stored_key {
            let refusal = vec![
                ("ok".to_string(), Value::Double(0.0)),
                ("errmsg".to_string(), Value::Str("Authentication failed.".into())),
                ("code".to_string(), Value::Int32(18)),
                ("codeName".to_string(), Value::Str("AuthenticationFailed".into())),
            ];
            stream.write_all(&encode_msg(101, &refusal)).await.unwrap();
            return;
        }
        let server_final = format!("v={}", B64.encode(h.hmac(&server_key, auth_message.as_bytes())));
        let reply = vec![
            ("conversationId".to_string(), Value::Int32(1)),
            ("done".to_string(), Value::Bool(true)),
            ("payload".to_string(), Value::Binary(server_final.into_bytes())),
            ("ok".to_string(), Value::Int32(1)),
        ];
        stream.write_all(&encode_msg(101, &reply)).await.unwrap();
        let list = read(&mut stream).await.unwrap();
        assert_eq!(bson::get(&list, "$db"), Some(&Value::Str("appdb".into())));
        let reply = vec![
            (
                "cursor".to_string(),
                Value::Doc(vec![
                    ("id".to_string(), Value::Int64(0)),
                    (
                        "firstBatch".to_string(),
                        Value::Array(vec![Value::Doc(vec![("name".to_string(), Value::Str("users".into()))])]),
                    ),
                ]),
            ),
            ("ok".to_string(), Value::Double(1.0)),
        ];
        stream.write_all(&encode_msg(102, &reply)).await.unwrap();
    }

    #[tokio::test]
    async fn the_whole_conversation_with_a_stand_in_server() {
        for (password, works) in [("pw-canary-5", true), ("wrong-canary-6", false)] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(stand_in(listener, "pw-canary-5"));
            let login = Login { user: "app".into(), password: password.into(), database: "appdb".into() };
            let result = super::login(addr, &login, "admin", Duration::from_secs(20)).await;
            server.await.unwrap();
            if works {
                assert_eq!(result.unwrap(), vec!["users".to_string()]);
            } else {
                let e = result.unwrap_err();
                assert!(matches!(e, ProbeError::Auth { ref user, .. } if user == "app"), "{e}");
                assert_eq!(e.to_string(), "login as `app` refused: Authentication failed (18 AuthenticationFailed)");
            }
        }
    }
}
