//! The little BSON the MongoDB probe needs: documents of strings, numbers, booleans, binary,
//! nested documents and arrays, encoded and decoded; the fixed-size types servers add to answers
//! (object ids, timestamps, dates, decimals) are decoded as opaque values.

/// A BSON value (the types the probe sends or reads).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Double(f64),
    Str(String),
    Doc(Doc),
    Array(Vec<Value>),
    Binary(Vec<u8>),
    Bool(bool),
    Null,
    Int32(i32),
    Int64(i64),
    /// A type the probe only skips (object id, date, timestamp, decimal128, regex…).
    Opaque(u8),
}

/// A document: keys in order.
pub(crate) type Doc = Vec<(String, Value)>;

/// Looks a key up.
pub(crate) fn get<'a>(doc: &'a Doc, key: &str) -> Option<&'a Value> {
    doc.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

impl Value {
    /// A number of any BSON numeric type, as f64 (`ok` arrives as double or int).
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Double(d) => Some(*d),
            Value::Int32(i) => Some(f64::from(*i)),
            Value::Int64(i) => Some(*i as f64),
            _ => None,
        }
    }
}

/// Encodes a document.
pub(crate) fn encode(doc: &Doc) -> Vec<u8> {
    let mut out = vec![0; 4];
    for (key, value) in doc {
        out.push(type_byte(value));
        out.extend_from_slice(key.as_bytes());
        out.push(0);
        encode_value(value, &mut out);
    }
    out.push(0);
    let len = out.len() as i32;
    out[..4].copy_from_slice(&len.to_le_bytes());
    out
}

fn type_byte(v: &Value) -> u8 {
    match v {
        Value::Double(_) => 0x01,
        Value::Str(_) => 0x02,
        Value::Doc(_) => 0x03,
        Value::Array(_) => 0x04,
        Value::Binary(_) => 0x05,
        Value::Bool(_) => 0x08,
        Value::Null => 0x0a,
        Value::Int32(_) => 0x10,
        Value::Int64(_) => 0x12,
        Value::Opaque(t) => *t,
    }
}

fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Double(d) => out.extend_from_slice(&d.to_le_bytes()),
        Value::Str(s) => {
            out.extend_from_slice(&(s.len() as i32 + 1).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
        Value::Doc(d) => out.extend_from_slice(&encode(d)),
        Value::Array(items) => {
            let doc: Doc = items.iter().enumerate().map(|(i, v)| (i.to_string(), v.clone())).collect();
            out.extend_from_slice(&encode(&doc));
        }
        Value::Binary(b) => {
            out.extend_from_slice(&(b.len() as i32).to_le_bytes());
            out.push(0); // generic subtype
            out.extend_from_slice(b);
        }
        Value::Bool(b) => out.push(u8::from(*b)),
        Value::Int32(i) => out.extend_from_slice(&i.to_le_bytes()),
        Value::Int64(i) => out.extend_from_slice(&i.to_le_bytes()),
        Value::Null | Value::Opaque(_) => {}
    }
}

/// Decodes one document that fills `bytes` exactly.
pub(crate) fn decode(bytes: &[u8]) -> Option<Doc> {
    let (doc, used) = decode_at(bytes, 0)?;
    (used == bytes.len()).then_some(doc)
}

/// Decodes the document at `at`; returns it and the offset after it.
fn decode_at(bytes: &[u8], at: usize) -> Option<(Doc, usize)> {
    let len = i32_at(bytes, at)? as usize;
    let end = at.checked_add(len)?;
    if len < 5 || end > bytes.len() || bytes[end - 1] != 0 {
        return None;
    }
    let mut pos = at + 4;
    let mut doc = Vec::new();
    while pos < end - 1 {
        let t = bytes[pos];
        let key_end = pos + 1 + bytes[pos + 1..end].iter().position(|&b| b == 0)?;
        let key = String::from_utf8(bytes[pos + 1..key_end].to_vec()).ok()?;
        pos = key_end + 1;
        let (value, next) = decode_value(bytes, t, pos, end)?;
        doc.push((key, value));
        pos = next;
    }
    Some((doc, end))
}

fn decode_value(bytes: &[u8], t: u8, pos: usize, end: usize) -> Option<(Value, usize)> {
    let fixed = |n: usize| (pos + n <= end).then_some(pos + n);
    Some(match t {
        0x01 => (Value::Double(f64::from_le_bytes(bytes.get(pos..pos + 8)?.try_into().ok()?)), fixed(8)?),
        0x02 => {
            let n = i32_at(bytes, pos)? as usize;
            let s = bytes.get(pos + 4..pos + 4 + n.checked_sub(1)?)?;
            (Value::Str(String::from_utf8(s.to_vec()).ok()?), fixed(4 + n)?)
        }
        0x03 => {
            let (d, next) = decode_at(bytes, pos)?;
            (Value::Doc(d), next)
        }
        0x04 => {
            let (d, next) = decode_at(bytes, pos)?;
            (Value::Array(d.into_iter().map(|(_, v)| v).collect()), next)
        }
        0x05 => {
            let n = i32_at(bytes, pos)? as usize;
            (Value::Binary(bytes.get(pos + 5..pos + 5 + n)?.to_vec()), fixed(5 + n)?)
        }
        0x07 => (Value::Opaque(t), fixed(12)?),
        0x08 => (Value::Bool(*bytes.get(pos)? != 0), fixed(1)?),
        0x09 | 0x11 => (Value::Opaque(t), fixed(8)?),
        0x0a | 0x06 | 0x7f | 0xff => (Value::Null, pos),
        0x10 => (Value::Int32(i32_at(bytes, pos)?), fixed(4)?),
        0x12 => (Value::Int64(i64::from_le_bytes(bytes.get(pos..pos + 8)?.try_into().ok()?)), fixed(8)?),
        0x13 => (Value::Opaque(t), fixed(16)?),
        0x0b => {
            let a = pos + bytes[pos..end].iter().position(|&b| b == 0)? + 1;
            let b = a + bytes[a..end].iter().position(|&b| b == 0)? + 1;
            (Value::Opaque(t), b)
        }
        _ => return None,
    })
}

fn i32_at(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of bsonspec.org: `{"hello": "world"}`.
    #[test]
    fn the_spec_example_encodes_byte_for_byte() {
        let doc = vec![("hello".to_string(), Value::Str("world".into()))];
        let bytes = encode(&doc);
        assert_eq!(bytes, b"\x16\x00\x00\x00\x02hello\x00\x06\x00\x00\x00world\x00\x00");
        assert_eq!(decode(&bytes), Some(doc));
    }

    #[test]
    fn every_type_reads_back_and_truncation_is_refused() {
        let doc = vec![
            ("d".to_string(), Value::Double(1.5)),
            ("a".to_string(), Value::Array(vec![Value::Int32(1), Value::Str("x".into())])),
            ("b".to_string(), Value::Binary(vec![1, 2, 3])),
            ("t".to_string(), Value::Bool(true)),
            ("n".to_string(), Value::Null),
            ("l".to_string(), Value::Int64(-7)),
            ("o".to_string(), Value::Doc(vec![("k".to_string(), Value::Int32(3))])),
        ];
        let bytes = encode(&doc);
        assert_eq!(decode(&bytes), Some(doc));
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
    }
}
