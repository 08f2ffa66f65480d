//! Refresh tokens: opaque (never a JWT), 256 random bits as base64url. Only their SHA-256 hash
//! is ever stored, so the sessions table opens nothing to whoever reads it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

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
}
