//! Everything `/token` can refuse, and its one mapping to the wire: status, the RFC 6749 §5.2
//! body (`error`, `error_description`), headers, and the word logged.

use authcore::password::MAX_PASSWORD_BYTES;
use lambda_http::http::StatusCode;

use lockout::HeldBy;

/// Why a sign-in with the right shape was refused. The caller gets the same answer for each
/// (`invalid_grant`); only the log tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No account has this email (or it is not an email at all).
    UnknownEmail,
    /// The password does not match.
    WrongPassword,
    /// The account is disabled.
    Disabled,
    /// The attempt is held by the smart lockout for this many more seconds.
    Held {
        /// Seconds until it may run, sent as `Retry-After`.
        retry_after: u64,
        /// Which counter holds it (logged, never sent).
        by: HeldBy,
    },
    /// The stored hash cannot be read: the account needs a new password (`authctl user passwd`).
    BadStoredHash,
}

/// Why a refresh token was refused. The caller gets one and the same answer for each
/// (`400 invalid_grant`); only the log tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshRefusal {
    /// It cannot be a refresh token (length, alphabet).
    Malformed,
    /// No such token is stored.
    Unknown,
    /// Its idle lifetime, or its family's absolute one, is over.
    Expired,
    /// It was already exchanged: reuse, so its family was revoked (`refresh_reuse`).
    Reused,
    /// Its family was revoked (sign-out, `authctl`, a password change, reuse).
    Revoked,
    /// A concurrent refresh with the same token won.
    LostRace,
    /// The user was removed (or removed and added again: another id).
    UserGone,
    /// The user is disabled.
    Disabled,
}

impl RefreshRefusal {
    /// The word logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "refresh_malformed",
            Self::Unknown => "refresh_unknown",
            Self::Expired => "refresh_expired",
            Self::Reused => "refresh_reuse",
            Self::Revoked => "refresh_revoked",
            Self::LostRace => "refresh_lost_race",
            Self::UserGone => "refresh_user_gone",
            Self::Disabled => "refresh_disabled",
        }
    }
}

/// Why `/token` did not issue a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The method is not POST.
    #[error("the token endpoint accepts POST only")]
    WrongMethod,
    /// The event flags its body as base64 but it does not decode (a direct invoke).
    #[error("the body is flagged as base64 but is not valid base64")]
    UndecodableBody,
    /// The body is over the limit (`request::MAX_BODY_BYTES`), in bytes.
    #[error("the body is over {0} bytes")]
    BodyTooLarge(usize),
    /// The content type is neither JSON nor a form.
    #[error("Content-Type must be application/json or application/x-www-form-urlencoded")]
    WrongContentType,
    /// A JSON body that is not an object of strings.
    #[error(r#"the body is not a JSON object like {{"email": "...", "password": "..."}}"#)]
    MalformedJson,
    /// A form parameter sent more than once (RFC 6749 §3.2).
    #[error("{0} is sent more than once")]
    RepeatedParameter(&'static str),
    /// A required field is absent or empty.
    #[error("{0}")]
    MissingField(&'static str),
    /// The password is over [`MAX_PASSWORD_BYTES`].
    #[error("the password is over {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
    /// A grant type other than `password`.
    #[error("only grant_type=password and grant_type=refresh_token are supported")]
    UnsupportedGrantType,
    /// A password grant sent to `/refresh`, which takes refresh tokens only.
    #[error("/refresh takes grant_type=refresh_token only: sign in at /token")]
    PasswordAtRefresh,
    /// The email or password is wrong, or the account may not sign in.
    #[error("the email or password is incorrect")]
    InvalidGrant(Refusal),
    /// The refresh token cannot be exchanged.
    #[error("the refresh token is invalid, expired or revoked: sign in again")]
    BadRefreshToken(RefreshRefusal),
    /// The `scope` parameter is malformed, or asks for a scope the user (or the session) does
    /// not have (RFC 6749 §5.2 `invalid_scope`).
    #[error("{0}")]
    InvalidScope(authcore::scope::ScopeError),
    /// The users table cannot be reached.
    #[error("the user store is unavailable: try again shortly")]
    StoreUnavailable,
    /// The token could not be signed.
    #[error("the token could not be signed: try again shortly")]
    SigningFailed,
}

impl EndpointError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::WrongMethod => StatusCode::METHOD_NOT_ALLOWED,
            Self::InvalidGrant(_) => StatusCode::UNAUTHORIZED,
            Self::StoreUnavailable | Self::SigningFailed => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The OAuth `error` code.
    pub fn oauth_error(&self) -> &'static str {
        match self {
            Self::UnsupportedGrantType | Self::PasswordAtRefresh => "unsupported_grant_type",
            Self::InvalidGrant(_) | Self::BadRefreshToken(_) => "invalid_grant",
            Self::InvalidScope(_) => "invalid_scope",
            Self::StoreUnavailable | Self::SigningFailed => "temporarily_unavailable",
            _ => "invalid_request",
        }
    }

    /// The OAuth `error_description`.
    pub fn description(&self) -> String {
        self.to_string()
    }

    /// Seconds to send in `Retry-After`: for a held attempt, and for a 503 (a second: the
    /// store or the signer usually recovers at once).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::InvalidGrant(Refusal::Held { retry_after, .. }) => Some(*retry_after),
            Self::StoreUnavailable | Self::SigningFailed => Some(1),
            _ => None,
        }
    }

    /// The word logged for it.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::WrongMethod => "wrong_method",
            Self::BodyTooLarge(_) => "body_too_large",
            Self::UndecodableBody => "undecodable_body",
            Self::WrongContentType => "wrong_content_type",
            Self::MalformedJson => "malformed_json",
            Self::RepeatedParameter(_) => "repeated_parameter",
            Self::MissingField(_) => "missing_field",
            Self::PasswordTooLong => "password_too_long",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::PasswordAtRefresh => "password_at_refresh",
            Self::InvalidGrant(refusal) => match refusal {
                Refusal::UnknownEmail => "unknown_email",
                Refusal::WrongPassword => "wrong_password",
                Refusal::Disabled => "disabled",
                Refusal::Held { .. } => "held",
                Refusal::BadStoredHash => "bad_stored_hash",
            },
            Self::BadRefreshToken(r) => r.as_str(),
            Self::InvalidScope(authcore::scope::ScopeError::Malformed) => "scope_malformed",
            Self::InvalidScope(authcore::scope::ScopeError::NotGranted(_)) => "scope_not_granted",
            Self::StoreUnavailable => "store_unavailable",
            Self::SigningFailed => "signing_failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_looks_the_same_to_the_caller_but_the_lock() {
        let refusals = [
            Refusal::UnknownEmail,
            Refusal::WrongPassword,
            Refusal::Disabled,
            Refusal::BadStoredHash,
        ];
        for r in refusals {
            let e = EndpointError::InvalidGrant(r);
            assert_eq!(
                (
                    e.status(),
                    e.oauth_error(),
                    e.description(),
                    e.retry_after()
                ),
                (
                    StatusCode::UNAUTHORIZED,
                    "invalid_grant",
                    "the email or password is incorrect".to_owned(),
                    None
                )
            );
        }
        let held = EndpointError::InvalidGrant(Refusal::Held {
            retry_after: 32,
            by: HeldBy::Source,
        });
        assert_eq!((held.reason(), held.retry_after()), ("held", Some(32)));
    }

    #[test]
    fn request_errors_are_invalid_request_400s_except_method_and_grant() {
        assert_eq!(
            EndpointError::WrongMethod.status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            EndpointError::UnsupportedGrantType.oauth_error(),
            "unsupported_grant_type"
        );
        for e in [
            EndpointError::BodyTooLarge(8192),
            EndpointError::MalformedJson,
            EndpointError::MissingField("password is required"),
        ] {
            assert_eq!(
                (e.status(), e.oauth_error()),
                (StatusCode::BAD_REQUEST, "invalid_request")
            );
        }
        assert_eq!(
            (
                EndpointError::StoreUnavailable.status(),
                EndpointError::StoreUnavailable.retry_after()
            ),
            (StatusCode::SERVICE_UNAVAILABLE, Some(1))
        );
    }
}
