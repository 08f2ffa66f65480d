//! The token settings, read once at start-up by each function's settings module.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `JWT_SECRET` | the signing key itself (local use): an HS256 secret of at least 32 bytes, or an ES256 P-256 private key in PEM (PKCS#8) | — |
//! | `JWT_PREVIOUS_SECRET` | the key before the last rotation (local use): still verifies | — |
//! | `JWT_NEXT_SECRET` | the key after the next rotation (local use): verifies, and is published if ES256 | — |
//! | `JWT_SECRET_ARN` | a Secrets Manager secret holding the key (deployed use); wins over `JWT_SECRET` | — |
//! | `SIGNING_ALGORITHM` | `HS256` or `ES256`: what the current key must be for the issuer to start | either |
//! | `JWT_ISSUER` | `iss` of issued tokens, and the only one accepted | `lambda-auth` |
//! | `JWT_AUDIENCE` | `aud` of issued tokens, and the one required | `lambda-auth-api` |
//! | `JWT_LEEWAY_SECONDS` | clock skew allowed on `exp`, `nbf` and `iat` | `30` (at most 300) |
//! | `TOKEN_TTL_SECONDS` | lifetime of issued tokens | `900` (60 to 43200) |

use std::time::Duration;

use crate::keys::{Key, KeyRing};
use crate::settings::{SettingsError, Vars};

/// Default `iss` when `JWT_ISSUER` is unset.
pub const DEFAULT_ISSUER: &str = "lambda-auth";
/// Default `aud` when `JWT_AUDIENCE` is unset.
pub const DEFAULT_AUDIENCE: &str = "lambda-auth-api";
/// Default clock-skew leeway.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 30;
/// Largest leeway accepted: more would make expiry meaningless for short-lived tokens.
pub const MAX_LEEWAY_SECONDS: u64 = 300;
/// Default token lifetime.
pub const DEFAULT_TOKEN_TTL_SECONDS: u64 = 900;
/// Shortest token lifetime accepted.
pub const MIN_TOKEN_TTL_SECONDS: u64 = 60;
/// Longest token lifetime accepted (12 hours).
pub const MAX_TOKEN_TTL_SECONDS: u64 = 43_200;

/// Where a secret key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The keys themselves (local use): the current one, and the previous one if set.
    Inline(KeyRing),
    /// A Secrets Manager secret ARN or name, loaded by the binary at start-up.
    SecretsManager(String),
}

/// The variables that name one key: its Secrets Manager ARN (deployed use), the key itself
/// and, optionally, the keys before and after it (local use).
#[derive(Debug, Clone, Copy)]
pub struct KeyVars {
    /// The Secrets Manager secret's ARN or name; wins over the inline key.
    pub arn: &'static str,
    /// The key itself.
    pub inline: &'static str,
    /// The key before the last rotation, which still verifies; `None` where none is read.
    pub previous: Option<&'static str>,
    /// The key after the next rotation, which verifies already; `None` where none is read.
    pub next: Option<&'static str>,
    /// Whether an ES256 key pair may be given: only for the signing key; the other keys
    /// must be random secrets.
    pub key_pair_allowed: bool,
    /// What to set when neither is set.
    pub hint: &'static str,
}

/// The signing key's variables.
pub const SIGNING_KEY: KeyVars = KeyVars {
    arn: "JWT_SECRET_ARN",
    inline: "JWT_SECRET",
    previous: Some("JWT_PREVIOUS_SECRET"),
    next: Some("JWT_NEXT_SECRET"),
    key_pair_allowed: true,
    hint: "set JWT_SECRET_ARN to a Secrets Manager secret, or JWT_SECRET to a random value of \
           at least 32 bytes (or an ES256 private key in PEM) for local use",
};

impl KeySource {
    /// The key named by `names`, read from `vars`.
    pub fn read(vars: &Vars<'_>, names: KeyVars) -> Result<Self, SettingsError> {
        if let Some(arn) = vars.optional(names.arn) {
            return Ok(Self::SecretsManager(arn));
        }
        let key = |name: &'static str, value: String| {
            let bad = |source| SettingsError::BadKey { name, source };
            let key = Key::parse(value.into_bytes()).map_err(bad)?;
            if !names.key_pair_allowed {
                key.secret().map_err(bad)?;
            }
            Ok(key)
        };
        let optional = |name: Option<&'static str>| match name {
            Some(name) => match vars.raw(name).filter(|v| !v.is_empty()) {
                Some(v) => key(name, v).map(Some),
                None => Ok(None),
            },
            None => Ok(None),
        };
        let Some(current) = vars.raw(names.inline).filter(|v| !v.is_empty()) else {
            return Err(SettingsError::Missing {
                name: names.inline,
                hint: names.hint,
            });
        };
        let current = key(names.inline, current)?;
        let ring =
            KeyRing::local(current, optional(names.previous)?).with_next(optional(names.next)?);
        Ok(Self::Inline(ring))
    }
}

/// The token settings shared by the issuer and the verifier.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the signing keys come from.
    pub key_source: KeySource,
    /// Expected and issued `iss`.
    pub issuer: String,
    /// Expected and issued `aud`.
    pub audience: String,
    /// Clock skew allowed when checking `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// Lifetime of issued tokens.
    pub token_ttl: Duration,
    /// The algorithm the deployment chose (`SIGNING_ALGORITHM`): the issuer refuses to start
    /// with a current key of another kind; `None` accepts either.
    pub signing_algorithm: Option<jsonwebtoken::Algorithm>,
}

impl Config {
    /// The defaults with `secret` as the inline key: for tests, benchmarks and local tools.
    pub fn with_secret(secret: &str) -> Result<Self, SettingsError> {
        let lookup = crate::settings::from_pairs(&[("JWT_SECRET", secret)]);
        Self::read(&Vars::new(&lookup))
    }

    /// The current key, when the keys are given inline (`JWT_SECRET`) rather than by a
    /// Secrets Manager ARN.
    pub fn inline_key(&self) -> Option<&Key> {
        match &self.key_source {
            KeySource::Inline(ring) => Some(&ring.current.key),
            KeySource::SecretsManager(_) => None,
        }
    }

    /// Reads the token settings from `vars`.
    pub fn read(vars: &Vars<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            key_source: KeySource::read(vars, SIGNING_KEY)?,
            issuer: vars.text("JWT_ISSUER", DEFAULT_ISSUER)?,
            audience: vars.text("JWT_AUDIENCE", DEFAULT_AUDIENCE)?,
            leeway: vars.seconds(
                "JWT_LEEWAY_SECONDS",
                DEFAULT_LEEWAY_SECONDS,
                0..=MAX_LEEWAY_SECONDS,
            )?,
            token_ttl: vars.seconds(
                "TOKEN_TTL_SECONDS",
                DEFAULT_TOKEN_TTL_SECONDS,
                MIN_TOKEN_TTL_SECONDS..=MAX_TOKEN_TTL_SECONDS,
            )?,
            signing_algorithm: vars
                .parsed("SIGNING_ALGORITHM", |v| match v {
                    "" => Ok(None),
                    "HS256" => Ok(Some(jsonwebtoken::Algorithm::HS256)),
                    "ES256" => Ok(Some(jsonwebtoken::Algorithm::ES256)),
                    _ => Err("expected HS256 or ES256".to_owned()),
                })?
                .flatten(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyError;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-local";

    fn secret_of(key: &Key) -> &[u8] {
        key.secret().unwrap().expose_secret()
    }

    #[test]
    fn a_pem_signing_key_is_es256_and_a_next_key_is_read() {
        let (a, b) = (
            crate::keys::EcKey::generate().unwrap(),
            crate::keys::EcKey::generate().unwrap(),
        );
        let (pa, pb) = (a.to_pem(), b.to_pem());
        let c = config(&[("JWT_SECRET", &pa), ("JWT_NEXT_SECRET", &pb)]).unwrap();
        let KeySource::Inline(ring) = c.key_source else {
            panic!("inline keys expected")
        };
        assert_eq!(ring.current.kid, a.kid());
        assert_eq!(ring.next.unwrap().kid, b.kid());
        let err = config(&[("JWT_SECRET", "-----BEGIN PRIVATE KEY-----\nAAAA\n")]).unwrap_err();
        assert_eq!(
            err,
            SettingsError::BadKey {
                name: "JWT_SECRET",
                source: KeyError::NotP256
            }
        );
    }

    #[test]
    fn a_key_pair_is_refused_where_a_secret_is_needed() {
        let pem = crate::keys::EcKey::generate().unwrap().to_pem();
        let lookup = crate::settings::from_pairs(&[("LOCKOUT_KEY", pem.as_str())]);
        let names = KeyVars {
            arn: "LOCKOUT_KEY_ARN",
            inline: "LOCKOUT_KEY",
            previous: None,
            next: None,
            key_pair_allowed: false,
            hint: "",
        };
        assert_eq!(
            KeySource::read(&Vars::new(&lookup), names).unwrap_err(),
            SettingsError::BadKey {
                name: "LOCKOUT_KEY",
                source: KeyError::NotASecret
            }
        );
    }

    fn config(vars: &[(&str, &str)]) -> Result<Config, SettingsError> {
        let lookup = crate::settings::from_pairs(vars);
        Config::read(&Vars::new(&lookup))
    }

    #[test]
    fn defaults_apply_when_only_the_secret_is_set() {
        let c = config(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(c.issuer, DEFAULT_ISSUER);
        assert_eq!(c.audience, DEFAULT_AUDIENCE);
        assert_eq!(c.leeway, Duration::from_secs(30));
        assert_eq!(c.token_ttl, Duration::from_secs(900));
        assert!(
            matches!(c.key_source, KeySource::Inline(ref r) if secret_of(&r.current.key) == SECRET.as_bytes())
        );
    }

    #[test]
    fn every_variable_is_read() {
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("JWT_ISSUER", " https://auth.example.com "),
            ("JWT_AUDIENCE", "orders-api"),
            ("JWT_LEEWAY_SECONDS", "5"),
            ("TOKEN_TTL_SECONDS", "3600"),
        ])
        .unwrap();
        assert_eq!(c.issuer, "https://auth.example.com");
        assert_eq!(c.audience, "orders-api");
        assert_eq!(c.leeway, Duration::from_secs(5));
        assert_eq!(c.token_ttl, Duration::from_secs(3600));
    }

    #[test]
    fn secret_arn_wins_over_inline_secret() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-AbCdEf";
        let c = config(&[("JWT_SECRET", "short"), ("JWT_SECRET_ARN", arn)]).unwrap();
        assert!(matches!(c.key_source, KeySource::SecretsManager(ref a) if a == arn));
    }

    #[test]
    fn missing_or_short_secret_is_a_start_up_error() {
        assert!(matches!(
            config(&[]).unwrap_err(),
            SettingsError::Missing {
                name: "JWT_SECRET",
                ..
            }
        ));
        let err = config(&[("JWT_SECRET", "too-short")]).unwrap_err();
        assert_eq!(
            err,
            SettingsError::BadKey {
                name: "JWT_SECRET",
                source: KeyError::TooShort { len: 9 }
            }
        );
        assert!(err.to_string().contains("at least 32 bytes"), "{err}");
    }

    #[test]
    fn bad_numbers_name_the_variable_and_range() {
        for (name, value) in [
            ("JWT_LEEWAY_SECONDS", "-1"),
            ("JWT_LEEWAY_SECONDS", "301"),
            ("JWT_LEEWAY_SECONDS", "ten"),
            ("TOKEN_TTL_SECONDS", "59"),
            ("TOKEN_TTL_SECONDS", "43201"),
        ] {
            let err = config(&[("JWT_SECRET", SECRET), (name, value)]).unwrap_err();
            assert!(
                matches!(err, SettingsError::OutOfRange { name: n, .. } if n == name),
                "{err}"
            );
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }

    #[test]
    fn with_secret_gives_the_defaults_and_that_key() {
        let c = Config::with_secret(SECRET).unwrap();
        assert_eq!(c.inline_key().map(secret_of), Some(SECRET.as_bytes()));
        assert_eq!(c.issuer, DEFAULT_ISSUER);
        assert!(Config::with_secret("short").is_err());
        let arn = config(&[("JWT_SECRET_ARN", "arn:aws:secretsmanager:r:1:secret:x")]).unwrap();
        assert!(arn.inline_key().is_none());
        assert!(
            matches!(arn.key_source, KeySource::SecretsManager(ref a) if a == "arn:aws:secretsmanager:r:1:secret:x")
        );
        let local = config(&[
            ("JWT_SECRET", SECRET),
            (
                "JWT_PREVIOUS_SECRET",
                "previous-secret-0123456789abcdef-xyz",
            ),
        ])
        .unwrap();
        let KeySource::Inline(ring) = local.key_source else {
            panic!("inline keys expected")
        };
        assert_eq!(secret_of(&ring.current.key), SECRET.as_bytes());
        assert_eq!(
            secret_of(&ring.previous.unwrap().key),
            b"previous-secret-0123456789abcdef-xyz"
        );
        assert!(ring.next.is_none());
    }

    #[test]
    fn the_signing_algorithm_is_hs256_es256_or_unset() {
        let read = |v: &str| config(&[("JWT_SECRET", SECRET), ("SIGNING_ALGORITHM", v)]);
        assert_eq!(
            read("ES256").unwrap().signing_algorithm,
            Some(jsonwebtoken::Algorithm::ES256)
        );
        assert_eq!(read("").unwrap().signing_algorithm, None);
        let err = read("RS256").unwrap_err();
        assert!(err.to_string().contains("HS256 or ES256"), "{err}");
    }

    #[test]
    fn empty_issuer_is_refused() {
        let err = config(&[("JWT_SECRET", SECRET), ("JWT_ISSUER", "  ")]).unwrap_err();
        assert_eq!(err, SettingsError::Empty("JWT_ISSUER"));
    }
}
