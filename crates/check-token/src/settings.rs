//! Every variable `check-token` reads, read once at start-up, in this one place.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `JWT_SECRET_ARN`, `JWT_SECRET`, `JWT_PREVIOUS_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`, `JWT_LEEWAY_SECONDS`, `TOKEN_TTL_SECONDS` | the token settings ([`authcore::config`]) | |
//! | `ROUTE_RULES` | who may call which route ([`routerules`]): `GET /hello *; GET /admin admin` | — (required) |
//! | `REQUIRED_ROLE` | replaced by `ROUTE_RULES`: set, it stops start-up with a message saying so | — |
//! | `ENABLE_SIMPLE_RESPONSES` | `true` or `false`, as the HTTP API authorizer's `EnableSimpleResponses` | `true` |
//! | the AWS variables ([`awsenv::AWS_VARS`]) | region, credentials, endpoints, CA bundle, log level and format | |

use authcore::settings::process_env;
use authcore::{Config, SettingsError, Vars};
use awsenv::AwsEnv;

use routerules::Rules;

use crate::response::V2Format;

/// The setting that says how payload 2.0 events are answered; it must match the HTTP API
/// authorizer's `EnableSimpleResponses` (the template sets both from one place).
pub const SIMPLE_RESPONSES_VAR: &str = "ENABLE_SIMPLE_RESPONSES";

/// What `check-token` is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The token settings: keys, issuer, audience, leeway, lifetime.
    pub token: Config,
    /// Who may call which route.
    pub rules: Rules,
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
            rules: rules(vars)?,
            v2_format: V2Format::from_simple(vars.flag(SIMPLE_RESPONSES_VAR, true)?),
            aws: AwsEnv::read(|name| vars.raw(name), &[secrets::ENDPOINT_VAR]),
        })
    }
}

/// The route rules of `ROUTE_RULES`; `REQUIRED_ROLE`, which they replace, is refused.
fn rules(vars: &Vars<'_>) -> Result<Rules, SettingsError> {
    if let Some(role) = vars.optional("REQUIRED_ROLE") {
        return Err(SettingsError::Invalid {
            name: "REQUIRED_ROLE",
            value: role,
            expected: "nothing: ROUTE_RULES replaces it (a rule per route, such as \
                       `GET /hello reader`)"
                .to_owned(),
        });
    }
    let text = vars.required(
        "ROUTE_RULES",
        "say who may call which route, such as `GET /hello *; GET /admin admin`",
    )?;
    Rules::parse(&text).map_err(|e| SettingsError::Invalid {
        name: "ROUTE_RULES",
        value: text.clone(),
        expected: e.to_string(),
    })
}

/// The process environment's settings, read after the logs are set up from its AWS part (a
/// bad setting is logged).
pub fn from_process() -> Result<Settings, SettingsError> {
    awsenv::start(&process_env, |lookup| Settings::read(&Vars::new(lookup)))
}
