//! `check-token`: an API Gateway TOKEN authorizer.
//!
//! A valid bearer token gets an Allow for the whole stage (so API Gateway's authorizer cache,
//! which reuses one policy for every route for its TTL, never turns a second route into a 403),
//! with `principalId` = `sub` and the user's `sub`, `email`, `name` and `roles` in `context`.
//! Anything else — no token, a bad token, a malformed event — ends in the error `Unauthorized`,
//! which API Gateway answers with a 401.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use authcore::header::bearer_token;
use authcore::policy::{AuthorizerResponse, MethodArn, PolicyBuilder};
use authcore::token::now_seconds;
use authcore::{ClaimsRef, Config, ConfigError, KeyRing, SigningKey, TokenError, TokenVerifier};
use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Deserializer};

/// The exact message API Gateway turns into a 401.
pub const UNAUTHORIZED: &str = "Unauthorized";

/// How long after one key-ring refresh another may happen: a flood of tokens with forged
/// `kid`s costs at most one Secrets Manager call per interval.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// What the authorizer needs for every request, built once at start-up.
#[derive(Debug)]
pub struct State {
    verifier: RwLock<TokenVerifier>,
    config: Config,
    refresher: Option<Refresher>,
    required_role: Option<String>,
}

/// Reloads the key ring from Secrets Manager when a token names an unknown key, at most once
/// per interval.
#[derive(Debug)]
pub struct Refresher {
    source: secrets::SecretSource,
    interval: Duration,
    last: Mutex<Option<Instant>>,
    count: AtomicU64,
}

impl Refresher {
    /// A refresher for `source`, allowed once per `interval`.
    pub fn new(source: secrets::SecretSource, interval: Duration) -> Self {
        Self {
            source,
            interval,
            last: Mutex::new(None),
            count: AtomicU64::new(0),
        }
    }

    /// Claims the right to refresh now, if the interval has passed since the last refresh.
    fn claim(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < self.interval) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

/// Why the authorizer cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The environment holds a bad or missing setting.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The key could not be loaded from Secrets Manager.
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
}

impl State {
    /// Builds the verifier for `key` with the configured issuer, audience and leeway.
    pub fn new(key: &SigningKey, config: &Config) -> Self {
        Self::with_verifier(TokenVerifier::new(key, config), config, None)
    }

    /// Builds the verifier for every key of `ring`; `refresher` reloads it on unknown `kid`s.
    pub fn from_ring(ring: &KeyRing, config: &Config, refresher: Option<Refresher>) -> Self {
        Self::with_verifier(TokenVerifier::from_ring(ring, config), config, refresher)
    }

    fn with_verifier(
        verifier: TokenVerifier,
        config: &Config,
        refresher: Option<Refresher>,
    ) -> Self {
        Self {
            verifier: RwLock::new(verifier),
            config: config.clone(),
            refresher,
            required_role: None,
        }
    }

    /// Requires `role` of every caller: a genuine token without it gets an explicit Deny (403).
    pub fn with_required_role(mut self, role: Option<String>) -> Self {
        self.required_role = role.filter(|r| !r.trim().is_empty());
        self
    }

    /// Builds the state from the process environment, loading the keys once: `JWT_SECRET`
    /// (and `JWT_PREVIOUS_SECRET`), or the Secrets Manager secret of `JWT_SECRET_ARN`, which
    /// is reloaded when a token names a key not yet known.
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let (ring, source) = secrets::key_ring(&config).await?;
        let refresher = source.map(|s| Refresher::new(s, REFRESH_INTERVAL));
        Ok(Self::from_ring(&ring, &config, refresher)
            .with_required_role(std::env::var("REQUIRED_ROLE").ok()))
    }

    /// How many times the key ring has been reloaded.
    pub fn refreshes(&self) -> u64 {
        self.refresher
            .as_ref()
            .map_or(0, |r| r.count.load(Ordering::Relaxed))
    }

    /// Reloads the key ring if a refresher is configured and its interval has passed.
    /// Returns whether a new ring is in place.
    pub async fn refresh_keys(&self) -> bool {
        let Some(refresher) = &self.refresher else {
            return false;
        };
        if !refresher.claim() {
            return false;
        }
        refresher.count.fetch_add(1, Ordering::Relaxed);
        match refresher.source.load().await {
            Ok(ring) => {
                let verifier = TokenVerifier::from_ring(&ring, &self.config);
                tracing::info!(kids = ?verifier.kids().collect::<Vec<_>>(), "key ring reloaded");
                *self.verifier.write().unwrap_or_else(|e| e.into_inner()) = verifier;
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "key ring reload failed");
                false
            }
        }
    }
}

/// The authorizer's input: a TOKEN event, or the fact that the payload was not one.
///
/// Deserializing never fails, so a payload that is not JSON, or not shaped like a TOKEN event,
/// reaches the handler and is answered `Unauthorized` like any other bad request, instead of
/// becoming a runtime error that API Gateway would turn into a 500.
#[derive(Debug, Clone)]
pub struct AuthorizerInput(Option<ApiGatewayCustomAuthorizerRequest>);

impl AuthorizerInput {
    /// The event, if the payload was a readable authorizer event.
    pub fn event(&self) -> Option<&ApiGatewayCustomAuthorizerRequest> {
        self.0.as_ref()
    }
}

impl From<ApiGatewayCustomAuthorizerRequest> for AuthorizerInput {
    fn from(event: ApiGatewayCustomAuthorizerRequest) -> Self {
        Self(Some(event))
    }
}

impl<'de> Deserialize<'de> for AuthorizerInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(ApiGatewayCustomAuthorizerRequest::deserialize(d).ok()))
    }
}

/// The error API Gateway answers with a 401: its message is exactly `Unauthorized`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthorized;

impl fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(UNAUTHORIZED)
    }
}

impl std::error::Error for Unauthorized {}

impl From<Unauthorized> for Diagnostic {
    fn from(_: Unauthorized) -> Self {
        Diagnostic {
            error_type: UNAUTHORIZED.to_owned(),
            error_message: UNAUTHORIZED.to_owned(),
        }
    }
}

/// The decision for one request, with what the log needs to say about it.
#[derive(Debug)]
pub struct Decision {
    /// The response for API Gateway, or `Unauthorized`.
    pub result: Result<AuthorizerResponse, Unauthorized>,
    /// `allow`, `deny` or `unauthorized`.
    pub outcome: &'static str,
    /// Why: `valid`, or the name of what was wrong (`expired`, `bad_signature`, ...).
    pub reason: &'static str,
    /// `jti` of a genuine token.
    pub jti: Option<String>,
}

impl Decision {
    /// `sub` of a genuine token: the response's principal.
    pub fn sub(&self) -> Option<&str> {
        self.result
            .as_ref()
            .ok()
            .and_then(|r| r.principal_id.as_deref())
    }

    /// Whether the token was refused only because its `kid` names a key not loaded here.
    pub fn names_unknown_key(&self) -> bool {
        self.reason == TokenError::UnknownKey.reason()
    }

    /// A genuine token that is nonetheless denied (a 403), for `reason`.
    fn deny(policy: PolicyBuilder, reason: &'static str, jti: Option<Cow<'_, str>>) -> Self {
        Self {
            result: Ok(policy.build()),
            outcome: "deny",
            reason,
            jti: jti.map(Cow::into_owned),
        }
    }

    fn unauthorized(reason: &'static str) -> Self {
        Self {
            result: Err(Unauthorized),
            outcome: "unauthorized",
            reason,
            jti: None,
        }
    }
}

/// Decides one request at time `now` (seconds since the epoch). Pure: no I/O, no logging.
pub fn authorize(state: &State, input: &AuthorizerInput, now: u64) -> Decision {
    let Some(event) = input.event() else {
        return Decision::unauthorized("malformed_event");
    };
    if !event
        .type_
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("TOKEN"))
    {
        return Decision::unauthorized("wrong_event_type");
    }
    let Some(header) = event.authorization_token.as_deref() else {
        return Decision::unauthorized("missing_token");
    };
    let token = match bearer_token(header) {
        Ok(token) => token,
        Err(e) => return Decision::unauthorized(e.reason()),
    };
    let mut payload = Vec::new();
    let verified = state
        .verifier
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .verify_ref(token, now, &mut payload);
    let claims = match verified {
        Ok(claims) => claims,
        Err(e) => return Decision::unauthorized(e.reason()),
    };

    // The token is genuine. Without a readable methodArn there is nothing to allow: deny.
    let arn = event.method_arn.as_deref().map(MethodArn::parse);
    let Some(Ok(arn)) = arn else {
        // An empty builder denies everything.
        return Decision::deny(
            PolicyBuilder::new(claims.sub.as_ref()),
            "bad_method_arn",
            claims.jti,
        );
    };
    if let Some(role) = &state.required_role
        && !claims.roles.iter().any(|r| r == role)
    {
        let policy = PolicyBuilder::new(claims.sub.as_ref()).deny(arn.whole_stage());
        return Decision::deny(policy, "missing_role", claims.jti);
    }
    let ClaimsRef {
        sub,
        jti,
        email,
        name,
        roles,
        ..
    } = claims;
    let response = PolicyBuilder::new(sub.as_ref())
        .allow(arn.whole_stage())
        .context("sub", sub.into_owned())
        .context("email", email.map(Cow::into_owned).unwrap_or_default())
        .context("name", name.map(Cow::into_owned).unwrap_or_default())
        .context("roles", roles.join(","))
        .build();
    Decision {
        result: Ok(response),
        outcome: "allow",
        reason: "valid",
        jti: jti.map(Cow::into_owned),
    }
}

/// The Lambda handler: decides, logs one event, answers.
pub async fn handler(
    state: &State,
    event: LambdaEvent<AuthorizerInput>,
) -> Result<AuthorizerResponse, Unauthorized> {
    let mut decision = authorize(state, &event.payload, now_seconds());
    // A key this instance has not loaded yet (a rotation): reload the ring, at most once a minute.
    if decision.names_unknown_key() && state.refresh_keys().await {
        decision = authorize(state, &event.payload, now_seconds());
    }
    tracing::info!(
        outcome = decision.outcome,
        reason = decision.reason,
        sub = decision.sub(),
        jti = decision.jti.as_deref(),
        request_id = %event.context.request_id,
        "authorizer decision"
    );
    decision.result
}
