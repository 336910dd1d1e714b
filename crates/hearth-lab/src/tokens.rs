//! Finding IPv4 addresses and subnets in YAML text, outside comments.
//!
//! A token is a dotted quad that is not part of a longer word or number (`app:1.2.3.4` is one,
//! `a1.2.3.4` and `1.2.3.4.5` are not), optionally followed by `/PREFIX`.

use std::net::Ipv4Addr;

/// One address found in the text, with its byte range (prefix included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub addr: Ipv4Addr,
    pub prefix: Option<u8>,
}

/// Every address token of the text, in order. A `#` that starts a YAML comment (at the start of
/// a line or after a blank, outside quotes) hides the rest of its line.
pub fn tokens(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\n' => quote = None,
            b'"' | b'\'' if quote == Some(b) => quote = None,
            b'"' | b'\'' if quote.is_none() => quote = Some(b),
            b'#' if quote.is_none() && (i == 0 || bytes[i - 1].is_ascii_whitespace()) => {
                i = bytes[i..].iter().position(|&c| c == b'\n').map_or(bytes.len(), |p| i + p);
                continue;
            }
            b'0'..=b'9' if i == 0 || !is_word(bytes[i - 1]) => {
                let end = i + bytes[i..].iter().take_while(|c| c.is_ascii_digit() || **c == b'.').count();
                if let Some(token) = token(text, i, end) {
                    i = token.end;
                    out.push(token);
                    continue;
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The token spanning `start..end` (a run of digits and dots), if it is a whole address.
fn token(text: &str, start: usize, end: usize) -> Option<Token> {
    let bytes = text.as_bytes();
    let run = &text[start..end];
    // A trailing dot ends a sentence, not the address.
    let run = run.strip_suffix('.').unwrap_or(run);
    if run.split('.').count() != 4 {
        return None;
    }
    let addr: Ipv4Addr = run.parse().ok()?;
    let mut stop = start + run.len();
    if stop < bytes.len() && is_word(bytes[stop]) {
        return None;
    }
    let mut prefix = None;
    if bytes.get(stop) == Some(&b'/') {
        let digits = bytes[stop + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        let after = bytes.get(stop + 1 + digits).copied();
        let number = text.get(stop + 1..stop + 1 + digits).and_then(|d| d.parse::<u8>().ok());
        if let Some(p) = number.filter(|p| (1..=2).contains(&digits) && *p <= 32 && !after.is_some_and(is_word)) {
            prefix = Some(p);
            stop += 1 + digits;
        }
    }
    Some(Token { start, end: stop, addr, prefix })
}

/// Characters that make a digit part of a longer name or number.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}
