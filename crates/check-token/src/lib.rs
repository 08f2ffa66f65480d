//! `check-token`: an API Gateway TOKEN authorizer.
//!
//! A valid bearer token gets an Allow for the whole stage (so API Gateway's authorizer cache,
//! which reuses one policy for every route for its TTL, never turns a second route into a 403),
//! with `principalId` = `sub` and the user's `sub`, `email`, `name` and `roles` in `context`.
//! Anything else — no token, a bad token, a malformed event — ends in the error `Unauthorized`,
//! which API Gateway answers with a 401.

pub mod decision;
pub mod response;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use authcore::header::bearer_token;
use authcore::policy::{AuthorizerResponse, MethodArn};
use authcore::token::now_seconds;
use authcore::{Claims, Config, ConfigError, KeyRing, SigningKey, TokenVerifier};
use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Deserializer};

pub use decision::{Decision, Outcome, Reason, Verdict};
pub use response::{UNAUTHORIZED, Unauthorized};

/// How long after one key-ring refresh another may happen: a flood of tokens with forged
/// `kid`s costs at most one Secrets Manager call per interval.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// What the authorizer needs for every request, built once at start-up.
#[derive(Debug)]
pub struct State {
    verifier: RwLock<TokenVerifier>,
    config: Config,
    refresher: Option<Refresher>,
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
        }
    }

    /// Builds the state from the process environment ([`Config`]), loading the keys once:
    /// `JWT_SECRET` (and `JWT_PREVIOUS_SECRET`), or the Secrets Manager secret of
    /// `JWT_SECRET_ARN`, which is reloaded when a token names a key not yet known.
    /// `REQUIRED_ROLE`, when set, gives genuine tokens without that role an explicit Deny.
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let (ring, source) = secrets::key_ring(&config).await?;
        let refresher = source.map(|s| Refresher::new(s, REFRESH_INTERVAL));
        Ok(Self::from_ring(&ring, &config, refresher))
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

/// Decides one request at time `now` (seconds since the epoch). Pure: no I/O, no logging.
pub fn authorize(state: &State, input: &AuthorizerInput, now: u64) -> Decision {
    let Some(event) = input.event() else {
        return Decision::unauthorized(Reason::MalformedEvent);
    };
    if !event
        .type_
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("TOKEN"))
    {
        return Decision::unauthorized(Reason::WrongEventType);
    }
    let Some(header) = event.authorization_token.as_deref() else {
        return Decision::unauthorized(Reason::MissingToken);
    };
    let token = match bearer_token(header) {
        Ok(token) => token,
        Err(e) => return Decision::unauthorized(Reason::Header(e)),
    };
    let verified = state
        .verifier
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .verify_at(token, now);
    let claims = match verified {
        Ok(claims) => claims,
        Err(e) => return Decision::unauthorized(Reason::Token(e)),
    };
    decide(state, claims, event.method_arn.as_deref())
}

/// The decision for a genuine token's `claims` on the request to `method_arn`.
fn decide(state: &State, claims: Claims, method_arn: Option<&str>) -> Decision {
    let Claims {
        sub,
        jti,
        email,
        name,
        roles,
        ..
    } = claims;
    // Without a readable methodArn there is nothing to allow: deny.
    let Some(Ok(arn)) = method_arn.map(MethodArn::parse) else {
        return Decision {
            verdict: Verdict::Deny {
                principal: sub,
                resource: None,
            },
            reason: Reason::BadMethodArn,
            jti,
        };
    };
    if let Some(role) = &state.config.required_role
        && !roles.iter().any(|r| r == role)
    {
        return Decision {
            verdict: Verdict::Deny {
                principal: sub,
                resource: Some(arn.whole_stage()),
            },
            reason: Reason::MissingRole,
            jti,
        };
    }
    let context = vec![
        ("sub", sub.clone()),
        ("email", email.unwrap_or_default()),
        ("name", name.unwrap_or_default()),
        ("roles", roles.join(",")),
    ];
    Decision {
        verdict: Verdict::Allow {
            principal: sub,
            resource: arn.whole_stage(),
            context,
        },
        reason: Reason::Valid,
        jti,
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
        outcome = decision.outcome().as_str(),
        reason = decision.reason.as_str(),
        sub = decision.sub(),
        jti = decision.jti.as_deref(),
        request_id = %event.context.request_id,
        "authorizer decision"
    );
    response::iam_policy(decision.verdict)
}
