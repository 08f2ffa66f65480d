//! The password grant: check an email and password against the users table, issue a token.

use std::time::Instant;

use authcore::password::Verification;
use authcore::token::{Subject, now_seconds};
use userstore::{User, normalize_email};

use crate::State;
use crate::error::{EndpointError, Refusal};
use crate::request::Credentials;

/// A successful sign-in.
#[derive(Debug)]
pub struct SignedIn {
    /// The token.
    pub token: authcore::IssuedToken,
    /// Whether the stored hash was upgraded.
    pub rehashed: bool,
}

/// Checks the credentials against the table and issues a token.
pub async fn sign_in(state: &State, credentials: &Credentials) -> Result<SignedIn, EndpointError> {
    let started = Instant::now();
    let password = credentials.password.as_str();
    let Ok(email) = normalize_email(&credentials.email) else {
        return refuse_like_a_wrong_password(state, password, None, started, Refusal::UnknownEmail)
            .await;
    };
    let user = match state.users.get(&email).await {
        Ok(Some(user)) => user,
        // The counter update fails (conditionally) for an unknown email, after the same round trip.
        Ok(None) => {
            return refuse_like_a_wrong_password(
                state,
                password,
                Some(&email),
                started,
                Refusal::UnknownEmail,
            )
            .await;
        }
        Err(e) => {
            tracing::error!(error = %e, "user lookup failed");
            return Err(EndpointError::StoreUnavailable);
        }
    };
    if user.disabled {
        return refuse_like_a_wrong_password(
            state,
            password,
            Some(&email),
            started,
            Refusal::Disabled,
        )
        .await;
    }
    if let Some(retry_after) = user.locked_for(now_seconds()) {
        // The password is not checked, and nothing is counted while locked.
        let locked = Refusal::Locked { retry_after };
        return refuse_like_a_wrong_password(state, password, None, started, locked).await;
    }
    let needs_rehash = check_password(state, &email, password, &user, started).await?;
    if user.failed_attempts > 0
        && let Err(e) = state.users.reset_failures(&email).await
    {
        tracing::warn!(error = %e, "failed to reset the failure count");
    }
    let rehashed = needs_rehash && rehash(state, &email, password, &user).await;
    let subject = Subject {
        sub: email.clone(),
        email: Some(email),
        name: user.name,
        roles: user.roles,
    };
    let token = state.issuer.issue(subject).map_err(|e| {
        tracing::error!(error = %e, "signing failed");
        EndpointError::SigningFailed
    })?;
    Ok(SignedIn { token, rehashed })
}

/// Verifies the password against the stored hash; a wrong one is counted (and may lock the
/// account). Returns whether the hash should be upgraded.
async fn check_password(
    state: &State,
    email: &str,
    password: &str,
    user: &User,
    started: Instant,
) -> Result<bool, EndpointError> {
    match state.passwords.verify(password, &user.password_hash) {
        Ok(Verification::Valid { needs_rehash }) => Ok(needs_rehash),
        Ok(Verification::Invalid) => {
            match state.users.record_failure(email, now_seconds()).await {
                Ok(n) if n >= userstore::LOCK_THRESHOLD => tracing::warn!(
                    failed_attempts = n,
                    lock_seconds = userstore::lock_seconds(n),
                    "account locked"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "failed to count a failed password"),
            }
            state.pad.record(started.elapsed());
            Err(EndpointError::InvalidGrant(Refusal::WrongPassword))
        }
        Err(e) => {
            tracing::error!(error = %e, "stored password hash is unusable");
            Err(EndpointError::InvalidGrant(Refusal::BadStoredHash))
        }
    }
}

/// Replaces a hash weaker than the current parameters, unless it changed meanwhile.
async fn rehash(state: &State, email: &str, password: &str, user: &User) -> bool {
    let replaced = match state.passwords.hash(password) {
        Ok(new) => state
            .users
            .replace_hash_if_unchanged(email, &user.password_hash, &new)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    replaced.unwrap_or_else(|error| {
        tracing::warn!(error, "rehash failed; the old hash stays");
        false
    })
}

/// Refuses for `refusal` after the same work a wrong password costs, so that neither the time
/// nor the answer tells an unknown email, a disabled or a locked account from a wrong password:
/// one argon2 verification (against the dummy hash), the failure-counter update of `count`'s
/// item (failing, conditionally, when there is none), and the wait up to the recent median.
async fn refuse_like_a_wrong_password(
    state: &State,
    password: &str,
    count: Option<&str>,
    started: Instant,
    refusal: Refusal,
) -> Result<SignedIn, EndpointError> {
    state.passwords.verify_dummy(password);
    if let Some(email) = count {
        let _ = state.users.record_failure(email, now_seconds()).await;
    }
    state.pad.wait_from(started);
    Err(EndpointError::InvalidGrant(refusal))
}
