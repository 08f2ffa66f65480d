//! Every variable `authctl` reads, read once, in this one place. Flags override the tables.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `USERS_TABLE`, `ATTEMPTS_TABLE`, `SESSIONS_TABLE` | the DynamoDB tables | `users`, `attempts`, `sessions` |
//! | `JWT_SECRET`, `JWT_PREVIOUS_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_LEEWAY_SECONDS`, `TOKEN_TTL_SECONDS` | the token settings, for `token mint` and `token verify` (local keys only) | |
//! | `LOCKOUT_KEY_ARN`, `LOCKOUT_KEY` | the lockout's key, for `user unlock` | |
//! | `MIN_PASSWORD_CHARS` | the fewest characters of a new password (8 to 15) | `15` |
//! | `DYNAMODB_TIMEOUT_MS` | one DynamoDB call's whole budget | `1000` |
//! | `SSL_CERT_FILE`, and for `user unlock` with `LOCKOUT_KEY_ARN` the AWS variables of [`awsenv::AWS_VARS`] | | |
//!
//! AWS credentials and profiles for the tables are the AWS SDK's own (`aws-config`).

use std::time::Duration;

use authcore::config::SIGNING_KEY;
use authcore::password::PasswordPolicy;
use authcore::settings::process_env;
use authcore::{Config, KeySource, KeyVars, SettingsError, Vars};
use awsenv::AwsEnv;
use lockout::LOCKOUT_KEY;
use userstore::timeouts;

/// What `authctl` is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The users table.
    pub users_table: String,
    /// The failed sign-in counters.
    pub attempts_table: String,
    /// The sessions.
    pub sessions_table: String,
    /// The token settings, when a signing key is set.
    pub token: Option<Config>,
    /// The lockout's key, when set.
    pub lockout_key: Option<KeySource>,
    /// The policy for new passwords.
    pub passwords: PasswordPolicy,
    /// One DynamoDB call's whole budget.
    pub dynamodb_timeout: Duration,
    /// The CA bundle, and the AWS variables for Secrets Manager.
    pub aws: AwsEnv,
}

/// Whether any variable of the key `names` is set.
fn key_set(vars: &Vars<'_>, names: KeyVars) -> bool {
    vars.optional(names.arn).is_some() || vars.raw(names.inline).is_some_and(|v| !v.is_empty())
}

impl Settings {
    /// Reads every setting from `vars`.
    pub fn read(vars: &Vars<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            users_table: vars.text("USERS_TABLE", "users")?,
            attempts_table: vars.text("ATTEMPTS_TABLE", "attempts")?,
            sessions_table: vars.text("SESSIONS_TABLE", "sessions")?,
            token: match key_set(vars, SIGNING_KEY) {
                true => Some(Config::read(vars)?),
                false => None,
            },
            lockout_key: match key_set(vars, LOCKOUT_KEY) {
                true => Some(KeySource::read(vars, LOCKOUT_KEY)?),
                false => None,
            },
            passwords: PasswordPolicy::read(vars)?,
            dynamodb_timeout: timeouts::read(vars)?,
            aws: AwsEnv::read(|name| vars.raw(name), &[secrets::ENDPOINT_VAR]),
        })
    }

    /// The process environment's settings.
    pub fn from_process() -> Result<Self, SettingsError> {
        Self::read(&Vars::new(&process_env))
    }

    /// The token settings, which the token commands need.
    pub fn token(&self) -> Result<&Config, SettingsError> {
        self.token.as_ref().ok_or(SettingsError::Missing {
            name: SIGNING_KEY.inline,
            hint: "the token commands sign and verify with a local key",
        })
    }

    /// The lockout's key, which `user unlock` needs.
    pub fn lockout_key(&self) -> Result<&KeySource, SettingsError> {
        self.lockout_key.as_ref().ok_or(SettingsError::Missing {
            name: LOCKOUT_KEY.inline,
            hint: LOCKOUT_KEY.hint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authcore::settings::from_pairs;

    #[test]
    fn no_key_is_needed_until_a_command_needs_it() {
        let lookup = from_pairs(&[]);
        let s = Settings::read(&Vars::new(&lookup)).unwrap();
        assert_eq!(s.users_table, "users");
        assert!(
            s.token()
                .unwrap_err()
                .to_string()
                .starts_with("JWT_SECRET is not set")
        );
        assert!(
            s.lockout_key()
                .unwrap_err()
                .to_string()
                .starts_with("LOCKOUT_KEY is not set")
        );
    }

    #[test]
    fn a_key_that_is_set_must_be_usable() {
        let lookup = from_pairs(&[("LOCKOUT_KEY", "short")]);
        let err = Settings::read(&Vars::new(&lookup)).unwrap_err();
        assert!(
            err.to_string().starts_with("LOCKOUT_KEY is unusable"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_minimum_names_the_variable_and_range() {
        let lookup = from_pairs(&[("MIN_PASSWORD_CHARS", "4")]);
        let err = Settings::read(&Vars::new(&lookup)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "MIN_PASSWORD_CHARS=\"4\" is not valid: expected a whole number from 8 to 15"
        );
    }
}
