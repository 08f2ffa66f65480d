//! Every variable `hello` reads, read once at start-up, in this one place: `ALLOWED_ORIGINS`
//! ([`authcore::cors`]) and the AWS variables ([`awsenv::AWS_VARS`]: log level and format).

use authcore::settings::process_env;
use authcore::{AllowedOrigins, SettingsError, Vars};
use awsenv::AwsEnv;

/// What `hello` is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The origins whose pages may read the answers.
    pub cors: AllowedOrigins,
    /// Log level and format.
    pub aws: AwsEnv,
}

impl Settings {
    /// Reads every setting from `vars`.
    pub fn read(vars: &Vars<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            cors: AllowedOrigins::read(vars)?,
            aws: AwsEnv::read(|name| vars.raw(name), &[]),
        })
    }
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

    #[test]
    fn a_bad_origin_names_the_variable_and_the_value() {
        let lookup = from_pairs(&[("ALLOWED_ORIGINS", "not an origin")]);
        let err = Settings::read(&Vars::new(&lookup)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("ALLOWED_ORIGINS=\"not an origin\""),
            "{err}"
        );
    }

    #[test]
    fn no_origins_by_default() {
        let lookup = from_pairs(&[]);
        let s = Settings::read(&Vars::new(&lookup)).unwrap();
        assert_eq!(s.cors, AllowedOrigins::None);
    }
}
