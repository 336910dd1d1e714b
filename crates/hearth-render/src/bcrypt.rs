//! Basic-auth password hashes: bcrypt as `htpasswd -B` writes it (`$2y$`, cost 10), which
//! Traefik and Caddy (Go's bcrypt) and NGINX (the C library's `crypt`) all read.
//!
//! The salt is derived from the user name and password instead of drawn at random, so the same
//! secret renders the same bytes every time: the plan shows no change while the password stays
//! the same, and a new password changes the file. Two users with the same name and password
//! share a hash, which reveals only that they are equal; the hash itself never leaves the 0600
//! users file.

use sha2::{Digest, Sha256};

/// The cost `htpasswd -B` uses by default.
const COST: u32 = 10;

/// The bcrypt hash of `password` for `user`.
pub(crate) fn hash(user: &str, password: &str) -> String {
    let mut d = Sha256::new();
    d.update(b"hearth basic-auth salt\0");
    d.update(user.as_bytes());
    d.update(b"\0");
    d.update(password.as_bytes());
    let digest = d.finalize();
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&digest[..16]);
    // Passwords longer than bcrypt's 72 bytes are cut there, as every bcrypt implementation does.
    let bytes = password.as_bytes();
    let bytes = &bytes[..bytes.len().min(72)];
    match ::bcrypt::hash_with_salt(bytes, COST, salt) {
        Ok(parts) => parts.format_for_version(::bcrypt::Version::TwoY),
        // Only a cost outside 4..=31 fails, and the cost is fixed.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_repeat() {
        let h = super::hash("admin", "correct horse");
        assert!(h.starts_with("$2y$10$"), "{h}");
        assert!(::bcrypt::verify("correct horse", &h).unwrap());
        assert!(!::bcrypt::verify("wrong", &h).unwrap());
        assert_eq!(h, super::hash("admin", "correct horse"));
        assert_ne!(h, super::hash("bob", "correct horse"));
    }
}
