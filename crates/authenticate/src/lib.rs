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

pub use error::{EndpointError, Refusal};
pub use grant::password::{SignedIn, sign_in};
pub use lockout::{Guard, LockoutPolicy, Source};
pub use pad::RefusalPad;
pub use request::{Credentials, MAX_BODY_BYTES, parse_request};

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
        let (ring, _) = secrets::key_ring(&config).await?;
        let sdk = awsenv::sdk_config(userstore::ENDPOINT_VAR).build();
        let client = userstore::client(&sdk);
        let users = UserStore::new(client.clone(), table);
        let attempts = AttemptStore::new(client, attempts);
        Ok(Self::from_ring(&ring, &config, users, attempts)
            .with_lockout(policy)
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
        }
    }

    /// Lets pages from `cors` read the answers.
    pub fn with_cors(mut self, cors: AllowedOrigins) -> Self {
        self.cors = cors;
        self
    }

    /// Uses the lockout `policy`.
    pub fn with_lockout(self, policy: LockoutPolicy) -> Self {
        let Self {
            users,
            guard,
            issuer,
            passwords,
            pad,
            cors,
        } = self;
        Self {
            users,
            guard: guard.with_policy(policy),
            issuer,
            passwords,
            pad,
            cors,
        }
    }
}

/// RFC 6749 §5.1.
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
}

/// RFC 6749 §5.2.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// Turns an outcome into the HTTP response: the one place statuses, bodies and headers are set.
pub fn respond(result: &Result<SignedIn, EndpointError>) -> Response<Body> {
    let (status, body) = match result {
        Ok(signed) => (
            StatusCode::OK,
            serde_json::to_string(&TokenResponse {
                access_token: &signed.token.token,
                token_type: "Bearer",
                expires_in: signed.token.expires_in,
            }),
        ),
        Err(e) => (
            e.status(),
            serde_json::to_string(&ErrorBody {
                error: e.oauth_error(),
                error_description: &e.description(),
            }),
        ),
    };
    let mut response = Response::new(Body::Text(body.unwrap_or_default()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // RFC 6749 §5.1: token responses must not be cached.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(secs) = result.as_ref().err().and_then(EndpointError::retry_after) {
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

/// Drops a body the event flags as base64 that does not decode, so that turning the event into
/// a request cannot panic (see `authcore::body`); returns whether it did. `main` calls it on
/// each event and passes the answer to [`handle`].
pub fn drop_undecodable_body(event: &mut lambda_http::request::LambdaRequest) -> bool {
    use lambda_http::request::LambdaRequest;
    match event {
        LambdaRequest::ApiGatewayV1(e) => {
            authcore::body::drop_undecodable(&mut e.body, &mut e.is_base64_encoded)
        }
        LambdaRequest::ApiGatewayV2(e) => {
            authcore::body::drop_undecodable(&mut e.body, &mut e.is_base64_encoded)
        }
        #[allow(unreachable_patterns)]
        _ => false,
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
    let source = Source::from_address(source_ip(&request));
    let parsed = if undecodable_body {
        Err(EndpointError::UndecodableBody)
    } else {
        parse_request(request.method(), content_type, request.body().as_ref())
    };
    let result = match parsed {
        Ok(credentials) => sign_in(state, &credentials, &source).await,
        Err(e) => Err(e),
    };
    let request_id = request
        .lambda_context_ref()
        .map(|c| c.request_id.as_str())
        .unwrap_or_default();
    let mut response = respond(&result);
    let origin = request.headers().get(header::ORIGIN);
    let cors = match (origin, state.cors.apply(origin, response.headers_mut())) {
        (None, _) => "-",
        (Some(_), true) => "allowed",
        (Some(_), false) => "refused",
    };
    match &result {
        Ok(signed) => tracing::info!(
            outcome = "issued",
            email = signed.token.claims.email.as_deref(),
            jti = signed.token.claims.jti.as_deref(),
            rehashed = signed.rehashed,
            cors,
            request_id,
            "token request"
        ),
        Err(e) => tracing::info!(
            outcome = "refused",
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
    Ok(response)
}
