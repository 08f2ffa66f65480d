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
pub mod pad;
pub mod request;

use authcore::{
    AllowedOrigins, Config, ConfigError, CorsError, KeyRing, PasswordHasher, SigningKey,
    TokenIssuer,
};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use userstore::UserStore;

pub use error::{EndpointError, Refusal};
pub use grant::password::{SignedIn, sign_in};
pub use pad::RefusalPad;
pub use request::{Credentials, MAX_BODY_BYTES, parse_request};

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
    /// The key could not be loaded from Secrets Manager.
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
    /// `ALLOWED_ORIGINS` holds something that is not an origin.
    #[error(transparent)]
    Cors(#[from] CorsError),
}

impl State {
    /// Builds the state from the environment ([`Config`]): keys, DynamoDB client, issuer.
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let cors = AllowedOrigins::from_env()?;
        let table = config
            .users_table
            .clone()
            .ok_or(StartupError::MissingTable)?;
        let (ring, _) = secrets::key_ring(&config).await?;
        let sdk = awsenv::sdk_config(userstore::ENDPOINT_VAR).build();
        let users = UserStore::new(userstore::client(&sdk), table);
        Ok(Self::with_issuer(TokenIssuer::from_ring(&ring, &config), users).with_cors(cors))
    }

    /// Builds the state from parts, signing with the ring's current key (named in `kid`).
    pub fn from_ring(ring: &KeyRing, config: &Config, users: UserStore) -> Self {
        Self::with_issuer(TokenIssuer::from_ring(ring, config), users)
    }

    /// Builds the state from parts, signing with `key` (no `kid`).
    pub fn new(key: &SigningKey, config: &Config, users: UserStore) -> Self {
        Self::with_issuer(TokenIssuer::new(key, config), users)
    }

    fn with_issuer(issuer: TokenIssuer, users: UserStore) -> Self {
        Self {
            users,
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
    let result = match parse_request(request.method(), content_type, request.body().as_ref()) {
        Ok(credentials) => sign_in(state, &credentials).await,
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
            status = e.status().as_u16(),
            cors,
            request_id,
            "token request"
        ),
    }
    Ok(response)
}
