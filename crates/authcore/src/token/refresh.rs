//! Refresh tokens: opaque (never a JWT), 256 random bits as base64url. Only their SHA-256 hash
//! is ever stored, so the sessions table opens nothing to whoever reads it.
//!
//! A rotated token's successor is not random but derived from it under a key of its own
//! ([`Successors`], `REFRESH_KEY`): whoever presents the same token again (a retry after a
//! lost answer, a second tab) can be given the same successor without it being stored
//! anywhere, and nobody without the key can work it out from the token.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::config::KeyVars;
use crate::keys::SigningKey;

/// The variables of the key successors are derived with: the Secrets Manager secret
/// (deployed), or the key itself (local use). Never the signing or the lockout key.
pub const REFRESH_KEY: KeyVars = KeyVars {
    arn: "REFRESH_KEY_ARN",
    inline: "REFRESH_KEY",
    previous: None,
    next: None,
    key_pair_allowed: false,
    hint: "set REFRESH_KEY_ARN to a Secrets Manager secret (the template's RefreshKey), or \
           REFRESH_KEY to a random value of at least 32 bytes for local use, or \
           REFRESH_RETRY_SECONDS=0 to turn refresh retries off",
};

/// The purpose successors are derived for.
const SUCCESSOR_PURPOSE: &str = "lambda-auth refresh successor v1";

/// Random bytes in a refresh token.
pub const REFRESH_TOKEN_BYTES: usize = 32;
/// Its length as base64url without padding.
pub const REFRESH_TOKEN_CHARS: usize = 43;

/// A new refresh token and the hash to store for it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// The token, handed to the client once.
    pub token: String,
    /// Its hash ([`hash`]), the only thing stored.
    pub hash: String,
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

/// A new random refresh token; `None` when the system has no randomness.
pub fn new_refresh_token() -> Option<RefreshToken> {
    let mut bytes = [0u8; REFRESH_TOKEN_BYTES];
    getrandom::fill(&mut bytes).ok()?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_of(&token);
    Some(RefreshToken { token, hash })
}

/// The stored hash of `token`, or `None` when it cannot be a refresh token (wrong length or
/// alphabet): such a token is refused without a table lookup.
pub fn hash(token: &str) -> Option<String> {
    let plausible = token.len() == REFRESH_TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plausible.then(|| hash_of(token))
}

fn hash_of(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Derives the successor of a refresh token: HMAC-SHA256 of the token, under a key derived
/// from `REFRESH_KEY` for this one purpose, as a refresh token (256 bits, base64url).
#[derive(Clone)]
pub struct Successors {
    key: ring::hmac::Key,
}

impl Successors {
    /// The successors of tokens under `key`.
    pub fn new(key: &SigningKey) -> Self {
        let root = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.expose_secret());
        let derived = ring::hmac::sign(&root, SUCCESSOR_PURPOSE.as_bytes());
        Self {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    /// The successor of `token`: the same for the same token, every time.
    pub fn of(&self, token: &str) -> RefreshToken {
        let tag = ring::hmac::sign(&self.key, token.as_bytes());
        let token = URL_SAFE_NO_PAD.encode(&tag.as_ref()[..REFRESH_TOKEN_BYTES]);
        let hash = hash_of(&token);
        RefreshToken { token, hash }
    }
}

impl fmt::Debug for Successors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Successors(..)")
    }
}

/// A new random id for a session family: 128 bits, hex.
pub fn new_family_id() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_256_bits_and_only_their_hash_is_kept() {
        let a = new_refresh_token().unwrap();
        let b = new_refresh_token().unwrap();
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), REFRESH_TOKEN_CHARS);
        assert_eq!(hash(&a.token), Some(a.hash.clone()));
        assert_ne!(a.hash, a.token);
        assert!(!a.token.contains('.'), "never a JWT");
        assert!(!format!("{a:?}").contains(&a.token));
        for bad in [
            "",
            "short",
            &"a".repeat(44),
            &format!("{}!", &a.token[..42]),
            "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        ] {
            assert_eq!(hash(bad), None, "{bad}");
        }
        assert_eq!(new_family_id().unwrap().len(), 32);
    }

    fn successors(key: &str) -> Successors {
        Successors::new(&SigningKey::new(key.as_bytes().to_vec()).unwrap())
    }

    #[test]
    fn a_successor_is_the_same_every_time_and_a_refresh_token_like_any_other() {
        let s = successors("successor-test-key-0123456789abcdef");
        let token = new_refresh_token().unwrap();
        let (a, b) = (s.of(&token.token), s.of(&token.token));
        assert_eq!(a, b);
        assert_eq!(a.token.len(), REFRESH_TOKEN_CHARS);
        assert_eq!(hash(&a.token), Some(a.hash.clone()));
        assert_ne!(a.token, token.token);
        assert_ne!(s.of(&a.token), a, "the successor's successor differs");
    }

    #[test]
    fn another_key_or_token_gives_another_successor() {
        let token = new_refresh_token().unwrap();
        let other = new_refresh_token().unwrap();
        let s = successors("successor-test-key-0123456789abcdef");
        let t = successors("successor-test-key-fedcba9876543210");
        assert_ne!(s.of(&token.token), t.of(&token.token));
        assert_ne!(s.of(&token.token), s.of(&other.token));
        assert!(!format!("{s:?}").contains("successor-test-key"));
    }
}
