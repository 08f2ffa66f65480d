//! `authenticate`: `POST /token` exchanges an email and password for a short-lived HS256 token.
//!
//! Bodies: JSON `{"email": ..., "password": ...}`, or the OAuth 2.0 password grant as
//! `application/x-www-form-urlencoded` (`grant_type=password&username=...&password=...`).
//! Answers follow RFC 6749: §5.1 on success, §5.2 (`{"error", "error_description"}`) otherwise.
//! An unknown email, a wrong password and a disabled account get one and the same answer,
//! and cost the same argon2 verification.

use std::borrow::Cow;

use authcore::password::{MAX_PASSWORD_BYTES, PasswordHasher, Verification};
use authcore::token::{Subject, now_seconds};
use authcore::{Config, ConfigError, SigningKey, TokenIssuer};
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use userstore::{UserStore, normalize_email};

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// What every request needs, built once at start-up.
#[derive(Debug)]
pub struct State {
    /// The users table.
    pub users: UserStore,
    /// Signs tokens.
    pub issuer: TokenIssuer,
    /// Checks and, when weaker than current, replaces password hashes.
    pub passwords: PasswordHasher,
    /// Pads the cheaper refusals to the time a wrong password takes.
    pub pad: RefusalPad,
}

/// Makes every refused sign-in take as long as a wrong password does.
///
/// Unknown emails and disabled accounts already cost one argon2 verification and one
/// DynamoDB update, like a wrong password; what remains is the store's own latency, which
/// differs for items that exist. The pad remembers how long recent wrong-password refusals
/// took and makes the other refusals wait up to their median.
#[derive(Debug, Default)]
pub struct RefusalPad {
    recent: std::sync::Mutex<std::collections::VecDeque<std::time::Duration>>,
}

impl RefusalPad {
    /// How many recent wrong-password durations are kept.
    pub const SAMPLES: usize = 16;

    /// Records how long a wrong-password refusal took.
    pub fn record(&self, took: std::time::Duration) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == Self::SAMPLES {
            recent.pop_front();
        }
        recent.push_back(took);
    }

    /// The median of the recorded durations, if any.
    pub fn target(&self) -> Option<std::time::Duration> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let mut sorted: Vec<_> = recent.iter().copied().collect();
        sorted.sort_unstable();
        sorted.get(sorted.len() / 2).copied()
    }

    /// Waits until `started` is as far back as a wrong-password refusal typically takes.
    pub fn wait_from(&self, started: std::time::Instant) {
        if let Some(rest) = self.target().and_then(|t| t.checked_sub(started.elapsed())) {
            // A thread sleep, not tokio's: its timer rounds up to whole milliseconds, which is
            // itself a tell. Lambda runs one invocation at a time per instance, so this blocks
            // nothing else.
            std::thread::sleep(rest);
        }
    }
}

/// Why `authenticate` cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A bad or missing setting.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `USERS_TABLE` is not set.
    #[error("USERS_TABLE is not set: name the DynamoDB users table")]
    MissingTable,
    /// The key could not be loaded from Secrets Manager.
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
}

impl State {
    /// Builds the state from the environment: configuration, DynamoDB client, issuer.
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let table = std::env::var("USERS_TABLE")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or(StartupError::MissingTable)?;
        let (ring, _) = secrets::key_ring(&config).await?;
        let users = UserStore::new(userstore::client_from_env().await, table);
        Ok(Self::from_ring(&ring, &config, users))
    }

    /// Builds the state from parts, signing with the ring's current key (named in `kid`).
    pub fn from_ring(ring: &authcore::KeyRing, config: &Config, users: UserStore) -> Self {
        Self {
            users,
            issuer: TokenIssuer::from_ring(ring, config),
            passwords: PasswordHasher::default(),
            pad: RefusalPad::default(),
        }
    }

    /// Builds the state from parts.
    pub fn new(key: &SigningKey, config: &Config, users: UserStore) -> Self {
        Self {
            users,
            issuer: TokenIssuer::new(key, config),
            passwords: PasswordHasher::default(),
            pad: RefusalPad::default(),
        }
    }
}

/// An RFC 6749 §5.2 error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error`.
    pub error: &'static str,
    /// `error_description`.
    pub description: Cow<'static, str>,
    /// Short name for the log.
    pub reason: &'static str,
    /// Seconds to send in `Retry-After` (a locked account).
    pub retry_after: Option<u64>,
}

impl OAuthError {
    fn invalid_request(reason: &'static str, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
            reason,
            retry_after: None,
        }
    }

    /// The one answer for an unknown email, a wrong password and a disabled account.
    fn invalid_grant(reason: &'static str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_grant",
            description: "the email or password is incorrect".into(),
            reason,
            retry_after: None,
        }
    }

    fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "the user store is unavailable: try again shortly".into(),
            reason: "store_unavailable",
            retry_after: None,
        }
    }
}

/// Email and password, however they were sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The email (or OAuth `username`) as sent.
    pub email: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Deserialize)]
struct JsonBody {
    email: Option<String>,
    username: Option<String>,
    password: Option<String>,
    grant_type: Option<String>,
}

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// Reads the credentials from a request: method, content type, size, shape.
pub fn parse_request(
    method: &Method,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Credentials, OAuthError> {
    if method != Method::POST {
        return Err(OAuthError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            error: "invalid_request",
            description: "the token endpoint accepts POST only".into(),
            reason: "wrong_method",
            retry_after: None,
        });
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(OAuthError::invalid_request(
            "body_too_large",
            format!("the body is over {MAX_BODY_BYTES} bytes"),
        ));
    }
    let media_type = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let (email, password, grant_type) = match media_type.as_str() {
        "application/json" => {
            let parsed: JsonBody = serde_json::from_slice(body).map_err(|_| {
                OAuthError::invalid_request(
                    "malformed_json",
                    r#"the body is not a JSON object like {"email": "...", "password": "..."}"#,
                )
            })?;
            (
                parsed.email.or(parsed.username),
                parsed.password,
                parsed.grant_type,
            )
        }
        "application/x-www-form-urlencoded" => {
            let mut fields: [Option<String>; 4] = Default::default();
            for (key, value) in form_urlencoded::parse(body) {
                let slot = match key.as_ref() {
                    "grant_type" => 0,
                    "username" => 1,
                    "password" => 2,
                    "email" => 3,
                    _ => continue,
                };
                // RFC 6749 §3.2: parameters must not be sent more than once.
                if fields[slot].replace(value.into_owned()).is_some() {
                    return Err(OAuthError::invalid_request(
                        "repeated_parameter",
                        format!("{key} is sent more than once"),
                    ));
                }
            }
            let [grant_type, username, password, email] = fields;
            if grant_type.is_none() {
                return Err(OAuthError::invalid_request(
                    "missing_field",
                    "grant_type is required: use grant_type=password",
                ));
            }
            (username.or(email), password, grant_type)
        }
        _ => {
            return Err(OAuthError::invalid_request(
                "wrong_content_type",
                "Content-Type must be application/json or application/x-www-form-urlencoded",
            ));
        }
    };
    if let Some(grant) = grant_type
        && grant != "password"
    {
        return Err(OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_grant_type",
            description: "only grant_type=password is supported".into(),
            reason: "unsupported_grant_type",
            retry_after: None,
        });
    }
    let email = email.filter(|e| !e.trim().is_empty()).ok_or_else(|| {
        OAuthError::invalid_request("missing_field", "email (or username) is required")
    })?;
    let password = password
        .filter(|p| !p.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("missing_field", "password is required"))?;
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(OAuthError::invalid_request(
            "password_too_long",
            format!("the password is over {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(Credentials { email, password })
}

/// Refuses with `error` after the same work a wrong password costs, so that neither the time
/// nor the answer tells an unknown email, a disabled or a locked account from a wrong password:
/// one argon2 verification (against the dummy hash), the failure-counter update of `count`'s
/// item (failing, conditionally, when there is none), and the wait up to the recent median.
async fn refuse_like_a_wrong_password(
    state: &State,
    password: &str,
    count: Option<&str>,
    started: std::time::Instant,
    error: OAuthError,
) -> Result<SignedIn, OAuthError> {
    state.passwords.verify_dummy(password);
    if let Some(email) = count {
        let _ = state.users.record_failure(email, now_seconds()).await;
    }
    state.pad.wait_from(started);
    Err(error)
}

/// A successful sign-in.
#[derive(Debug)]
pub struct SignedIn {
    /// The token.
    pub token: authcore::IssuedToken,
    /// Whether the stored hash was upgraded.
    pub rehashed: bool,
}

/// Checks the credentials against the table and issues a token.
pub async fn sign_in(state: &State, credentials: &Credentials) -> Result<SignedIn, OAuthError> {
    let started = std::time::Instant::now();
    let password = credentials.password.as_str();
    let Ok(email) = normalize_email(&credentials.email) else {
        return refuse_like_a_wrong_password(
            state,
            password,
            None,
            started,
            OAuthError::invalid_grant("unknown_email"),
        )
        .await;
    };
    let now = now_seconds();
    let user = match state.users.get(&email).await {
        // The counter update fails (conditionally) for an unknown email, after the same round trip.
        Ok(None) => {
            return refuse_like_a_wrong_password(
                state,
                password,
                Some(&email),
                started,
                OAuthError::invalid_grant("unknown_email"),
            )
            .await;
        }
        Ok(Some(user)) => user,
        Err(e) => {
            tracing::error!(error = %e, "user lookup failed");
            return Err(OAuthError::unavailable());
        }
    };
    if user.disabled {
        return refuse_like_a_wrong_password(
            state,
            password,
            Some(&email),
            started,
            OAuthError::invalid_grant("disabled"),
        )
        .await;
    }
    if let Some(wait) = user.locked_for(now) {
        // The password is not checked, and nothing is counted while locked.
        let locked = OAuthError {
            retry_after: Some(wait),
            ..OAuthError::invalid_grant("locked")
        };
        return refuse_like_a_wrong_password(state, password, None, started, locked).await;
    }
    let needs_rehash = match state
        .passwords
        .verify(&credentials.password, &user.password_hash)
    {
        Ok(Verification::Valid { needs_rehash }) => needs_rehash,
        Ok(Verification::Invalid) => {
            match state.users.record_failure(&email, now).await {
                Ok(n) if n >= userstore::LOCK_THRESHOLD => {
                    tracing::warn!(
                        failed_attempts = n,
                        lock_seconds = userstore::lock_seconds(n),
                        "account locked"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "failed to count a failed password"),
            }
            state.pad.record(started.elapsed());
            return Err(OAuthError::invalid_grant("wrong_password"));
        }
        Err(e) => {
            tracing::error!(error = %e, "stored password hash is unusable");
            return Err(OAuthError::invalid_grant("bad_stored_hash"));
        }
    };
    if user.failed_attempts > 0
        && let Err(e) = state.users.reset_failures(&email).await
    {
        tracing::warn!(error = %e, "failed to reset the failure count");
    }
    let mut rehashed = false;
    if needs_rehash {
        match state.passwords.hash(&credentials.password) {
            Ok(new) => match state
                .users
                .replace_hash_if_unchanged(&email, &user.password_hash, &new)
                .await
            {
                Ok(done) => rehashed = done,
                Err(e) => tracing::warn!(error = %e, "rehash failed; the old hash stays"),
            },
            Err(e) => tracing::warn!(error = %e, "rehash failed; the old hash stays"),
        }
    }
    let subject = Subject {
        sub: email.clone(),
        email: Some(email),
        name: user.name,
        roles: user.roles,
    };
    let token = state.issuer.issue(subject).map_err(|e| {
        tracing::error!(error = %e, "signing failed");
        OAuthError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "the token could not be signed: try again shortly".into(),
            reason: "signing_failed",
            retry_after: None,
        }
    })?;
    Ok(SignedIn { token, rehashed })
}

fn json_response(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // RFC 6749 §5.1: token responses must not be cached.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Turns an outcome into the HTTP response.
pub fn respond(result: &Result<SignedIn, OAuthError>) -> Response<Body> {
    match result {
        Ok(signed) => json_response(
            StatusCode::OK,
            serde_json::to_string(&TokenResponse {
                access_token: &signed.token.token,
                token_type: "Bearer",
                expires_in: signed.token.expires_in,
            })
            .unwrap_or_default(),
        ),
        Err(e) => {
            let mut response = json_response(
                e.status,
                serde_json::to_string(&ErrorBody {
                    error: e.error,
                    error_description: &e.description,
                })
                .unwrap_or_default(),
            );
            if let Some(secs) = e.retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            response
        }
    }
}

/// The Lambda handler: parse, sign in, log one event, answer. Never fails: every problem is
/// an HTTP answer.
pub async fn handler(
    state: &State,
    request: Request,
) -> Result<Response<Body>, std::convert::Infallible> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let body: &[u8] = request.body().as_ref();
    let result = match parse_request(request.method(), content_type, body) {
        Ok(credentials) => sign_in(state, &credentials).await,
        Err(e) => Err(e),
    };
    let request_id = request
        .lambda_context_ref()
        .map(|c| c.request_id.as_str())
        .unwrap_or_default();
    match &result {
        Ok(signed) => tracing::info!(
            outcome = "issued",
            email = signed.token.claims.email.as_deref(),
            jti = signed.token.claims.jti.as_deref(),
            rehashed = signed.rehashed,
            request_id,
            "token request"
        ),
        Err(e) => tracing::info!(
            outcome = "refused",
            reason = e.reason,
            status = e.status.as_u16(),
            request_id,
            "token request"
        ),
    }
    Ok(respond(&result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn the_pad_waits_up_to_the_median_wrong_password_time() {
        let pad = RefusalPad::default();
        assert_eq!(pad.target(), None);
        let started = Instant::now();
        pad.wait_from(started);
        assert!(
            started.elapsed() < Duration::from_millis(5),
            "no samples: no wait"
        );
        for ms in [30, 10, 20] {
            pad.record(Duration::from_millis(ms));
        }
        assert_eq!(pad.target(), Some(Duration::from_millis(20)));
        let started = Instant::now();
        pad.wait_from(started);
        assert!(started.elapsed() >= Duration::from_millis(20));
        // Only the latest samples count.
        for _ in 0..RefusalPad::SAMPLES {
            pad.record(Duration::from_millis(1));
        }
        assert_eq!(pad.target(), Some(Duration::from_millis(1)));
    }
}
