//! What every request needs, built once at start-up.

use authcore::token::refresh::Successors;
use authcore::{AllowedOrigins, Config, Key, KeyRing, PasswordHasher, SigningKey, TokenIssuer};
use lockout::{Guard, LockoutPolicy};
use userstore::UserStore;
use userstore::attempts::AttemptStore;
use userstore::sessions::SessionStore;

use crate::discovery::Discovery;
use crate::grant::refresh::SessionPolicy;
use crate::pad::RefusalPad;
use crate::settings::Settings;

/// What every request needs, built once at start-up.
#[derive(Debug)]
pub struct State {
    /// The users table.
    pub users: UserStore,
    /// The smart lockout, over the attempts table.
    pub guard: Guard,
    /// Signs tokens.
    pub issuer: TokenIssuer,
    /// The public keys and the issuer's metadata (404 with an HS256 key).
    pub discovery: Discovery,
    /// Checks and, when weaker than current, replaces password hashes.
    pub passwords: PasswordHasher,
    /// Pads the cheaper refusals to the time a wrong password takes.
    pub pad: RefusalPad,
    /// Pads a refresh token's lookup that finds nothing to the time one that finds it takes.
    pub token_lookup: RefusalPad,
    /// The origins whose pages may read the answers (`ALLOWED_ORIGINS`).
    pub cors: AllowedOrigins,
    /// The sessions table: refresh tokens are issued only with one.
    pub sessions: Option<SessionStore>,
    /// The sessions' lifetimes and retry window.
    pub session_policy: SessionPolicy,
    /// Derives rotated refresh tokens' successors; without it, retries are off (a token
    /// presented again is reuse).
    pub successors: Option<Successors>,
}

impl State {
    /// Builds the state from `settings`: loads the signing, lockout and refresh keys, builds
    /// the DynamoDB client once for the three tables.
    pub async fn start(settings: &Settings) -> Result<Self, secrets::SecretError> {
        // Every key in one round trip's time, through one Secrets Manager client.
        let (signing, lockout) = (&settings.token.key_source, &settings.lockout_key);
        let refresh = settings.refresh_key.as_ref();
        let sources: Vec<_> = [signing, lockout].into_iter().chain(refresh).collect();
        let loader = secrets::Loader::new(&settings.aws, &sources);
        let refresh_key = async {
            match refresh {
                Some(source) => loader.current(source).await.map(Some),
                None => Ok(None),
            }
        };
        let (ring, lockout_key, refresh_key) =
            tokio::join!(loader.ring(signing), loader.current(lockout), refresh_key);
        let ((ring, _), lockout_key, refresh_key) = (ring?, lockout_key?, refresh_key?);
        ring.check_algorithm(settings.token.signing_algorithm)
            .map_err(|source| secrets::SecretError::Unusable {
                arn: "the signing key (JWT_SECRET_ARN or JWT_SECRET)".to_owned(),
                source,
            })?;
        let sdk = settings.aws.sdk_config(userstore::ENDPOINT_VAR).build();
        let client = userstore::client(&sdk, settings.dynamodb_timeout);
        let users = UserStore::new(client.clone(), &settings.users_table);
        let sessions = SessionStore::new(client.clone(), &settings.sessions_table);
        let attempts = AttemptStore::new(client, &settings.attempts_table);
        let guard = Guard::new(
            attempts,
            settings.lockout,
            lockout::counter_hash(&lockout_key),
        );
        let mut state = Self::from_ring(&ring, &settings.token, users, guard)
            .with_discovery(Discovery::new(&ring, &settings.token, &settings.scopes))
            .with_sessions(sessions, settings.sessions)
            .with_cors(settings.cors.clone());
        state.successors = refresh_key.as_ref().map(Successors::new);
        Ok(state)
    }

    /// Builds the state from parts, signing with the ring's current key (named in `kid`). It
    /// publishes nothing until [`State::with_discovery`] gives it its documents.
    pub fn from_ring(ring: &KeyRing, config: &Config, users: UserStore, guard: Guard) -> Self {
        Self::with_issuer(TokenIssuer::from_ring(ring, config), users, guard)
    }

    /// Builds the state from parts, signing with `key` (no `kid`).
    pub fn new(key: impl Into<Key>, config: &Config, users: UserStore, guard: Guard) -> Self {
        Self::with_issuer(TokenIssuer::new(key, config), users, guard)
    }

    /// The state serving `discovery` as its discovery documents.
    pub fn with_discovery(mut self, discovery: Discovery) -> Self {
        self.discovery = discovery;
        self
    }

    fn with_issuer(issuer: TokenIssuer, users: UserStore, guard: Guard) -> Self {
        Self {
            users,
            guard,
            issuer,
            discovery: Discovery::default(),
            passwords: PasswordHasher::default(),
            pad: RefusalPad::default(),
            token_lookup: RefusalPad::default(),
            cors: AllowedOrigins::None,
            sessions: None,
            session_policy: SessionPolicy::default(),
            successors: None,
        }
    }

    /// Starts sessions (refresh tokens) in `store`, with lifetimes `policy`.
    pub fn with_sessions(mut self, store: SessionStore, policy: SessionPolicy) -> Self {
        self.sessions = Some(store);
        self.session_policy = policy;
        self
    }

    /// Lets a token presented again within the policy's retry window get the same successor,
    /// derived with `key` (`REFRESH_KEY`).
    pub fn with_refresh_key(mut self, key: &SigningKey) -> Self {
        self.successors = Some(Successors::new(key));
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
