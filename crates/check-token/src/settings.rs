//! Every variable `check-token` reads, read once at start-up, in this one place.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `JWT_SECRET_ARN`, `JWT_SECRET`, `JWT_PREVIOUS_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_LEEWAY_SECONDS`, `TOKEN_TTL_SECONDS` | the token settings ([`authcore::config`]) | |
//! | `REQUIRED_ROLE` | a role every caller's token must carry; without it, a 403 | none |
//! | `ENABLE_SIMPLE_RESPONSES` | `true` or `false`, as the HTTP API authorizer's `EnableSimpleResponses` | `true` |
//! | the AWS variables ([`awsenv::AWS_VARS`]) | region, credentials, endpoints, CA bundle, log level and format | |

use authcore::settings::process_env;
use authcore::{Config, SettingsError, Vars};
use awsenv::AwsEnv;

use crate::response::V2Format;

/// The setting that says how payload 2.0 events are answered; it must match the HTTP API
/// authorizer's `EnableSimpleResponses` (the template sets both from one place).
pub const SIMPLE_RESPONSES_VAR: &str = "ENABLE_SIMPLE_RESPONSES";

/// What `check-token` is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The token settings: keys, issuer, audience, leeway, lifetime.
    pub token: Config,
    /// A role every caller must hold; `None` for none.
    pub required_role: Option<String>,
    /// How payload 2.0 events are answered.
    pub v2_format: V2Format,
    /// Region, credentials and endpoints for Secrets Manager; log level and format.
    pub aws: AwsEnv,
}

impl Settings {
    /// Reads every setting from `vars`.
    pub fn read(vars: &Vars<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            token: Config::read(vars)?,
            required_role: vars.optional("REQUIRED_ROLE"),
            v2_format: V2Format::from_simple(vars.flag(SIMPLE_RESPONSES_VAR, true)?),
            aws: AwsEnv::read(|name| vars.raw(name), &[secrets::ENDPOINT_VAR]),
        })
    }
}

/// The process environment's settings, read after the logs are set up from its AWS part (a
/// bad setting is logged).
pub fn from_process() -> Result<Settings, SettingsError> {
    awsenv::start(&process_env, |lookup| Settings::read(&Vars::new(lookup)))
}
