//! Loading the age identity: environment, identity file, or a new `.hearth/identity.txt`.

mod common;

use std::ffi::OsString;
use std::fs;
use std::path::Path;

use age::secrecy::ExposeSecret;
use common::TempDir;
use hearth_secrets::{IDENTITY_ENV, IDENTITY_FILE_ENV, Identity, IdentityOrigin, SecretsError, default_identity_path};

/// The key text of a new key, and the identity it makes.
fn new_key() -> (String, Identity) {
    let key = age::x25519::Identity::generate().to_string().expose_secret().to_owned();
    let identity = Identity::from_key(&key).unwrap();
    (key, identity)
}

fn no_env(_: &str) -> Option<OsString> {
    None
}

#[test]
fn creates_the_default_identity_once_with_private_modes() {
    let dir = TempDir::new();
    let store = dir.path().join("hearth.secrets.age");
    assert!(matches!(Identity::load_with_env(&store, false, no_env), Err(SecretsError::NoIdentity { .. })));

    let created = Identity::load_with_env(&store, true, no_env).unwrap();
    let path = default_identity_path(&store);
    assert_eq!(created.origin(), &IdentityOrigin::Created(path.clone()));
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("# public key: {}", created.recipient())));
    assert!(text.lines().any(|l| l.starts_with("AGE-SECRET-KEY-1")));
    assert!(fs::read_to_string(dir.path().join(".hearth/.gitignore")).unwrap().contains("identity.txt"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    }

    // Later loads read the same key, whether or not they may create one.
    for create in [false, true] {
        let loaded = Identity::load_with_env(&store, create, no_env).unwrap();
        assert_eq!(loaded.recipient().to_string(), created.recipient().to_string());
        assert_eq!(loaded.origin(), &IdentityOrigin::File(path.clone()));
    }
}

#[test]
fn environment_wins_over_files() {
    let dir = TempDir::new();
    let store = dir.path().join("hearth.secrets.age");
    let default = Identity::load_with_env(&store, true, no_env).unwrap();
    let (key_text, from_env) = new_key();
    let (file_key, from_file) = new_key();
    let file = dir.path().join("other.txt");
    fs::write(&file, format!("# comment\n\n{file_key}\n")).unwrap();

    let cases: [(Option<&str>, Option<&Path>, &Identity, IdentityOrigin); 4] = [
        (Some(&key_text), Some(&file), &from_env, IdentityOrigin::Env),
        (None, Some(&file), &from_file, IdentityOrigin::File(file.clone())),
        (Some(""), Some(&file), &from_file, IdentityOrigin::File(file.clone())),
        (None, None, &default, IdentityOrigin::File(default_identity_path(&store))),
    ];
    for (key, file, expected, origin) in cases {
        let env = |name: &str| match name {
            IDENTITY_ENV => key.map(OsString::from),
            IDENTITY_FILE_ENV => file.map(|f| f.as_os_str().to_owned()),
            _ => None,
        };
        let loaded = Identity::load_with_env(&store, false, env).unwrap();
        assert_eq!(loaded.recipient().to_string(), expected.recipient().to_string());
        assert_eq!(loaded.origin(), &origin);
    }
}

#[test]
fn a_missing_identity_file_named_by_the_environment_is_an_error() {
    let dir = TempDir::new();
    let store = dir.path().join("hearth.secrets.age");
    let missing = dir.path().join("missing.txt");
    let env = |name: &str| (name == IDENTITY_FILE_ENV).then(|| missing.as_os_str().to_owned());
    let error = Identity::load_with_env(&store, true, env).unwrap_err();
    assert!(error.to_string().contains("HEARTH_AGE_IDENTITY_FILE"), "{error}");
    assert!(!default_identity_path(&store).exists(), "nothing is created when a file is named");
}

#[test]
fn invalid_keys_are_rejected_without_quoting_them() {
    let (real, _) = new_key();
    let mistyped = format!("{}x", &real[..real.len() - 1]);
    for text in ["", "# only a comment\n", "hunter2", mistyped.as_str()] {
        let error = Identity::from_key(text).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("invalid age identity in the key given: "), "{message}");
        if !text.is_empty() && !text.starts_with('#') {
            assert!(!message.contains(text), "{message}");
        }
    }
}

#[test]
fn debug_shows_the_public_key_only() {
    let (key, identity) = new_key();
    let shown = format!("{identity:?}");
    assert!(shown.contains(&identity.recipient().to_string()));
    assert!(!shown.contains(&key) && !shown.contains("AGE-SECRET-KEY"), "{shown}");
    assert!(!format!("{:?}", Identity::generate()).contains("AGE-SECRET-KEY"));
}
