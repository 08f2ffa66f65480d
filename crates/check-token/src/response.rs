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
use crate::documents::Document;
use crate::event::Kind;
use crate::policy::AuthorizerContext;

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

/// The IAM policy answer of a REST API authorizer (TOKEN and REQUEST) and of an HTTP API
/// authorizer (payload 1.0, and 2.0 without simple responses): the fields of
/// `aws_lambda_events`' `ApiGatewayCustomAuthorizerResponse` and
/// `ApiGatewayV2CustomAuthorizerIamPolicyResponse`, with the policy document serialized once
/// per stage and role set ([`crate::documents`]). `usageIdentifierKey`, optional and only
/// REST's, is not written.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyResponse {
    /// `sub` of the token.
    pub principal_id: String,
    /// What the token may call.
    pub policy_document: Document,
    /// The caller's claims, for the backend.
    pub context: AuthorizerContext,
}

/// What the authorizer returns, in the format of the event's flavour.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// REST TOKEN and REQUEST, HTTP API 1.0, and 2.0 without simple responses: the IAM policy.
    Policy(PolicyResponse),
    /// HTTP API 2.0 with simple responses.
    Simple(SimpleResponse),
}

/// The IAM policy answer for `verdict`, or the `Unauthorized` error.
pub fn iam_policy(verdict: Verdict) -> Result<PolicyResponse, Unauthorized> {
    match verdict {
        Verdict::Grant {
            principal,
            policy,
            context,
            ..
        } => {
            let mut values = AuthorizerContext::default();
            for (k, v) in context {
                values.insert(k, v);
            }
            Ok(PolicyResponse {
                principal_id: principal,
                policy_document: policy,
                context: values,
            })
        }
        Verdict::Unauthorized => Err(Unauthorized),
    }
}

/// The answer to an event of `kind` (REST's when the payload named none).
pub fn answer(kind: Option<Kind>, v2: V2Format, verdict: Verdict) -> Result<Answer, Unauthorized> {
    if (kind, v2) != (Some(Kind::HttpV2), V2Format::Simple) {
        return iam_policy(verdict).map(Answer::Policy);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyBuilder;
    use aws_lambda_events::apigw::{
        ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerIamPolicyResponse,
    };
    use serde_json::{Value, json};

    const HELLO: &str = "arn:aws:execute-api:r:1:a/s/GET/hello";

    fn grant(allowed: bool) -> Verdict {
        Verdict::Grant {
            principal: "u1".into(),
            allowed,
            policy: Document::of(&PolicyBuilder::new().allow(HELLO).document()),
            context: vec![("sub", "u1".into()), ("roles", "reader".into())],
        }
    }

    #[test]
    fn the_policy_answer_has_the_documented_shape() {
        assert_eq!(
            serde_json::to_value(iam_policy(grant(true)).unwrap()).unwrap(),
            json!({
                "principalId": "u1",
                "policyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [HELLO]}
                ]},
                "context": {"roles": "reader", "sub": "u1"}
            })
        );
    }

    #[test]
    fn the_policy_answer_reads_as_aws_lambda_events_responses_of_both_apis() {
        let text = serde_json::to_string(&iam_policy(grant(true)).unwrap()).unwrap();
        let rest: ApiGatewayCustomAuthorizerResponse<Value> = serde_json::from_str(&text).unwrap();
        let http: ApiGatewayV2CustomAuthorizerIamPolicyResponse<Value> =
            serde_json::from_str(&text).unwrap();
        for document in [rest.policy_document, http.policy_document] {
            assert_eq!(document, PolicyBuilder::new().allow(HELLO).document());
        }
        assert_eq!(rest.principal_id.as_deref(), Some("u1"));
        assert_eq!(http.principal_id.as_deref(), Some("u1"));
    }

    #[test]
    fn every_flavour_but_simple_responses_gets_the_policy() {
        for (kind, v2) in [
            (None, V2Format::Simple),
            (Some(Kind::Token), V2Format::Simple),
            (Some(Kind::Request), V2Format::Simple),
            (Some(Kind::HttpV1), V2Format::Simple),
            (Some(Kind::HttpV2), V2Format::IamPolicy),
        ] {
            let got = answer(kind, v2, grant(false)).unwrap();
            assert!(matches!(got, Answer::Policy(_)), "{kind:?} {v2:?}");
        }
    }

    #[test]
    fn a_simple_response_says_yes_with_the_context_or_no_without_it() {
        let yes = answer(Some(Kind::HttpV2), V2Format::Simple, grant(true)).unwrap();
        assert_eq!(
            serde_json::to_value(yes).unwrap(),
            json!({"isAuthorized": true, "context": {"roles": "reader", "sub": "u1"}})
        );
        let no = answer(Some(Kind::HttpV2), V2Format::Simple, grant(false)).unwrap();
        assert_eq!(
            serde_json::to_value(no).unwrap(),
            json!({"isAuthorized": false, "context": {}})
        );
    }

    #[test]
    fn a_refusal_is_the_unauthorized_error_in_every_format() {
        for kind in [None, Some(Kind::Token), Some(Kind::HttpV2)] {
            for v2 in [V2Format::Simple, V2Format::IamPolicy] {
                assert_eq!(answer(kind, v2, Verdict::Unauthorized), Err(Unauthorized));
            }
        }
    }
}
