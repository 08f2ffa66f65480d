//! Smart lockout: failed sign-ins slow down whoever fails, not the account's owner.
//!
//! Counters live in the attempts table under keyed hashes, never on the user item, so that an
//! email with no account is counted, held and answered exactly like a real one.
//!
//! | counter | key | holds | when |
//! |---|---|---|---|
//! | account and source | email, source address | that source, for that account | from the `threshold`-th attempt: 1 s, doubling, up to `max_hold` |
//! | source | source address | that source, for every account (password spraying) | from `source_threshold` failures |
//! | account | email | every source not known to the account | from `account_ceiling` failures |
//!
//! Every counter forgets after `quiet` seconds without a failure (after its hold ends), and no
//! hold lasts longer than `max_hold`. A source that signed in to the account successfully in
//! the last [`KNOWN_SOURCE_DAYS`] days is not held by the account-wide ceiling.
//!
//! The attempt is reserved before argon2 runs, with one conditional write on the account and
//! source counter (compare-and-set on its version): however many guesses arrive at once, at
//! most `threshold` passwords are checked before the hold starts. Then [`Guard::settle`]
//! clears the counter after a success, or counts the failure against the source and the
//! account.

use std::net::IpAddr;

use authcore::KeyedHash;
use userstore::StoreError;
use userstore::attempts::{AttemptStore, Counter, CounterKey};

/// How long a successful source stays known to the account, in days.
pub const KNOWN_SOURCE_DAYS: u64 = 30;
/// How often a reservation that lost a race is tried again before the attempt is held.
const MAX_RACES: usize = 8;

/// Why a setting of the policy cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be a whole number from {min} to {max}, not {value:?}")]
pub struct PolicyError {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// The smallest accepted.
    pub min: u64,
    /// The largest accepted.
    pub max: u64,
}

/// The lockout settings (environment variables, filled by the template's parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// `LOCKOUT_THRESHOLD`: attempts from one source on one account before holds start.
    pub threshold: u64,
    /// `LOCKOUT_MAX_SECONDS`: the longest hold.
    pub max_hold: u64,
    /// `LOCKOUT_RESET_SECONDS`: quiet seconds after which a counter starts again.
    pub quiet: u64,
    /// `SOURCE_FAILURE_THRESHOLD`: failures from one source, over all accounts, before it is held.
    pub source_threshold: u64,
    /// `ACCOUNT_FAILURE_CEILING`: failures on one account, from all sources, before unknown
    /// sources are held.
    pub account_ceiling: u64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            threshold: 5,
            max_hold: 900,
            quiet: 900,
            source_threshold: 20,
            account_ceiling: 100,
        }
    }
}

impl LockoutPolicy {
    /// The policy from the environment; unset variables keep their defaults.
    pub fn from_env() -> Result<Self, PolicyError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The policy from `lookup` (the environment, or a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, PolicyError> {
        let d = Self::default();
        let read = |name: &'static str, default: u64, min: u64, max: u64| match lookup(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(PolicyError {
                    name,
                    value: v,
                    min,
                    max,
                }),
            },
        };
        Ok(Self {
            threshold: read("LOCKOUT_THRESHOLD", d.threshold, 1, 100)?,
            max_hold: read("LOCKOUT_MAX_SECONDS", d.max_hold, 1, 86_400)?,
            quiet: read("LOCKOUT_RESET_SECONDS", d.quiet, 60, 86_400)?,
            source_threshold: read("SOURCE_FAILURE_THRESHOLD", d.source_threshold, 1, 100_000)?,
            account_ceiling: read("ACCOUNT_FAILURE_CEILING", d.account_ceiling, 1, 1_000_000)?,
        })
    }

    /// Seconds to hold after the `n`-th counted event of a counter whose limit is `limit`:
    /// none below it, then 1 s doubling with each one, up to `max_hold`.
    pub fn hold_seconds(&self, n: u64, limit: u64) -> u64 {
        match n.checked_sub(limit) {
            None => 0,
            Some(over) if over >= 63 => self.max_hold,
            Some(over) => (1u64 << over).min(self.max_hold),
        }
    }
}

/// Where a sign-in comes from: the client address API Gateway saw (an IPv6 address by its /64,
/// which one subscriber usually holds whole). Never `X-Forwarded-For`, which any client writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source(String);

impl Source {
    /// The source for `address` (`requestContext.identity.sourceIp` on REST APIs,
    /// `requestContext.http.sourceIp` on HTTP APIs); `unknown` without one (a direct invoke).
    pub fn from_address(address: Option<&str>) -> Self {
        match address.and_then(|a| a.trim().parse::<IpAddr>().ok()) {
            Some(IpAddr::V4(v4)) => Self(v4.to_string()),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(v4.to_string()),
                None => {
                    let s = v6.segments();
                    Self(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
                }
            },
            None => Self("unknown".to_owned()),
        }
    }

    /// As counted.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

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

    /// The same guard with `policy`.
    pub fn with_policy(self, policy: LockoutPolicy) -> Self {
        Self { policy, ..self }
    }

    /// The policy.
    pub fn policy(&self) -> &LockoutPolicy {
        &self.policy
    }

    /// The counters of an attempt on `email` (normalised, or as typed when it is no address)
    /// from `source`.
    fn keys(&self, email: &str, source: &Source) -> Reservation {
        let account = format!("a#{}", self.hash.of(&["account", email]));
        let from = format!("s#{}", self.hash.of(&["source", source.as_str()]));
        Reservation {
            pair: CounterKey::new(&account, format!("src#{}", &from[2..])),
            known: CounterKey::new(&account, format!("ok#{}", &from[2..])),
            source: CounterKey::new(&from, "*"),
            account: CounterKey::new(&account, "*"),
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
        let r = self.keys(email, &Source::from_address(None));
        let sources = self.store.remove_all(&r.account.pk, "src#").await?;
        self.store.remove(&r.account).await?;
        Ok(sources + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_start_at_the_limit_and_double_up_to_the_maximum() {
        let p = LockoutPolicy::default();
        let want = [
            (1, 0),
            (4, 0),
            (5, 1),
            (6, 2),
            (7, 4),
            (14, 512),
            (15, 900),
            (99, 900),
        ];
        for (n, secs) in want {
            assert_eq!(p.hold_seconds(n, 5), secs, "n={n}");
        }
        assert_eq!(p.hold_seconds(u64::MAX, 5), 900);
        assert_eq!(p.hold_seconds(20, 20), 1);
    }

    #[test]
    fn sources_are_addresses_and_ipv6_counts_by_its_64() {
        assert_eq!(
            Source::from_address(Some("198.51.100.7")).as_str(),
            "198.51.100.7"
        );
        assert_eq!(
            Source::from_address(Some("2001:db8:1:2:aaaa::1")),
            Source::from_address(Some("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_eq!(
            Source::from_address(Some("2001:db8:1:2::1")).as_str(),
            "2001:db8:1:2::/64"
        );
        assert_ne!(
            Source::from_address(Some("2001:db8:1:2::1")),
            Source::from_address(Some("2001:db8:1:3::1"))
        );
        assert_eq!(
            Source::from_address(Some("::ffff:198.51.100.7")).as_str(),
            "198.51.100.7"
        );
        for junk in [
            None,
            Some(""),
            Some("not an address"),
            Some("1.2.3.4, 5.6.7.8"),
        ] {
            assert_eq!(Source::from_address(junk).as_str(), "unknown", "{junk:?}");
        }
    }

    #[test]
    fn settings_are_read_with_bounds() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            LockoutPolicy::from_lookup(env(&[])),
            Ok(LockoutPolicy::default())
        );
        let p = LockoutPolicy::from_lookup(env(&[
            ("LOCKOUT_THRESHOLD", "3"),
            ("LOCKOUT_MAX_SECONDS", "60"),
        ]))
        .unwrap();
        assert_eq!((p.threshold, p.max_hold), (3, 60));
        for bad in [
            ("LOCKOUT_THRESHOLD", "0"),
            ("LOCKOUT_RESET_SECONDS", "5"),
            ("LOCKOUT_MAX_SECONDS", "x"),
        ] {
            let err = LockoutPolicy::from_lookup(|k| (k == bad.0).then(|| bad.1.to_string()))
                .unwrap_err();
            assert_eq!(err.name, bad.0);
        }
    }
}
