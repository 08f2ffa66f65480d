//! A decision on the wire: the one place that turns a [`Verdict`] into what API Gateway reads,
//! for each flavour.
//!
//! Which answer gives which status, from API Gateway's developer guide:
//! - REST APIs ("Use API Gateway Lambda authorizers", "Output from an API Gateway Lambda
//!   authorizer"): an IAM policy whose statements allow the method ARN lets the request through;
//!   an explicit or implicit Deny is a 403 (`ACCESS_DENIED`); the function error whose message is
//!   exactly `Unauthorized` is a 401 (`UNAUTHORIZED`); any other error or an unreadable answer is
//!   a 500 (`AUTHORIZER_CONFIGURATION_ERROR`).
//! - HTTP APIs ("Control access to HTTP APIs with AWS Lambda authorizers"): a request without
//!   the identity source (`Authorization`) is a 401 without calling the authorizer ("Identity
//!   sources"); payload 1.0 answers with REST's IAM policy, payload 2.0 with the simple
//!   `{"isAuthorized": bool, "context": {...}}` when simple responses are enabled and the IAM
//!   policy otherwise ("Lambda authorizer response format"); `isAuthorized: false` or a policy
//!   that does not allow the route is a 403 (`{"message":"Forbidden"}`); an answer "in an invalid
//!   format" or a failed invocation is a 500 ("Troubleshooting Lambda authorizers").
//!   The HTTP API guide does not list the `Unauthorized` error; API Gateway answers it with a
//!   401 for HTTP APIs as for REST APIs, which `make test-deployed` asserts on a deployed stack,
//!   so a present but bad token is refused the same way on every flavour.
//!
//! Context values are strings on every flavour: REST and HTTP API 1.0 accept only strings,
//! numbers and booleans, and the same claims reach the backend whichever API is in front.

use std::fmt;

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerSimpleResponse;
use lambda_runtime::Diagnostic;
use serde::Serialize;

use crate::decision::Verdict;
use crate::event::Kind;
use crate::policy::{AuthorizerContext, AuthorizerResponse, HttpAuthorizerResponse, PolicyBuilder};

/// The exact message API Gateway turns into a 401.
pub const UNAUTHORIZED: &str = "Unauthorized";

/// The error API Gateway answers with a 401: its message is exactly `Unauthorized`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthorized;

impl fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(UNAUTHORIZED)
    }
}

impl std::error::Error for Unauthorized {}

impl From<Unauthorized> for Diagnostic {
    fn from(_: Unauthorized) -> Self {
        Diagnostic {
            error_type: UNAUTHORIZED.to_owned(),
            error_message: UNAUTHORIZED.to_owned(),
        }
    }
}

/// How payload 2.0 events are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum V2Format {
    /// `{"isAuthorized": ..., "context": ...}` (`EnableSimpleResponses: true`, the template's).
    #[default]
    Simple,
    /// The IAM policy (`EnableSimpleResponses: false`).
    IamPolicy,
}

impl V2Format {
    /// The format for the setting's value: simple responses when `true`.
    pub fn from_simple(simple: bool) -> Self {
        if simple {
            Self::Simple
        } else {
            Self::IamPolicy
        }
    }
}

/// The simple response of an HTTP API authorizer (payload 2.0).
pub type SimpleResponse = ApiGatewayV2CustomAuthorizerSimpleResponse<AuthorizerContext>;

/// What the authorizer returns, in the format of the event's flavour.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// REST TOKEN and REQUEST: the IAM policy with `usageIdentifierKey`.
    Rest(AuthorizerResponse),
    /// HTTP API 1.0, and 2.0 without simple responses: the IAM policy.
    Http(HttpAuthorizerResponse),
    /// HTTP API 2.0 with simple responses.
    Simple(SimpleResponse),
}

/// The IAM policy response of a REST API authorizer, or the `Unauthorized` error.
pub fn iam_policy(verdict: Verdict) -> Result<AuthorizerResponse, Unauthorized> {
    policy(verdict).map(PolicyBuilder::build)
}

/// The policy builder for a genuine token's grant: one Allow statement for the routes it may
/// call, one Deny for those a wildcard would reach; without either, the builder denies
/// everything.
fn policy(verdict: Verdict) -> Result<PolicyBuilder, Unauthorized> {
    match verdict {
        Verdict::Grant {
            principal,
            allow,
            deny,
            context,
            ..
        } => Ok(context.into_iter().fold(
            PolicyBuilder::new(principal)
                .allow_all(allow)
                .deny_all(deny),
            |b, (k, v)| b.context(k, v),
        )),
        Verdict::Unauthorized => Err(Unauthorized),
    }
}

/// The answer to an event of `kind` (REST's when the payload named none).
pub fn answer(kind: Option<Kind>, v2: V2Format, verdict: Verdict) -> Result<Answer, Unauthorized> {
    match (kind, v2) {
        (None | Some(Kind::Token | Kind::Request), _) => iam_policy(verdict).map(Answer::Rest),
        (Some(Kind::HttpV1), _) | (Some(Kind::HttpV2), V2Format::IamPolicy) => {
            policy(verdict).map(|p| Answer::Http(p.build_http()))
        }
        (Some(Kind::HttpV2), V2Format::Simple) => {
            let mut response = SimpleResponse::default();
            match verdict {
                Verdict::Grant {
                    allowed: true,
                    context,
                    ..
                } => {
                    response.is_authorized = true;
                    for (k, v) in context {
                        response.context.insert(k, v);
                    }
                }
                Verdict::Grant { allowed: false, .. } => response.is_authorized = false,
                Verdict::Unauthorized => return Err(Unauthorized),
            }
            Ok(Answer::Simple(response))
        }
    }
}
