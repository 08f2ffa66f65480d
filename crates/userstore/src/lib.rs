//! The users table in DynamoDB: the one contract that `authenticate`, `authctl` and the SAM
//! template share.
//!
//! - Table name: `USERS_TABLE`. Partition key `email` (string), stored trimmed and lowercased.
//! - `password_hash`: argon2id PHC string. `name`: string, optional. `roles`: string set
//!   (a list of strings is read too), optional. `disabled`: boolean, optional.
//!   `created_at`, `updated_at`: RFC 3339 strings.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    /// Consecutive failed passwords (number), changed only by atomic `ADD`.
    pub const FAILED_ATTEMPTS: &str = "failed_attempts";
    /// When the last password failed, seconds since the epoch (number).
    pub const LAST_FAILED_AT: &str = "last_failed_at";
}

/// Consecutive failures that start a lockout.
pub const LOCK_THRESHOLD: u32 = 5;
/// The longest lockout, in seconds.
pub const MAX_LOCK_SECONDS: u64 = 15 * 60;

/// How long an account stays locked after its `failed`-th consecutive failure:
/// 2^(n-5) seconds from the 5th on, capped at 15 minutes.
pub fn lock_seconds(failed: u32) -> u64 {
    if failed < LOCK_THRESHOLD {
        return 0;
    }
    let exp = failed - LOCK_THRESHOLD;
    if exp >= 10 {
        MAX_LOCK_SECONDS
    } else {
        (1u64 << exp).min(MAX_LOCK_SECONDS)
    }
}

/// The longest email address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;

/// What went wrong with the table.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// The table does not exist.
    #[error("table {0:?} does not exist: create it (`authctl table create`) or set USERS_TABLE")]
    MissingTable(String),
    /// A user with this email exists already.
    #[error("a user with email {0:?} exists already")]
    AlreadyExists(String),
    /// No user with this email.
    #[error("no user with email {0:?}")]
    NotFound(String),
    /// The email address is not plausible.
    #[error("{0:?} is not an email address")]
    BadEmail(String),
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
    /// Consecutive failed passwords.
    pub failed_attempts: u32,
    /// When the last password failed, seconds since the epoch.
    pub last_failed_at: Option<u64>,
}

impl User {
    /// Seconds the account stays locked at `now`, or `None` when it is not locked.
    pub fn locked_for(&self, now: u64) -> Option<u64> {
        let until = self
            .last_failed_at?
            .saturating_add(lock_seconds(self.failed_attempts));
        (self.failed_attempts >= LOCK_THRESHOLD && now < until).then(|| until - now)
    }

    /// An enabled user with no name or roles, timestamps set when stored.
    pub fn new(email: impl Into<String>, password_hash: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            password_hash: password_hash.into(),
            name: None,
            roles: Vec::new(),
            disabled: false,
            created_at: None,
            updated_at: None,
            failed_attempts: 0,
            last_failed_at: None,
        }
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("email", &self.email)
            .field("password_hash", &"<redacted>")
            .field("name", &self.name)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .field("failed_attempts", &self.failed_attempts)
            .finish_non_exhaustive()
    }
}

/// Trims and lowercases `raw`, and checks that it looks like an email address.
pub fn normalize_email(raw: &str) -> Result<String, StoreError> {
    let email = raw.trim().to_lowercase();
    let plausible = email.len() <= MAX_EMAIL_BYTES
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if plausible {
        Ok(email)
    } else {
        Err(StoreError::BadEmail(raw.chars().take(64).collect()))
    }
}

/// Now as an RFC 3339 UTC timestamp (second precision).
pub fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// `secs` since the epoch as an RFC 3339 UTC timestamp.
pub fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days, Howard Hinnant's algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The variable the SDK reads for the DynamoDB endpoint (DynamoDB Local, a test server).
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_DYNAMODB";

/// A DynamoDB client for `config` (region, credentials, endpoint, HTTP client), with timeouts
/// and retries that fit inside a Lambda invocation. Build it once.
pub fn client(config: &aws_types::SdkConfig) -> Client {
    let timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build();
    let config = aws_sdk_dynamodb::config::Builder::from(config)
        .timeout_config(timeouts)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(3))
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

    /// An update of an existing user's failure counters (`#f`, `#l`) with `expression`.
    fn counter_update(
        &self,
        email: &str,
        expression: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(attr::EMAIL, AttributeValue::S(email.to_owned()))
            .update_expression(expression)
            .condition_expression("attribute_exists(#e)")
            .expression_attribute_names("#e", attr::EMAIL)
            .expression_attribute_names("#f", attr::FAILED_ATTEMPTS)
            .expression_attribute_names("#l", attr::LAST_FAILED_AT)
    }

    /// Counts one failed password, atomically (`ADD`): concurrent failures are never lost.
    /// Returns the new count of consecutive failures.
    pub async fn record_failure(&self, email: &str, now: u64) -> Result<u32, StoreError> {
        let out = self
            .counter_update(email, "ADD #f :one SET #l = :now")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(self.or_not_found(email))?;
        match out
            .attributes
            .as_ref()
            .and_then(|a| a.get(attr::FAILED_ATTEMPTS))
        {
            Some(AttributeValue::N(n)) => n.parse().map_err(|_| StoreError::BadItem {
                email: email.to_owned(),
                why: "failed_attempts is not a whole number",
            }),
            _ => Err(StoreError::BadItem {
                email: email.to_owned(),
                why: "no failed_attempts after counting a failure",
            }),
        }
    }

    /// Clears the failure count (after a successful sign-in, or to unlock by hand).
    pub async fn reset_failures(&self, email: &str) -> Result<(), StoreError> {
        self.counter_update(email, "REMOVE #f, #l")
            .send()
            .await
            .map_err(self.or_not_found(email))?;
        Ok(())
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
    let mut number = |name: &str| match item.remove(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(n)) => n
            .parse::<u64>()
            .map(Some)
            .map_err(|_| bad("a counter is not a whole number")),
        Some(_) => Err(bad("a counter is not a number")),
    };
    let failed_attempts =
        u32::try_from(number(attr::FAILED_ATTEMPTS)?.unwrap_or(0)).unwrap_or(u32::MAX);
    let last_failed_at = number(attr::LAST_FAILED_AT)?;
    Ok(User {
        email: email.to_owned(),
        password_hash,
        name,
        roles,
        disabled,
        created_at,
        updated_at,
        failed_attempts,
        last_failed_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            normalize_email("  Ada.Lovelace@Example.COM \n").unwrap(),
            "ada.lovelace@example.com"
        );
        for bad in [
            "",
            "   ",
            "no-at-sign",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a@b@c",
            "a\u{0}@b.c",
        ] {
            assert!(
                matches!(normalize_email(bad), Err(StoreError::BadEmail(_))),
                "{bad:?}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(MAX_EMAIL_BYTES));
        assert!(normalize_email(&long).is_err());
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(rfc3339_now().len(), 20);
    }

    #[test]
    fn lockouts_double_from_the_fifth_failure_up_to_fifteen_minutes() {
        let want = [
            (0, 0),
            (4, 0),
            (5, 1),
            (6, 2),
            (7, 4),
            (10, 32),
            (14, 512),
            (15, 900),
            (40, 900),
            (u32::MAX, 900),
        ];
        for (n, secs) in want {
            assert_eq!(lock_seconds(n), secs, "n={n}");
        }
        let mut u = User::new("a@b.c", "h");
        assert_eq!(u.locked_for(1000), None);
        u.failed_attempts = 6;
        u.last_failed_at = Some(1000);
        assert_eq!(u.locked_for(1000), Some(2));
        assert_eq!(u.locked_for(1001), Some(1));
        assert_eq!(u.locked_for(1002), None);
        u.failed_attempts = 4;
        assert_eq!(u.locked_for(1000), None);
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
        ]);
        let user = user_from_item("u@example.com", item).unwrap();
        assert_eq!(
            (user.roles, user.disabled, user.name),
            (vec!["a".to_owned()], true, None)
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
