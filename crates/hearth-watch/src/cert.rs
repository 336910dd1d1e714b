//! When a certificate expires: the `notAfter` of an X.509 certificate's validity, read from
//! its DER with a few lines of TLV walking instead of an X.509 crate (only this one field is
//! needed; the chain itself is verified by rustls in the probe).

use crate::time;
use crate::track::Millis;

/// `notAfter` of a DER certificate, or `None` when it does not parse.
pub fn not_after(der: &[u8]) -> Option<Millis> {
    let (tag, cert, _) = tlv(der)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, tbs, _) = tlv(cert)?;
    if tag != 0x30 {
        return None;
    }
    let mut rest = tbs;
    // [0] version (optional), serialNumber, signature, issuer, then validity.
    let (tag, _, after) = tlv(rest)?;
    if tag == 0xa0 {
        rest = after;
    }
    for _ in 0..3 {
        rest = tlv(rest)?.2;
    }
    let (tag, validity, _) = tlv(rest)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, after_not_before) = tlv(validity)?;
    let (tag, value, _) = tlv(after_not_before)?;
    let text = std::str::from_utf8(value).ok()?;
    let full = match tag {
        // UTCTime: YYMMDDHHMMSSZ, years 50–99 are 19xx.
        0x17 if text.len() == 13 => {
            let yy: u32 = text[..2].parse().ok()?;
            format!("{}{text}", if yy >= 50 { "19" } else { "20" })
        }
        // GeneralizedTime: YYYYMMDDHHMMSSZ.
        0x18 if text.len() == 15 => text.to_string(),
        _ => return None,
    };
    if !full.is_ascii() {
        return None;
    }
    let stamp =
        format!("{}-{}-{}T{}:{}:{}Z", &full[..4], &full[4..6], &full[6..8], &full[8..10], &full[10..12], &full[12..14]);
    time::parse_rfc3339(&stamp)
}

/// One DER element: its tag, its value and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if value.len() < 0x80 {
            out.push(value.len() as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(value);
        out
    }

    /// A certificate skeleton with the given validity times (tag, text) and an optional
    /// version element; the padding makes its length use the long form.
    fn cert(version: bool, not_after: (u8, &str)) -> Vec<u8> {
        let mut tbs = Vec::new();
        if version {
            tbs.extend(el(0xa0, &el(0x02, &[2])));
        }
        tbs.extend(el(0x02, &[1]));
        tbs.extend(el(0x30, &[0u8; 200]));
        tbs.extend(el(0x30, &[]));
        let mut validity = el(0x17, b"250101000000Z");
        validity.extend(el(not_after.0, not_after.1.as_bytes()));
        tbs.extend(el(0x30, &validity));
        el(0x30, &el(0x30, &tbs))
    }

    #[test]
    fn reads_not_after_in_both_time_forms() {
        let check = |der: Vec<u8>, expected: Option<&str>| {
            assert_eq!(not_after(&der).map(time::rfc3339).as_deref(), expected);
        };
        check(cert(true, (0x17, "270301120000Z")), Some("2027-03-01T12:00:00Z"));
        check(cert(false, (0x17, "991231235959Z")), Some("1999-12-31T23:59:59Z"));
        check(cert(true, (0x18, "20510101000000Z")), Some("2051-01-01T00:00:00Z"));
        check(cert(true, (0x17, "2703011200Z")), None);
        check(cert(true, (0x02, "270301120000Z")), None);
        check(vec![0x30, 0x85, 1, 2, 3, 4, 5], None);
        check(vec![], None);
        let mut cut = cert(true, (0x17, "270301120000Z"));
        cut.truncate(cut.len() - 3);
        check(cut, None);
    }
}
