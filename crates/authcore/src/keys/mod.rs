//! Signing keys: HS256 secrets and ES256 key pairs ([`es256`]), the key ring they form, and
//! its public view (a JWK set).

use std::fmt;

pub mod es256;

pub use es256::EcKey;

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
    /// A PEM value that is not a PKCS#8 P-256 private key.
    #[error(
        "the key is PEM but not a PKCS#8 P-256 private key (`BEGIN PRIVATE KEY`): generate one \
         with `authctl signing-key generate --algorithm ES256`"
    )]
    NotP256,
    /// The current signing key is not of the algorithm the deployment chose.
    #[error(
        "the current signing key is {found:?}, but SIGNING_ALGORITHM is {wanted:?}: for ES256, \
         run `authctl signing-key init --algorithm ES256` once after deploying (README, ES256)"
    )]
    WrongAlgorithm {
        /// What `SIGNING_ALGORITHM` asks for.
        wanted: jsonwebtoken::Algorithm,
        /// What the current key is.
        found: jsonwebtoken::Algorithm,
    },
    /// An ES256 key pair where a random secret is needed (the lockout and refresh keys).
    #[error(
        "the key is an ES256 private key, but this key must be a random secret: generate one \
         with `authctl secret generate`"
    )]
    NotASecret,
}

/// A key that signs and verifies tokens: an HS256 secret or an ES256 key pair.
#[derive(Debug, Clone)]
pub enum Key {
    /// A shared secret for HMAC-SHA256: whoever verifies can also sign.
    Hs256(SigningKey),
    /// A P-256 key pair: the private key signs; anyone with the public key verifies.
    Es256(EcKey),
}

impl Key {
    /// The key a stored value holds: a PEM `PRIVATE KEY` block is an ES256 key, anything else
    /// an HS256 secret (at least 256 bits).
    pub fn parse(value: Vec<u8>) -> Result<Self, KeyError> {
        let text = String::from_utf8_lossy(&value);
        if text.trim_start().starts_with("-----BEGIN") {
            return Ok(Self::Es256(EcKey::from_pem(&value)?));
        }
        Ok(Self::Hs256(SigningKey::new(value)?))
    }

    /// The JWS algorithm this key signs and verifies with, and no other.
    pub fn algorithm(&self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Hs256(_) => jsonwebtoken::Algorithm::HS256,
            Self::Es256(_) => jsonwebtoken::Algorithm::ES256,
        }
    }

    /// The secret, for what needs a random secret rather than a key pair (keyed hashes).
    pub fn secret(&self) -> Result<&SigningKey, KeyError> {
        match self {
            Self::Hs256(k) => Ok(k),
            Self::Es256(_) => Err(KeyError::NotASecret),
        }
    }

    pub(crate) fn encoding_key(&self) -> jsonwebtoken::EncodingKey {
        match self {
            Self::Hs256(k) => jsonwebtoken::EncodingKey::from_secret(k.expose_secret()),
            Self::Es256(k) => k.encoding_key(),
        }
    }

    pub(crate) fn decoding_key(&self) -> jsonwebtoken::DecodingKey {
        match self {
            Self::Hs256(k) => jsonwebtoken::DecodingKey::from_secret(k.expose_secret()),
            Self::Es256(k) => k.decoding_key(),
        }
    }
}

impl From<SigningKey> for Key {
    fn from(key: SigningKey) -> Self {
        Self::Hs256(key)
    }
}

impl From<&SigningKey> for Key {
    fn from(key: &SigningKey) -> Self {
        Self::Hs256(key.clone())
    }
}

impl From<EcKey> for Key {
    fn from(key: EcKey) -> Self {
        Self::Es256(key)
    }
}

impl From<&Key> for Key {
    fn from(key: &Key) -> Self {
        key.clone()
    }
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
    pub key: Key,
}

impl NamedKey {
    /// A key named by what it is: an ES256 key by its thumbprint, a local secret by
    /// [`local_kid`].
    pub fn local(key: Key) -> Self {
        let kid = match &key {
            Key::Hs256(k) => local_kid(k.expose_secret()),
            Key::Es256(k) => k.kid().to_owned(),
        };
        Self { kid, key }
    }

    /// A key stored as a version of a secret: an ES256 key by its thumbprint (so that the id
    /// in its JWK is the one others compute), a secret by the version's id.
    pub fn versioned(key: Key, version: String) -> Self {
        match key {
            Key::Hs256(_) => Self { kid: version, key },
            Key::Es256(_) => Self::local(key),
        }
    }
}

/// The keys in use: the current one signs; the previous one still verifies, so that a
/// rotation logs nobody out; the next one verifies and is published before it signs, so that
/// those who cache the public keys know it by the time it does.
#[derive(Debug, Clone)]
pub struct KeyRing {
    /// Signs new tokens, and verifies.
    pub current: NamedKey,
    /// Verifies tokens issued before the last rotation.
    pub previous: Option<NamedKey>,
    /// Will sign after the next rotation; verifies and is published now.
    pub next: Option<NamedKey>,
}

impl KeyRing {
    /// A ring of local keys, with ids derived from them.
    pub fn local(current: impl Into<Key>, previous: Option<Key>) -> Self {
        Self {
            current: NamedKey::local(current.into()),
            previous: previous.map(NamedKey::local),
            next: None,
        }
    }

    /// The ring with `next` as the key that signs after the next rotation.
    pub fn with_next(mut self, next: Option<Key>) -> Self {
        self.next = next.map(NamedKey::local);
        self
    }

    /// Whether the current key signs with `wanted` (any algorithm when `None`).
    pub fn check_algorithm(&self, wanted: Option<jsonwebtoken::Algorithm>) -> Result<(), KeyError> {
        let found = self.current.key.algorithm();
        match wanted {
            Some(wanted) if wanted != found => Err(KeyError::WrongAlgorithm { wanted, found }),
            _ => Ok(()),
        }
    }

    /// The keys, current first, then the next and the previous one.
    pub fn keys(&self) -> impl Iterator<Item = &NamedKey> {
        std::iter::once(&self.current)
            .chain(self.next.as_ref())
            .chain(self.previous.as_ref())
    }

    /// The public keys others verify tokens with: every ES256 key of the ring (current, next,
    /// previous), or `None` when the current key is an HS256 secret, which has no public part.
    pub fn jwks(&self) -> Option<jsonwebtoken::jwk::JwkSet> {
        let Key::Es256(_) = self.current.key else {
            return None;
        };
        let keys = self
            .keys()
            .filter_map(|k| match &k.key {
                Key::Es256(ec) => Some(ec.public_jwk().clone()),
                Key::Hs256(_) => None,
            })
            .collect();
        Some(jsonwebtoken::jwk::JwkSet { keys })
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
        let ring = KeyRing::local(a.clone(), Some(b.into()));
        assert_eq!(ring.current.kid, local_kid(&[1u8; 32]));
        assert_eq!(ring.current.kid.len(), 16);
        assert_ne!(ring.current.kid, ring.previous.as_ref().unwrap().kid);
        assert_eq!(KeyRing::local(a, None).keys().count(), 1);
    }

    #[test]
    fn a_stored_pem_is_an_es256_key_and_anything_else_a_secret() {
        let ec = EcKey::generate().unwrap();
        let parsed = Key::parse(ec.to_pem().into_bytes()).unwrap();
        assert!(matches!(&parsed, Key::Es256(k) if k == &ec));
        assert_eq!(parsed.algorithm(), jsonwebtoken::Algorithm::ES256);
        assert_eq!(parsed.secret().unwrap_err(), KeyError::NotASecret);
        let secret = Key::parse(vec![7u8; 32]).unwrap();
        assert_eq!(secret.algorithm(), jsonwebtoken::Algorithm::HS256);
        assert!(secret.secret().is_ok());
        assert_eq!(
            Key::parse(b"-----BEGIN PRIVATE KEY-----\nxx".to_vec()).unwrap_err(),
            KeyError::NotP256
        );
    }

    #[test]
    fn versioned_es256_keys_are_named_by_thumbprint_and_secrets_by_version() {
        let ec = EcKey::generate().unwrap();
        let named = NamedKey::versioned(ec.clone().into(), "v-1".into());
        assert_eq!(named.kid, ec.kid());
        let secret = SigningKey::new(vec![7u8; 32]).unwrap();
        assert_eq!(NamedKey::versioned(secret.into(), "v-1".into()).kid, "v-1");
    }

    #[test]
    fn the_jwks_lists_every_es256_key_and_never_a_secret() {
        let (current, next, previous) = (
            EcKey::generate().unwrap(),
            EcKey::generate().unwrap(),
            EcKey::generate().unwrap(),
        );
        let ring = KeyRing::local(current.clone(), Some(previous.clone().into()))
            .with_next(Some(next.clone().into()));
        let kids: Vec<_> = ring
            .jwks()
            .unwrap()
            .keys
            .into_iter()
            .map(|k| k.common.key_id.unwrap())
            .collect();
        assert_eq!(kids, [current.kid(), next.kid(), previous.kid()]);

        // Mid-migration from HS256: the old secret verifies but is never published.
        let secret = SigningKey::new(vec![7u8; 32]).unwrap();
        let migrating = KeyRing::local(current.clone(), Some(secret.clone().into()));
        assert_eq!(migrating.jwks().unwrap().keys.len(), 1);
        // With an HS256 current key there is nothing public to publish.
        assert!(
            KeyRing::local(secret, Some(current.into()))
                .jwks()
                .is_none()
        );
    }

    #[test]
    fn the_current_key_must_be_of_the_chosen_algorithm() {
        use jsonwebtoken::Algorithm::{ES256, HS256};
        let hs = KeyRing::local(SigningKey::new(vec![7u8; 32]).unwrap(), None);
        assert!(hs.check_algorithm(None).is_ok());
        assert!(hs.check_algorithm(Some(HS256)).is_ok());
        let err = hs.check_algorithm(Some(ES256)).unwrap_err();
        assert!(
            err.to_string().contains("authctl signing-key init"),
            "{err}"
        );
        let es = KeyRing::local(EcKey::generate().unwrap(), None);
        assert!(es.check_algorithm(Some(ES256)).is_ok());
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = SigningKey::new(b"a-very-secret-value-that-is-long-enough".to_vec()).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("secret-value"), "{shown}");
        assert!(shown.contains("len"), "{shown}");
    }
}
