//! JSON Web Tokens (HS256 or ES256), signed and verified with `jsonwebtoken`.
//!
//! - [`claims`]: what a token says ([`Claims`]) and who it is for ([`Subject`]).
//! - [`issue`]: [`TokenIssuer`], built once, signs tokens with the current key.
//! - [`verify`]: [`TokenVerifier`], built once, checks them strictly.
//!
//! The library does the cryptography and the JOSE encoding both ways; this module adds only
//! what it does not do: the `kid` lookup in the key ring, the size cap, `iat` required and not
//! in the future, and one error type with stable names for logs.

pub mod claims;
pub mod crypto;
pub mod issue;
pub mod refresh;
pub mod verify;

use std::time::{SystemTime, UNIX_EPOCH};

pub use claims::{Claims, Subject};
pub use crypto::install as install_crypto;
pub use issue::{IssuedToken, TokenIssuer};
pub use verify::TokenVerifier;

/// The largest token considered, in bytes (the same limit as the whole header).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The `typ` of the access tokens issued (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The algorithms issued and accepted, each only with a key of its own kind.
pub const ALGORITHMS: [jsonwebtoken::Algorithm; 2] = [
    jsonwebtoken::Algorithm::HS256,
    jsonwebtoken::Algorithm::ES256,
];

/// Why a token was refused (or could not be issued).
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum TokenError {
    /// `exp` has passed, beyond the clock-skew leeway: get a new token.
    #[error("the token has expired: request a new one")]
    Expired,
    /// `nbf` or `iat` lies in the future, beyond the clock-skew leeway.
    #[error("the token is not valid yet (nbf or iat is in the future): check the issuer's clock")]
    NotYetValid,
    /// The signature does not match: the token was altered or signed with another key.
    #[error("the token's signature does not match: it was altered or signed with another key")]
    BadSignature,
    /// `iss` is not the configured issuer.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// `aud` does not name the configured audience.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// `exp - iat` is longer than any token the issuer mints (its lifetime plus the leeway):
    /// a misconfigured or compromised issuer, not a token of ours.
    #[error(
        "the token lives longer than the issuer's tokens can: check the issuer's token lifetime"
    )]
    TooLongLived,
    /// The header's `typ` says it is not an access token (RFC 9068: `at+jwt`, or the plain
    /// `JWT` of tokens issued before it, or none).
    #[error("the token's type is not an access token's")]
    WrongType,
    /// A required claim is absent.
    #[error("the token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// The token is not a well-formed compact JWS with JSON header and claims.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm other than HS256 and ES256 (such as `none` or `RS256`).
    #[error("the token's algorithm {0:?} is not accepted: only HS256 and ES256 are")]
    UnsupportedAlgorithm(String),
    /// The header names an accepted algorithm, but not the one of the key its `kid` names
    /// (such as HS256 with an ES256 key's id: an HMAC keyed with the public key).
    #[error("the token's algorithm is not its key's")]
    WrongAlgorithm,
    /// The token is longer than [`MAX_TOKEN_BYTES`].
    #[error("the token is over {MAX_TOKEN_BYTES} bytes")]
    TooLarge,
    /// The header's `kid` names no key this verifier holds (retired, or not yet loaded).
    #[error("the token's key id is unknown: it was signed with a retired or unknown key")]
    UnknownKey,
    /// Issuing failed (the claims could not be encoded).
    #[error("the token could not be signed: {0}")]
    Signing(String),
}

impl TokenError {
    /// A short, stable name for logs and metrics (`expired`, `bad_signature`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::BadSignature => "bad_signature",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::TooLongLived => "lifetime_too_long",
            Self::WrongType => "wrong_type",
            Self::MissingClaim(_) => "missing_claim",
            Self::Malformed(_) => "malformed",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::WrongAlgorithm => "wrong_algorithm",
            Self::TooLarge => "too_large",
            Self::UnknownKey => "unknown_key",
            Self::Signing(_) => "signing_failed",
        }
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reasons_are_stable_names() {
        assert_eq!(TokenError::Expired.reason(), "expired");
        assert_eq!(
            TokenError::UnsupportedAlgorithm("none".into()).reason(),
            "unsupported_algorithm"
        );
        assert!(
            TokenError::Expired
                .to_string()
                .contains("request a new one")
        );
    }
}
