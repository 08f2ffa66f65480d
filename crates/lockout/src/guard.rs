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
    /// Too many failures from this source over all accounts; this source never signed in to
    /// this account.
    Source,
    /// Too many failures on this account from all sources in the current window; this source
    /// never signed in to it.
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
    /// When the account counter's window ends, in seconds since the epoch.
    window_end: u64,
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

    /// The counters of an attempt on `email` from `source` at `now` (seconds).
    fn keys(&self, email: &str, source: &Source, now: u64) -> Reservation {
        let account = self.account(email);
        let length = self.policy.account_window.max(1);
        let window = now / length;
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
            account: CounterKey::Account { account, window },
            window_end: (window + 1) * length,
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
        let r = self.keys(email, source, now);
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
            // A source that signed in to the account before is held by its own counter only:
            // neither a spraying hold on its address (a shared office, a carrier's NAT) nor the
            // account-wide ceiling keeps the owner out of a network they use.
            let known = known.live(now);
            let hold = if held(&pair, 0) {
                Some((pair.next_at, HeldBy::AccountAndSource))
            } else if held(&from, p.source_threshold) && !known {
                Some((from.next_at, HeldBy::Source))
            } else if account.live(now) && account.n >= p.account_ceiling && !known {
                Some((r.window_end * 1000, HeldBy::Account))
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
        // The account's window counter stops counting when its window ends.
        let (from, account) = tokio::join!(
            self.count(&r.source, p.source_threshold, now_ms),
            self.store.add(&r.account, now, r.window_end)
        );
        from.and(account.map(|_| ()))
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
        let windows = self.store.remove_windows(&account).await?;
        Ok(sources + windows)
    }
}
