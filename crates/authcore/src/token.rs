//! HS256 JSON Web Tokens: an issuer and a verifier, each built once from configuration.
//!
//! The verifier is strict: the algorithm is pinned to HS256 (anything else, `none` included,
//! is refused before any key is touched), the signature is checked before the claims are
//! parsed, and `exp`, `iat`, `sub`, `iss` and `aud` are required. It accepts any RFC 7519
//! token with these claims, whichever library made it. Its HMAC key schedule is computed
//! once, so a verification costs one pass of SHA-256 over the token.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::de::{self, Deserializer, IgnoredAny};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::config::Config;
use crate::keys::SigningKey;

/// Strict base64url without padding (non-canonical trailing bits are refused), SIMD-accelerated.
const B64: base64_simd::Base64 = base64_simd::URL_SAFE_NO_PAD;

/// The largest token considered, in bytes (the same limit as the whole header).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The one algorithm issued and accepted.
pub const ALGORITHM: &str = "HS256";

/// Why a token was refused (or could not be issued).
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum TokenError {
    /// `exp` has passed, beyond the clock-skew leeway: get a new token.
    #[error("the token has expired: request a new one")]
    Expired,
    /// `nbf` or `iat` lies in the future, beyond the clock-skew leeway.
    #[error("the token is not valid yet (nbf or iat is in the future): check the issuer's clock")]
    NotYetValid,
    /// The HMAC does not match: the token was altered or signed with another key.
    #[error("the token's signature does not match: it was altered or signed with another key")]
    BadSignature,
    /// `iss` is not the configured issuer.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// `aud` does not name the configured audience.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// A required claim is absent.
    #[error("the token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// The token is not a well-formed compact JWS with JSON header and claims.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm other than HS256 (such as `none` or `RS256`).
    #[error("the token's algorithm {0:?} is not accepted: only HS256 is")]
    UnsupportedAlgorithm(String),
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
            Self::MissingClaim(_) => "missing_claim",
            Self::Malformed(_) => "malformed",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::TooLarge => "too_large",
            Self::UnknownKey => "unknown_key",
            Self::Signing(_) => "signing_failed",
        }
    }
}

/// The claims of a token this project issues, and of a verified token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience (the configured one, once verified).
    pub aud: String,
    /// Subject: the user's stable identifier.
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Not before, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Unique token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The user's email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The user's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// Who a token is for: the user-specific part of the claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// `sub`.
    pub sub: String,
    /// `email`.
    pub email: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `roles`.
    pub roles: Vec<String>,
}

/// A freshly issued token.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Its claims.
    pub claims: Claims,
    /// Seconds until it expires.
    pub expires_in: u64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("claims", &self.claims)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Signs HS256 tokens. Build it once at start-up.
pub struct TokenIssuer {
    key: jsonwebtoken::EncodingKey,
    header: jsonwebtoken::Header,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer signing with the ring's current key, naming it in the `kid` header.
    pub fn from_ring(ring: &crate::keys::KeyRing, config: &Config) -> Self {
        let mut issuer = Self::new(&ring.current.key, config);
        issuer.header.kid = Some(ring.current.kid.clone());
        issuer
    }

    /// The `kid` this issuer puts in its tokens, if any.
    pub fn kid(&self) -> Option<&str> {
        self.header.kid.as_deref()
    }

    /// An issuer signing with `key` (no `kid`) for the configured issuer, audience and lifetime.
    pub fn new(key: &SigningKey, config: &Config) -> Self {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.typ = Some("JWT".to_owned());
        Self {
            key: jsonwebtoken::EncodingKey::from_secret(key.expose_secret()),
            header,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl: config.token_ttl,
        }
    }

    /// The lifetime of the tokens this issuer signs.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a token for `subject`, valid from now for the configured lifetime.
    pub fn issue(&self, subject: Subject) -> Result<IssuedToken, TokenError> {
        self.issue_at(subject, now_seconds())
    }

    /// Issues a token for `subject` as if the time were `now` (seconds since the epoch).
    pub fn issue_at(&self, subject: Subject, now: u64) -> Result<IssuedToken, TokenError> {
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|e| TokenError::Signing(e.to_string()))?;
        let expires_in = self.ttl.as_secs();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.sub,
            iat: now,
            nbf: Some(now),
            exp: now + expires_in,
            jti: Some(URL_SAFE_NO_PAD.encode(jti)),
            email: subject.email,
            name: subject.name,
            roles: subject.roles,
        };
        let token = jsonwebtoken::encode(&self.header, &claims, &self.key)
            .map_err(|e| TokenError::Signing(e.to_string()))?;
        Ok(IssuedToken {
            token,
            claims,
            expires_in,
        })
    }
}

/// Verifies HS256 tokens. Build it once at start-up; verification borrows it.
#[derive(Clone)]
pub struct TokenVerifier {
    /// Keys with their ids, current first. A key without an id accepts any `kid`.
    keys: Vec<(Option<String>, Hmac<Sha256>)>,
    issuer: String,
    audience: String,
    leeway: u64,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

/// The JOSE header fields the verifier reads; any other field is ignored.
#[derive(Deserialize)]
struct JoseHeader<'a> {
    #[serde(borrow)]
    alg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kid: Option<Cow<'a, str>>,
    /// RFC 7515 §4.1.11: a recipient must refuse a token with critical extensions it does not know.
    crit: Option<IgnoredAny>,
}

/// The claims as they stand in the token, before validation. Strings borrow from the
/// decoded payload wherever the JSON holds no escapes.
#[derive(Deserialize)]
struct RawClaims<'a> {
    #[serde(borrow)]
    iss: Option<Cow<'a, str>>,
    #[serde(borrow)]
    aud: Option<Audience<'a>>,
    #[serde(borrow)]
    sub: Option<Cow<'a, str>>,
    iat: Option<NumericDate>,
    nbf: Option<NumericDate>,
    exp: Option<NumericDate>,
    #[serde(borrow)]
    jti: Option<Cow<'a, str>>,
    #[serde(borrow)]
    email: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_strs")]
    roles: Option<Vec<Cow<'a, str>>>,
}

fn borrowed_strs<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<Cow<'a, str>>>, D::Error> {
    Option::<Vec<BorrowedStr<'a>>>::deserialize(d)
        .map(|v| v.map(|v| v.into_iter().map(|s| s.0).collect()))
}

/// Verified claims that borrow from the token's decoded payload: the allocation-light form
/// for hot paths. [`ClaimsRef::into_owned`] turns them into [`Claims`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsRef<'a> {
    /// Issuer (the configured one).
    pub iss: Cow<'a, str>,
    /// Subject.
    pub sub: Cow<'a, str>,
    /// Issued at.
    pub iat: u64,
    /// Not before.
    pub nbf: Option<u64>,
    /// Expiry.
    pub exp: u64,
    /// Token id.
    pub jti: Option<Cow<'a, str>>,
    /// Email.
    pub email: Option<Cow<'a, str>>,
    /// Display name.
    pub name: Option<Cow<'a, str>>,
    /// Roles.
    pub roles: Vec<Cow<'a, str>>,
}

impl ClaimsRef<'_> {
    /// Owned claims, with `aud` set to the audience the token was verified for.
    pub fn into_owned(self, aud: &str) -> Claims {
        Claims {
            iss: self.iss.into_owned(),
            aud: aud.to_owned(),
            sub: self.sub.into_owned(),
            iat: self.iat,
            nbf: self.nbf,
            exp: self.exp,
            jti: self.jti.map(Cow::into_owned),
            email: self.email.map(Cow::into_owned),
            name: self.name.map(Cow::into_owned),
            roles: self.roles.into_iter().map(Cow::into_owned).collect(),
        }
    }
}

/// RFC 7519 §4.1.3: `aud` is one string or an array of them.
enum Audience<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

// Hand-written rather than `#[serde(untagged)]`, which buffers the value and costs a
// noticeable share of a verification.
impl<'de: 'a, 'a> Deserialize<'de> for Audience<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> de::Visitor<'de> for V<'a> {
            type Value = Audience<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Audience::One(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Audience::One(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut all = Vec::new();
                while let Some(BorrowedStr(a)) = seq.next_element()? {
                    all.push(a);
                }
                Ok(Audience::Many(all))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A string borrowed from the input where it has no escapes.
struct BorrowedStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for BorrowedStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct W<'a>(#[serde(borrow)] Cow<'a, str>);
        W::deserialize(d).map(|w| BorrowedStr(w.0))
    }
}

/// RFC 7519 §2 NumericDate: seconds since the epoch, possibly fractional, never negative.
struct NumericDate(u64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-negative number of seconds since the epoch")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                Ok(NumericDate(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                u64::try_from(v)
                    .map(NumericDate)
                    .map_err(|_| E::custom("negative date"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                if v.is_finite() && v >= 0.0 && v < u64::MAX as f64 {
                    Ok(NumericDate(v as u64))
                } else {
                    Err(E::custom("date out of range"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl TokenVerifier {
    /// A verifier accepting tokens signed with `key` for the configured issuer and audience.
    pub fn new(key: &SigningKey, config: &Config) -> Self {
        Self {
            keys: vec![(None, hmac_for(key))],
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: config.leeway.as_secs(),
        }
    }

    /// A verifier for every key of `ring`: a token's `kid` selects its key; a token without
    /// one is tried against each (two at most).
    pub fn from_ring(ring: &crate::keys::KeyRing, config: &Config) -> Self {
        let mut verifier = Self::new(&ring.current.key, config);
        verifier.keys = ring
            .keys()
            .map(|k| (Some(k.kid.clone()), hmac_for(&k.key)))
            .collect();
        verifier
    }

    /// The key ids this verifier knows.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(|(kid, _)| kid.as_deref())
    }

    /// Verifies `token` against the current time.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_at(token, now_seconds())
    }

    /// Verifies `token` as if the time were `now` (seconds since the epoch).
    pub fn verify_at(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        let mut payload = Vec::new();
        let claims = self.verify_ref(token, now, &mut payload)?;
        Ok(claims.into_owned(&self.audience))
    }

    /// The audience tokens must name.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Verifies `token` at `now`, decoding its payload into `payload` and returning claims that
    /// borrow from it: the same checks as [`TokenVerifier::verify_at`], with fewer allocations.
    pub fn verify_ref<'p>(
        &self,
        token: &str,
        now: u64,
        payload: &'p mut Vec<u8>,
    ) -> Result<ClaimsRef<'p>, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        const PARTS: TokenError = TokenError::Malformed("a JWT has three dot-separated parts");
        let first = token.find('.').ok_or(PARTS)?;
        let second = token[first + 1..].find('.').ok_or(PARTS)? + first + 1;
        let (header, payload_b64) = (&token[..first], &token[first + 1..second]);
        let (signing_input, signature) = (&token[..second], &token[second + 1..]);
        if signature.contains('.') {
            return Err(PARTS);
        }

        // Headers are small: decode into the stack, falling back to the heap for odd ones.
        const NOT_B64: TokenError = TokenError::Malformed("the header is not base64url");
        let mut small = [0u8; 192];
        let heap;
        let header_len = B64.decoded_length(header.as_bytes()).map_err(|_| NOT_B64)?;
        let header: &[u8] = if header_len <= small.len() {
            B64.decode(header.as_bytes(), base64_simd::Out::from_slice(&mut small))
                .map_err(|_| NOT_B64)?
        } else {
            heap = B64.decode_to_vec(header.as_bytes()).map_err(|_| NOT_B64)?;
            &heap
        };
        let header: JoseHeader<'_> = serde_json::from_slice(header)
            .map_err(|_| TokenError::Malformed("the header is not a JSON object"))?;
        match header.alg.as_deref() {
            Some(ALGORITHM) => {}
            Some(other) => {
                return Err(TokenError::UnsupportedAlgorithm(
                    other.chars().take(32).collect(),
                ));
            }
            None => return Err(TokenError::Malformed("the header has no alg")),
        }
        if header.crit.is_some() {
            return Err(TokenError::Malformed(
                "critical header extensions are not supported",
            ));
        }

        // An HS256 signature is 32 bytes: 43 base64url characters.
        let mut sig = [0u8; 32];
        if signature.len() != 43 {
            return Err(TokenError::BadSignature);
        }
        B64.decode(signature.as_bytes(), base64_simd::Out::from_slice(&mut sig))
            .map_err(|_| TokenError::Malformed("the signature is not base64url"))?;
        self.check_signature(header.kid.as_deref(), signing_input.as_bytes(), &sig)?;

        // Only now, with the signature proven, are the claims read.
        payload.clear();
        B64.decode_append(payload_b64.as_bytes(), payload)
            .map_err(|_| TokenError::Malformed("the claims are not base64url"))?;
        let raw: RawClaims<'p> = serde_json::from_slice(payload).map_err(|_| {
            TokenError::Malformed("the claims are not a JSON object of the expected types")
        })?;
        self.validate(raw, now)
    }

    fn check_signature(
        &self,
        kid: Option<&str>,
        input: &[u8],
        sig: &[u8; 32],
    ) -> Result<(), TokenError> {
        let candidates = self.keys.iter().filter(|(k, _)| match (kid, k) {
            // A token naming its key is checked with that key alone ...
            (Some(wanted), Some(have)) => wanted == have,
            // ... and keys without an id accept any token.
            _ => true,
        });
        let mut tried = false;
        for (_, mac) in candidates {
            tried = true;
            let mut mac = mac.clone();
            mac.update(input);
            if mac.verify_slice(sig).is_ok() {
                return Ok(());
            }
        }
        Err(if tried {
            TokenError::BadSignature
        } else {
            TokenError::UnknownKey
        })
    }

    fn validate<'p>(&self, raw: RawClaims<'p>, now: u64) -> Result<ClaimsRef<'p>, TokenError> {
        let exp = raw.exp.ok_or(TokenError::MissingClaim("exp"))?.0;
        let iat = raw.iat.ok_or(TokenError::MissingClaim("iat"))?.0;
        let sub = raw.sub.ok_or(TokenError::MissingClaim("sub"))?;
        let iss = raw.iss.ok_or(TokenError::MissingClaim("iss"))?;
        let aud = raw.aud.ok_or(TokenError::MissingClaim("aud"))?;
        if sub.is_empty() {
            return Err(TokenError::Malformed("sub is empty"));
        }
        if iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        let audience_matches = match &aud {
            Audience::One(a) => *a == self.audience,
            Audience::Many(list) => list.iter().any(|a| *a == self.audience),
        };
        if !audience_matches {
            return Err(TokenError::WrongAudience);
        }
        // RFC 7519 §4.1.4: refuse on or after exp.
        if now >= exp.saturating_add(self.leeway) {
            return Err(TokenError::Expired);
        }
        let nbf = raw.nbf.map(|n| n.0);
        let latest_start = now.saturating_add(self.leeway);
        if nbf.is_some_and(|nbf| nbf > latest_start) || iat > latest_start {
            return Err(TokenError::NotYetValid);
        }
        Ok(ClaimsRef {
            iss,
            sub,
            iat,
            nbf,
            exp,
            jti: raw.jti,
            email: raw.email,
            name: raw.name,
            roles: raw.roles.unwrap_or_default(),
        })
    }
}

fn hmac_for(key: &SigningKey) -> Hmac<Sha256> {
    // HMAC takes keys of any length; this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key.expose_secret()).expect("HMAC accepts any key length")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::collections::HashMap;

    const SECRET: &str = "unit-test-secret-0123456789abcdef-0123456789";
    const NOW: u64 = 1_800_000_000;

    fn config() -> Config {
        let vars: HashMap<&str, &str> = HashMap::from([
            ("JWT_SECRET", SECRET),
            ("JWT_ISSUER", "https://issuer.example"),
            ("JWT_AUDIENCE", "orders-api"),
        ]);
        Config::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap()
    }

    fn key() -> SigningKey {
        SigningKey::new(SECRET.as_bytes().to_vec()).unwrap()
    }

    fn verifier() -> TokenVerifier {
        TokenVerifier::new(&key(), &config())
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Signs arbitrary header and claims text with a hand-built HMAC-SHA256: no JWT library involved.
    fn sign_raw(header: &str, claims: &str, secret: &[u8]) -> String {
        let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", b64(&mac.finalize().into_bytes()))
    }

    fn good_claims() -> serde_json::Value {
        serde_json::json!({
            "iss": "https://issuer.example", "aud": "orders-api", "sub": "user-1",
            "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 600, "jti": "abc",
            "email": "u@example.com", "name": "U", "roles": ["reader"]
        })
    }

    fn with(mut claims: serde_json::Value, key: &str, value: serde_json::Value) -> String {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value;
        }
        claims.to_string()
    }

    const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    fn signed(claims: &str) -> String {
        sign_raw(HS256, claims, SECRET.as_bytes())
    }

    #[test]
    fn issued_tokens_verify_and_carry_every_claim() {
        let issuer = TokenIssuer::new(&key(), &config());
        let subject = Subject {
            sub: "user-7".into(),
            email: Some("ada@example.com".into()),
            name: Some("Ada".into()),
            roles: vec!["admin".into(), "reader".into()],
        };
        let issued = issuer.issue_at(subject, NOW).unwrap();
        assert_eq!(issued.expires_in, 900);
        let claims = verifier().verify_at(&issued.token, NOW + 1).unwrap();
        assert_eq!(claims, issued.claims);
        assert_eq!(claims.iss, "https://issuer.example");
        assert_eq!(claims.aud, "orders-api");
        assert_eq!(
            (claims.iat, claims.nbf, claims.exp),
            (NOW, Some(NOW), NOW + 900)
        );
        assert_eq!(claims.jti.as_deref().map(str::len), Some(22));
        assert_eq!(claims.roles, ["admin", "reader"]);
        // Each token gets its own jti.
        let again = issuer
            .issue_at(
                Subject {
                    sub: "user-7".into(),
                    ..Default::default()
                },
                NOW,
            )
            .unwrap();
        assert_ne!(again.claims.jti, issued.claims.jti);
        // The issuer's header names the algorithm and type.
        let header = URL_SAFE_NO_PAD
            .decode(issued.token.split('.').next().unwrap())
            .unwrap();
        let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["alg"], "HS256");
        assert_eq!(header["typ"], "JWT");
    }

    #[test]
    fn issued_tokens_verify_with_jsonwebtoken_too() {
        let issued = TokenIssuer::new(&key(), &config())
            .issue(Subject {
                sub: "user-7".into(),
                ..Default::default()
            })
            .unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.set_issuer(&["https://issuer.example"]);
        v.set_audience(&["orders-api"]);
        let decoded = jsonwebtoken::decode::<serde_json::Value>(
            &issued.token,
            &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
            &v,
        )
        .unwrap();
        assert_eq!(decoded.claims["sub"], "user-7");
    }

    #[test]
    fn accepts_a_token_made_by_python_stdlib_hmac() {
        // Made outside Rust with Python's hmac + base64 (see tests/fixtures/README.md): spaces in
        // the JSON, `\u` escapes, an array `aud`, a fractional `nbf`, and an `exp` in 2100.
        const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiAiaHR0cHM6Ly9pc3N1ZXIuZXhhbXBsZSIsICJhdWQiOiBbIm90aGVyLWFwaSIsICJvcmRlcnMtYXBpIl0sICJzdWIiOiAidXNlci00MiIsICJpYXQiOiAxNzAwMDAwMDAwLCAibmJmIjogMTcwMDAwMDAwMC41LCAiZXhwIjogNDEwMjQ0NDgwMCwgImp0aSI6ICIzZjJjIiwgImVtYWlsIjogImFkYUBleGFtcGxlLmNvbSIsICJuYW1lIjogIkFkYSBMXHUwMGY2dmVsYWNlIiwgInJvbGVzIjogWyJhZG1pbiIsICJyZWFkZXIiXX0.psl4F97xR6jjMKmS5tFrF3_nSOGgAGumI2qS5K06JTA";
        let key =
            SigningKey::new(b"fixture-secret-only-for-tests-0123456789abcdef".to_vec()).unwrap();
        let claims = TokenVerifier::new(&key, &config())
            .verify_at(TOKEN, NOW)
            .unwrap();
        assert_eq!(claims.sub, "user-42");
        assert_eq!(claims.name.as_deref(), Some("Ada Lövelace"));
        assert_eq!(claims.nbf, Some(1_700_000_000));
        assert_eq!(claims.exp, 4_102_444_800);
        assert_eq!(claims.roles, ["admin", "reader"]);
        // The same token under another key is refused.
        assert_eq!(
            verifier().verify_at(TOKEN, NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn accepts_hand_signed_and_jsonwebtoken_signed_tokens() {
        let hand = signed(&good_claims().to_string());
        assert_eq!(verifier().verify_at(&hand, NOW).unwrap().sub, "user-1");
        let lib = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &good_claims(),
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert_eq!(
            verifier().verify_at(&lib, NOW).unwrap().email.as_deref(),
            Some("u@example.com")
        );
        // nbf, jti, email, name and roles are optional.
        let minimal = r#"{"iss":"https://issuer.example","aud":"orders-api","sub":"s","iat":1,"exp":4102444800}"#;
        let claims = verifier().verify_at(&signed(minimal), NOW).unwrap();
        assert_eq!(
            (claims.nbf, claims.jti, claims.roles.len()),
            (None, None, 0)
        );
    }

    #[test]
    fn leeway_bounds_are_exact() {
        let v = verifier(); // leeway 30 s
        let exp = |exp: u64| signed(&with(good_claims(), "exp", exp.into()));
        assert!(v.verify_at(&exp(NOW - 29), NOW).is_ok());
        assert_eq!(v.verify_at(&exp(NOW - 30), NOW), Err(TokenError::Expired));
        let nbf = |nbf: u64| signed(&with(good_claims(), "nbf", nbf.into()));
        assert!(v.verify_at(&nbf(NOW + 30), NOW).is_ok());
        assert_eq!(
            v.verify_at(&nbf(NOW + 31), NOW),
            Err(TokenError::NotYetValid)
        );
        let iat = |iat: u64| signed(&with(good_claims(), "iat", iat.into()));
        assert!(v.verify_at(&iat(NOW + 30), NOW).is_ok());
        assert_eq!(
            v.verify_at(&iat(NOW + 31), NOW),
            Err(TokenError::NotYetValid)
        );
    }

    /// At least 30 hostile or malformed tokens, each with its exact outcome; jsonwebtoken,
    /// configured as strictly, must refuse every one of them as well.
    #[test]
    fn hostile_tokens_are_refused_with_the_exact_reason() {
        use TokenError::*;
        let good = good_claims().to_string();
        let good_token = signed(&good);
        let (g_header, g_payload, g_sig) = {
            let mut p = good_token.split('.');
            (
                p.next().unwrap().to_owned(),
                p.next().unwrap().to_owned(),
                p.next().unwrap().to_owned(),
            )
        };
        let other_key = b"another-secret-0123456789abcdef-0123456789";
        let alg = |a: &str| {
            sign_raw(
                &format!(r#"{{"alg":"{a}","typ":"JWT"}}"#),
                &good,
                SECRET.as_bytes(),
            )
        };
        let huge = signed(&with(
            good_claims(),
            "name",
            "x".repeat(MAX_TOKEN_BYTES).into(),
        ));
        let tampered_payload = format!(
            "{g_header}.{}.{g_sig}",
            b64(with(good_claims(), "sub", "admin".into()).as_bytes())
        );
        let tampered_header = format!(
            "{}.{g_payload}.{g_sig}",
            b64(br#"{"alg":"HS256","kid":"x"}"#)
        );
        let mut flipped = g_sig.clone().into_bytes();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        // The last base64 char of a 32-byte signature carries 2 unused bits; a non-zero one is non-canonical.
        let noncanonical = {
            let mut s = g_sig.clone().into_bytes();
            let last = s.last_mut().unwrap();
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let idx = alphabet.iter().position(|c| c == last).unwrap();
            *last = alphabet[(idx & !3) | 1];
            String::from_utf8(s).unwrap()
        };

        let cases: Vec<(&str, String, TokenError)> = vec![
            (
                "empty",
                String::new(),
                Malformed("a JWT has three dot-separated parts"),
            ),
            (
                "one part",
                "abc".into(),
                Malformed("a JWT has three dot-separated parts"),
            ),
            (
                "two parts",
                format!("{g_header}.{g_payload}"),
                Malformed("a JWT has three dot-separated parts"),
            ),
            (
                "four parts",
                format!("{good_token}.x"),
                Malformed("a JWT has three dot-separated parts"),
            ),
            (
                "only dots",
                "..".into(),
                Malformed("the header is not a JSON object"),
            ),
            (
                "alg none, no signature",
                format!("{}.{g_payload}.", b64(br#"{"alg":"none"}"#)),
                UnsupportedAlgorithm("none".into()),
            ),
            ("alg None", alg("None"), UnsupportedAlgorithm("None".into())),
            (
                "alg hs256 lower case",
                alg("hs256"),
                UnsupportedAlgorithm("hs256".into()),
            ),
            (
                "alg HS384 same key",
                alg("HS384"),
                UnsupportedAlgorithm("HS384".into()),
            ),
            (
                "alg HS512 same key",
                alg("HS512"),
                UnsupportedAlgorithm("HS512".into()),
            ),
            (
                "alg RS256",
                alg("RS256"),
                UnsupportedAlgorithm("RS256".into()),
            ),
            (
                "alg ES256",
                alg("ES256"),
                UnsupportedAlgorithm("ES256".into()),
            ),
            (
                "alg not a string",
                sign_raw(r#"{"alg":256}"#, &good, SECRET.as_bytes()),
                Malformed("the header is not a JSON object"),
            ),
            (
                "no alg",
                sign_raw(r#"{"typ":"JWT"}"#, &good, SECRET.as_bytes()),
                Malformed("the header has no alg"),
            ),
            (
                "duplicate alg",
                sign_raw(r#"{"alg":"none","alg":"HS256"}"#, &good, SECRET.as_bytes()),
                Malformed("the header is not a JSON object"),
            ),
            (
                "header is an array",
                sign_raw(r#"["HS256"]"#, &good, SECRET.as_bytes()),
                Malformed("the header is not a JSON object"),
            ),
            (
                "header not JSON",
                sign_raw("alg=HS256", &good, SECRET.as_bytes()),
                Malformed("the header is not a JSON object"),
            ),
            (
                "header not base64",
                format!("!!!.{g_payload}.{g_sig}"),
                Malformed("the header is not base64url"),
            ),
            (
                "crit extension",
                sign_raw(
                    r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
                    &good,
                    SECRET.as_bytes(),
                ),
                Malformed("critical header extensions are not supported"),
            ),
            (
                "signed with another key",
                sign_raw(HS256, &good, other_key),
                BadSignature,
            ),
            ("payload tampered", tampered_payload, BadSignature),
            ("header tampered", tampered_header, BadSignature),
            (
                "one signature char flipped",
                format!("{g_header}.{g_payload}.{flipped}"),
                BadSignature,
            ),
            (
                "empty signature",
                format!("{g_header}.{g_payload}."),
                BadSignature,
            ),
            (
                "truncated signature",
                format!("{g_header}.{g_payload}.{}", &g_sig[..42]),
                BadSignature,
            ),
            (
                "padded signature",
                format!("{g_header}.{g_payload}.{g_sig}="),
                BadSignature,
            ),
            (
                "standard base64 alphabet",
                format!("{g_header}.{g_payload}.{}+", &g_sig[..42]),
                Malformed("the signature is not base64url"),
            ),
            (
                "non-canonical signature",
                format!("{g_header}.{g_payload}.{noncanonical}"),
                Malformed("the signature is not base64url"),
            ),
            (
                "expired",
                signed(&with(good_claims(), "exp", (NOW - 3600).into())),
                Expired,
            ),
            (
                "not yet valid",
                signed(&with(good_claims(), "nbf", (NOW + 3600).into())),
                NotYetValid,
            ),
            (
                "issued in the future",
                signed(&with(good_claims(), "iat", (NOW + 3600).into())),
                NotYetValid,
            ),
            (
                "wrong issuer",
                signed(&with(good_claims(), "iss", "https://evil.example".into())),
                WrongIssuer,
            ),
            (
                "issuer differs in case",
                signed(&with(good_claims(), "iss", "https://ISSUER.example".into())),
                WrongIssuer,
            ),
            (
                "wrong audience",
                signed(&with(good_claims(), "aud", "billing-api".into())),
                WrongAudience,
            ),
            (
                "audience list without ours",
                signed(&with(good_claims(), "aud", serde_json::json!(["a", "b"]))),
                WrongAudience,
            ),
            (
                "no exp",
                signed(&with(good_claims(), "exp", serde_json::Value::Null)),
                MissingClaim("exp"),
            ),
            (
                "no iat",
                signed(&with(good_claims(), "iat", serde_json::Value::Null)),
                MissingClaim("iat"),
            ),
            (
                "no sub",
                signed(&with(good_claims(), "sub", serde_json::Value::Null)),
                MissingClaim("sub"),
            ),
            (
                "no iss",
                signed(&with(good_claims(), "iss", serde_json::Value::Null)),
                MissingClaim("iss"),
            ),
            (
                "no aud",
                signed(&with(good_claims(), "aud", serde_json::Value::Null)),
                MissingClaim("aud"),
            ),
            (
                "empty sub",
                signed(&with(good_claims(), "sub", "".into())),
                Malformed("sub is empty"),
            ),
            (
                "exp as a string",
                signed(&with(good_claims(), "exp", "4102444800".into())),
                Malformed("the claims are not a JSON object of the expected types"),
            ),
            (
                "negative exp",
                signed(&with(good_claims(), "exp", (-1).into())),
                Malformed("the claims are not a JSON object of the expected types"),
            ),
            (
                "roles not a list",
                signed(&with(good_claims(), "roles", "admin".into())),
                Malformed("the claims are not a JSON object of the expected types"),
            ),
            (
                "duplicate sub claim",
                signed(&good.replacen('{', r#"{"sub":"admin","#, 1)),
                Malformed("the claims are not a JSON object of the expected types"),
            ),
            (
                "claims not JSON",
                signed("sub=admin"),
                Malformed("the claims are not a JSON object of the expected types"),
            ),
            (
                "claims an array",
                signed("[1,2,3]"),
                Malformed("the claims are not a JSON object of the expected types"),
            ),
            (
                "claims not base64",
                format!("{g_header}.%%%.{g_sig}"),
                BadSignature,
            ),
            ("over 8 KiB", huge, TooLarge),
        ];
        assert!(cases.len() >= 30);

        let strict = {
            let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
            v.set_issuer(&["https://issuer.example"]);
            v.set_audience(&["orders-api"]);
            v.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
            v.validate_nbf = true;
            v.leeway = 30;
            v
        };
        let other = verifier();
        for (name, token, want) in cases {
            assert_eq!(other.verify_at(&token, NOW), Err(want.clone()), "{name}");
            // jsonwebtoken checks against the real clock: only compare where time does not matter.
            if !matches!(want, Expired | NotYetValid) {
                let theirs = jsonwebtoken::decode::<serde_json::Value>(
                    &token,
                    &jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
                    &strict,
                );
                // jsonwebtoken has no size limit; an oversized but valid token is ours alone to refuse.
                if want != TooLarge && want != Malformed("sub is empty") {
                    assert!(theirs.is_err(), "jsonwebtoken accepted {name}");
                }
            }
        }
    }

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

    #[test]
    fn unsupported_algorithm_names_are_truncated() {
        let long = "A".repeat(500);
        let token = sign_raw(&format!(r#"{{"alg":"{long}"}}"#), "{}", SECRET.as_bytes());
        assert_eq!(
            verifier().verify_at(&token, NOW),
            Err(TokenError::UnsupportedAlgorithm("A".repeat(32)))
        );
    }

    #[test]
    fn debug_output_hides_secrets_and_tokens() {
        let issued = TokenIssuer::new(&key(), &config())
            .issue(Subject {
                sub: "s".into(),
                ..Default::default()
            })
            .unwrap();
        let shown = format!(
            "{issued:?} {:?} {:?}",
            verifier(),
            TokenIssuer::new(&key(), &config())
        );
        assert!(!shown.contains(&issued.token), "{shown}");
        assert!(!shown.contains(SECRET), "{shown}");
    }

    #[test]
    fn a_key_ring_verifies_by_kid_and_refuses_retired_keys() {
        use crate::keys::KeyRing;
        let a = SigningKey::new(b"key-a-0123456789abcdef-0123456789abcdef".to_vec()).unwrap();
        let b = SigningKey::new(b"key-b-0123456789abcdef-0123456789abcdef".to_vec()).unwrap();
        let c = SigningKey::new(b"key-c-0123456789abcdef-0123456789abcdef".to_vec()).unwrap();
        let config = config();
        let before = KeyRing::local(b.clone(), Some(c.clone()));
        let after = KeyRing::local(a.clone(), Some(b.clone()));
        let subject = || Subject {
            sub: "u".into(),
            ..Default::default()
        };
        let issued_before = TokenIssuer::from_ring(&before, &config)
            .issue_at(subject(), NOW)
            .unwrap()
            .token;
        let issued_after = TokenIssuer::from_ring(&after, &config)
            .issue_at(subject(), NOW)
            .unwrap()
            .token;
        let issued_long_ago = TokenIssuer::from_ring(&KeyRing::local(c.clone(), None), &config)
            .issue_at(subject(), NOW)
            .unwrap()
            .token;

        // New tokens name the current key.
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(issued_after.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["kid"], after.current.kid.as_str());
        assert_eq!(
            TokenIssuer::from_ring(&after, &config).kid(),
            Some(after.current.kid.as_str())
        );

        let v = TokenVerifier::from_ring(&after, &config);
        assert_eq!(
            v.kids().collect::<Vec<_>>(),
            [after.current.kid.as_str(), before.current.kid.as_str()]
        );
        assert!(v.verify_at(&issued_after, NOW).is_ok(), "current key");
        assert!(
            v.verify_at(&issued_before, NOW).is_ok(),
            "previous key: a rotation logs nobody out"
        );
        assert_eq!(
            v.verify_at(&issued_long_ago, NOW),
            Err(TokenError::UnknownKey),
            "retired key"
        );

        // A kid pointing at the wrong key is a bad signature, not a way around the check.
        let mut parts: Vec<String> = issued_long_ago.split('.').map(str::to_owned).collect();
        parts[0] = b64(format!(r#"{{"alg":"HS256","kid":"{}"}}"#, after.current.kid).as_bytes());
        let forged = sign_raw(
            &String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[0]).unwrap()).unwrap(),
            &String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap(),
            c.expose_secret(),
        );
        assert_eq!(v.verify_at(&forged, NOW), Err(TokenError::BadSignature));

        // Tokens without a kid (other issuers) are tried against each key of the ring.
        let no_kid_old = TokenIssuer::new(&b, &config)
            .issue_at(subject(), NOW)
            .unwrap()
            .token;
        assert!(v.verify_at(&no_kid_old, NOW).is_ok());
        let no_kid_retired = TokenIssuer::new(&c, &config)
            .issue_at(subject(), NOW)
            .unwrap()
            .token;
        assert_eq!(
            v.verify_at(&no_kid_retired, NOW),
            Err(TokenError::BadSignature)
        );

        // A single-key verifier (no ids) accepts its key's tokens whatever their kid.
        assert!(
            TokenVerifier::new(&a, &config)
                .verify_at(&issued_after, NOW)
                .is_ok()
        );
    }
}
