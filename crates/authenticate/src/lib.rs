//! `authenticate`: `POST /token` exchanges an email and password for a short-lived HS256 token.
//!
//! Bodies: JSON `{"email": ..., "password": ...}`, or the OAuth 2.0 password grant as
//! `application/x-www-form-urlencoded` (`grant_type=password&username=...&password=...`).
//! Answers follow RFC 6749: §5.1 on success, §5.2 (`{"error", "error_description"}`) otherwise.
//! An unknown email, a wrong password and a disabled account get one and the same answer,
//! and cost the same argon2 verification.
//!
//! A request goes: [`request`] (read the body) → [`grant::password`] (check, issue) →
//! [`respond`], with every refusal an [`EndpointError`] mapped to the wire in one place.

pub mod error;
pub mod grant;
pub mod lockout;
pub mod pad;
pub mod request;

use authcore::{
    AllowedOrigins, Config, ConfigError, CorsError, KeyRing, KeyedHash, PasswordHasher, SigningKey,
    TokenIssuer,
};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use userstore::UserStore;
use userstore::attempts::AttemptStore;
use userstore::sessions::SessionStore;

pub use error::{EndpointError, Refusal};
pub use grant::password::{SignedIn, sign_in};
pub use grant::refresh::SessionPolicy;
pub use lockout::{Guard, LockoutPolicy, Source};
pub use pad::RefusalPad;
pub use request::{Credentials, Grant, MAX_BODY_BYTES, parse_grant, parse_request, parse_revoke};

/// What every request needs, built once at start-up.
#[derive(Debug)]
pub struct State {
    /// The users table.
    pub users: UserStore,
    /// The smart lockout, over the attempts table.
    pub guard: Guard,
    /// Signs tokens.
    pub issuer: TokenIssuer,
    /// Checks and, when weaker than current, replaces password hashes.
    pub passwords: PasswordHasher,
    /// Pads the cheaper refusals to the time a wrong password takes.
    pub pad: RefusalPad,
    /// The origins whose pages may read the answers (`ALLOWED_ORIGINS`).
    pub cors: AllowedOrigins,
    /// The sessions table: refresh tokens are issued only with one.
    pub sessions: Option<SessionStore>,
    /// The sessions' lifetimes.
    pub session_policy: SessionPolicy,
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
    /// `ATTEMPTS_TABLE` is not set.
    #[error(
        "ATTEMPTS_TABLE is not set: name the DynamoDB table of failed sign-ins (the template's AttemptsTable)"
    )]
    MissingAttemptsTable,
    /// A lockout setting is out of range.
    #[error(transparent)]
    Lockout(#[from] lockout::PolicyError),
    /// `SESSIONS_TABLE` is not set.
    #[error(
        "SESSIONS_TABLE is not set: name the DynamoDB sessions table (the template's SessionsTable)"
    )]
    MissingSessionsTable,
    /// A session lifetime is out of range.
    #[error(transparent)]
    Sessions(#[from] grant::refresh::SessionPolicyError),
    /// The key could not be loaded from Secrets Manager.
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
    /// `ALLOWED_ORIGINS` holds something that is not an origin.
    #[error(transparent)]
    Cors(#[from] CorsError),
}

/// The purpose the attempts table's keyed hashes are derived for.
const ATTEMPTS_PURPOSE: &str = "lambda-auth attempts v1";

/// The keyed hash naming the attempts table's counters, derived from the current signing key
/// (a key rotation starts the counters again).
pub fn attempts_hash(key: &SigningKey) -> KeyedHash {
    KeyedHash::derive(key, ATTEMPTS_PURPOSE)
}

impl State {
    /// Builds the state from the environment ([`Config`]): keys, DynamoDB clients, issuer,
    /// lockout policy.
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let cors = AllowedOrigins::from_env()?;
        let policy = LockoutPolicy::from_env()?;
        let table = config
            .users_table
            .clone()
            .ok_or(StartupError::MissingTable)?;
        let attempts = std::env::var("ATTEMPTS_TABLE")
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or(StartupError::MissingAttemptsTable)?;
        let sessions = std::env::var("SESSIONS_TABLE")
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or(StartupError::MissingSessionsTable)?;
        let session_policy = SessionPolicy::from_env()?;
        let (ring, _) = secrets::key_ring(&config).await?;
        let sdk = awsenv::sdk_config(userstore::ENDPOINT_VAR).build();
        let client = userstore::client(&sdk);
        let users = UserStore::new(client.clone(), table);
        let sessions = SessionStore::new(client.clone(), sessions);
        let attempts = AttemptStore::new(client, attempts);
        Ok(Self::from_ring(&ring, &config, users, attempts)
            .with_lockout(policy)
            .with_sessions(sessions, session_policy)
            .with_cors(cors))
    }

    /// Builds the state from parts, signing with the ring's current key (named in `kid`).
    pub fn from_ring(
        ring: &KeyRing,
        config: &Config,
        users: UserStore,
        attempts: AttemptStore,
    ) -> Self {
        let hash = attempts_hash(&ring.current.key);
        Self::with_issuer(TokenIssuer::from_ring(ring, config), users, attempts, hash)
    }

    /// Builds the state from parts, signing with `key` (no `kid`).
    pub fn new(
        key: &SigningKey,
        config: &Config,
        users: UserStore,
        attempts: AttemptStore,
    ) -> Self {
        let hash = attempts_hash(key);
        Self::with_issuer(TokenIssuer::new(key, config), users, attempts, hash)
    }

    fn with_issuer(
        issuer: TokenIssuer,
        users: UserStore,
        attempts: AttemptStore,
        hash: KeyedHash,
    ) -> Self {
        Self {
            users,
            guard: Guard::new(attempts, LockoutPolicy::default(), hash),
            issuer,
            passwords: PasswordHasher::default(),
            pad: RefusalPad::default(),
            cors: AllowedOrigins::None,
            sessions: None,
            session_policy: SessionPolicy::default(),
        }
    }

    /// Starts sessions (refresh tokens) in `store`, with lifetimes `policy`.
    pub fn with_sessions(mut self, store: SessionStore, policy: SessionPolicy) -> Self {
        self.sessions = Some(store);
        self.session_policy = policy;
        self
    }

    /// Lets pages from `cors` read the answers.
    pub fn with_cors(mut self, cors: AllowedOrigins) -> Self {
        self.cors = cors;
        self
    }

    /// Uses the lockout `policy`.
    pub fn with_lockout(mut self, policy: LockoutPolicy) -> Self {
        self.guard = self.guard.with_policy(policy);
        self
    }
}

/// RFC 6749 §5.1.
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_expires_in: Option<u64>,
}

/// RFC 6749 §5.2.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// Turns a `/token` outcome into the HTTP response.
pub fn respond(result: &Result<SignedIn, EndpointError>) -> Response<Body> {
    answer(result.as_ref().map(|signed| {
        serde_json::to_string(&TokenResponse {
            access_token: &signed.token.token,
            token_type: "Bearer",
            expires_in: signed.token.expires_in,
            refresh_token: signed.refresh.as_ref().map(|r| r.token.as_str()),
            refresh_expires_in: signed.refresh.as_ref().map(|r| r.expires_in),
        })
        .unwrap_or_default()
    }))
}

/// The one place statuses, bodies and headers are set: `Ok` is a 200 with that JSON body, an
/// error its status and OAuth body.
fn answer(result: Result<String, &EndpointError>) -> Response<Body> {
    let retry_after = result.as_ref().err().and_then(|e| e.retry_after());
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => (
            e.status(),
            serde_json::to_string(&ErrorBody {
                error: e.oauth_error(),
                error_description: &e.description(),
            })
            .unwrap_or_default(),
        ),
    };
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
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The client address API Gateway saw: `identity.sourceIp` (REST), `http.sourceIp` (HTTP API).
fn source_ip(request: &Request) -> Option<&str> {
    use lambda_http::request::RequestContext;
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => ctx.identity.source_ip.as_deref(),
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.as_deref(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The Lambda handler for a request whose event was well formed.
pub async fn handler(
    state: &State,
    request: Request,
) -> Result<Response<Body>, std::convert::Infallible> {
    handle(state, request, false).await
}

/// The Lambda handler: parse, sign in, log one event, answer. Never fails: every problem is
/// an HTTP answer. `undecodable_body`: the event's base64 body did not decode (a 400).
pub async fn handle(
    state: &State,
    request: Request,
    undecodable_body: bool,
) -> Result<Response<Body>, std::convert::Infallible> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let request_id = request
        .lambda_context_ref()
        .map(|c| c.request_id.as_str())
        .unwrap_or_default()
        .to_owned();
    let body = request.body().as_ref();
    let origin = request.headers().get(header::ORIGIN);
    let cors = match origin.and_then(|o| o.to_str().ok()) {
        None => "-",
        Some(o) if state.cors.allows(o) => "allowed",
        Some(_) => "refused",
    };
    let revoking = request.uri().path().ends_with("/revoke");
    let mut response = if revoking {
        // RFC 7009: 200 whether or not the token was known.
        let result = match undecodable_body {
            true => Err(EndpointError::UndecodableBody),
            false => parse_revoke(request.method(), content_type, body),
        };
        let result = match result {
            Ok(token) => grant::refresh::revoke(state, &token).await,
            Err(e) => Err(e),
        };
        match &result {
            Ok(revoked) => tracing::info!(
                outcome = "revoked",
                known = revoked,
                cors,
                request_id,
                "revoke request"
            ),
            Err(e) => tracing::info!(
                outcome = "refused",
                reason = e.reason(),
                status = e.status().as_u16(),
                cors,
                request_id,
                "revoke request"
            ),
        }
        answer(result.as_ref().map(|_| "{}".to_owned()))
    } else {
        let source = Source::from_address(source_ip(&request));
        let parsed = match undecodable_body {
            true => Err(EndpointError::UndecodableBody),
            false => parse_grant(request.method(), content_type, body),
        };
        let (grant, result) = match parsed {
            Ok(Grant::Password(credentials)) => {
                ("password", sign_in(state, &credentials, &source).await)
            }
            Ok(Grant::Refresh(token)) => (
                "refresh_token",
                grant::refresh::refresh(state, &token)
                    .await
                    .map(|r| SignedIn {
                        token: r.token,
                        rehashed: false,
                        refresh: Some(r.refresh),
                    }),
            ),
            Err(e) => ("-", Err(e)),
        };
        log_token_request(grant, &result, cors, &request_id);
        respond(&result)
    };
    state.cors.apply(origin, response.headers_mut());
    Ok(response)
}

/// The one log event of a `/token` request: the outcome and why, never a token.
fn log_token_request(
    grant: &str,
    result: &Result<SignedIn, EndpointError>,
    cors: &str,
    request_id: &str,
) {
    match result {
        Ok(signed) => tracing::info!(
            outcome = "issued",
            grant,
            email = signed.token.claims.email.as_deref(),
            jti = signed.token.claims.jti.as_deref(),
            rehashed = signed.rehashed,
            cors,
            request_id,
            "token request"
        ),
        Err(e) => tracing::info!(
            outcome = "refused",
            grant,
            reason = e.reason(),
            held_by = match e {
                EndpointError::InvalidGrant(Refusal::Held { by, .. }) => by.as_str(),
                _ => "-",
            },
            status = e.status().as_u16(),
            cors,
            request_id,
            "token request"
        ),
    }
}
