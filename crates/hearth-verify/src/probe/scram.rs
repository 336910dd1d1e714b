//! SCRAM (RFC 5802) client side, with SHA-1 or SHA-256 (RFC 7677): the client-first message,
//! the client-final message with its proof, and the check of the server's signature.
//!
//! Usernames are escaped (`=` → `=2C`... as the RFC says); passwords are used as given (no
//! SASLprep), which is exact for the ASCII passwords Hearth generates.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
#[cfg(test)]
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The hash a SCRAM mechanism uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    /// SCRAM-SHA-1: only RFC 5802's vector uses it (MongoDB's SHA-1 variant also hashes the
    /// password with MD5 first, which the probe does not offer).
    #[cfg(test)]
    Sha1,
    Sha256,
}

impl Hash {
    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            #[cfg(test)]
            Hash::Sha1 => {
                let mut m = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            Hash::Sha256 => {
                let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            #[cfg(test)]
            Hash::Sha1 => Sha1::digest(data).to_vec(),
            Hash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    pub(crate) fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            #[cfg(test)]
            Hash::Sha1 => pbkdf2::pbkdf2_hmac_array::<Sha1, 20>(password, salt, iterations).to_vec(),
            Hash::Sha256 => pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, iterations).to_vec(),
        }
    }
}

/// One SCRAM exchange in progress.
pub(crate) struct Client {
    hash: Hash,
    nonce: String,
    first_bare: String,
}

/// Why the exchange cannot go on. Never contains the password or a proof.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ScramError(pub(crate) String);

/// The state after the server's first message: what to send, what the server must answer.
pub(crate) struct Final {
    pub(crate) message: String,
    server_signature: Vec<u8>,
}

impl Client {
    /// Starts an exchange for `user` with the given client nonce (random in use, fixed in tests).
    pub(crate) fn new(hash: Hash, user: &str, nonce: &str) -> Self {
        let user = user.replace('=', "=3D").replace(',', "=2C");
        Self { hash, nonce: nonce.to_string(), first_bare: format!("n={user},r={nonce}") }
    }

    /// A client nonce: 24 random bytes in base64.
    pub(crate) fn random_nonce() -> String {
        B64.encode(rand::random::<[u8; 24]>())
    }

    /// The client-first message (no channel binding).
    pub(crate) fn first(&self) -> String {
        format!("n,,{}", self.first_bare)
    }

    /// Reads the server-first message and computes the client-final message.
    pub(crate) fn respond(&self, server_first: &str, password: &str) -> Result<Final, ScramError> {
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for part in server_first.split(',') {
            match part.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = v.parse::<u32>().ok(),
                Some(("e", v)) => return Err(ScramError(format!("the server refused: {v}"))),
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(ScramError("the server's first SCRAM message lacks r, s or i".into()));
        };
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(ScramError("the server's nonce does not extend the client's".into()));
        }
        let salt = B64.decode(salt).map_err(|_| ScramError("the server's salt is not base64".into()))?;
        let h = self.hash;
        let salted = h.hi(password.as_bytes(), &salt, iterations);
        let client_key = h.hmac(&salted, b"Client Key");
        let stored_key = h.digest(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.first_bare);
        let client_signature = h.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&client_signature).map(|(a, b)| a ^ b).collect();
        let server_key = h.hmac(&salted, b"Server Key");
        let server_signature = h.hmac(&server_key, auth_message.as_bytes());
        Ok(Final { message: format!("{without_proof},p={}", B64.encode(proof)), server_signature })
    }
}

impl Final {
    /// Checks the server-final message: the server proves it knows the password too.
    pub(crate) fn verify(&self, server_final: &str) -> Result<(), ScramError> {
        if let Some(e) = server_final.strip_prefix("e=") {
            return Err(ScramError(format!("the server refused: {e}")));
        }
        let v = server_final
            .split(',')
            .find_map(|p| p.strip_prefix("v="))
            .ok_or_else(|| ScramError("the server's final SCRAM message has no signature".into()))?;
        match B64.decode(v) {
            Ok(sig) if sig == self.server_signature => Ok(()),
            _ => Err(ScramError("the server's SCRAM signature is wrong (not the server that holds the user)".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5802 §5: SCRAM-SHA-1, user `user`, password `pencil`.
    #[test]
    fn rfc5802_example() {
        let c = Client::new(Hash::Sha1, "user", "fyko+d2lbbFgONRv9qkxdawL");
        assert_eq!(c.first(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
        let f = c.respond("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096", "pencil").unwrap();
        assert_eq!(f.message, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
        f.verify("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=").unwrap();
        assert!(f.verify("v=AAAApqV8S7suAoZWja4dJRkFsKQ=").is_err());
    }

    /// RFC 7677 §3: SCRAM-SHA-256, user `user`, password `pencil`.
    #[test]
    fn rfc7677_example() {
        let c = Client::new(Hash::Sha256, "user", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(c.first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let f = c
            .respond("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "pencil")
            .unwrap();
        assert_eq!(
            f.message,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        f.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").unwrap();
        // A wrong password gives another proof, and the genuine server signature no longer matches.
        let wrong = c
            .respond(
                "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                "pencils",
            )
            .unwrap();
        assert_ne!(wrong.message, f.message);
        assert!(wrong.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").is_err());
    }

    #[test]
    fn a_server_nonce_that_does_not_extend_ours_is_refused() {
        let c = Client::new(Hash::Sha256, "u,=x", "abc");
        assert_eq!(c.first(), "n,,n=u=2C=3Dx,r=abc");
        assert!(c.respond("r=zzz,s=QSXCR+Q6sek8bf92,i=4096", "p").is_err());
        assert!(c.respond("r=abc,s=QSXCR+Q6sek8bf92,i=4096", "p").is_err());
    }
}
