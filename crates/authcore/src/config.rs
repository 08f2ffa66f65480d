//! Configuration, read once at start-up from the environment.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `JWT_SECRET` | the HS256 key itself (local use), at least 32 bytes | — |
//! | `JWT_PREVIOUS_SECRET` | the key before the last rotation (local use): still verifies | — |
//! | `JWT_SECRET_ARN` | a Secrets Manager secret holding the key (deployed use); wins over `JWT_SECRET` | — |
//! | `JWT_ISSUER` | `iss` of issued tokens, and the only one accepted | `lambda-auth` |
//! | `JWT_AUDIENCE` | `aud` of issued tokens, and the one required | `lambda-auth-api` |
//! | `JWT_LEEWAY_SECONDS` | clock skew allowed on `exp`, `nbf` and `iat` | `30` (at most 300) |
//! | `TOKEN_TTL_SECONDS` | lifetime of issued tokens | `900` (60 to 43200) |
//! | `USERS_TABLE` | the DynamoDB users table (`authenticate`) | — |
//! | `REQUIRED_ROLE` | a role every caller's token must carry (`check-token`); without it, a 403 | none |

use std::time::Duration;

use crate::keys::{KeyError, KeyRing, SigningKey};

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

/// What is wrong with the configuration; each names the variable to fix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// Neither `JWT_SECRET` nor `JWT_SECRET_ARN` is set.
    #[error(
        "no signing key configured: set JWT_SECRET_ARN to a Secrets Manager secret, \
         or JWT_SECRET to a random value of at least 32 bytes for local use"
    )]
    MissingSecret,
    /// `JWT_SECRET` is set but unusable.
    #[error("JWT_SECRET is unusable: {0}")]
    BadSecret(#[source] KeyError),
    /// `JWT_PREVIOUS_SECRET` is set but unusable.
    #[error("JWT_PREVIOUS_SECRET is unusable: {0}")]
    BadPreviousSecret(#[source] KeyError),
    /// A numeric variable does not parse or is out of range.
    #[error(
        "{name}={value:?} is not valid: expected a whole number of seconds from {min} to {max}"
    )]
    BadNumber {
        /// The variable's name.
        name: &'static str,
        /// What it was set to.
        value: String,
        /// Smallest accepted value.
        min: u64,
        /// Largest accepted value.
        max: u64,
    },
    /// A text variable is set but empty.
    #[error("{0} is set but empty: unset it to use the default, or give it a value")]
    Empty(&'static str),
}

/// Where the signing keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The keys themselves (local use): `JWT_SECRET`, and `JWT_PREVIOUS_SECRET` if set.
    Inline(KeyRing),
    /// A Secrets Manager secret ARN or name, from `JWT_SECRET_ARN`, loaded by the binary at start-up.
    SecretsManager(String),
}

/// Settings shared by the token issuer and verifier.
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
    /// The DynamoDB users table (`USERS_TABLE`), for the functions that read it.
    pub users_table: Option<String>,
    /// A role every caller must hold (`REQUIRED_ROLE`); blank means none.
    pub required_role: Option<String>,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The defaults with `secret` as the inline key: for tests, benchmarks and local tools.
    pub fn with_secret(secret: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| (name == "JWT_SECRET").then(|| secret.to_owned()))
    }

    /// The current key, when the keys are given inline (`JWT_SECRET`) rather than by a
    /// Secrets Manager ARN.
    pub fn inline_key(&self) -> Option<&SigningKey> {
        match &self.key_source {
            KeySource::Inline(ring) => Some(&ring.current.key),
            KeySource::SecretsManager(_) => None,
        }
    }

    /// Reads the configuration through `lookup`, which maps a variable name to its value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            match lookup(name) {
                None => Ok(default.to_owned()),
                Some(v) if v.trim().is_empty() => Err(ConfigError::Empty(name)),
                Some(v) => Ok(v.trim().to_owned()),
            }
        };
        let seconds = |name: &'static str, default: u64, min: u64, max: u64| {
            let Some(value) = lookup(name) else {
                return Ok(Duration::from_secs(default));
            };
            match value.trim().parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Duration::from_secs(n)),
                _ => Err(ConfigError::BadNumber {
                    name,
                    value,
                    min,
                    max,
                }),
            }
        };

        let key_source = match (lookup("JWT_SECRET_ARN"), lookup("JWT_SECRET")) {
            (Some(arn), _) if !arn.trim().is_empty() => {
                KeySource::SecretsManager(arn.trim().to_owned())
            }
            (_, Some(secret)) => {
                let current =
                    SigningKey::new(secret.into_bytes()).map_err(ConfigError::BadSecret)?;
                let previous = match lookup("JWT_PREVIOUS_SECRET") {
                    Some(s) if !s.is_empty() => Some(
                        SigningKey::new(s.into_bytes()).map_err(ConfigError::BadPreviousSecret)?,
                    ),
                    _ => None,
                };
                KeySource::Inline(KeyRing::local(current, previous))
            }
            _ => return Err(ConfigError::MissingSecret),
        };
        let optional = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Ok(Self {
            key_source,
            users_table: optional("USERS_TABLE"),
            required_role: optional("REQUIRED_ROLE"),
            issuer: text("JWT_ISSUER", DEFAULT_ISSUER)?,
            audience: text("JWT_AUDIENCE", DEFAULT_AUDIENCE)?,
            leeway: seconds(
                "JWT_LEEWAY_SECONDS",
                DEFAULT_LEEWAY_SECONDS,
                0,
                MAX_LEEWAY_SECONDS,
            )?,
            token_ttl: seconds(
                "TOKEN_TTL_SECONDS",
                DEFAULT_TOKEN_TTL_SECONDS,
                MIN_TOKEN_TTL_SECONDS,
                MAX_TOKEN_TTL_SECONDS,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-local";

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_only_the_secret_is_set() {
        let c = config(&[("JWT_SECRET", SECRET)]).unwrap();
        assert_eq!(c.issuer, DEFAULT_ISSUER);
        assert_eq!(c.audience, DEFAULT_AUDIENCE);
        assert_eq!(c.leeway, Duration::from_secs(30));
        assert_eq!(c.token_ttl, Duration::from_secs(900));
        assert!(
            matches!(c.key_source, KeySource::Inline(ref r) if r.current.key.expose_secret() == SECRET.as_bytes())
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
        assert_eq!(config(&[]).unwrap_err(), ConfigError::MissingSecret);
        let err = config(&[("JWT_SECRET", "too-short")]).unwrap_err();
        assert_eq!(err, ConfigError::BadSecret(KeyError::TooShort { len: 9 }));
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
                matches!(err, ConfigError::BadNumber { name: n, .. } if n == name),
                "{err}"
            );
            assert!(err.to_string().starts_with(name), "{err}");
        }
    }

    #[test]
    fn with_secret_gives_the_defaults_and_that_key() {
        let c = Config::with_secret(SECRET).unwrap();
        assert_eq!(
            c.inline_key().map(SigningKey::expose_secret),
            Some(SECRET.as_bytes())
        );
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
        assert_eq!(ring.current.key.expose_secret(), SECRET.as_bytes());
        assert_eq!(
            ring.previous.unwrap().key.expose_secret(),
            b"previous-secret-0123456789abcdef-xyz"
        );
    }

    #[test]
    fn the_table_and_the_required_role_are_read_here_and_blank_means_unset() {
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("USERS_TABLE", " users "),
            ("REQUIRED_ROLE", "admin"),
        ])
        .unwrap();
        assert_eq!(
            (c.users_table.as_deref(), c.required_role.as_deref()),
            (Some("users"), Some("admin"))
        );
        let c = config(&[
            ("JWT_SECRET", SECRET),
            ("USERS_TABLE", ""),
            ("REQUIRED_ROLE", "  "),
        ])
        .unwrap();
        assert_eq!((c.users_table, c.required_role), (None, None));
    }

    #[test]
    fn empty_issuer_is_refused() {
        let err = config(&[("JWT_SECRET", SECRET), ("JWT_ISSUER", "  ")]).unwrap_err();
        assert_eq!(err, ConfigError::Empty("JWT_ISSUER"));
    }
}
