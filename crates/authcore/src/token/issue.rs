//! Issuing: [`TokenIssuer`] signs tokens with the ring's current key, in its algorithm
//! (HS256 or ES256).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{Claims, Subject, TokenError, now_seconds};
use crate::config::Config;
use crate::keys::{Key, KeyRing};

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

/// Signs tokens with one key, in its algorithm. Build it once at start-up.
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
            .field("algorithm", &self.header.alg)
            .field("kid", &self.header.kid)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer signing with the ring's current key, naming it in the `kid` header.
    pub fn from_ring(ring: &KeyRing, config: &Config) -> Self {
        let mut issuer = Self::new(&ring.current.key, config);
        issuer.header.kid = Some(ring.current.kid.clone());
        issuer
    }

    /// An issuer signing with `key` (no `kid`) for the configured issuer, audience and lifetime.
    pub fn new(key: impl Into<Key>, config: &Config) -> Self {
        super::crypto::install();
        let key = key.into();
        let mut header = jsonwebtoken::Header::new(key.algorithm());
        // RFC 9068: an access token says so, so that no other JWT signed with the key passes
        // for one.
        header.typ = Some(super::ACCESS_TOKEN_TYPE.to_owned());
        Self {
            key: key.encoding_key(),
            header,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl: config.token_ttl,
        }
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
            scope: crate::scope::claim(&subject.roles),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenVerifier;

    const NOW: u64 = 1_800_000_000;

    fn config() -> Config {
        Config::with_secret("unit-test-secret-0123456789abcdef-0123456789").unwrap()
    }

    fn header_of(token: &str) -> jsonwebtoken::Header {
        jsonwebtoken::decode_header(token).unwrap()
    }

    #[test]
    fn issued_tokens_verify_and_carry_every_claim() {
        let config = config();
        let key = config.inline_key().unwrap();
        let issuer = TokenIssuer::new(key, &config);
        let subject = Subject {
            sub: "user-7".into(),
            email: Some("ada@example.com".into()),
            name: Some("Ada".into()),
            roles: vec!["admin".into(), "reader".into()],
        };
        let issued = issuer.issue_at(subject, NOW).unwrap();
        assert_eq!(issued.expires_in, 900);
        let claims = TokenVerifier::new(key, &config)
            .verify_at(&issued.token, NOW + 1)
            .unwrap();
        assert_eq!(claims, issued.claims);
        assert_eq!(
            (claims.iat, claims.nbf, claims.exp),
            (NOW, Some(NOW), NOW + 900)
        );
        assert_eq!(claims.jti.as_deref().map(str::len), Some(22));
        assert_eq!(claims.scope.as_deref(), Some("admin reader"));
        // Each token gets its own jti.
        let again = issuer.issue_at(Subject::default(), NOW).unwrap();
        assert_ne!(again.claims.jti, issued.claims.jti);
        let header = header_of(&issued.token);
        assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid, None);
    }

    #[test]
    fn a_ring_issuer_names_the_current_key() {
        let config = config();
        let crate::config::KeySource::Inline(ring) = &config.key_source else {
            panic!("inline keys expected")
        };
        let token = TokenIssuer::from_ring(ring, &config)
            .issue_at(Subject::default(), NOW)
            .unwrap()
            .token;
        assert_eq!(
            header_of(&token).kid.as_deref(),
            Some(ring.current.kid.as_str())
        );
    }

    #[test]
    fn an_es256_ring_signs_es256_under_its_thumbprint() {
        let config = config();
        let ec = crate::keys::EcKey::generate().unwrap();
        let ring = KeyRing::local(ec.clone(), None);
        let subject = Subject {
            sub: "user-7".into(),
            ..Default::default()
        };
        let issued = TokenIssuer::from_ring(&ring, &config)
            .issue_at(subject, NOW)
            .unwrap();
        let header = header_of(&issued.token);
        assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some(ec.kid()));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let claims = TokenVerifier::from_ring(&ring, &config)
            .verify_at(&issued.token, NOW)
            .unwrap();
        assert_eq!(claims, issued.claims);
    }

    #[test]
    fn debug_output_hides_secrets_and_tokens() {
        let config = config();
        let issuer = TokenIssuer::new(config.inline_key().unwrap(), &config);
        let issued = issuer.issue(Subject::default()).unwrap();
        let shown = format!("{issued:?} {issuer:?}");
        assert!(!shown.contains(&issued.token), "{shown}");
        assert!(!shown.contains("unit-test-secret"), "{shown}");
    }
}
