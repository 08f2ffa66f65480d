//! Sessions: the refresh token a password sign-in starts, its rotation
//! (`grant_type=refresh_token`), and reuse detection (RFC 9700 §4.14).
//!
//! Every refresh exchanges the token for a new one of the same family, with one transaction
//! that marks the old one used only if it was not: of two concurrent refreshes with one token,
//! exactly one succeeds, and the new token is only handed out once that write has succeeded.
//! A token presented after it was exchanged is reuse: someone holds a copy, so the whole family
//! is revoked (the thief's next refresh and the user's fail alike) and `refresh_reuse` is
//! logged with the family id. The user is read again at each refresh: a disabled or removed
//! user, or a role change, takes effect at the next refresh.

use authcore::token::refresh::{hash, new_family_id, new_refresh_token};
use authcore::token::{IssuedToken, now_seconds};
use authcore::{SettingsError, Vars};
use userstore::User;
use userstore::sessions::{Family, Rotation};

use crate::error::{EndpointError, RefreshRefusal};
use crate::state::State;

/// A session's lifetimes, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// `REFRESH_TTL_SECONDS`: how long a refresh token lasts unused (the idle lifetime).
    pub idle: u64,
    /// `SESSION_MAX_SECONDS`: how long a family lasts from its sign-in, however often used.
    pub absolute: u64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: 7 * 86_400,
            absolute: 30 * 86_400,
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
/// refresh token. `None` when sessions are not configured.
pub async fn start(
    state: &State,
    user: &User,
    user_id: &str,
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
}

/// Exchanges `presented` for a new access token and refresh token.
pub async fn refresh(state: &State, presented: &str) -> Result<Refreshed, EndpointError> {
    let refuse = |r| Err(EndpointError::BadRefreshToken(r));
    let Some(sessions) = &state.sessions else {
        return Err(EndpointError::UnsupportedGrantType);
    };
    let Some(old) = hash(presented) else {
        return refuse(RefreshRefusal::Malformed);
    };
    let now = now_seconds();
    let Some(record) = sessions.token(&old).await.map_err(unavailable)? else {
        return refuse(RefreshRefusal::Unknown);
    };
    let Some(family) = sessions.family(&record.family).await.map_err(unavailable)? else {
        return refuse(RefreshRefusal::Unknown);
    };
    if family.revoked {
        return refuse(RefreshRefusal::Revoked);
    }
    if record.used {
        sessions.revoke(&family.id).await.map_err(unavailable)?;
        tracing::warn!(family = %family.id, "refresh_reuse: a rotated refresh token was used again; its family is revoked");
        return refuse(RefreshRefusal::Reused);
    }
    if record.expires_at <= now || family.ends_at <= now {
        return refuse(RefreshRefusal::Expired);
    }
    let user = state.users.get(&family.email).await.map_err(unavailable)?;
    let user = match user {
        Some(u) if u.id.as_deref() == Some(family.user_id.as_str()) => u,
        _ => return refuse(RefreshRefusal::UserGone),
    };
    if user.disabled {
        return refuse(RefreshRefusal::Disabled);
    }
    let Some(next) = new_refresh_token() else {
        return Err(EndpointError::SigningFailed);
    };
    let expires_at = (now + state.session_policy.idle).min(family.ends_at);
    match sessions
        .rotate(&family.id, &old, &next.hash, now, expires_at)
        .await
        .map_err(unavailable)?
    {
        Rotation::Rotated => {}
        Rotation::Lost => return refuse(RefreshRefusal::LostRace),
    }
    let token = super::access_token(state, family.user_id, user)?;
    Ok(Refreshed {
        token,
        refresh: IssuedRefresh {
            token: next.token,
            expires_in: expires_at - now,
        },
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
