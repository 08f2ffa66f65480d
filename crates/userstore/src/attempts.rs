//! The attempts table: counters of failed sign-ins, apart from the users table, so that an email
//! with no account is counted exactly like one with an account. Storage only: what the counts
//! mean is the `lockout` crate's business.
//!
//! - Table name: `ATTEMPTS_TABLE`. Partition key `pk`, sort key `sk` (strings), written only by
//!   [`CounterKey`] from keyed hashes ([`Digest`]), never an email or an address in clear.
//! - `n`: the count. `next_at`: milliseconds since the epoch before which the next attempt is
//!   held.
//!   `expires_at`: when the item stops counting (the table's TTL attribute; DynamoDB deletes
//!   expired items a day or two late, so readers ignore them themselves). `v`: a version, for
//!   compare-and-set.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, KeysAndAttributes,
    ReturnValue, ScalarAttributeType, TimeToLiveSpecification,
};

use crate::{Failure, StoreError, classify};

/// Attribute names of the attempts table.
pub mod attr {
    /// Partition key.
    pub const PK: &str = "pk";
    /// Sort key.
    pub const SK: &str = "sk";
    /// The count.
    pub const N: &str = "n";
    /// When the next attempt may run, milliseconds since the epoch.
    pub const NEXT_AT: &str = "next_at";
    /// When the item stops counting, seconds since the epoch (the TTL attribute).
    pub const EXPIRES_AT: &str = "expires_at";
    /// Version, for compare-and-set.
    pub const VERSION: &str = "v";
}

/// A keyed hash naming an account or a source (computed by the caller; never an email or an
/// address in clear).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(pub String);

/// Where a counter is stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CounterKey {
    /// Attempts on an account from one source.
    Pair {
        /// The account.
        account: Digest,
        /// The source.
        source: Digest,
    },
    /// A marker: the source signed in to the account successfully.
    Known {
        /// The account.
        account: Digest,
        /// The source.
        source: Digest,
    },
    /// Failures from one source over all accounts.
    Source(Digest),
    /// Failures on one account from all sources in one window of time.
    Account {
        /// The account.
        account: Digest,
        /// The window's number: its start in seconds since the epoch, over its length.
        window: u64,
    },
}

impl CounterKey {
    const ACCOUNT: &'static str = "a#";
    const SOURCE: &'static str = "s#";
    const PAIR: &'static str = "src#";
    const KNOWN: &'static str = "ok#";
    const WINDOW: &'static str = "w#";
    const WHOLE: &'static str = "*";

    /// The stored `(pk, sk)`: the one place the table's keys are spelled.
    fn storage(&self) -> (String, String) {
        let account = |d: &Digest| format!("{}{}", Self::ACCOUNT, d.0);
        match self {
            Self::Pair { account: a, source } => {
                (account(a), format!("{}{}", Self::PAIR, source.0))
            }
            Self::Known { account: a, source } => {
                (account(a), format!("{}{}", Self::KNOWN, source.0))
            }
            Self::Source(d) => (format!("{}{}", Self::SOURCE, d.0), Self::WHOLE.to_owned()),
            Self::Account { account: a, window } => {
                (account(a), format!("{}{window}", Self::WINDOW))
            }
        }
    }

    fn item(&self) -> HashMap<String, AttributeValue> {
        let (pk, sk) = self.storage();
        HashMap::from([
            (attr::PK.to_owned(), AttributeValue::S(pk)),
            (attr::SK.to_owned(), AttributeValue::S(sk)),
        ])
    }
}

/// One counter, as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    /// The count.
    pub n: u64,
    /// Milliseconds since the epoch before which the next attempt is held.
    pub next_at: u64,
    /// Seconds since the epoch when it stops counting.
    pub expires_at: u64,
    /// Its version; 0 for a counter that is not stored.
    pub version: u64,
}

impl Counter {
    /// Whether it still counts at `now` (TTL deletion lags: an expired item may still be read).
    pub fn live(&self, now: u64) -> bool {
        self.version > 0 && self.expires_at > now
    }
}

/// The attempts table.
#[derive(Debug, Clone)]
pub struct AttemptStore {
    client: Client,
    table: String,
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().unwrap_or(0),
        _ => 0,
    }
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

impl AttemptStore {
    /// The table `table`, reached through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn unavailable<E, R>(&self, err: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        crate::unconditional(&self.table, err)
    }

    /// The counters at `keys`, in order, in one strongly consistent read; a missing one is the
    /// default (version 0).
    pub async fn get_many(&self, keys: &[CounterKey]) -> Result<Vec<Counter>, StoreError> {
        let mut wanted = KeysAndAttributes::builder().consistent_read(true);
        for key in keys {
            wanted = wanted.keys(key.item());
        }
        let wanted = wanted
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut found: HashMap<(String, String), Counter> = HashMap::new();
        let mut request = HashMap::from([(self.table.clone(), wanted)]);
        // BatchGetItem may leave keys unprocessed under load: ask again for those.
        for _ in 0..5 {
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(|e| self.unavailable(e))?;
            for item in out
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default()
            {
                let text = |name| match item.get(name) {
                    Some(AttributeValue::S(s)) => s.clone(),
                    _ => String::new(),
                };
                let key = (text(attr::PK), text(attr::SK));
                let counter = Counter {
                    n: number(&item, attr::N),
                    next_at: number(&item, attr::NEXT_AT),
                    expires_at: number(&item, attr::EXPIRES_AT),
                    version: number(&item, attr::VERSION).max(1),
                };
                found.insert(key, counter);
            }
            match out.unprocessed_keys.filter(|u| !u.is_empty()) {
                Some(rest) => request = rest,
                None => {
                    return Ok(keys
                        .iter()
                        .map(|k| found.get(&k.storage()).copied().unwrap_or_default())
                        .collect());
                }
            }
        }
        Err(StoreError::Unavailable(
            "attempts: keys left unprocessed".into(),
        ))
    }

    /// Stores `next` at `key` if the stored version is still `expected` (0: absent): one
    /// conditional write. `Ok(false)` when another writer got there first.
    pub async fn compare_and_set(
        &self,
        key: &CounterKey,
        expected: u64,
        next: Counter,
    ) -> Result<bool, StoreError> {
        let mut item = key.item();
        item.insert(attr::N.to_owned(), n(next.n));
        item.insert(attr::NEXT_AT.to_owned(), n(next.next_at));
        item.insert(attr::EXPIRES_AT.to_owned(), n(next.expires_at));
        item.insert(attr::VERSION.to_owned(), n(expected + 1));
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = if expected == 0 {
            request
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", attr::PK)
        } else {
            request
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", attr::VERSION)
                .expression_attribute_values(":v", n(expected))
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) => match classify(&self.table, e) {
                Failure::ConditionFailed => Ok(false),
                Failure::Store(e) => Err(e),
            },
        }
    }

    /// Counts one more at `key` (atomically, `ADD`), starting again from one when the stored
    /// count has expired; it then counts until `expires_at`. Returns the new count.
    pub async fn add(
        &self,
        key: &CounterKey,
        now: u64,
        expires_at: u64,
    ) -> Result<u64, StoreError> {
        let live = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .update_expression("ADD #n :one SET #e = :exp")
            .condition_expression("attribute_not_exists(#pk) OR #e > :now")
            .expression_attribute_names("#n", attr::N)
            .expression_attribute_names("#e", attr::EXPIRES_AT)
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match live {
            Ok(out) => Ok(out.attributes.map(|a| number(&a, attr::N)).unwrap_or(1)),
            Err(e) => match classify(&self.table, e) {
                // Expired: start again at one (a concurrent restart is harmless: both write 1).
                Failure::ConditionFailed => {
                    self.mark(key, expires_at).await?;
                    Ok(1)
                }
                Failure::Store(e) => Err(e),
            },
        }
    }

    /// Holds the next attempt at `key` until `next_at` (a counter that exists).
    pub async fn hold_until(&self, key: &CounterKey, next_at: u64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .update_expression("SET #t = :t")
            .expression_attribute_names("#t", attr::NEXT_AT)
            .expression_attribute_values(":t", n(next_at))
            .send()
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(())
    }

    /// Stores a marker at `key` (a counter of one) until `expires_at`.
    pub async fn mark(&self, key: &CounterKey, expires_at: u64) -> Result<(), StoreError> {
        let mut item = key.item();
        item.insert(attr::N.to_owned(), n(1));
        item.insert(attr::EXPIRES_AT.to_owned(), n(expires_at));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(())
    }

    /// Removes the counter at `key`, if any.
    pub async fn remove(&self, key: &CounterKey) -> Result<(), StoreError> {
        let (pk, sk) = key.storage();
        self.delete(&pk, &sk).await
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(attr::PK, AttributeValue::S(pk.to_owned()))
            .key(attr::SK, AttributeValue::S(sk.to_owned()))
            .send()
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(())
    }

    /// Removes every account-and-source counter of `account` (every source's); returns how many.
    pub async fn remove_sources(&self, account: &Digest) -> Result<usize, StoreError> {
        self.remove_prefixed(account, CounterKey::PAIR).await
    }

    /// Removes every account-wide window counter of `account`; returns how many.
    pub async fn remove_windows(&self, account: &Digest) -> Result<usize, StoreError> {
        self.remove_prefixed(account, CounterKey::WINDOW).await
    }

    /// Removes the items of `account`'s partition whose sort key starts with `prefix`.
    async fn remove_prefixed(&self, account: &Digest, prefix: &str) -> Result<usize, StoreError> {
        let (pk, _) = CounterKey::Account {
            account: account.clone(),
            window: 0,
        }
        .storage();
        let mut removed = 0;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", attr::PK)
                .expression_attribute_names("#sk", attr::SK)
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.unavailable(e))?;
            for item in out.items.unwrap_or_default() {
                if let Some(AttributeValue::S(sk)) = item.get(attr::SK) {
                    self.delete(&pk, sk).await?;
                    removed += 1;
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(removed);
            }
        }
    }

    /// Creates the table (on-demand, TTL on `expires_at`) for local use; `Ok(false)` if it
    /// exists already.
    pub async fn create_table(&self) -> Result<bool, StoreError> {
        let bad = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Unavailable(e.to_string());
        let mut create = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest);
        for (name, kind) in [(attr::PK, KeyType::Hash), (attr::SK, KeyType::Range)] {
            create = create
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(name)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .map_err(bad)?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(name)
                        .key_type(kind)
                        .build()
                        .map_err(bad)?,
                );
        }
        match create.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(self.unavailable(e)),
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr::EXPIRES_AT)
                    .enabled(true)
                    .build()
                    .map_err(bad)?,
            )
            .send()
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Digest {
        Digest(s.to_owned())
    }

    #[test]
    fn every_kind_of_counter_has_its_own_place() {
        let keys = [
            CounterKey::Pair {
                account: d("x"),
                source: d("y"),
            },
            CounterKey::Known {
                account: d("x"),
                source: d("y"),
            },
            CounterKey::Source(d("x")),
            CounterKey::Account {
                account: d("x"),
                window: 1,
            },
            CounterKey::Account {
                account: d("x"),
                window: 2,
            },
        ];
        let places: std::collections::HashSet<_> = keys.iter().map(CounterKey::storage).collect();
        assert_eq!(places.len(), keys.len());
    }

    #[test]
    fn an_accounts_sources_share_its_partition_and_the_pair_prefix() {
        let (pk, sk) = CounterKey::Pair {
            account: d("x"),
            source: d("y"),
        }
        .storage();
        let (account_pk, window) = CounterKey::Account {
            account: d("x"),
            window: 7,
        }
        .storage();
        assert_eq!(pk, account_pk);
        assert!(sk.starts_with(CounterKey::PAIR));
        assert!(window.starts_with(CounterKey::WINDOW) && !window.starts_with(CounterKey::PAIR));
        let (_, known) = CounterKey::Known {
            account: d("x"),
            source: d("y"),
        }
        .storage();
        assert!(!known.starts_with(CounterKey::PAIR));
    }
}
