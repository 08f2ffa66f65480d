//! The users table in DynamoDB: the one contract that `authenticate`, `authctl` and the SAM
//! template share.
//!
//! - Table name: `USERS_TABLE`. Partition key `email` (string), stored normalised by the
//!   caller (`authcore::normalize_email`: NFKC, lower case).
//! - `id`: the user's immutable random id (`authcore::new_user_id`), the `sub` of their
//!   tokens; given at creation, or by `authctl user assign-ids` to users from before ids.
//! - `password_hash`: argon2id PHC string. `name`: string, optional. `roles`: string set
//!   (a list of strings is read too), optional. `disabled`: boolean, optional.
//!   `created_at`, `updated_at`: RFC 3339 strings. `failed_attempts` and `last_failed_at`,
//!   left by older versions, are ignored: failures are counted in the attempts table
//!   ([`attempts`]).

pub mod attempts;
pub mod sessions;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

/// Attribute names of the contract.
pub mod attr {
    /// Partition key.
    pub const EMAIL: &str = "email";
    /// The immutable user id.
    pub const ID: &str = "id";
    /// argon2id PHC string.
    pub const PASSWORD_HASH: &str = "password_hash";
    /// Display name.
    pub const NAME: &str = "name";
    /// Roles.
    pub const ROLES: &str = "roles";
    /// Disabled flag.
    pub const DISABLED: &str = "disabled";
    /// Creation time, RFC 3339.
    pub const CREATED_AT: &str = "created_at";
    /// Last change, RFC 3339.
    pub const UPDATED_AT: &str = "updated_at";
}

/// What went wrong with the table.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// The table does not exist.
    #[error(
        "table {0:?} does not exist: create it (`authctl table create`), or name the right one in USERS_TABLE, ATTEMPTS_TABLE or SESSIONS_TABLE"
    )]
    MissingTable(String),
    /// A user with this email exists already.
    #[error("a user with email {0:?} exists already")]
    AlreadyExists(String),
    /// No user with this email.
    #[error("no user with email {0:?}")]
    NotFound(String),
    /// An item does not follow the contract.
    #[error("the item for {email:?} is unusable: {why}")]
    BadItem {
        /// Whose item.
        email: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// DynamoDB failed: throttled, unreachable, timed out, refused.
    #[error("DynamoDB is unavailable: {0}")]
    Unavailable(String),
}

/// One user, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Normalized email: the partition key.
    pub email: String,
    /// The immutable user id; `None` for a user from before ids (see `authctl user assign-ids`).
    pub id: Option<String>,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Display name.
    pub name: Option<String>,
    /// Roles.
    pub roles: Vec<String>,
    /// Whether sign-in is refused.
    pub disabled: bool,
    /// Creation time, RFC 3339.
    pub created_at: Option<String>,
    /// Last change, RFC 3339.
    pub updated_at: Option<String>,
}

impl User {
    /// An enabled user with no name or roles, timestamps set when stored.
    pub fn new(email: impl Into<String>, password_hash: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            id: None,
            password_hash: password_hash.into(),
            name: None,
            roles: Vec::new(),
            disabled: false,
            created_at: None,
            updated_at: None,
        }
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("email", &self.email)
            .field("id", &self.id)
            .field("password_hash", &"<redacted>")
            .field("name", &self.name)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// Now as an RFC 3339 UTC timestamp (second precision).
pub fn rfc3339_now() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    rfc3339(now.map_or(0, |d| d.as_secs()))
}

/// `secs` since the epoch as an RFC 3339 UTC timestamp (the SDK's `DateTime`).
pub fn rfc3339(secs: u64) -> String {
    use aws_sdk_dynamodb::primitives::{DateTime, DateTimeFormat};
    DateTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX))
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// How long a DynamoDB call may take, in one place: a hung or unreachable table costs about a
/// second before the caller answers 503, not the SDK's default of many. The operation budget
/// is a setting (`DYNAMODB_TIMEOUT_MS`, read by each binary's settings; a local emulator may
/// need more).
pub mod timeouts {
    use std::time::Duration;

    /// The setting.
    pub const VAR: &str = "DYNAMODB_TIMEOUT_MS";
    /// The whole operation, retries included, by default, in milliseconds.
    pub const DEFAULT_OPERATION_MS: u64 = 1000;
    /// The accepted operation budgets, in milliseconds.
    pub const OPERATION_MS: std::ops::RangeInclusive<u64> = 100..=30_000;
    /// Establishing a connection (DynamoDB answers from the same region in milliseconds).
    pub const CONNECT: Duration = Duration::from_millis(300);
    /// Attempts per operation (the first and one retry), each with half the budget.
    pub const MAX_ATTEMPTS: u32 = 2;

    /// The operation budget from `vars` (`DYNAMODB_TIMEOUT_MS`), for a binary's settings.
    pub fn read(vars: &authcore::Vars<'_>) -> Result<Duration, authcore::SettingsError> {
        vars.number(VAR, DEFAULT_OPERATION_MS, OPERATION_MS)
            .map(Duration::from_millis)
    }
}

/// The variable the SDK reads for the DynamoDB endpoint (DynamoDB Local, a test server).
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";

/// A DynamoDB client for `config` (region, credentials, endpoint, HTTP client), with timeouts
/// and retries that fit inside the `operation` budget. Build it once.
pub fn client(config: &aws_types::SdkConfig, operation: std::time::Duration) -> Client {
    let timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(timeouts::CONNECT.min(operation / 2))
        .operation_attempt_timeout(operation / 2)
        .operation_timeout(operation)
        .build();
    let config = aws_sdk_dynamodb::config::Builder::from(config)
        .timeout_config(timeouts)
        .retry_config(
            aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                .with_max_attempts(timeouts::MAX_ATTEMPTS),
        )
        .build();
    Client::from_conf(config)
}

/// The users table.
#[derive(Debug, Clone)]
pub struct UserStore {
    client: Client,
    table: String,
}

/// Why a DynamoDB call failed, before the caller says what it means.
enum Failure {
    ConditionFailed,
    Store(StoreError),
}

/// An error of a call that has no condition: what went wrong with the table.
fn unconditional<E, R>(table: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match classify(table, err) {
        Failure::Store(e) => e,
        Failure::ConditionFailed => StoreError::Unavailable("unexpected condition".into()),
    }
}

fn classify<E, R>(table: &str, err: SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err.as_service_error().and_then(|e| e.code()) {
        Some("ResourceNotFoundException") => {
            Failure::Store(StoreError::MissingTable(table.to_owned()))
        }
        Some("ConditionalCheckFailedException") => Failure::ConditionFailed,
        _ => Failure::Store(StoreError::Unavailable(
            DisplayErrorContext(&err).to_string(),
        )),
    }
}

impl UserStore {
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

    fn key(email: &str) -> (String, AttributeValue) {
        (attr::EMAIL.to_owned(), AttributeValue::S(email.to_owned()))
    }

    /// Maps an SDK error of an operation on `email`'s item; a failed condition means the
    /// item does not exist.
    fn or_not_found<'a, E, R>(
        &'a self,
        email: &'a str,
    ) -> impl FnOnce(SdkError<E, R>) -> StoreError + 'a
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        move |e| {
            self.fail(
                classify(&self.table, e),
                StoreError::NotFound(email.to_owned()),
            )
        }
    }

    fn fail(&self, err: Failure, on_condition: StoreError) -> StoreError {
        match err {
            Failure::ConditionFailed => on_condition,
            Failure::Store(e) => e,
        }
    }

    /// The user with normalized email `email`, if any (strongly consistent read).
    pub async fn get(&self, email: &str) -> Result<Option<User>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::EMAIL, AttributeValue::S(email.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(self.or_not_found(email))?;
        out.item.map(|item| user_from_item(email, item)).transpose()
    }

    /// Adds `user`, refusing to overwrite an existing email.
    pub async fn create(&self, user: &User) -> Result<(), StoreError> {
        let mut item = HashMap::from([
            Self::key(&user.email),
            (
                attr::PASSWORD_HASH.to_owned(),
                AttributeValue::S(user.password_hash.clone()),
            ),
            (
                attr::DISABLED.to_owned(),
                AttributeValue::Bool(user.disabled),
            ),
        ]);
        let now = rfc3339_now();
        item.insert(
            attr::CREATED_AT.to_owned(),
            AttributeValue::S(user.created_at.clone().unwrap_or_else(|| now.clone())),
        );
        item.insert(
            attr::UPDATED_AT.to_owned(),
            AttributeValue::S(user.updated_at.clone().unwrap_or(now)),
        );
        if let Some(name) = &user.name {
            item.insert(attr::NAME.to_owned(), AttributeValue::S(name.clone()));
        }
        if let Some(id) = &user.id {
            item.insert(attr::ID.to_owned(), AttributeValue::S(id.clone()));
        }
        if !user.roles.is_empty() {
            item.insert(
                attr::ROLES.to_owned(),
                AttributeValue::Ss(user.roles.clone()),
            );
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#e)")
            .expression_attribute_names("#e", attr::EMAIL)
            .send()
            .await
            .map_err(|e| {
                self.fail(
                    classify(&self.table, e),
                    StoreError::AlreadyExists(user.email.clone()),
                )
            })?;
        Ok(())
    }

    /// Every user, in no particular order.
    pub async fn list(&self) -> Result<Vec<User>, StoreError> {
        let mut users = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| {
                    self.fail(
                        classify(&self.table, e),
                        StoreError::Unavailable("scan".into()),
                    )
                })?;
            for item in out.items.unwrap_or_default() {
                let email = match item.get(attr::EMAIL) {
                    Some(AttributeValue::S(e)) => e.clone(),
                    _ => continue,
                };
                users.push(user_from_item(&email, item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(users);
            }
        }
    }

    /// Updates attributes of an existing user with `set` (an UpdateExpression's SET clause).
    async fn update_existing(
        &self,
        email: &str,
        set: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
        extra_condition: Option<&str>,
        on_condition: StoreError,
    ) -> Result<(), StoreError> {
        let condition = match extra_condition {
            Some(c) => format!("attribute_exists(#e) AND {c}"),
            None => "attribute_exists(#e)".to_owned(),
        };
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::EMAIL, AttributeValue::S(email.to_owned()))
            .update_expression(format!("SET {set}, #u = :now"))
            .condition_expression(condition)
            .expression_attribute_names("#e", attr::EMAIL)
            .expression_attribute_names("#u", attr::UPDATED_AT)
            .expression_attribute_values(":now", AttributeValue::S(rfc3339_now()));
        for (placeholder, name) in names {
            req = req.expression_attribute_names(*placeholder, *name);
        }
        for (name, value) in values {
            req = req.expression_attribute_values(name, value);
        }
        req.send()
            .await
            .map_err(|e| self.fail(classify(&self.table, e), on_condition))?;
        Ok(())
    }

    /// Replaces the password hash of an existing user.
    pub async fn set_password_hash(&self, email: &str, hash: &str) -> Result<(), StoreError> {
        self.update_existing(
            email,
            "#p = :hash",
            &[("#p", attr::PASSWORD_HASH)],
            vec![(":hash", AttributeValue::S(hash.to_owned()))],
            None,
            StoreError::NotFound(email.to_owned()),
        )
        .await
    }

    /// Replaces the hash only if it is still `old`: a concurrent change is never overwritten.
    /// Returns whether the hash was replaced.
    pub async fn replace_hash_if_unchanged(
        &self,
        email: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .update_existing(
                email,
                "#p = :hash",
                &[("#p", attr::PASSWORD_HASH)],
                vec![
                    (":hash", AttributeValue::S(new.to_owned())),
                    (":old", AttributeValue::S(old.to_owned())),
                ],
                Some("#p = :old"),
                StoreError::NotFound(email.to_owned()),
            )
            .await;
        match result {
            Ok(()) => Ok(true),
            Err(StoreError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives an existing user without an id the id `id`; `Ok(false)` when it has one already
    /// (never replaced: safe to run twice, and concurrently).
    pub async fn assign_id_if_missing(&self, email: &str, id: &str) -> Result<bool, StoreError> {
        let result = self
            .update_existing(
                email,
                "#i = :id",
                &[("#i", attr::ID)],
                vec![(":id", AttributeValue::S(id.to_owned()))],
                Some("attribute_not_exists(#i)"),
                StoreError::NotFound(email.to_owned()),
            )
            .await;
        match result {
            Ok(()) => Ok(true),
            Err(StoreError::NotFound(_)) if self.get(email).await?.is_some() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Disables or enables sign-in for an existing user.
    pub async fn set_disabled(&self, email: &str, disabled: bool) -> Result<(), StoreError> {
        self.update_existing(
            email,
            "#d = :d",
            &[("#d", attr::DISABLED)],
            vec![(":d", AttributeValue::Bool(disabled))],
            None,
            StoreError::NotFound(email.to_owned()),
        )
        .await
    }

    /// Removes an existing user.
    pub async fn delete(&self, email: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(attr::EMAIL, AttributeValue::S(email.to_owned()))
            .condition_expression("attribute_exists(#e)")
            .expression_attribute_names("#e", attr::EMAIL)
            .send()
            .await
            .map_err(self.or_not_found(email))?;
        Ok(())
    }

    /// Creates the table (on-demand billing) for local use; `Ok(false)` if it exists already.
    pub async fn create_table(&self) -> Result<bool, StoreError> {
        let bad = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Unavailable(e.to_string());
        let result = self
            .client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr::EMAIL)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(bad)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(attr::EMAIL)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(bad)?,
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.fail(
                classify(&self.table, e),
                StoreError::Unavailable("create table".into()),
            )),
        }
    }
}

fn user_from_item(
    email: &str,
    mut item: HashMap<String, AttributeValue>,
) -> Result<User, StoreError> {
    let bad = |why| StoreError::BadItem {
        email: email.to_owned(),
        why,
    };
    let mut string = |name: &str| match item.remove(name) {
        Some(AttributeValue::S(s)) => Ok(Some(s)),
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(_) => Err(bad("a string attribute holds another type")),
    };
    let password_hash = string(attr::PASSWORD_HASH)?.ok_or(bad("it has no password_hash"))?;
    let id = string(attr::ID)?;
    let name = string(attr::NAME)?;
    let created_at = string(attr::CREATED_AT)?;
    let updated_at = string(attr::UPDATED_AT)?;
    let roles = match item.remove(attr::ROLES) {
        None | Some(AttributeValue::Null(_)) => Vec::new(),
        Some(AttributeValue::Ss(set)) => set,
        Some(AttributeValue::L(list)) => list
            .into_iter()
            .map(|v| match v {
                AttributeValue::S(s) => Ok(s),
                _ => Err(bad("roles holds a non-string")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("roles is neither a string set nor a list")),
    };
    let disabled = match item.remove(attr::DISABLED) {
        None | Some(AttributeValue::Null(_)) => false,
        Some(AttributeValue::Bool(b)) => b,
        Some(_) => return Err(bad("disabled is not a boolean")),
    };
    Ok(User {
        email: email.to_owned(),
        id,
        password_hash,
        name,
        roles,
        disabled,
        created_at,
        updated_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(rfc3339_now().len(), 20);
    }

    #[test]
    fn items_are_read_by_the_contract() {
        let item = HashMap::from([
            (
                "password_hash".to_owned(),
                AttributeValue::S("$argon2id$x".into()),
            ),
            (
                "roles".to_owned(),
                AttributeValue::L(vec![AttributeValue::S("a".into())]),
            ),
            ("disabled".to_owned(), AttributeValue::Bool(true)),
            // Left by older versions: ignored.
            ("failed_attempts".to_owned(), AttributeValue::N("7".into())),
        ]);
        let user = user_from_item("u@example.com", item).unwrap();
        assert_eq!(
            (user.roles, user.disabled, user.name, user.id),
            (vec!["a".to_owned()], true, None, None)
        );
        let no_hash = HashMap::from([("name".to_owned(), AttributeValue::S("x".into()))]);
        assert!(matches!(
            user_from_item("u@example.com", no_hash),
            Err(StoreError::BadItem { .. })
        ));
        let bad_flag = HashMap::from([
            ("password_hash".to_owned(), AttributeValue::S("h".into())),
            ("disabled".to_owned(), AttributeValue::S("yes".into())),
        ]);
        assert!(matches!(
            user_from_item("u@example.com", bad_flag),
            Err(StoreError::BadItem { .. })
        ));
    }
}
