//! Signing keys for HS256.

use std::fmt;

/// The shortest secret accepted, in bytes: 256 bits, the HMAC-SHA256 output size (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// Bytes of randomness in a generated secret (384 bits).
pub const GENERATED_SECRET_BYTES: usize = 48;

/// A new random secret: 48 bytes from the OS, base64url-encoded (64 characters).
pub fn generate_secret() -> Result<String, KeyError> {
    use base64::Engine as _;
    let mut bytes = [0u8; GENERATED_SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Why a secret cannot be used as a signing key.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The secret is shorter than 256 bits.
    #[error(
        "the JWT signing secret is {len} bytes long; at least {MIN_SECRET_BYTES} bytes (256 bits) \
         are required: generate one with `authctl secret generate` (or `openssl rand -base64 48`)"
    )]
    TooShort {
        /// Length of the rejected secret, in bytes.
        len: usize,
    },
    /// The system random source failed.
    #[error("the system random source failed: {0}")]
    Random(String),
}

/// A key id for a locally configured secret: the first 8 bytes of its SHA-256, in hex.
/// Stable for the same secret, and it reveals nothing usable about it.
pub fn local_kid(secret: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(secret)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A signing key with its id (`kid`).
#[derive(Debug, Clone)]
pub struct NamedKey {
    /// The key id tokens carry in their header.
    pub kid: String,
    /// The key.
    pub key: SigningKey,
}

/// The keys in use: the current one signs; the previous one still verifies, so that a
/// rotation logs nobody out.
#[derive(Debug, Clone)]
pub struct KeyRing {
    /// Signs new tokens, and verifies.
    pub current: NamedKey,
    /// Verifies tokens issued before the last rotation.
    pub previous: Option<NamedKey>,
}

impl KeyRing {
    /// A ring of local secrets, with ids derived from them.
    pub fn local(current: SigningKey, previous: Option<SigningKey>) -> Self {
        let named = |key: SigningKey| NamedKey {
            kid: local_kid(key.expose_secret()),
            key,
        };
        Self {
            current: named(current),
            previous: previous.map(named),
        }
    }

    /// The keys, current first.
    pub fn keys(&self) -> impl Iterator<Item = &NamedKey> {
        std::iter::once(&self.current).chain(self.previous.as_ref())
    }
}

/// An HS256 signing key of at least 256 bits.
///
/// Its `Debug` output never shows the secret.
#[derive(Clone)]
pub struct SigningKey {
    secret: Box<[u8]>,
}

impl SigningKey {
    /// Wraps `secret`, refusing one shorter than [`MIN_SECRET_BYTES`].
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, KeyError> {
        let secret: Vec<u8> = secret.into();
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::TooShort { len: secret.len() });
        }
        Ok(Self {
            secret: secret.into_boxed_slice(),
        })
    }

    /// The raw secret bytes, for building MAC states.
    pub fn expose_secret(&self) -> &[u8] {
        &self.secret
    }
}

/// A keyed hash (HMAC-SHA256 under a key derived from the signing key): names things in a table,
/// such as an email's failed attempts, without the table revealing the email to whoever reads
/// it, and without anyone outside guessing the names.
#[derive(Clone)]
pub struct KeyedHash {
    key: ring::hmac::Key,
}

impl KeyedHash {
    /// The keyed hash for `purpose`, derived from `key`: each purpose gets its own key.
    pub fn derive(key: &SigningKey, purpose: &str) -> Self {
        let root = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.expose_secret());
        let derived = ring::hmac::sign(&root, purpose.as_bytes());
        Self {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    /// The hash of `parts` (each length-prefixed, so that no two lists collide), as 128 bits of
    /// base64url.
    pub fn of(&self, parts: &[&str]) -> String {
        let mut ctx = ring::hmac::Context::with_key(&self.key);
        for part in parts {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&ctx.sign().as_ref()[..16])
    }
}

impl fmt::Debug for KeyedHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyedHash(..)")
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("len", &self.secret.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_depend_on_key_purpose_and_every_part() {
        let key = SigningKey::new(vec![7u8; 32]).unwrap();
        let other = SigningKey::new(vec![8u8; 32]).unwrap();
        let h = KeyedHash::derive(&key, "attempts");
        let a = h.of(&["ada@example.com", "198.51.100.7"]);
        assert_eq!(a, h.of(&["ada@example.com", "198.51.100.7"]));
        assert_eq!(a.len(), 22);
        for different in [
            h.of(&["ada@example.com", "198.51.100.8"]),
            h.of(&["ada@example.com198.51.100.7"]),
            h.of(&["ada@example.com1", "98.51.100.7"]),
            KeyedHash::derive(&key, "sessions").of(&["ada@example.com", "198.51.100.7"]),
            KeyedHash::derive(&other, "attempts").of(&["ada@example.com", "198.51.100.7"]),
        ] {
            assert_ne!(a, different);
        }
        assert!(!format!("{h:?}").contains('7'));
    }

    #[test]
    fn rejects_secrets_under_256_bits() {
        assert_eq!(
            SigningKey::new(vec![7u8; 31]).unwrap_err(),
            KeyError::TooShort { len: 31 }
        );
        assert_eq!(
            SigningKey::new(Vec::new()).unwrap_err(),
            KeyError::TooShort { len: 0 }
        );
        assert!(SigningKey::new(vec![7u8; 32]).is_ok());
    }

    #[test]
    fn error_says_how_long_and_what_to_do() {
        let msg = SigningKey::new(b"short".to_vec()).unwrap_err().to_string();
        assert!(msg.contains("5 bytes"), "{msg}");
        assert!(msg.contains("256 bits"), "{msg}");
    }

    #[test]
    fn generated_secrets_are_long_random_and_usable() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(SigningKey::new(a.into_bytes()).is_ok());
    }

    #[test]
    fn local_key_ids_are_stable_and_distinct() {
        let a = SigningKey::new(vec![1u8; 32]).unwrap();
        let b = SigningKey::new(vec![2u8; 32]).unwrap();
        let ring = KeyRing::local(a.clone(), Some(b));
        assert_eq!(ring.current.kid, local_kid(&[1u8; 32]));
        assert_eq!(ring.current.kid.len(), 16);
        assert_ne!(ring.current.kid, ring.previous.as_ref().unwrap().kid);
        assert_eq!(KeyRing::local(a, None).keys().count(), 1);
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = SigningKey::new(b"a-very-secret-value-that-is-long-enough".to_vec()).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("secret-value"), "{shown}");
        assert!(shown.contains("len"), "{shown}");
    }
}
