//! Sessions: the refresh token a password sign-in starts, its rotation
//! (`grant_type=refresh_token`), and reuse detection (RFC 9700 §4.14).
//!
//! Every refresh exchanges the token for a new one of the same family, with one transaction
//! that marks the old one used only if it was not: of concurrent refreshes with one token,
//! exactly one writes, and the new token is only handed out once that write has succeeded.
//!
//! The new token is the old one's successor, derived from it under `REFRESH_KEY`
//! (`authcore::token::refresh::Successors`). Within `REFRESH_RETRY_SECONDS` of the rotation,
//! and while the successor is unused, the old token presented again gets that same successor
//! and a fresh access token: a retry after a lost answer, the loser of a race, a second tab.
//! The family never branches. Presented later, or once its successor was used, it is reuse:
//! someone holds a copy, so the whole family is revoked (the thief's next refresh and the
//! user's fail alike) and `refresh_reuse` is logged with the family id.
//!
//! Refusals of unknown, revoked and reused tokens do the same DynamoDB work (the token, its
//! family, one revocation that succeeds; an unknown token's family is the sessions table's
//! decoy), so that their times are close (README: how close). The user is read again
//! at each refresh: a disabled or removed user, or a role change, takes effect at the next
//! refresh.

use std::collections::BTreeSet;
use std::time::Instant;

use authcore::token::refresh::{RefreshToken, hash, new_family_id, new_refresh_token};
use authcore::token::{IssuedToken, now_seconds};
use authcore::{SettingsError, Vars};
use userstore::User;
use userstore::sessions::{DECOY_FAMILY, Family, Rotation, SessionStore, TokenRecord};

use crate::error::{EndpointError, RefreshRefusal};
use crate::state::State;

/// A session's lifetimes, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// `REFRESH_TTL_SECONDS`: how long a refresh token lasts unused (the idle lifetime).
    pub idle: u64,
    /// `SESSION_MAX_SECONDS`: how long a family lasts from its sign-in, however often used.
    pub absolute: u64,
    /// `REFRESH_RETRY_SECONDS`: how long after a rotation the token exchanged may be presented
    /// again for the same successor (a retry after a lost answer, a second tab); 0, never.
    pub retry: u64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: 7 * 86_400,
            absolute: 30 * 86_400,
            retry: 30,
        }
    }
}

impl SessionPolicy {
    /// The lifetimes from `vars`; unset ones keep their defaults. The idle lifetime may not
    /// exceed the absolute one.
    pub fn read(vars: &Vars<'_>) -> Result<Self, SettingsError> {
        let d = Self::default();
        let range = 60..=31_536_000;
        let policy = Self {
            idle: vars.number("REFRESH_TTL_SECONDS", d.idle, range.clone())?,
            absolute: vars.number("SESSION_MAX_SECONDS", d.absolute, range)?,
            retry: vars.number("REFRESH_RETRY_SECONDS", d.retry, 0..=300)?,
        };
        if policy.idle > policy.absolute {
            return Err(SettingsError::Invalid {
                name: "REFRESH_TTL_SECONDS",
                value: policy.idle.to_string(),
                expected: format!("at most SESSION_MAX_SECONDS ({})", policy.absolute),
            });
        }
        Ok(policy)
    }
}

/// A refresh token handed out: the token and how long it lasts unused.
#[derive(Debug, Clone)]
pub struct IssuedRefresh {
    /// The opaque token.
    pub token: String,
    /// Seconds until it expires unused.
    pub expires_in: u64,
}

fn unavailable(e: userstore::StoreError) -> EndpointError {
    tracing::error!(error = %e, "sessions table unavailable");
    EndpointError::StoreUnavailable
}

/// Starts a session for `user` (just signed in with a password): a new family and its first
/// refresh token. `scope`: the roles granted when the client asked for fewer, which bound every
/// refresh of the session. `None` when sessions are not configured.
pub async fn start(
    state: &State,
    user: &User,
    user_id: &str,
    scope: Option<Vec<String>>,
) -> Result<Option<IssuedRefresh>, EndpointError> {
    let Some(sessions) = &state.sessions else {
        return Ok(None);
    };
    let policy = state.session_policy;
    let now = now_seconds();
    let (Some(id), Some(token)) = (new_family_id(), new_refresh_token()) else {
        return Err(EndpointError::SigningFailed);
    };
    let family = Family {
        id,
        user_id: user_id.to_owned(),
        email: user.email.clone(),
        created_at: now,
        last_used_at: now,
        ends_at: now + policy.absolute,
        revoked: false,
        scope,
    };
    let expires_at = (now + policy.idle).min(family.ends_at);
    sessions
        .start(&family, &token.hash, expires_at)
        .await
        .map_err(unavailable)?;
    Ok(Some(IssuedRefresh {
        token: token.token,
        expires_in: expires_at - now,
    }))
}

/// A successful refresh: a new access token and the next refresh token.
#[derive(Debug)]
pub struct Refreshed {
    /// The access token.
    pub token: IssuedToken,
    /// The next refresh token.
    pub refresh: IssuedRefresh,
    /// Whether the token had been exchanged already and this is its successor again.
    pub retry: bool,
}

/// Exchanges `presented` for a new access token and refresh token. `requested`: fewer scopes
/// than the session's, for this access token (RFC 6749 §6); more is `invalid_scope`, and the
/// refresh token is then not exchanged.
pub async fn refresh(
    state: &State,
    presented: &str,
    requested: Option<&BTreeSet<String>>,
) -> Result<Refreshed, EndpointError> {
    let refuse = |r| Err(EndpointError::BadRefreshToken(r));
    let Some(sessions) = &state.sessions else {
        return Err(EndpointError::UnsupportedGrantType);
    };
    let Some(old) = hash(presented) else {
        return refuse(RefreshRefusal::Malformed);
    };
    let now = now_seconds();
    let record = lookup(state, sessions, &old).await?;
    let id = record.as_ref().map_or(DECOY_FAMILY, |r| r.family.as_str());
    let family = sessions.family(id).await.map_err(unavailable)?;
    let (Some(record), Some(family)) = (record, family) else {
        sessions.revoke_decoy().await.map_err(unavailable)?;
        return refuse(RefreshRefusal::Unknown);
    };
    if family.revoked {
        return refuse_revoking(sessions, &family.id, RefreshRefusal::Revoked).await;
    }
    if record.used {
        return again(state, sessions, presented, &record, &family, now, requested).await;
    }
    if record.expires_at <= now || family.ends_at <= now {
        return refuse(RefreshRefusal::Expired);
    }
    let user = current_user(state, &family).await?;
    let roles = roles_of(&family, &user, requested)?;
    let next = match &state.successors {
        Some(successors) => successors.of(presented),
        None => new_refresh_token().ok_or(EndpointError::SigningFailed)?,
    };
    let expires_at = (now + state.session_policy.idle).min(family.ends_at);
    match sessions
        .rotate(&family.id, &old, &next.hash, now, expires_at)
        .await
        .map_err(unavailable)?
    {
        Rotation::Rotated => issue(state, &family, user, roles, next, expires_at - now, false),
        Rotation::Lost if !retries_on(state) => refuse(RefreshRefusal::LostRace),
        // A concurrent refresh with the same token wrote first: its successor is this one's.
        Rotation::Lost => match sessions.token(&old).await.map_err(unavailable)? {
            Some(record) => {
                again(state, sessions, presented, &record, &family, now, requested).await
            }
            None => refuse(RefreshRefusal::LostRace),
        },
    }
}

/// The token whose hash is `old`. A lookup that finds nothing takes as long as recent ones that
/// found their token (which every refresh does): DynamoDB answers a miss faster than a hit.
async fn lookup(
    state: &State,
    sessions: &SessionStore,
    old: &str,
) -> Result<Option<TokenRecord>, EndpointError> {
    let started = Instant::now();
    let record = sessions.token(old).await.map_err(unavailable)?;
    match record {
        Some(_) => state.token_lookup.record(started.elapsed()),
        None => state.token_lookup.wait_from(started),
    }
    Ok(record)
}

/// A token presented again after its rotation: its successor once more while the retry window
/// is open and the successor unused; otherwise reuse, and the family is revoked.
async fn again(
    state: &State,
    sessions: &SessionStore,
    presented: &str,
    record: &TokenRecord,
    family: &Family,
    now: u64,
    requested: Option<&BTreeSet<String>>,
) -> Result<Refreshed, EndpointError> {
    match retry(state, presented, record, now) {
        Retry::Successor(next) => {
            let stored = sessions.token(&next.hash).await.map_err(unavailable)?;
            if let Some(successor) = stored.filter(|s| !s.used && s.expires_at > now) {
                let user = current_user(state, family).await?;
                let roles = roles_of(family, &user, requested)?;
                let expires_in = successor.expires_at - now;
                return issue(state, family, user, roles, next, expires_in, true);
            }
        }
        Retry::OtherKey => {
            return Err(EndpointError::BadRefreshToken(RefreshRefusal::LostRace));
        }
        Retry::Closed => {}
    }
    tracing::warn!(family = %family.id, "refresh_reuse: a rotated refresh token was used again; its family is revoked");
    refuse_revoking(sessions, &family.id, RefreshRefusal::Reused).await
}

/// What a token presented again may get.
enum Retry {
    /// The successor recorded at its rotation.
    Successor(RefreshToken),
    /// Within the window, but the key changed since its rotation: the successor worked out now
    /// is another, which is never handed out. Refused, nothing revoked.
    OtherKey,
    /// Retries are off, or the window is over: reuse.
    Closed,
}

/// Whether a token presented again may get its successor again (a key and a window).
fn retries_on(state: &State) -> bool {
    state.successors.is_some() && state.session_policy.retry > 0
}

/// What a retry of `presented`, exchanged as `record` says, may get at `now`.
fn retry(state: &State, presented: &str, record: &TokenRecord, now: u64) -> Retry {
    let (Some(successors), Some(rotated_at)) = (&state.successors, record.rotated_at) else {
        return Retry::Closed;
    };
    if !retries_on(state) || now >= rotated_at.saturating_add(state.session_policy.retry) {
        return Retry::Closed;
    }
    let next = successors.of(presented);
    match record.successor.as_deref() == Some(next.hash.as_str()) {
        true => Retry::Successor(next),
        false => Retry::OtherKey,
    }
}

/// Refuses for `why` after revoking `family`: for reuse the revocation is the point; for a
/// revoked token it is the same write, so that every refusal costs the same.
async fn refuse_revoking(
    sessions: &SessionStore,
    family: &str,
    why: RefreshRefusal,
) -> Result<Refreshed, EndpointError> {
    sessions.revoke(family).await.map_err(unavailable)?;
    Err(EndpointError::BadRefreshToken(why))
}

/// The family's user as stored now: still there under the same id, and not disabled.
async fn current_user(state: &State, family: &Family) -> Result<User, EndpointError> {
    let user = state.users.get(&family.email).await.map_err(unavailable)?;
    let user = match user {
        Some(u) if u.id.as_deref() == Some(family.user_id.as_str()) => u,
        _ => return Err(EndpointError::BadRefreshToken(RefreshRefusal::UserGone)),
    };
    if user.disabled {
        return Err(EndpointError::BadRefreshToken(RefreshRefusal::Disabled));
    }
    Ok(user)
}

/// The roles a refresh of `family` may carry: the user's roles now, within the scopes granted
/// at sign-in, narrowed to `requested`.
fn roles_of(
    family: &Family,
    user: &User,
    requested: Option<&BTreeSet<String>>,
) -> Result<Vec<String>, EndpointError> {
    let session: Vec<String> = match &family.scope {
        Some(granted) => user
            .roles
            .iter()
            .filter(|r| granted.contains(r))
            .cloned()
            .collect(),
        None => user.roles.clone(),
    };
    authcore::scope::grant(&session, requested).map_err(EndpointError::InvalidScope)
}

/// The answer of a refresh: an access token for `user` with `roles`, and the refresh token
/// `next`.
fn issue(
    state: &State,
    family: &Family,
    user: User,
    roles: Vec<String>,
    next: RefreshToken,
    expires_in: u64,
    retry: bool,
) -> Result<Refreshed, EndpointError> {
    let token = super::access_token(state, family.user_id.clone(), user, roles)?;
    Ok(Refreshed {
        token,
        refresh: IssuedRefresh {
            token: next.token,
            expires_in,
        },
        retry,
    })
}

/// Revokes the family of `presented` (RFC 7009): nothing happens, and nothing is said, for a
/// token that is unknown, malformed or already revoked. Returns whether a family was revoked.
pub async fn revoke(state: &State, presented: &str) -> Result<bool, EndpointError> {
    let (Some(sessions), Some(h)) = (&state.sessions, hash(presented)) else {
        return Ok(false);
    };
    match sessions.token(&h).await.map_err(unavailable)? {
        Some(record) => sessions.revoke(&record.family).await.map_err(unavailable),
        None => Ok(false),
    }
}
