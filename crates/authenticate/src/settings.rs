//! Every variable `authenticate` reads, read once at start-up, in this one place.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `JWT_SECRET_ARN`, `JWT_SECRET`, `JWT_PREVIOUS_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_LEEWAY_SECONDS`, `TOKEN_TTL_SECONDS` | the token settings ([`authcore::config`]) | |
//! | `LOCKOUT_KEY_ARN`, `LOCKOUT_KEY` | the lockout's own key ([`lockout::LOCKOUT_KEY`]) | — |
//! | `USERS_TABLE`, `ATTEMPTS_TABLE`, `SESSIONS_TABLE` | the DynamoDB tables | — |
//! | `LOCKOUT_THRESHOLD`, `LOCKOUT_MAX_SECONDS`, `LOCKOUT_RESET_SECONDS`, `SOURCE_FAILURE_THRESHOLD`, `ACCOUNT_FAILURE_CEILING`, `ACCOUNT_CEILING_WINDOW_SECONDS` | the lockout policy ([`lockout::LockoutPolicy`]) | |
//! | `REFRESH_TTL_SECONDS`, `SESSION_MAX_SECONDS`, `REFRESH_RETRY_SECONDS` | the sessions' lifetimes and retry window ([`SessionPolicy`]) | 7 days, 30 days, 30 s |
//! | `REFRESH_KEY_ARN`, `REFRESH_KEY` | the key refresh tokens' successors are derived with ([`REFRESH_KEY`]); needed unless `REFRESH_RETRY_SECONDS` is 0 | — |
//! | `DYNAMODB_TIMEOUT_MS` | one DynamoDB call's whole budget, retries included | `1000` (100 to 30000) |
//! | `ALLOWED_ORIGINS` | origins whose pages may read the answers ([`authcore::cors`]) | none |
//! | `ROUTE_RULES` | check-token's route rules ([`routerules`]): the roles they name are the discovery document's `scopes_supported` | none |
//! | `SIGNING_ALGORITHM` | `HS256` or `ES256`: the current signing key must be of it ([`authcore::config`]) | either |
//! | the AWS variables ([`awsenv::AWS_VARS`]) | region, credentials, endpoints, CA bundle, log level and format | |

use std::time::Duration;

use authcore::settings::process_env;
use authcore::token::refresh::REFRESH_KEY;
use authcore::{AllowedOrigins, Config, KeySource, SettingsError, Vars};
use awsenv::AwsEnv;
use lockout::{LOCKOUT_KEY, LockoutPolicy};
use userstore::timeouts;

use crate::grant::refresh::SessionPolicy;

/// What `authenticate` is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The token settings: keys, issuer, audience, leeway, lifetime.
    pub token: Config,
    /// Where the lockout's key comes from.
    pub lockout_key: KeySource,
    /// The users table.
    pub users_table: String,
    /// The failed sign-in counters.
    pub attempts_table: String,
    /// The sessions (refresh tokens).
    pub sessions_table: String,
    /// The lockout's numbers.
    pub lockout: LockoutPolicy,
    /// The sessions' lifetimes.
    pub sessions: SessionPolicy,
    /// Where the key of refresh tokens' successors comes from; none when retries are off.
    pub refresh_key: Option<KeySource>,
    /// One DynamoDB call's whole budget.
    pub dynamodb_timeout: Duration,
    /// The origins whose pages may read the answers.
    pub cors: AllowedOrigins,
    /// The scopes some route asks for (the roles `ROUTE_RULES` names), for the discovery
    /// document.
    pub scopes: Vec<String>,
    /// Region, credentials and endpoints for DynamoDB and Secrets Manager; log level and format.
    pub aws: AwsEnv,
}

impl Settings {
    /// Reads every setting from `vars`.
    pub fn read(vars: &Vars<'_>) -> Result<Self, SettingsError> {
        let token = Config::read(vars)?;
        let lockout_key = KeySource::read(vars, LOCKOUT_KEY)?;
        let users_table = vars.required("USERS_TABLE", "name the DynamoDB users table")?;
        let attempts_table = vars.required(
            "ATTEMPTS_TABLE",
            "name the DynamoDB table of failed sign-ins (the template's AttemptsTable)",
        )?;
        let sessions_table = vars.required(
            "SESSIONS_TABLE",
            "name the DynamoDB sessions table (the template's SessionsTable)",
        )?;
        let lockout = LockoutPolicy::read(vars)?;
        let sessions = SessionPolicy::read(vars)?;
        let refresh_key = match sessions.retry {
            0 => None,
            _ => Some(KeySource::read(vars, REFRESH_KEY)?),
        };
        Ok(Self {
            token,
            lockout_key,
            users_table,
            attempts_table,
            sessions_table,
            lockout,
            sessions,
            refresh_key,
            dynamodb_timeout: timeouts::read(vars)?,
            cors: AllowedOrigins::read(vars)?,
            scopes: scopes(vars)?,
            aws: AwsEnv::read(
                |name| vars.raw(name),
                &[userstore::ENDPOINT_VAR, secrets::ENDPOINT_VAR],
            ),
        })
    }
}

/// The roles `ROUTE_RULES` names, when it is set.
fn scopes(vars: &Vars<'_>) -> Result<Vec<String>, SettingsError> {
    let Some(text) = vars.optional("ROUTE_RULES") else {
        return Ok(Vec::new());
    };
    let rules = routerules::Rules::parse(&text).map_err(|e| SettingsError::Invalid {
        name: "ROUTE_RULES",
        value: text.clone(),
        expected: e.to_string(),
    })?;
    Ok(rules.roles().into_iter().map(str::to_owned).collect())
}

/// The process environment's settings, read after the logs are set up from its AWS part (a
/// bad setting is logged).
pub fn from_process() -> Result<Settings, SettingsError> {
    awsenv::start(&process_env, |lookup| Settings::read(&Vars::new(lookup)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use authcore::settings::from_pairs;

    const KEY: &str = "0123456789abcdef0123456789abcdef-local";
    const OTHER: &str = "fedcba9876543210fedcba9876543210-local";
    const THIRD: &str = "00112233445566778899aabbccddeeff-local";

    fn read(extra: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        read_without("", extra)
    }

    /// The settings with every required variable but `missing`, and `extra`.
    fn read_without(missing: &str, extra: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let mut pairs = vec![
            ("JWT_SECRET", KEY),
            ("LOCKOUT_KEY", OTHER),
            ("REFRESH_KEY", THIRD),
            ("USERS_TABLE", "users"),
            ("ATTEMPTS_TABLE", "attempts"),
            ("SESSIONS_TABLE", "sessions"),
        ];
        pairs.retain(|(name, _)| *name != missing);
        pairs.extend_from_slice(extra);
        let lookup = from_pairs(&pairs);
        Settings::read(&Vars::new(&lookup))
    }

    #[test]
    fn the_defaults_apply_around_the_required_settings() {
        let s = read(&[]).unwrap();
        assert_eq!(s.users_table, "users");
        assert_eq!(s.dynamodb_timeout, Duration::from_millis(1000));
        assert_eq!(s.lockout, LockoutPolicy::default());
        assert_eq!(s.sessions, SessionPolicy::default());
    }

    #[test]
    fn the_lockout_key_is_its_own_setting() {
        let lookup = from_pairs(&[("JWT_SECRET", KEY), ("USERS_TABLE", "users")]);
        let err = Settings::read(&Vars::new(&lookup)).unwrap_err();
        assert!(
            err.to_string().starts_with("LOCKOUT_KEY is not set"),
            "{err}"
        );
    }

    #[test]
    fn the_refresh_key_is_its_own_setting_unless_retries_are_off() {
        let without = |extra: &[(&str, &str)]| read_without("REFRESH_KEY", extra);
        let err = without(&[]).unwrap_err().to_string();
        assert!(err.starts_with("REFRESH_KEY is not set"), "{err}");
        assert!(err.contains("REFRESH_RETRY_SECONDS=0"), "{err}");
        let off = without(&[("REFRESH_RETRY_SECONDS", "0")]).unwrap();
        assert!(off.refresh_key.is_none());
        assert!(matches!(
            read(&[]).unwrap().refresh_key,
            Some(KeySource::Inline(_))
        ));
    }

    #[test]
    fn a_missing_table_names_its_variable() {
        let lookup = from_pairs(&[("JWT_SECRET", KEY), ("LOCKOUT_KEY", OTHER)]);
        let err = Settings::read(&Vars::new(&lookup)).unwrap_err();
        assert!(
            err.to_string().starts_with("USERS_TABLE is not set"),
            "{err}"
        );
    }

    #[test]
    fn a_timeout_out_of_range_stops_start_up_instead_of_falling_back() {
        let err = read(&[("DYNAMODB_TIMEOUT_MS", "50")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "DYNAMODB_TIMEOUT_MS=\"50\" is not valid: expected a whole number from 100 to 30000"
        );
    }

    #[test]
    fn an_idle_lifetime_over_the_absolute_one_is_refused() {
        let err = read(&[
            ("REFRESH_TTL_SECONDS", "7200"),
            ("SESSION_MAX_SECONDS", "3600"),
        ])
        .unwrap_err();
        assert!(
            err.to_string().contains("at most SESSION_MAX_SECONDS"),
            "{err}"
        );
    }
}
