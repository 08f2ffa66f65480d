//! The guard: reserves an attempt before any password is checked, and settles it after.

use authcore::{KeyedHash, SigningKey};
use userstore::StoreError;
use userstore::attempts::{AttemptStore, Counter, CounterKey, Digest};

use crate::{LockoutPolicy, Source};

/// How long a successful source stays known to the account, in days.
pub const KNOWN_SOURCE_DAYS: u64 = 30;
/// How often a reservation that lost a race is tried again before the attempt is held.
const MAX_RACES: usize = 8;

/// Which counter holds an attempt: the words of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldBy {
    /// Too many attempts from this source on this account.
    AccountAndSource,
    /// Too many failures from this source over all accounts.
    Source,
    /// Too many failures on this account from all sources; this source is not known to it.
    Account,
    /// Too many attempts at the same instant from this source on this account.
    Contention,
}

impl HeldBy {
    /// The log word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountAndSource => "account_and_source",
            Self::Source => "source",
            Self::Account => "account_ceiling",
            Self::Contention => "contention",
        }
    }
}

/// Why an attempt may not run now.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// Held: try again in `retry_after` seconds.
    #[error("held by the {} counter for {retry_after} s", by.as_str())]
    Held {
        /// Seconds until it may run.
        retry_after: u64,
        /// Which counter holds it.
        by: HeldBy,
    },
    /// The attempts table failed: the attempt is refused (never let through unguarded).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An attempt reserved by [`Guard::reserve`], to [`Guard::settle`] once the password is checked.
#[derive(Debug, Clone)]
pub struct Reservation {
    pair: CounterKey,
    known: CounterKey,
    source: CounterKey,
    account: CounterKey,
}

/// The guard: the policy, the attempts table and the keyed hash naming its counters. Build it
/// once.
#[derive(Debug, Clone)]
pub struct Guard {
    store: AttemptStore,
    policy: LockoutPolicy,
    hash: KeyedHash,
}

impl Guard {
    /// A guard over `store`, naming counters with `hash`.
    pub fn new(store: AttemptStore, policy: LockoutPolicy, hash: KeyedHash) -> Self {
        Self {
            store,
            policy,
            hash,
        }
    }

    /// A guard over `store`, naming counters with the keyed hash of the lockout key `key`.
    pub fn for_key(store: AttemptStore, policy: LockoutPolicy, key: &SigningKey) -> Self {
        Self::new(store, policy, crate::counter_hash(key))
    }

    /// The same guard with `policy`.
    pub fn with_policy(self, policy: LockoutPolicy) -> Self {
        Self { policy, ..self }
    }

    /// The policy.
    pub fn policy(&self) -> &LockoutPolicy {
        &self.policy
    }

    /// The keyed hash naming the account `email` (normalised, or as typed when it is no
    /// address).
    fn account(&self, email: &str) -> Digest {
        Digest(self.hash.of(&["account", email]))
    }

    /// The counters of an attempt on `email` from `source`.
    fn keys(&self, email: &str, source: &Source) -> Reservation {
        let account = self.account(email);
        let source = Digest(self.hash.of(&["source", source.as_str()]));
        Reservation {
            pair: CounterKey::Pair {
                account: account.clone(),
                source: source.clone(),
            },
            known: CounterKey::Known {
                account: account.clone(),
                source: source.clone(),
            },
            source: CounterKey::Source(source),
            account: CounterKey::Account(account),
        }
    }

    /// Reserves an attempt on `email` from `source` at `now_ms` (milliseconds since the epoch),
    /// before any password is checked: held if a counter says so, else counted with one
    /// conditional write. Holds are kept in milliseconds, so that a one-second hold lasts one
    /// second; expiry (the table's TTL) is in seconds.
    pub async fn reserve(
        &self,
        email: &str,
        source: &Source,
        now_ms: u64,
    ) -> Result<Reservation, GuardError> {
        let now = now_ms / 1000;
        let r = self.keys(email, source);
        let p = &self.policy;
        for _ in 0..MAX_RACES {
            let keys = [
                r.pair.clone(),
                r.known.clone(),
                r.source.clone(),
                r.account.clone(),
            ];
            let [pair, known, from, account] =
                self.store.get_many(&keys).await?.try_into().map_err(|_| {
                    StoreError::Unavailable("attempts: wrong number of counters".into())
                })?;
            let held = |c: &Counter, limit: u64| c.live(now) && c.n >= limit && c.next_at > now_ms;
            let hold = if held(&pair, 0) {
                Some((pair.next_at, HeldBy::AccountAndSource))
            } else if held(&from, p.source_threshold) {
                Some((from.next_at, HeldBy::Source))
            } else if held(&account, p.account_ceiling) && !known.live(now) {
                Some((account.next_at, HeldBy::Account))
            } else {
                None
            };
            if let Some((until, by)) = hold {
                return Err(GuardError::Held {
                    retry_after: (until - now_ms).div_ceil(1000),
                    by,
                });
            }
            let n = if pair.live(now) { pair.n + 1 } else { 1 };
            let next_at = now_ms + p.hold_seconds(n, p.threshold) * 1000;
            let next = Counter {
                n,
                next_at,
                expires_at: next_at.div_ceil(1000) + p.quiet,
                version: 0,
            };
            if self
                .store
                .compare_and_set(&r.pair, pair.version, next)
                .await?
            {
                return Ok(r);
            }
        }
        Err(GuardError::Held {
            retry_after: 1,
            by: HeldBy::Contention,
        })
    }

    /// Settles a reserved attempt at `now_ms`: a success clears its counter and remembers the
    /// source; a failure counts against the source and the account.
    pub async fn settle(
        &self,
        r: &Reservation,
        succeeded: bool,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let now = now_ms / 1000;
        if succeeded {
            let (cleared, marked) = tokio::join!(
                self.store.remove(&r.pair),
                self.store.mark(&r.known, now + KNOWN_SOURCE_DAYS * 86_400)
            );
            return cleared.and(marked);
        }
        let p = &self.policy;
        let (from, account) = tokio::join!(
            self.count(&r.source, p.source_threshold, now_ms),
            self.count(&r.account, p.account_ceiling, now_ms)
        );
        from.and(account)
    }

    /// Counts a failure at `key`; from `limit` on, holds the next attempt.
    async fn count(&self, key: &CounterKey, limit: u64, now_ms: u64) -> Result<(), StoreError> {
        let p = &self.policy;
        let now = now_ms / 1000;
        let n = self.store.add(key, now, now + p.max_hold + p.quiet).await?;
        let hold = p.hold_seconds(n, limit);
        if hold > 0 {
            self.store.hold_until(key, now_ms + hold * 1000).await?;
        }
        Ok(())
    }

    /// Clears every counter of `email` (all sources, and the account-wide one): `authctl user
    /// unlock`. Returns how many were removed.
    pub async fn unlock(&self, email: &str) -> Result<usize, StoreError> {
        let account = self.account(email);
        let sources = self.store.remove_sources(&account).await?;
        self.store.remove(&CounterKey::Account(account)).await?;
        Ok(sources + 1)
    }
}
