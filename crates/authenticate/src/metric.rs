//! What `authenticate` counts, by outcome: one count per request, recorded where its one log
//! event is written, with words from the outcome enums ([`EndpointError`], [`RefreshRefusal`]).
//! The dimension values are few and fixed: never a user, an email, an address or a token.

use awsenv::metrics::{Service, dependency_failure};

use crate::error::{EndpointError, RefreshRefusal, Refusal};

/// Password sign-ins, by `Outcome` (and `Rule` when the lockout held one).
pub const SIGN_INS: &str = "SignIns";
/// Refresh-token exchanges, by `Outcome`.
pub const REFRESHES: &str = "Refreshes";
/// `/revoke` requests, by `Outcome`.
pub const REVOCATIONS: &str = "Revocations";
/// Stored password hashes replaced by stronger ones at sign-in.
pub const HASHES_UPGRADED: &str = "PasswordHashesUpgraded";

/// Every count of this function, for their unit.
pub const COUNTERS: [&str; 4] = [SIGN_INS, REFRESHES, REVOCATIONS, HASHES_UPGRADED];

/// Which count a `/token` or `/refresh` request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// A password sign-in (or a request to `/token` that is neither grant).
    SignIn,
    /// A refresh (or a request to `/refresh` that is not one).
    Refresh,
}

/// Counts one `/token` or `/refresh` request: `Ok(retry)` for tokens issued (`retry`: the
/// successor of a refresh presented again), or the error.
pub fn token_request(counted: Counted, result: Result<bool, &EndpointError>) {
    if let Err(EndpointError::StoreUnavailable) = result {
        dependency_failure(Service::DynamoDb);
    }
    match (counted, result) {
        (Counted::SignIn, Err(EndpointError::InvalidGrant(Refusal::Held { by, .. }))) => {
            metrics::counter!(SIGN_INS, "Outcome" => "held", "Rule" => by.as_str()).increment(1);
        }
        (Counted::SignIn, r) => {
            metrics::counter!(SIGN_INS, "Outcome" => sign_in(r)).increment(1);
        }
        (Counted::Refresh, r) => {
            metrics::counter!(REFRESHES, "Outcome" => refresh(r)).increment(1);
        }
    }
}

/// Counts a password hash replaced at sign-in.
pub fn hash_upgraded() {
    metrics::counter!(HASHES_UPGRADED).increment(1);
}

/// Counts one `/revoke` request: `Ok(known)` when answered, whether or not the token was known.
pub fn revoke_request(result: Result<bool, &EndpointError>) {
    let outcome = match result {
        Ok(true) => "revoked",
        Ok(false) => "unknown",
        Err(e) => shared(e),
    };
    if let Err(EndpointError::StoreUnavailable) = result {
        dependency_failure(Service::DynamoDb);
    }
    metrics::counter!(REVOCATIONS, "Outcome" => outcome).increment(1);
}

/// A sign-in's outcome: `success`, `bad_credentials` (an unknown email and a wrong password
/// alike), `disabled`, `bad_stored_hash`, or [`shared`]'s.
pub fn sign_in(result: Result<bool, &EndpointError>) -> &'static str {
    match result {
        Ok(_) => "success",
        Err(EndpointError::InvalidGrant(Refusal::UnknownEmail | Refusal::WrongPassword)) => {
            "bad_credentials"
        }
        Err(EndpointError::InvalidGrant(Refusal::Disabled)) => "disabled",
        Err(EndpointError::InvalidGrant(Refusal::BadStoredHash)) => "bad_stored_hash",
        Err(e) => shared(e),
    }
}

/// A refresh's outcome: `success`, `retry` (the successor again), the refusal, or [`shared`]'s.
pub fn refresh(result: Result<bool, &EndpointError>) -> &'static str {
    match result {
        Ok(false) => "success",
        Ok(true) => "retry",
        Err(EndpointError::BadRefreshToken(r)) => match r {
            RefreshRefusal::Malformed => "malformed",
            RefreshRefusal::Unknown => "unknown",
            RefreshRefusal::Expired => "expired",
            RefreshRefusal::Reused => "reuse",
            RefreshRefusal::Revoked => "revoked",
            RefreshRefusal::LostRace => "lost_race",
            RefreshRefusal::UserGone => "user_gone",
            RefreshRefusal::Disabled => "disabled",
        },
        Err(e) => shared(e),
    }
}

/// The outcomes every endpoint shares: the store or the signer failed, or the request was not
/// one the endpoint takes (`malformed_request`: method, body, content type, fields, grant), or
/// asked for scopes it may not have (`invalid_scope`).
fn shared(e: &EndpointError) -> &'static str {
    match e {
        EndpointError::StoreUnavailable => "store_unavailable",
        EndpointError::SigningFailed => "signing_failed",
        EndpointError::InvalidScope(_) => "invalid_scope",
        _ => "malformed_request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_emails_and_wrong_passwords_are_both_bad_credentials() {
        for r in [Refusal::UnknownEmail, Refusal::WrongPassword] {
            assert_eq!(
                sign_in(Err(&EndpointError::InvalidGrant(r))),
                "bad_credentials"
            );
        }
    }

    #[test]
    fn request_shape_errors_are_malformed_requests_for_every_endpoint() {
        let e = EndpointError::MalformedJson;
        assert_eq!(sign_in(Err(&e)), "malformed_request");
        assert_eq!(refresh(Err(&e)), "malformed_request");
        assert_eq!(
            shared(&EndpointError::StoreUnavailable),
            "store_unavailable"
        );
    }

    #[test]
    fn a_refresh_presented_again_counts_as_a_retry() {
        assert_eq!(refresh(Ok(true)), "retry");
        assert_eq!(refresh(Ok(false)), "success");
        let reused = EndpointError::BadRefreshToken(RefreshRefusal::Reused);
        assert_eq!(refresh(Err(&reused)), "reuse");
    }
}
