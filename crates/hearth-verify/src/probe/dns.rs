//! DNS: an A or AAAA query over TCP (SSH forwards carry only TCP), returning the addresses.
//!
//! Hand-written (RFC 1035 §4.2.2 framing: a two-byte length before each message): one question,
//! recursion desired, answers read with name compression. Every answer record of the asked type
//! counts, so a name behind a CNAME answers its target's addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ProbeError, connect, within};

/// The record type asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// `A`
    V4,
    /// `AAAA`
    V6,
}

impl Family {
    fn qtype(self) -> u16 {
        match self {
            Family::V4 => 1,
            Family::V6 => 28,
        }
    }
}

/// Asks the server at `addr` for `name`'s addresses of one family. A name that exists with no
/// record of that type answers an empty list; NXDOMAIN, SERVFAIL and REFUSED are errors.
pub async fn resolve(
    addr: SocketAddr,
    name: &str,
    family: Family,
    timeout: Duration,
) -> Result<Vec<IpAddr>, ProbeError> {
    within(addr, timeout, run(addr, name, family)).await
}

async fn run(addr: SocketAddr, name: &str, family: Family) -> Result<Vec<IpAddr>, ProbeError> {
    let id: u16 = rand::random();
    let query = encode_query(id, name, family)?;
    let mut stream = connect(addr).await?;
    let broke = |e: std::io::Error| ProbeError::Connect { addr, reason: e.to_string() };
    let mut framed = (query.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&query);
    stream.write_all(&framed).await.map_err(broke)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await.map_err(broke)?;
    let mut answer = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut answer).await.map_err(broke)?;
    decode_answer(id, name, family, &answer)
}

/// A query message for one name and type.
fn encode_query(id: u16, name: &str, family: Family) -> Result<Vec<u8>, ProbeError> {
    let mut out = Vec::with_capacity(32 + name.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00]); // standard query, recursion desired
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(ProbeError::Protocol(format!("`{name}` is not a DNS name")));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&family.qtype().to_be_bytes());
    out.extend_from_slice(&[0, 1]); // class IN
    Ok(out)
}

fn decode_answer(id: u16, name: &str, family: Family, msg: &[u8]) -> Result<Vec<IpAddr>, ProbeError> {
    let bad = || ProbeError::Protocol(format!("the DNS answer for `{name}` is malformed"));
    if msg.len() < 12 {
        return Err(bad());
    }
    let u16_at = |at: usize| -> Result<u16, ProbeError> {
        msg.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or_else(bad)
    };
    if u16_at(0)? != id {
        return Err(ProbeError::Protocol("the DNS answer is for another query".into()));
    }
    let flags = u16_at(2)?;
    match flags & 0x000f {
        0 => {}
        rcode => {
            let what = match rcode {
                1 => "FORMERR",
                2 => "SERVFAIL",
                3 => "NXDOMAIN",
                4 => "NOTIMP",
                5 => "REFUSED",
                _ => "an error",
            };
            let reason = format!("the server answered {what}");
            return Err(if rcode == 3 {
                ProbeError::Missing { name: name.to_string(), reason }
            } else {
                ProbeError::Protocol(format!("DNS query for `{name}`: {reason}"))
            });
        }
    }
    let questions = u16_at(4)?;
    let answers = u16_at(6)?;
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(msg, at).ok_or_else(bad)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..answers {
        at = skip_name(msg, at).ok_or_else(bad)?;
        let rtype = u16_at(at)?;
        let rdlen = u16_at(at + 8)? as usize;
        let data = msg.get(at + 10..at + 10 + rdlen).ok_or_else(bad)?;
        match (rtype, family) {
            (1, Family::V4) if rdlen == 4 => out.push(IpAddr::V4(Ipv4Addr::new(data[0], data[1], data[2], data[3]))),
            (28, Family::V6) if rdlen == 16 => {
                let octets: [u8; 16] = data.try_into().map_err(|_| bad())?;
                out.push(IpAddr::V6(Ipv6Addr::from(octets)));
            }
            _ => {}
        }
        at += 10 + rdlen;
    }
    Ok(out)
}

/// The offset after a (possibly compressed) name starting at `at`.
fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *msg.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l => at += 1 + l as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_one_question_with_recursion_desired() {
        let q = encode_query(0x1234, "app.home.arpa.", Family::V4).unwrap();
        assert_eq!(q, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03app\x04home\x04arpa\x00\x00\x01\x00\x01");
        assert!(encode_query(1, "a..b", Family::V6).is_err());
    }

    #[test]
    fn answers_follow_compressed_names_and_keep_only_the_asked_type() {
        let mut msg = encode_query(7, "www.lan", Family::V4).unwrap();
        msg[2] = 0x81;
        msg[3] = 0x80;
        msg[7] = 2; // two answers
        // www.lan CNAME app.lan (pointer to offset 12 for the owner)
        msg.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, b'a', b'p', b'p', 0xc0, 16]);
        // app.lan A 192.0.2.7
        msg.extend_from_slice(&[0xc0, 37, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]);
        assert_eq!(decode_answer(7, "www.lan", Family::V4, &msg).unwrap(), vec![IpAddr::from([192, 0, 2, 7])]);
        msg[3] = 0x83;
        assert!(matches!(decode_answer(7, "www.lan", Family::V4, &msg), Err(ProbeError::Missing { .. })));
    }
}
