//! Compose `volumes:` entries of a service, both syntaxes: `SOURCE:TARGET[:MODE]`, a bare
//! `TARGET` (an anonymous volume), and the long form `{type, source, target, read_only}`. A
//! source that starts with `/`, `.` or `~` is a host folder; any other is a named volume.

/// One volume entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Volume {
    Bind { source: String, target: String, readonly: bool },
    Named { name: String, target: String, readonly: bool },
    Anonymous { target: String },
    Tmpfs { target: String },
}

/// Parses the short syntax.
pub fn short(text: &str) -> Result<Volume, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => return Ok(Volume::Anonymous { target: t.to_string() }),
        [s, t] => (*s, *t, ""),
        [s, t, m] => (*s, *t, *m),
        _ => return Err(format!("`{text}` is not a volume Compose reads")),
    };
    if target.is_empty() || source.is_empty() {
        return Err(format!("`{text}` is not a volume Compose reads"));
    }
    let readonly = mode.split(',').any(|m| m == "ro");
    Ok(of(source, target, readonly))
}

/// The long syntax's fields.
pub fn long(kind: Option<&str>, source: Option<&str>, target: &str, readonly: bool) -> Volume {
    match (kind, source) {
        (Some("tmpfs"), _) => Volume::Tmpfs { target: target.to_string() },
        (_, None) | (_, Some("")) => Volume::Anonymous { target: target.to_string() },
        (Some("bind"), Some(s)) => Volume::Bind { source: s.to_string(), target: target.to_string(), readonly },
        (Some("volume"), Some(s)) => Volume::Named { name: s.to_string(), target: target.to_string(), readonly },
        (_, Some(s)) => of(s, target, readonly),
    }
}

fn of(source: &str, target: &str, readonly: bool) -> Volume {
    if source.starts_with(['/', '.', '~']) {
        Volume::Bind { source: source.to_string(), target: target.to_string(), readonly }
    } else {
        Volume::Named { name: source.to_string(), target: target.to_string(), readonly }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Volume) {
        assert_eq!(short(text).unwrap(), expected, "{text}");
    }

    #[test]
    fn short_forms() {
        let bind = |s: &str, t: &str, ro| Volume::Bind { source: s.into(), target: t.into(), readonly: ro };
        check("/srv/a:/a", bind("/srv/a", "/a", false));
        check("/srv/a:/a:ro", bind("/srv/a", "/a", true));
        check("/srv/a:/a:ro,z", bind("/srv/a", "/a", true));
        check("~/x:/x:rw", bind("~/x", "/x", false));
        check("data:/var/lib/x", Volume::Named { name: "data".into(), target: "/var/lib/x".into(), readonly: false });
        check("/cache", Volume::Anonymous { target: "/cache".into() });
        assert!(short("a:b:c:d").is_err());
        assert_eq!(long(Some("tmpfs"), None, "/tmp", false), Volume::Tmpfs { target: "/tmp".into() });
        assert_eq!(
            long(Some("volume"), Some("db"), "/d", true),
            Volume::Named { name: "db".into(), target: "/d".into(), readonly: true }
        );
    }
}
