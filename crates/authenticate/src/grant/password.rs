//! The password grant: reserve the attempt with the lockout guard, check the email and
//! password against the users table, settle the attempt, issue a token.

use std::collections::BTreeSet;
use std::time::Instant;

use authcore::password::Verification;
use authcore::token::now_millis;
use authcore::{new_user_id, normalize_email};
use userstore::User;

use crate::error::{EndpointError, Refusal};
use crate::grant::refresh::{self, IssuedRefresh};
use crate::request::Credentials;
use crate::state::State;
use lockout::{GuardError, Source};

/// A successful sign-in.
#[derive(Debug)]
pub struct SignedIn {
    /// The token.
    pub token: authcore::IssuedToken,
    /// Whether the stored hash was upgraded.
    pub rehashed: bool,
    /// The refresh token of the session it started (or continued), when sessions are on.
    pub refresh: Option<IssuedRefresh>,
    /// Whether it answers a refresh token presented again within the retry window.
    pub retry: bool,
}

/// Checks the credentials from `source` against the table and issues a token.
///
/// The same steps run for every email, with or without an account: reserve (one conditional
/// write), one user lookup, one argon2 verification (against the dummy hash when there is no
/// usable account), settle, then the wait up to the usual time of a wrong password. Nothing
/// in the answer, its headers or its time tells an unknown email from a real one.
/// `scope`: the scopes the client asked for, when fewer than the user's roles; one the user
/// does not have is `invalid_scope`, said only after the password was right.
pub async fn sign_in(
    state: &State,
    credentials: &Credentials,
    source: &Source,
    scope: Option<&BTreeSet<String>>,
) -> Result<SignedIn, EndpointError> {
    let started = Instant::now();
    let password = credentials.password.as_str();
    let email = normalize_email(&credentials.email);
    // What is no address is counted as typed: the same work, the same answers.
    let counted = match &email {
        Ok(e) => e.clone(),
        Err(_) => credentials.email.trim().to_lowercase(),
    };
    let reservation = match state.guard.reserve(&counted, source, now_millis()).await {
        Ok(r) => r,
        Err(GuardError::Held { retry_after, by }) => {
            return Err(EndpointError::InvalidGrant(Refusal::Held {
                retry_after,
                by,
            }));
        }
        Err(GuardError::Store(e)) => {
            tracing::error!(error = %e, "attempts table unavailable");
            return Err(EndpointError::StoreUnavailable);
        }
    };
    let user = match &email {
        Ok(e) => state.users.get(e).await.map_err(|e| {
            tracing::error!(error = %e, "user lookup failed");
            EndpointError::StoreUnavailable
        })?,
        Err(_) => None,
    };
    let checked = check(state, password, user.as_ref());
    let succeeded = checked.is_ok();
    if let Err(e) = state
        .guard
        .settle(&reservation, succeeded, now_millis())
        .await
    {
        tracing::error!(error = %e, "failed to settle the attempt");
        return Err(EndpointError::StoreUnavailable);
    }
    let (user, needs_rehash) = match (checked, user) {
        (Ok(needs_rehash), Some(user)) => (user, needs_rehash),
        (Err(refusal), _) => {
            if refusal == Refusal::WrongPassword {
                state.pad.record(started.elapsed());
            } else {
                state.pad.wait_from(started);
            }
            return Err(EndpointError::InvalidGrant(refusal));
        }
        (Ok(_), None) => return Err(EndpointError::InvalidGrant(Refusal::UnknownEmail)),
    };
    let id = match &user.id {
        Some(id) => id.clone(),
        None => assign_id(state, &user.email).await?,
    };
    let roles = authcore::scope::grant(&user.roles, scope).map_err(EndpointError::InvalidScope)?;
    let rehashed = needs_rehash && rehash(state, &user.email, password, &user).await;
    let session_scope = scope.is_some().then(|| roles.clone());
    let refresh = refresh::start(state, &user, &id, session_scope).await?;
    let token = super::access_token(state, id, user, roles)?;
    Ok(SignedIn {
        token,
        rehashed,
        refresh,
        retry: false,
    })
}

/// One argon2 verification: against the user's hash, or the dummy hash when there is no
/// usable account. `Ok(needs_rehash)` when the password matches an enabled account.
fn check(state: &State, password: &str, user: Option<&User>) -> Result<bool, Refusal> {
    let Some(user) = user else {
        state.passwords.verify_dummy(password);
        return Err(Refusal::UnknownEmail);
    };
    if user.disabled {
        state.passwords.verify_dummy(password);
        return Err(Refusal::Disabled);
    }
    match state.passwords.verify(password, &user.password_hash) {
        Ok(Verification::Valid { needs_rehash }) => Ok(needs_rehash),
        Ok(Verification::Invalid) => Err(Refusal::WrongPassword),
        Err(e) => {
            tracing::error!(error = %e, "stored password hash is unusable");
            Err(Refusal::BadStoredHash)
        }
    }
}

/// Gives a user from before ids their id, once (`authctl user assign-ids` does it for all).
async fn assign_id(state: &State, email: &str) -> Result<String, EndpointError> {
    let unavailable = |e: userstore::StoreError| {
        tracing::error!(error = %e, "could not give the user an id");
        EndpointError::StoreUnavailable
    };
    let id = new_user_id().map_err(|_| EndpointError::SigningFailed)?;
    state
        .users
        .assign_id_if_missing(email, &id)
        .await
        .map_err(unavailable)?;
    // Whoever won a concurrent assignment, the stored id is the one.
    match state.users.get(email).await.map_err(unavailable)? {
        Some(User { id: Some(id), .. }) => Ok(id),
        _ => Err(EndpointError::StoreUnavailable),
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
