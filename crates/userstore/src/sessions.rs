//! The sessions table: refresh tokens (by the SHA-256 hash only) and their families. Storage
//! only: rotation rules, lifetimes and reuse detection are `authenticate`'s (`grant::refresh`).
//!
//! - Table name: `SESSIONS_TABLE`. Partition key `pk` (string).
//! - A family (one sign-in and every token rotated from it): `pk` = `f#<family id>`, `uid` (the
//!   user's id, the key of the `by_user` index), `email`, `created_at`, `last_used_at`,
//!   `ends_at` (the absolute end), `revoked` (boolean), `expires_at` (TTL).
//! - A refresh token: `pk` = `t#<hash>`, `family`, `issued_at`, `expires_at` (idle end, and
//!   TTL), `used` (boolean); once exchanged, `rotated_at` and `successor` (the next token's
//!   hash).
//!
//! - The decoy family: `pk` = `f#` and [`DECOY_FAMILY`], a revoked family of nobody (no `uid`,
//!   no TTL). Refusals of unknown refresh tokens read and revoke it, so that they do the
//!   DynamoDB work of other refusals; the first of them writes it.
//!
//! DynamoDB's TTL removes expired items a day or two late: readers check the times themselves.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, Put, ScalarAttributeType, TimeToLiveSpecification,
    TransactWriteItem, Update,
};

use crate::{Failure, StoreError, classify};

/// Attribute names of the sessions table.
pub mod attr {
    /// Partition key.
    pub const PK: &str = "pk";
    /// The user id (families only; the `by_user` index's key).
    pub const UID: &str = "uid";
    /// The user's email at sign-in (families).
    pub const EMAIL: &str = "email";
    /// A token's family id.
    pub const FAMILY: &str = "family";
    /// Creation, seconds since the epoch.
    pub const CREATED_AT: &str = "created_at";
    /// Last refresh, seconds since the epoch (families).
    pub const LAST_USED_AT: &str = "last_used_at";
    /// The family's absolute end, seconds since the epoch.
    pub const ENDS_AT: &str = "ends_at";
    /// Whether the family was revoked.
    pub const REVOKED: &str = "revoked";
    /// When the item stops counting, seconds since the epoch (the TTL attribute).
    pub const EXPIRES_AT: &str = "expires_at";
    /// Whether a token was already exchanged.
    pub const USED: &str = "used";
    /// When a token was exchanged, seconds since the epoch.
    pub const ROTATED_AT: &str = "rotated_at";
    /// The hash of the token it was exchanged for.
    pub const SUCCESSOR: &str = "successor";
    /// The scopes the client asked for at sign-in, a string set (families; absent: all).
    pub const SCOPE: &str = "scope";
}

/// Where an item of the sessions table is stored: the one place its partition keys are
/// written and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKey<'a> {
    /// A family, by its id.
    Family(&'a str),
    /// A refresh token, by its hash.
    Token(&'a str),
}

impl<'a> SessionKey<'a> {
    const FAMILY: &'static str = "f#";
    const TOKEN: &'static str = "t#";

    /// The partition key's value.
    pub fn pk(self) -> AttributeValue {
        match self {
            Self::Family(id) => s(format!("{}{id}", Self::FAMILY)),
            Self::Token(hash) => s(format!("{}{hash}", Self::TOKEN)),
        }
    }

    /// The key a stored partition key names; `None` for one this table does not write.
    pub fn parse(pk: &'a str) -> Option<Self> {
        pk.strip_prefix(Self::FAMILY)
            .map(Self::Family)
            .or_else(|| pk.strip_prefix(Self::TOKEN).map(Self::Token))
    }
}

/// The id of the decoy family, which no sign-in starts (family ids are 128 random bits).
pub const DECOY_FAMILY: &str = "00000000000000000000000000000000";

/// The index listing a user's families.
pub const BY_USER: &str = "by_user";

/// A session family, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// Its id.
    pub id: String,
    /// The user's id.
    pub user_id: String,
    /// The user's email at sign-in.
    pub email: String,
    /// Creation, seconds since the epoch.
    pub created_at: u64,
    /// Last refresh, seconds since the epoch.
    pub last_used_at: u64,
    /// The absolute end, seconds since the epoch.
    pub ends_at: u64,
    /// Whether it was revoked.
    pub revoked: bool,
    /// The scopes granted at sign-in when the client asked for fewer than the user's roles;
    /// `None`: every role the user has at each refresh.
    pub scope: Option<Vec<String>>,
}

/// A refresh token, as stored (by its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Its family's id.
    pub family: String,
    /// When it was issued.
    pub issued_at: u64,
    /// Its idle end.
    pub expires_at: u64,
    /// Whether it was already exchanged.
    pub used: bool,
    /// When it was exchanged, if it was.
    pub rotated_at: Option<u64>,
    /// The hash of the token it was exchanged for, if it was.
    pub successor: Option<String>,
}

/// How a rotation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The old token is used, the new one stored: hand it out.
    Rotated,
    /// The old token was used meanwhile (a concurrent refresh won): nothing was written.
    Lost,
}

/// Waits `ms` milliseconds.
async fn tokio_sleep_ms(ms: u64) {
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// The sessions table.
#[derive(Debug, Clone)]
pub struct SessionStore {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    }
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    }
}

fn flag(item: &HashMap<String, AttributeValue>, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

fn family_from(item: &HashMap<String, AttributeValue>) -> Family {
    Family {
        id: match SessionKey::parse(&text(item, attr::PK)) {
            Some(SessionKey::Family(id)) => id.to_owned(),
            _ => String::new(),
        },
        user_id: text(item, attr::UID),
        email: text(item, attr::EMAIL),
        created_at: number(item, attr::CREATED_AT),
        last_used_at: number(item, attr::LAST_USED_AT),
        ends_at: number(item, attr::ENDS_AT),
        revoked: flag(item, attr::REVOKED),
        scope: match item.get(attr::SCOPE) {
            Some(AttributeValue::Ss(scopes)) => Some(scopes.clone()),
            _ => None,
        },
    }
}

impl SessionStore {
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

    fn err<E, R>(&self, e: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        crate::unconditional(&self.table, e)
    }

    fn token_item(
        hash: &str,
        family: &str,
        now: u64,
        expires_at: u64,
    ) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (attr::PK.to_owned(), SessionKey::Token(hash).pk()),
            (attr::FAMILY.to_owned(), s(family)),
            (attr::CREATED_AT.to_owned(), n(now)),
            (attr::EXPIRES_AT.to_owned(), n(expires_at)),
            (attr::USED.to_owned(), AttributeValue::Bool(false)),
        ])
    }

    fn build<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StoreError> {
        r.map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Starts a family for `family` with its first token (`hash`, idle end `expires_at`), in
    /// one transaction.
    pub async fn start(
        &self,
        family: &Family,
        hash: &str,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let mut family_item = HashMap::from([
            (attr::PK.to_owned(), SessionKey::Family(&family.id).pk()),
            (attr::UID.to_owned(), s(&family.user_id)),
            (attr::EMAIL.to_owned(), s(&family.email)),
            (attr::CREATED_AT.to_owned(), n(family.created_at)),
            (attr::LAST_USED_AT.to_owned(), n(family.created_at)),
            (attr::ENDS_AT.to_owned(), n(family.ends_at)),
            (attr::REVOKED.to_owned(), AttributeValue::Bool(false)),
            (attr::EXPIRES_AT.to_owned(), n(family.ends_at)),
        ]);
        // A string set cannot be empty: an empty scope is stored as none at all (no role).
        if let Some(scope) = family.scope.as_ref().filter(|s| !s.is_empty()) {
            family_item.insert(attr::SCOPE.to_owned(), AttributeValue::Ss(scope.clone()));
        }
        let put = |item| {
            Self::build(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .build(),
            )
            .map(|p| TransactWriteItem::builder().put(p).build())
        };
        self.client
            .transact_write_items()
            .transact_items(put(family_item)?)
            .transact_items(put(Self::token_item(
                hash,
                &family.id,
                family.created_at,
                expires_at,
            ))?)
            .send()
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The token stored for `hash`, if any (strongly consistent).
    pub async fn token(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let item = self.item(SessionKey::Token(hash)).await?;
        Ok(item.map(|item| TokenRecord {
            family: text(&item, attr::FAMILY),
            issued_at: number(&item, attr::CREATED_AT),
            expires_at: number(&item, attr::EXPIRES_AT),
            used: flag(&item, attr::USED),
            rotated_at: item
                .contains_key(attr::ROTATED_AT)
                .then(|| number(&item, attr::ROTATED_AT)),
            successor: item
                .contains_key(attr::SUCCESSOR)
                .then(|| text(&item, attr::SUCCESSOR)),
        }))
    }

    /// The family `id`, if any (strongly consistent).
    pub async fn family(&self, id: &str) -> Result<Option<Family>, StoreError> {
        Ok(self
            .item(SessionKey::Family(id))
            .await?
            .as_ref()
            .map(family_from))
    }

    /// The item at `pk`, if any (strongly consistent).
    async fn item(
        &self,
        key: SessionKey<'_>,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::PK, key.pk())
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err(e))?;
        Ok(out.item)
    }

    /// Exchanges the token `old` for `new` in `family` at `now`, in one transaction: `old` is
    /// marked used (with the time and `new`'s hash) only if it was not, `new` is stored (idle
    /// end `expires_at`), the family stays unrevoked and records its use. Either all of it
    /// happens or none.
    pub async fn rotate(
        &self,
        family: &str,
        old: &str,
        new: &str,
        now: u64,
        expires_at: u64,
    ) -> Result<Rotation, StoreError> {
        let mark_used = Self::build(
            Update::builder()
                .table_name(&self.table)
                .key(attr::PK, SessionKey::Token(old).pk())
                .update_expression("SET #u = :yes, #ra = :now, #sx = :next")
                .condition_expression("#u = :no")
                .expression_attribute_names("#u", attr::USED)
                .expression_attribute_names("#ra", attr::ROTATED_AT)
                .expression_attribute_names("#sx", attr::SUCCESSOR)
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":next", s(new))
                .build(),
        )?;
        let touch = Self::build(
            Update::builder()
                .table_name(&self.table)
                .key(attr::PK, SessionKey::Family(family).pk())
                .update_expression("SET #l = :now")
                .condition_expression("#r = :no")
                .expression_attribute_names("#l", attr::LAST_USED_AT)
                .expression_attribute_names("#r", attr::REVOKED)
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":no", AttributeValue::Bool(false))
                .build(),
        )?;
        let put = Self::build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(Self::token_item(new, family, now, expires_at)))
                .build(),
        )?;
        // A transaction can also be cancelled by a conflict with another one in flight on the
        // same items: that is tried again; a failed condition is the answer.
        for _ in 0..4 {
            let result = self
                .client
                .transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .update(mark_used.clone())
                        .build(),
                )
                .transact_items(TransactWriteItem::builder().update(touch.clone()).build())
                .transact_items(TransactWriteItem::builder().put(put.clone()).build())
                .send()
                .await;
            let e = match result {
                Ok(_) => return Ok(Rotation::Rotated),
                Err(e) => e,
            };
            let Some(cancelled) = e.as_service_error().and_then(|s| match s {
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => Some(c),
                _ => None,
            }) else {
                return Err(self.err(e));
            };
            let condition_failed = cancelled
                .cancellation_reasons()
                .iter()
                .any(|r| r.code() == Some("ConditionalCheckFailed"));
            if condition_failed {
                return Ok(Rotation::Lost);
            }
            tokio_sleep_ms(20).await;
        }
        Err(StoreError::Unavailable(
            "sessions: the rotation kept conflicting with other transactions".into(),
        ))
    }

    /// Revokes family `id`; `Ok(false)` when there is no such family.
    pub async fn revoke(&self, id: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::PK, SessionKey::Family(id).pk())
            .update_expression("SET #r = :yes")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#r", attr::REVOKED)
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match classify(&self.table, e) {
                Failure::ConditionFailed => Ok(false),
                Failure::Store(e) => Err(e),
            },
        }
    }

    /// Revokes the decoy family ([`DECOY_FAMILY`]) with the update [`Self::revoke`] makes; the
    /// first time, when there is no decoy yet, writes it whole: a revoked family of nobody,
    /// about as large as a real one, outside the `by_user` index and without a TTL.
    pub async fn revoke_decoy(&self) -> Result<(), StoreError> {
        if self.revoke(DECOY_FAMILY).await? {
            return Ok(());
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .item(attr::PK, SessionKey::Family(DECOY_FAMILY).pk())
            .item(attr::EMAIL, s("decoy@invalid"))
            .item(attr::CREATED_AT, n(0))
            .item(attr::LAST_USED_AT, n(0))
            .item(attr::ENDS_AT, n(0))
            .item(attr::REVOKED, AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every family of user `user_id`, revoked and expired ones included.
    pub async fn families_of(&self, user_id: &str) -> Result<Vec<Family>, StoreError> {
        let mut families = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_USER)
                .key_condition_expression("#u = :u")
                .expression_attribute_names("#u", attr::UID)
                .expression_attribute_values(":u", s(user_id))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.err(e))?;
            families.extend(out.items.unwrap_or_default().iter().map(family_from));
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(families);
            }
        }
    }

    /// Revokes every live family of user `user_id`; returns how many.
    pub async fn revoke_all(&self, user_id: &str) -> Result<usize, StoreError> {
        let mut revoked = 0;
        for family in self.families_of(user_id).await? {
            if !family.revoked && self.revoke(&family.id).await? {
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// Creates the table (on-demand, TTL on `expires_at`, the `by_user` index) for local use;
    /// `Ok(false)` if it exists already.
    pub async fn create_table(&self) -> Result<bool, StoreError> {
        let key = |name: &str, kind| {
            Self::build(
                KeySchemaElement::builder()
                    .attribute_name(name)
                    .key_type(kind)
                    .build(),
            )
        };
        let def = |name: &str| {
            Self::build(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build(),
            )
        };
        let index = Self::build(
            GlobalSecondaryIndex::builder()
                .index_name(BY_USER)
                .key_schema(key(attr::UID, KeyType::Hash)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build(),
        )?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(def(attr::PK)?)
            .attribute_definitions(def(attr::UID)?)
            .key_schema(key(attr::PK, KeyType::Hash)?)
            .global_secondary_indexes(index)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(self.err(e)),
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(Self::build(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr::EXPIRES_AT)
                    .enabled(true)
                    .build(),
            )?)
            .send()
            .await
            .map_err(|e| self.err(e))?;
        Ok(true)
    }
}
