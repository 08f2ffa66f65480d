//! `check-token`: an API Gateway Lambda authorizer for REST APIs (TOKEN and REQUEST) and HTTP
//! APIs (payload 1.0 and 2.0), recognised from the event itself ([`event`]).
//!
//! A valid bearer token gets the routes its roles may call under the API owner's rules
//! (`ROUTE_RULES`, [`routerules`]): an IAM policy naming every one of them (so that API
//! Gateway's authorizer cache, which reuses one answer for every later call with the token, is
//! right for each route), or, for HTTP API simple responses, a yes or no for the route of the
//! event (cached per route: the template's identity includes `$context.routeKey`). A route
//! not granted is a 403. `principalId` = `sub`, and the user's `sub`, `email`, `name` and
//! `roles` are in `context`. Anything else — no token, a bad token, a malformed event — ends in
//! the error `Unauthorized`, which API Gateway answers with a 401. [`response`] has each
//! flavour's wire format.

pub mod decision;
pub mod documents;
pub mod event;
pub mod header;
pub mod policy;
pub mod response;
pub mod settings;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use authcore::token::now_seconds;
use authcore::{Claims, Config, Key, KeyRing, TokenVerifier};
use lambda_runtime::LambdaEvent;
use routerules::Rules;

use crate::documents::{Document, Documents};
use crate::header::bearer_token;
use crate::policy::{MethodArn, PolicyBuilder};

pub use decision::{Decision, Outcome, Reason, Verdict};

/// The metric counting key ring reloads, by `Result` (`loaded`, `failed`).
pub const KEY_RING_RELOADS: &str = "KeyRingReloads";
pub use event::{AuthorizerEvent, AuthorizerInput, Kind};
pub use response::{Answer, UNAUTHORIZED, Unauthorized, V2Format};
pub use settings::Settings;

/// How long after one key-ring refresh another may happen: a flood of tokens with forged
/// `kid`s costs at most one Secrets Manager call per interval.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// What the authorizer needs for every request, built once at start-up.
#[derive(Debug)]
pub struct State {
    verifier: RwLock<TokenVerifier>,
    config: Config,
    refresher: Option<Refresher>,
    v2_format: V2Format,
    rules: Rules,
    documents: Documents,
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

impl State {
    /// Builds the verifier for `key` with the configured issuer, audience and leeway.
    pub fn new(key: impl Into<Key>, config: &Config) -> Self {
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
            v2_format: V2Format::default(),
            rules: Rules::default(),
            documents: Documents::default(),
        }
    }

    /// Grants genuine tokens the routes `rules` let their roles call (without rules, none).
    pub fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self.documents = Documents::default();
        self
    }

    /// Answers payload 2.0 events in `format` (simple responses unless told otherwise).
    pub fn with_v2_format(mut self, format: V2Format) -> Self {
        self.v2_format = format;
        self
    }

    /// How payload 2.0 events are answered.
    pub fn v2_format(&self) -> V2Format {
        self.v2_format
    }

    /// Builds the state from `settings`, loading the keys once: `JWT_SECRET` (and
    /// `JWT_PREVIOUS_SECRET`), or the Secrets Manager secret of `JWT_SECRET_ARN`, which is
    /// reloaded when a token names a key not yet known.
    pub async fn start(settings: &Settings) -> Result<Self, secrets::SecretError> {
        let (ring, source) = secrets::key_ring(&settings.token.key_source, &settings.aws).await?;
        let refresher = source.map(|s| Refresher::new(s, REFRESH_INTERVAL));
        Ok(Self::from_ring(&ring, &settings.token, refresher)
            .with_v2_format(settings.v2_format)
            .with_rules(settings.rules.clone()))
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
                metrics::counter!(KEY_RING_RELOADS, "Result" => "loaded").increment(1);
                *self.verifier.write().unwrap_or_else(|e| e.into_inner()) = verifier;
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "key ring reload failed");
                metrics::counter!(KEY_RING_RELOADS, "Result" => "failed").increment(1);
                false
            }
        }
    }
}

/// Decides one request at time `now` (seconds since the epoch). Pure: no I/O, no logging.
pub fn authorize(state: &State, input: &AuthorizerInput, now: u64) -> Decision {
    let event = match input {
        AuthorizerInput::Event(event) => event,
        AuthorizerInput::Unreadable { reason, .. } => {
            return Decision::unauthorized(reason.clone());
        }
    };
    let header = match event.authorization() {
        Ok(header) => header,
        Err(reason) => return Decision::unauthorized(reason),
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
    decide(state, claims, event)
}

/// The decision for a genuine token's `claims` on the request of `event`.
fn decide(state: &State, claims: Claims, event: &AuthorizerEvent) -> Decision {
    let Claims {
        sub,
        jti,
        email,
        name,
        roles,
        ..
    } = claims;
    let context = vec![
        ("sub", sub.clone()),
        ("email", email.unwrap_or_default()),
        ("name", name.unwrap_or_default()),
        ("roles", roles.join(",")),
    ];
    // Without a readable method or route ARN there is nothing to allow: the policy denies all.
    let Some(Ok(arn)) = event.arn().map(MethodArn::parse) else {
        let verdict = Verdict::Grant {
            principal: sub,
            allowed: false,
            policy: Document::DenyAll,
            context,
        };
        return Decision {
            verdict,
            reason: Reason::BadMethodArn,
            jti,
        };
    };
    let allowed = request_rule(&state.rules, event, &arn).is_some_and(|r| r.who.admits(&roles));
    // A simple response is a yes or no for this route: no policy to work out or write.
    let simple = event.kind() == Kind::HttpV2 && state.v2_format == V2Format::Simple;
    let policy = match simple {
        true => Document::DenyAll,
        false => {
            let stage = arn.stage_prefix();
            let build = || document(&stage, &state.rules.policy(&roles));
            state.documents.get_or_build(&stage, &roles, build)
        }
    };
    let verdict = Verdict::Grant {
        principal: sub,
        allowed,
        policy,
        context,
    };
    Decision {
        verdict,
        reason: if allowed {
            Reason::Valid
        } else {
            Reason::NotGranted
        },
        jti,
    }
}

/// The document of `policy` on the stage whose route ARNs start with `stage`: an Allow of the
/// routes granted, a Deny of those they must not reach.
fn document(stage: &str, policy: &routerules::Policy<'_>) -> Document {
    let resource = |verb: &str, pattern: &str| [stage, verb, "/", pattern].concat();
    let allow = policy
        .allow
        .iter()
        .flat_map(|r| {
            r.route
                .verbs()
                .iter()
                .map(|verb| resource(verb, &r.pattern))
        })
        .collect();
    let deny = policy
        .deny
        .iter()
        .map(|d| resource(d.verb, &d.rule.pattern))
        .collect();
    Document::of(
        &PolicyBuilder::new()
            .allow_all(allow)
            .deny_all(deny)
            .document(),
    )
}

/// The rule of the request's route: an HTTP API 2.0 event's route key (`ANY` when no rule names
/// its method), else the route API Gateway sends the ARN's verb and path to.
fn request_rule<'r>(
    rules: &'r Rules,
    event: &AuthorizerEvent,
    arn: &MethodArn<'_>,
) -> Option<&'r routerules::Rule> {
    match event.route_key() {
        Some(key) => {
            let (method, path) = key.split_once(' ')?;
            rules.rule_for_key(method, path)
        }
        None => rules.rule_of(arn.verb, arn.resource),
    }
}

/// The Lambda handler: decides, logs one event, answers in the format of the event's flavour.
pub async fn handler(
    state: &State,
    event: LambdaEvent<AuthorizerInput>,
) -> Result<Answer, Unauthorized> {
    let mut decision = authorize(state, &event.payload, now_seconds());
    // A key this instance has not loaded yet (a rotation): reload the ring, at most once a minute.
    if decision.names_unknown_key() && state.refresh_keys().await {
        decision = authorize(state, &event.payload, now_seconds());
    }
    let kind = event.payload.kind();
    tracing::info!(
        kind = kind.map_or("unknown", Kind::as_str),
        outcome = decision.outcome().as_str(),
        reason = decision.reason.as_str(),
        sub = decision.sub(),
        jti = decision.jti.as_deref(),
        request_id = %event.context.request_id,
        "authorizer decision"
    );
    decision.count();
    response::answer(kind, state.v2_format, decision.verdict)
}
