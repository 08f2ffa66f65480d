//! Verifying: [`TokenVerifier`] checks a token with `jsonwebtoken`, strictly.
//!
//! The library decodes the header, pins the algorithm to the key's, checks the signature
//! before reading the claims, and checks `iss`, `aud` and the presence of `exp`, `sub`, `iss` and `aud`. This
//! layer adds what it does not do: the size cap, the `kid` lookup in the key ring (a key
//! verifies its own algorithm only, HS256 or ES256), `iat`
//! required, `crit` refused (RFC 7515 §4.1.11), `typ` that of an access token or none, the
//! time checks against a given `now` (`exp`, and `nbf` and `iat` not in the future), each with
//! the configured leeway, and a lifetime (`exp - iat`) no longer than the issuer's tokens have.

use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::Deserialize;

use super::{ALGORITHMS, Claims, MAX_TOKEN_BYTES, TokenError, now_seconds};
use crate::config::Config;
use crate::keys::{Key, KeyRing};

/// The `typ` values of access tokens: RFC 9068's, and the plain `JWT` of tokens issued before.
const ACCESS_TYPES: [&str; 3] = ["at+jwt", "application/at+jwt", "JWT"];

/// The length of a signature in base64url: HS256's 32 bytes are 43 characters, ES256's 64
/// bytes (`r` and `s`) are 86.
fn signature_chars(alg: Algorithm) -> usize {
    match alg {
        Algorithm::ES256 => 86,
        _ => 43,
    }
}

const PARTS: TokenError = TokenError::Malformed("a JWT has three dot-separated parts");
const HEADER_NOT_JSON: TokenError = TokenError::Malformed("the header is not a JSON object");
const CLAIMS_NOT_JSON: TokenError =
    TokenError::Malformed("the claims are not a JSON object of the expected types");

/// A key the verifier holds: its id (none accepts any `kid`), its algorithm, the key.
#[derive(Clone)]
struct VerifyingKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

/// Verifies tokens (HS256 or ES256, each with its own keys). Build it once at start-up;
/// verification borrows it.
#[derive(Clone)]
pub struct TokenVerifier {
    /// Keys with their ids, current first.
    keys: Vec<VerifyingKey>,
    /// One validation per algorithm of [`ALGORITHMS`], in that order.
    validations: Vec<Validation>,
    audience: String,
    leeway: u64,
    /// The longest `exp - iat` accepted: the configured token lifetime plus the leeway.
    max_lifetime: u64,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("kids", &self.kids().collect::<Vec<_>>())
            .field("issuer", &self.validations[0].iss)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

/// RFC 7519 §2 NumericDate: seconds since the epoch, possibly fractional, never negative.
/// A value out of range fails the claims' decoding, like any claim of the wrong type.
#[derive(Deserialize, Clone, Copy)]
#[serde(try_from = "serde_json::Number")]
struct NumericDate(u64);

impl TryFrom<serde_json::Number> for NumericDate {
    type Error = &'static str;

    fn try_from(n: serde_json::Number) -> Result<Self, Self::Error> {
        match (n.as_u64(), n.as_f64()) {
            (Some(whole), _) => Ok(Self(whole)),
            (None, Some(f)) if f.is_finite() && f >= 0.0 && f < u64::MAX as f64 => {
                Ok(Self(f as u64))
            }
            _ => Err("a NumericDate is a non-negative number of seconds"),
        }
    }
}

/// The claims as the token holds them; presence and time are checked after decoding.
#[derive(Deserialize)]
struct TokenClaims {
    iss: Option<String>,
    sub: Option<String>,
    iat: Option<NumericDate>,
    nbf: Option<NumericDate>,
    exp: Option<NumericDate>,
    jti: Option<String>,
    email: Option<String>,
    name: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    scope: Option<String>,
}

impl TokenVerifier {
    /// A verifier accepting tokens signed with `key` (whatever their `kid`) for the configured
    /// issuer and audience.
    pub fn new(key: impl Into<Key>, config: &Config) -> Self {
        Self::with_keys(vec![verifying(None, &key.into())], config)
    }

    /// A verifier for every key of `ring`: a token's `kid` selects its key; a token without
    /// one is tried against each key of its algorithm (three at most).
    pub fn from_ring(ring: &KeyRing, config: &Config) -> Self {
        let keys = ring
            .keys()
            .map(|k| verifying(Some(k.kid.clone()), &k.key))
            .collect();
        Self::with_keys(keys, config)
    }

    fn with_keys(keys: Vec<VerifyingKey>, config: &Config) -> Self {
        super::crypto::install();
        let validations = ALGORITHMS
            .iter()
            .map(|&alg| {
                let mut validation = Validation::new(alg);
                validation.set_issuer(&[&config.issuer]);
                validation.set_audience(&[&config.audience]);
                validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
                // Time is checked here against the caller's `now`, not the library's clock.
                validation.validate_exp = false;
                validation.validate_nbf = false;
                validation
            })
            .collect();
        Self {
            keys,
            validations,
            audience: config.audience.clone(),
            leeway: config.leeway.as_secs(),
            max_lifetime: config.token_ttl.as_secs() + config.leeway.as_secs(),
        }
    }

    /// The key ids this verifier knows.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(|k| k.kid.as_deref())
    }

    /// Verifies `token` against the current time.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_at(token, now_seconds())
    }

    /// Verifies `token` as if the time were `now` (seconds since the epoch).
    pub fn verify_at(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(PARTS);
        };
        let (alg, kid) = check_header(header, token)?;
        let named = |k: &&VerifyingKey| match (&kid, &k.kid) {
            // A token naming its key is checked with that key alone; keys without an id
            // accept any token.
            (Some(wanted), Some(have)) => wanted == have,
            _ => true,
        };
        let mut candidates = self.keys.iter().filter(named).peekable();
        if candidates.peek().is_some() && !self.keys.iter().filter(named).any(|k| k.alg == alg) {
            // The key the token names is of another kind: an ES256 key's id on an HMAC, say.
            return Err(TokenError::WrongAlgorithm);
        }
        // Only a signature of the right length reaches the library: anything else is not ours.
        if signature.len() != signature_chars(alg) {
            return Err(TokenError::BadSignature);
        }
        // `check_header` let through only the algorithms of ALGORITHMS, whose validations these are.
        let Some(validation) = ALGORITHMS
            .iter()
            .position(|a| *a == alg)
            .and_then(|i| self.validations.get(i))
        else {
            return Err(TokenError::UnsupportedAlgorithm(format!("{alg:?}")));
        };
        let mut outcome = Err(TokenError::UnknownKey);
        for k in candidates.filter(|k| k.alg == alg) {
            outcome = jsonwebtoken::decode::<TokenClaims>(token, &k.key, validation)
                .map(|data| data.claims)
                .map_err(|e| signature_or_claims_error(e.kind()));
            if !matches!(outcome, Err(TokenError::BadSignature)) {
                break;
            }
        }
        self.check_claims(outcome?, now)
    }

    fn check_claims(&self, raw: TokenClaims, now: u64) -> Result<Claims, TokenError> {
        // The library has already required exp, sub, iss and aud, and matched iss and aud.
        let (Some(exp), Some(sub), Some(iss)) = (raw.exp, raw.sub, raw.iss) else {
            return Err(CLAIMS_NOT_JSON);
        };
        let iat = raw.iat.ok_or(TokenError::MissingClaim("iat"))?.0;
        let exp = exp.0;
        let nbf = raw.nbf.map(|n| n.0);
        if sub.is_empty() {
            return Err(TokenError::Malformed("sub is empty"));
        }
        if exp.saturating_sub(iat) > self.max_lifetime {
            return Err(TokenError::TooLongLived);
        }
        // RFC 7519 §4.1.4: refuse on or after exp.
        if now >= exp.saturating_add(self.leeway) {
            return Err(TokenError::Expired);
        }
        let latest_start = now.saturating_add(self.leeway);
        if nbf.is_some_and(|nbf| nbf > latest_start) || iat > latest_start {
            return Err(TokenError::NotYetValid);
        }
        Ok(Claims {
            iss,
            aud: self.audience.clone(),
            sub,
            iat,
            nbf,
            exp,
            jti: raw.jti,
            email: raw.email,
            name: raw.name,
            roles: raw.roles,
            scope: raw.scope,
        })
    }
}

fn verifying(kid: Option<String>, key: &Key) -> VerifyingKey {
    VerifyingKey {
        kid,
        alg: key.algorithm(),
        key: key.decoding_key(),
    }
}

/// Reads the JOSE header with the library and returns its algorithm and `kid`: the algorithm
/// must be HS256 or ES256 and no critical extension may be present.
fn check_header(header: &str, token: &str) -> Result<(Algorithm, Option<String>), TokenError> {
    let parsed: Header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
        ErrorKind::Json(_) => refused_algorithm(header).unwrap_or(HEADER_NOT_JSON),
        _ => TokenError::Malformed("the header is not base64url"),
    })?;
    if !ALGORITHMS.contains(&parsed.alg) {
        return Err(TokenError::UnsupportedAlgorithm(format!(
            "{:?}",
            parsed.alg
        )));
    }
    // Tokens issued before `at+jwt` say `JWT`; a token without `typ` is an access token too
    // (RFC 9068 §4 asks resource servers to check it; refusing none would refuse others'
    // tools and older tokens, and any other type is refused).
    // A media type: compared without regard to case (RFC 7515 §4.1.9).
    let access = |typ: &str| ACCESS_TYPES.iter().any(|a| a.eq_ignore_ascii_case(typ));
    if parsed.typ.as_deref().is_some_and(|typ| !access(typ)) {
        return Err(TokenError::WrongType);
    }
    if parsed.crit.is_some() {
        return Err(TokenError::Malformed(
            "critical header extensions are not supported",
        ));
    }
    Ok((parsed.alg, parsed.kid))
}

/// For a header the library could not read: names the algorithm it asked for, when it is one
/// the library does not know (`none`, `hs256`), or says that it names none. Runs only on a
/// token already refused, to make the refusal precise in the log.
fn refused_algorithm(header: &str) -> Option<TokenError> {
    #[derive(Deserialize)]
    struct Alg {
        alg: Option<String>,
    }
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    match serde_json::from_slice::<Alg>(&bytes).ok()?.alg {
        None => Some(TokenError::Malformed("the header has no alg")),
        Some(alg) if alg != "HS256" && alg != "ES256" => Some(TokenError::UnsupportedAlgorithm(
            alg.chars().take(32).collect(),
        )),
        Some(_) => None,
    }
}

/// Maps what the library says once the header has been read.
fn signature_or_claims_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        // Base64 here can only be the signature: the claims are decoded after it is checked.
        ErrorKind::Base64(_) => TokenError::Malformed("the signature is not base64url"),
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => TokenError::MissingClaim("exp"),
            "sub" => TokenError::MissingClaim("sub"),
            "iss" => TokenError::MissingClaim("iss"),
            _ => TokenError::MissingClaim("aud"),
        },
        _ => CLAIMS_NOT_JSON,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use crate::token::{Subject, TokenIssuer};

    const SECRET: &str = "unit-test-secret-0123456789abcdef-0123456789";
    const NOW: u64 = 1_800_000_000;

    fn config() -> Config {
        let vars = [
            ("JWT_SECRET", SECRET),
            ("JWT_ISSUER", "https://issuer.example"),
            ("JWT_AUDIENCE", "orders-api"),
        ];
        let lookup = crate::settings::from_pairs(&vars);
        Config::read(&crate::Vars::new(&lookup)).unwrap()
    }

    fn key(secret: &[u8]) -> SigningKey {
        SigningKey::new(secret.to_vec()).unwrap()
    }

    fn verifier() -> TokenVerifier {
        TokenVerifier::new(key(SECRET.as_bytes()), &config())
    }

    /// Signs `claims` with jsonwebtoken under `header`.
    fn sign(header: &Header, claims: &serde_json::Value, secret: &[u8]) -> String {
        crate::token::install_crypto();
        jsonwebtoken::encode(
            header,
            claims,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    fn good_claims() -> serde_json::Value {
        serde_json::json!({
            "iss": "https://issuer.example", "aud": "orders-api", "sub": "user-1",
            "iat": NOW - 10, "nbf": NOW - 10, "exp": NOW + 600, "jti": "abc",
            "email": "u@example.com", "name": "U", "roles": ["reader"]
        })
    }

    fn with(key: &str, value: serde_json::Value) -> String {
        let mut claims = good_claims();
        claims[key] = value;
        sign(&Header::new(Algorithm::HS256), &claims, SECRET.as_bytes())
    }

    #[test]
    fn accepts_a_token_made_by_python_stdlib_hmac() {
        // Made outside Rust with Python's hmac and base64 modules: spaces in the JSON, `\u`
        // escapes, an array `aud`, a fractional `nbf`, and a ten-minute lifetime around NOW.
        const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiAiaHR0cHM6Ly9pc3N1ZXIuZXhhbXBsZSIsICJhdWQiOiBbIm90aGVyLWFwaSIsICJvcmRlcnMtYXBpIl0sICJzdWIiOiAidXNlci00MiIsICJpYXQiOiAxNzk5OTk5OTAwLCAibmJmIjogMTc5OTk5OTkwMC41LCAiZXhwIjogMTgwMDAwMDUwMCwgImp0aSI6ICIzZjJjIiwgImVtYWlsIjogImFkYUBleGFtcGxlLmNvbSIsICJuYW1lIjogIkFkYSBMXHUwMGY2dmVsYWNlIiwgInJvbGVzIjogWyJhZG1pbiIsICJyZWFkZXIiXX0.UfnFOeCzpZuOlqOhDUiLToQWLurBy7KyHYr54tZRxLg";
        let fixture = key(b"fixture-secret-only-for-tests-0123456789abcdef");
        let claims = TokenVerifier::new(&fixture, &config())
            .verify_at(TOKEN, NOW)
            .unwrap();
        assert_eq!(claims.sub, "user-42");
        assert_eq!(claims.name.as_deref(), Some("Ada Lövelace"));
        assert_eq!(claims.nbf, Some(1_799_999_900));
        assert_eq!(claims.exp, 1_800_000_500);
        assert_eq!(claims.roles, ["admin", "reader"]);
        assert_eq!(
            verifier().verify_at(TOKEN, NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn optional_claims_may_be_absent() {
        let minimal = serde_json::json!({"iss":"https://issuer.example","aud":"orders-api","sub":"s","iat":NOW - 10,"exp":NOW + 600});
        let token = sign(&Header::new(Algorithm::HS256), &minimal, SECRET.as_bytes());
        let claims = verifier().verify_at(&token, NOW).unwrap();
        assert_eq!(
            (claims.nbf, claims.jti, claims.roles.len()),
            (None, None, 0)
        );
    }

    #[test]
    fn a_token_living_longer_than_the_issuers_can_is_refused() {
        let v = verifier(); // the default lifetime, 900 s, and 30 s of leeway
        let longest = 900 + 30;
        assert!(
            v.verify_at(&with("exp", (NOW - 10 + longest).into()), NOW)
                .is_ok()
        );
        for exp in [NOW - 10 + longest + 1, NOW + 10 * 365 * 86_400, 1 << 63] {
            assert_eq!(
                v.verify_at(&with("exp", exp.into()), NOW),
                Err(TokenError::TooLongLived),
                "exp {exp}"
            );
        }
    }

    #[test]
    fn typ_must_be_an_access_tokens_or_absent() {
        let typed = |typ: Option<&str>| {
            let mut header = Header::new(Algorithm::HS256);
            header.typ = typ.map(str::to_owned);
            sign(&header, &good_claims(), SECRET.as_bytes())
        };
        for ok in [
            None,
            Some("at+jwt"),
            Some("AT+JWT"),
            Some("application/at+jwt"),
            Some("JWT"),
        ] {
            assert!(verifier().verify_at(&typed(ok), NOW).is_ok(), "{ok:?}");
        }
        for refused in ["id+jwt", "logout+jwt", "at+JWT-ish"] {
            assert_eq!(
                verifier().verify_at(&typed(Some(refused)), NOW),
                Err(TokenError::WrongType),
                "{refused}"
            );
        }
    }

    #[test]
    fn leeway_bounds_are_exact() {
        let v = verifier(); // leeway 30 s
        assert!(v.verify_at(&with("exp", (NOW - 29).into()), NOW).is_ok());
        assert_eq!(
            v.verify_at(&with("exp", (NOW - 30).into()), NOW),
            Err(TokenError::Expired)
        );
        for claim in ["nbf", "iat"] {
            assert!(v.verify_at(&with(claim, (NOW + 30).into()), NOW).is_ok());
            assert_eq!(
                v.verify_at(&with(claim, (NOW + 31).into()), NOW),
                Err(TokenError::NotYetValid),
                "{claim}"
            );
        }
    }

    #[test]
    fn unsupported_algorithm_names_are_truncated() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let long = "A".repeat(500);
        let token = format!(
            "{}.{}.{}",
            b64(&format!(r#"{{"alg":"{long}"}}"#)),
            b64("{}"),
            "x".repeat(signature_chars(Algorithm::HS256))
        );
        assert_eq!(
            verifier().verify_at(&token, NOW),
            Err(TokenError::UnsupportedAlgorithm("A".repeat(32)))
        );
    }

    #[test]
    fn debug_output_hides_the_keys() {
        let shown = format!("{:?}", verifier());
        assert!(!shown.contains(SECRET), "{shown}");
    }

    #[test]
    fn a_key_ring_verifies_by_kid_and_refuses_retired_keys() {
        let a = key(b"key-a-0123456789abcdef-0123456789abcdef");
        let b = key(b"key-b-0123456789abcdef-0123456789abcdef");
        let c = key(b"key-c-0123456789abcdef-0123456789abcdef");
        let config = config();
        let before = KeyRing::local(b.clone(), Some(c.clone().into()));
        let after = KeyRing::local(a.clone(), Some(b.clone().into()));
        let issue = |issuer: TokenIssuer| {
            issuer
                .issue_at(
                    Subject {
                        sub: "u".into(),
                        ..Default::default()
                    },
                    NOW,
                )
                .unwrap()
                .token
        };
        let issued_before = issue(TokenIssuer::from_ring(&before, &config));
        let issued_after = issue(TokenIssuer::from_ring(&after, &config));
        let issued_long_ago = issue(TokenIssuer::from_ring(
            &KeyRing::local(c.clone(), None),
            &config,
        ));

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
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(after.current.kid.clone());
        let forged = sign(&header, &good_claims(), c.expose_secret());
        assert_eq!(v.verify_at(&forged, NOW), Err(TokenError::BadSignature));

        // Tokens without a kid (other issuers) are tried against each key of the ring.
        assert!(
            v.verify_at(&issue(TokenIssuer::new(&b, &config)), NOW)
                .is_ok()
        );
        assert_eq!(
            v.verify_at(&issue(TokenIssuer::new(&c, &config)), NOW),
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
