//! What the authorizer decided for one request, and why: types, not strings.

use authcore::TokenError;

use crate::documents::Document;
use crate::header::HeaderError;

/// The metric counting decisions, by `Outcome` and `Reason` (their logged words).
pub const DECISIONS: &str = "Decisions";

/// The three answers an authorizer can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A genuine token: let the request through.
    Allow,
    /// A genuine token that may not pass (a 403).
    Deny,
    /// No usable token (a 401).
    Unauthorized,
}

impl Outcome {
    /// The word logged for it: `allow`, `deny`, `unauthorized`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
            Self::Unauthorized => "unauthorized",
        }
    }
}

/// Why the authorizer decided as it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The token is genuine and the caller may pass.
    Valid,
    /// The payload is not a readable authorizer event.
    MalformedEvent,
    /// The event is not of a type this authorizer answers.
    WrongEventType,
    /// The event carries no token at all.
    MissingToken,
    /// The event carries several `Authorization` values (or identity sources): none is guessed.
    SeveralTokens,
    /// The `Authorization` value holds no usable bearer token.
    Header(HeaderError),
    /// The token was refused.
    Token(TokenError),
    /// A genuine token, but the event's method or route ARN cannot be read: nothing to allow.
    BadMethodArn,
    /// A genuine token whose roles may not call this route (`ROUTE_RULES`).
    NotGranted,
}

impl Reason {
    /// The snake_case word logged for it (`valid`, `expired`, `missing_role`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::MalformedEvent => "malformed_event",
            Self::WrongEventType => "wrong_event_type",
            Self::MissingToken => "missing_token",
            Self::SeveralTokens => "several_tokens",
            Self::Header(e) => e.reason(),
            Self::Token(e) => e.reason(),
            Self::BadMethodArn => "bad_method_arn",
            Self::NotGranted => "not_granted",
        }
    }
}

/// What the caller gets, before it is put in any wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A genuine token: the routes its roles may call. The policy names every one of them (and
    /// denies those they may not call that a wildcard would reach), so that API Gateway's cached
    /// answer is right for every later call with the same token.
    Grant {
        /// `sub` of the token.
        principal: String,
        /// Whether this request's route is one the token may call.
        allowed: bool,
        /// The policy document naming them, for answers with an IAM policy (for a simple
        /// response, which names none, [`Document::DenyAll`]).
        policy: Document,
        /// The caller's claims, for the backend.
        context: Vec<(&'static str, String)>,
    },
    /// Refuse: no usable token.
    Unauthorized,
}

/// The decision for one request, with what the log needs to say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// What the caller gets.
    pub verdict: Verdict,
    /// Why.
    pub reason: Reason,
    /// `jti` of a genuine token.
    pub jti: Option<String>,
}

impl Decision {
    /// Refuses for `reason`.
    pub fn unauthorized(reason: Reason) -> Self {
        Self {
            verdict: Verdict::Unauthorized,
            reason,
            jti: None,
        }
    }

    /// The outcome, as logged.
    pub fn outcome(&self) -> Outcome {
        match self.verdict {
            Verdict::Grant { allowed: true, .. } => Outcome::Allow,
            Verdict::Grant { allowed: false, .. } => Outcome::Deny,
            Verdict::Unauthorized => Outcome::Unauthorized,
        }
    }

    /// `sub` of a genuine token: the response's principal.
    pub fn sub(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Grant { principal, .. } => Some(principal),
            Verdict::Unauthorized => None,
        }
    }

    /// Counts it in [`DECISIONS`].
    pub fn count(&self) {
        metrics::counter!(
            DECISIONS,
            "Outcome" => self.outcome().as_str(),
            "Reason" => self.reason.as_str()
        )
        .increment(1);
    }

    /// Whether the token was refused only because its `kid` names a key not loaded here.
    pub fn names_unknown_key(&self) -> bool {
        matches!(self.reason, Reason::Token(TokenError::UnknownKey))
    }
}
