//! What the authorizer decided for one request, and why: types, not strings.

use authcore::TokenError;

use crate::header::HeaderError;

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
    /// A genuine token without the role `REQUIRED_ROLE` names.
    MissingRole,
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
            Self::MissingRole => "missing_role",
        }
    }
}

/// What the caller gets, before it is put in any wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Allow `resource` (the whole stage) for `principal`, passing `context` to the backend.
    Allow {
        /// `sub` of the token.
        principal: String,
        /// The ARN allowed: every method and path of the stage.
        resource: String,
        /// The caller's claims, for the backend.
        context: Vec<(&'static str, String)>,
    },
    /// Deny `resource` (everything when `None`) for `principal`.
    Deny {
        /// `sub` of the token.
        principal: String,
        /// The ARN denied, when the event's ARN could be read.
        resource: Option<String>,
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
            Verdict::Allow { .. } => Outcome::Allow,
            Verdict::Deny { .. } => Outcome::Deny,
            Verdict::Unauthorized => Outcome::Unauthorized,
        }
    }

    /// `sub` of a genuine token: the response's principal.
    pub fn sub(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Allow { principal, .. } | Verdict::Deny { principal, .. } => Some(principal),
            Verdict::Unauthorized => None,
        }
    }

    /// Whether the token was refused only because its `kid` names a key not loaded here.
    pub fn names_unknown_key(&self) -> bool {
        matches!(self.reason, Reason::Token(TokenError::UnknownKey))
    }
}
