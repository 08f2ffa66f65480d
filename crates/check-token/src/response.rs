//! A decision on the wire: the one place that turns a [`Verdict`] into what API Gateway reads.

use std::fmt;

use authcore::policy::{AuthorizerResponse, PolicyBuilder};
use lambda_runtime::Diagnostic;

use crate::decision::Verdict;

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

/// The IAM policy response of a REST API authorizer, or the `Unauthorized` error.
pub fn iam_policy(verdict: Verdict) -> Result<AuthorizerResponse, Unauthorized> {
    match verdict {
        Verdict::Allow {
            principal,
            resource,
            context,
        } => Ok(context
            .into_iter()
            .fold(
                PolicyBuilder::new(principal).allow(resource),
                |b, (k, v)| b.context(k, v),
            )
            .build()),
        // Without a resource the builder's default applies: Deny everything.
        Verdict::Deny {
            principal,
            resource,
        } => Ok(resource
            .into_iter()
            .fold(PolicyBuilder::new(principal), PolicyBuilder::deny)
            .build()),
        Verdict::Unauthorized => Err(Unauthorized),
    }
}
