//! Property strings (`name=eth0,bridge=vmbr0,ip=10.0.0.2/24`): parsing as the real server does
//! (`parse_property_string`: aliases, a default key for a value without one, booleans) and
//! checking against a format object, or only by the keys a `typetext` lists when the schema gives
//! the format by name.

use serde_json::{Map, Value};

use super::{Schema, check};

/// The parts of a property string: `(None, value)` for a part without a key.
pub fn split_property_string(text: &str) -> Vec<(Option<&str>, &str)> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (Some(k), v),
            None => (None, p),
        })
        .collect()
}

/// Bytes of a size as `PVE::JSONSchema::parse_size` reads it (`8G`, `512M`, `1.5T`, `1024`).
pub fn parse_disk_size(s: &str) -> Option<u64> {
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let valid_num = match num.split_once('.') {
        Some((a, b)) => !a.is_empty() && !b.is_empty() && (a.to_owned() + b).bytes().all(|c| c.is_ascii_digit()),
        None => !num.is_empty(),
    };
    if !valid_num {
        return None;
    }
    let factor: f64 = match unit {
        "" => 1.0,
        "K" | "KiB" => 1024.0,
        "M" | "MiB" => 1024.0 * 1024.0,
        "G" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let n: f64 = num.parse().ok()?;
    Some((n * factor) as u64)
}

fn parse_boolean(v: &str) -> Option<&'static str> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some("1"),
        "0" | "off" | "no" | "false" => Some("0"),
        _ => None,
    }
}

fn is_bool(schema: Option<&Value>) -> bool {
    schema.and_then(|s| s.get("type")).and_then(Value::as_str) == Some("boolean")
}

/// Parses a property string against a format object and checks the parts; the error text is
/// what follows `invalid format - ` in the real server's message.
pub(crate) fn check(schema: &Schema, format: &Map<String, Value>, text: &str, path: &str) -> Result<(), String> {
    let mut res: Map<String, Value> = Map::new();
    let mut default_key: Option<&str> = None;
    for part in text.split(',') {
        if part.trim().is_empty() {
            continue;
        }
        match part.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.is_empty() => {
                if res.contains_key(k) {
                    return Err(format!("duplicate key in comma-separated list property: {k}\n"));
                }
                let mut key = k.to_string();
                let mut sub = format.get(k);
                if let Some(alias) = sub.and_then(|s| s.get("alias")).and_then(Value::as_str) {
                    if let Some(key_alias) = sub.and_then(|s| s.get("keyAlias")).and_then(Value::as_str) {
                        if res.contains_key(key_alias) {
                            return Err(format!("key alias '{key_alias}' is already defined\n"));
                        }
                        res.insert(key_alias.to_string(), Value::String(k.to_string()));
                    }
                    key = alias.to_string();
                    sub = format.get(alias);
                    if res.contains_key(&key) {
                        return Err(format!("key '{key}' is already defined (via alias)\n"));
                    }
                }
                if sub.is_none() {
                    return Err(format!("invalid key in comma-separated list property: {key}\n"));
                }
                let v = if is_bool(sub) { parse_boolean(v).unwrap_or(v) } else { v };
                res.insert(key, Value::String(v.to_string()));
            }
            None => {
                if let Some(d) = default_key {
                    return Err(format!("duplicate key in comma-separated list property: {d}\n"));
                }
                let Some((key, sub)) =
                    format.iter().find(|(_, s)| s.get("default_key").is_some_and(|d| d.as_i64() == Some(1)))
                else {
                    return Err("value without key, but schema does not define a default key\n".into());
                };
                default_key = Some(key);
                if res.contains_key(key) {
                    return Err(format!("duplicate key in comma-separated list property: {key}\n"));
                }
                let v = if is_bool(Some(sub)) { parse_boolean(part).unwrap_or(part) } else { part };
                res.insert(key.clone(), Value::String(v.to_string()));
            }
            Some(_) => return Err("missing key in comma-separated list property\n".into()),
        }
    }
    let mut errors = check::Errors::new();
    check::check_object(schema, path, format, &res, false, &mut errors);
    if errors.is_empty() {
        return Ok(());
    }
    let mut msg = String::from("format error\n");
    for (k, v) in errors {
        msg.push_str(&format!("{k}: {v}\n"));
    }
    Err(msg)
}

/// The keys a `typetext` names (`[gw=<GatewayIPv4>] [,ip=<IPv4Format/CIDR>]`) and its default
/// key (`[model=]<enum>`), for formats the schema gives only by name.
fn typetext_keys(typetext: &str) -> (Vec<&str>, Option<&str>) {
    let mut keys = Vec::new();
    let bytes = typetext.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let at_start = i == 0 || matches!(bytes[i - 1], b'[' | b',' | b' ');
        let word_len = bytes[i..].iter().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_')).count();
        if at_start && word_len > 0 && bytes.get(i + word_len) == Some(&b'=') {
            keys.push(&typetext[i..i + word_len]);
        }
        i += word_len.max(1);
    }
    // `[model=]<enum>` and `[[cputype=]<string>]` name a default key; `<…>` first takes a
    // value without a key too.
    let default = typetext
        .trim_start_matches('[')
        .split_once("=]")
        .map(|(k, _)| k)
        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .or_else(|| typetext.starts_with('<').then_some(""));
    (keys, default)
}

/// Checks only the keys of a property string against its `typetext`.
pub(crate) fn check_typetext(typetext: &str, text: &str) -> Result<(), String> {
    let (keys, default) = typetext_keys(typetext);
    let mut seen_default = false;
    for (k, _) in split_property_string(text) {
        match k {
            Some(k) if keys.contains(&k) => {}
            Some(k) => return Err(format!("invalid key in comma-separated list property: {k}\n")),
            None if default.is_some() && !seen_default => seen_default = true,
            None if seen_default => {
                return Err(format!(
                    "duplicate key in comma-separated list property: {}\n",
                    default.unwrap_or_default()
                ));
            }
            None => return Err("value without key, but schema does not define a default key\n".into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_disk_size("8G"), Some(8 << 30));
        assert_eq!(parse_disk_size("1.5K"), Some(1536));
        assert_eq!(parse_disk_size("512"), Some(512));
        assert_eq!(parse_disk_size("8X"), None);
        assert_eq!(parse_disk_size("G"), None);
    }

    #[test]
    fn typetext_names_keys() {
        let t = "[gw=<GatewayIPv4>] [,gw6=<GatewayIPv6>] [,ip=<IPv4Format/CIDR>] [,ip6=<IPv6Format/CIDR>]";
        assert_eq!(typetext_keys(t), (vec!["gw", "gw6", "ip", "ip6"], None));
        assert_eq!(check_typetext(t, "ip=10.0.0.2/24,gw=10.0.0.1"), Ok(()));
        assert_eq!(
            check_typetext(t, "ip=dhcp,foo=1"),
            Err("invalid key in comma-separated list property: foo\n".into())
        );
        assert_eq!(typetext_keys("[model=]<enum> [,bridge=<bridge>]").1, Some("model"));
        let cpu = "[[cputype=]<string>] [,flags=<+FLAG[;-FLAG...]>] [,hidden=<1|0>]";
        assert_eq!(typetext_keys(cpu), (vec!["cputype", "flags", "hidden"], Some("cputype")));
        assert_eq!(check_typetext(cpu, "host,flags=+aes"), Ok(()));
        let remote = "apitoken=<PVEAPIToken=user@realm!token=SECRET> ,host=<ADDRESS> [,port=<PORT>]";
        assert_eq!(typetext_keys(remote).0, vec!["apitoken", "host", "port"]);
    }
}
