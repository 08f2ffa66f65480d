//! Secret keys, resolved at start-up: inline (`JWT_SECRET` and `JWT_PREVIOUS_SECRET`, or
//! `LOCKOUT_KEY`), or from the AWS Secrets Manager secret an ARN setting names, whose
//! `AWSCURRENT`, `AWSPENDING` and `AWSPREVIOUS` versions form the key ring (the current key,
//! the next and the previous one). A version's value is an HS256 secret (named by its version
//! id) or an ES256 private key in PEM (named by its RFC 7638 thumbprint).
//! The client is configured by [`awsenv`] from the function's settings; its endpoint comes from
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER` (or `AWS_ENDPOINT_URL`), for a local Secrets Manager
//! such as moto or LocalStack. Only the Secrets Manager SDK is linked here, so the authorizer
//! stays free of DynamoDB code.

pub mod rotation;

use std::time::Duration;

use authcore::{Key, KeyError, KeyRing, KeySource, NamedKey, SigningKey};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use awsenv::AwsEnv;

/// Why the signing key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager has no such secret, or no value in it.
    #[error(
        "the secret {0} does not exist or has no value: check the ARN in JWT_SECRET_ARN or LOCKOUT_KEY_ARN"
    )]
    Missing(String),
    /// The secret's value cannot be used as this key (too short, a bad PEM, a key pair where
    /// a random secret is needed).
    #[error("the secret {arn} cannot be used: {source}")]
    Unusable {
        /// The secret's ARN.
        arn: String,
        /// What is wrong with its value.
        #[source]
        source: KeyError,
    },
    /// The call to Secrets Manager failed (permissions, network, throttling).
    #[error("cannot read the secret {arn}: {detail}")]
    Unavailable {
        /// The secret's ARN.
        arn: String,
        /// The SDK's error, with its causes.
        detail: String,
    },
}

/// A version stage of a key's secret: its place in the key ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `AWSCURRENT`: the key that signs.
    Current,
    /// `AWSPENDING`: the next key, which verifies and is published but does not sign yet.
    Next,
    /// `AWSPREVIOUS`: the key before the last rotation, which still verifies.
    Previous,
}

impl Stage {
    /// Secrets Manager's name of the stage.
    pub fn label(self) -> &'static str {
        match self {
            Self::Current => "AWSCURRENT",
            Self::Next => "AWSPENDING",
            Self::Previous => "AWSPREVIOUS",
        }
    }
}

/// A failed call to Secrets Manager about `arn`, with the SDK's error and its causes.
pub(crate) fn unavailable(arn: &str, e: impl std::error::Error) -> SecretError {
    SecretError::Unavailable {
        arn: arn.to_owned(),
        detail: DisplayErrorContext(e).to_string(),
    }
}

/// The variable the AWS SDK (and [`awsenv`]) reads for the Secrets Manager endpoint.
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_SECRETS_MANAGER";
/// A spelling of it that the SDK does not read: a local endpoint set only there is ignored, and
/// the calls go to AWS.
pub const MISSPELLED_ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_SECRETSMANAGER";

/// Builds a Secrets Manager client from the function's AWS settings, with timeouts fit for a
/// cold start.
pub fn client(aws: &AwsEnv) -> Client {
    if aws.get(MISSPELLED_ENDPOINT_VAR).is_some() {
        tracing::warn!(
            "{MISSPELLED_ENDPOINT_VAR} is set, but the AWS SDK does not read it: \
             set {ENDPOINT_VAR} (or AWS_ENDPOINT_URL) to use a local Secrets Manager"
        );
    }
    let timeouts = aws_sdk_secretsmanager::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(5))
        .build();
    let config = aws
        .sdk_config(ENDPOINT_VAR)
        .timeout_config(timeouts)
        .build();
    Client::new(&config)
}

/// A Secrets Manager secret that key rings are loaded from, and loaded again after a rotation.
#[derive(Debug, Clone)]
pub struct SecretSource {
    client: Client,
    arn: String,
}

impl SecretSource {
    /// The secret `arn`, read through `client`.
    pub fn new(client: Client, arn: impl Into<String>) -> Self {
        Self {
            client,
            arn: arn.into(),
        }
    }

    /// The secret's current key ring.
    pub async fn load(&self) -> Result<KeyRing, SecretError> {
        load_ring(&self.client, &self.arn).await
    }
}

/// Resolves the keys of `source`: the local ring, or the secret's current and previous
/// versions together with the source to reload them from. A Secrets Manager client is built
/// only for a secret (its HTTPS client is the process's one).
pub async fn key_ring(
    source: &KeySource,
    aws: &AwsEnv,
) -> Result<(KeyRing, Option<SecretSource>), SecretError> {
    Loader::new(aws, &[source]).ring(source).await
}

/// Loads keys from several sources with one Secrets Manager client, built only when one of
/// them is a secret: a function with two keys pays for one client at its cold start.
#[derive(Debug, Clone)]
pub struct Loader {
    client: Option<Client>,
}

impl Loader {
    /// A loader for `sources`.
    pub fn new(aws: &AwsEnv, sources: &[&KeySource]) -> Self {
        let needed = sources
            .iter()
            .any(|s| matches!(s, KeySource::SecretsManager(_)));
        Self {
            client: needed.then(|| client(aws)),
        }
    }

    fn client(&self, arn: &str) -> Result<&Client, SecretError> {
        self.client
            .as_ref()
            .ok_or_else(|| SecretError::Unavailable {
                arn: arn.to_owned(),
                detail: "the loader was built without this source".to_owned(),
            })
    }

    /// The key ring of `source`, and the secret to reload it from (see [`key_ring`]).
    pub async fn ring(
        &self,
        source: &KeySource,
    ) -> Result<(KeyRing, Option<SecretSource>), SecretError> {
        match source {
            KeySource::Inline(ring) => Ok((ring.clone(), None)),
            KeySource::SecretsManager(arn) => {
                let source = SecretSource::new(self.client(arn)?.clone(), arn.clone());
                Ok((source.load().await?, Some(source)))
            }
        }
    }

    /// The current key of `source` alone, which must be a random secret (the lockout and
    /// refresh keys): one call for a secret (its `AWSCURRENT` version).
    pub async fn current(&self, source: &KeySource) -> Result<SigningKey, SecretError> {
        let (key, arn) = match source {
            KeySource::Inline(ring) => (ring.current.key.clone(), "inline"),
            KeySource::SecretsManager(arn) => (
                load_stage(self.client(arn)?, arn, Stage::Current)
                    .await?
                    .map(|named| named.key)
                    .ok_or_else(|| SecretError::Missing(arn.clone()))?,
                arn.as_str(),
            ),
        };
        key.secret()
            .cloned()
            .map_err(|source| SecretError::Unusable {
                arn: arn.to_owned(),
                source,
            })
    }
}

/// The secret's `AWSCURRENT`, `AWSPENDING` and `AWSPREVIOUS` versions as a key ring. The
/// stages are requested at once, so a cold start waits for one round trip, not three.
pub async fn load_ring(client: &Client, arn: &str) -> Result<KeyRing, SecretError> {
    let (current, next, previous) = tokio::join!(
        load_stage(client, arn, Stage::Current),
        load_stage(client, arn, Stage::Next),
        load_stage(client, arn, Stage::Previous)
    );
    let current = current?.ok_or_else(|| SecretError::Missing(arn.to_owned()))?;
    Ok(KeyRing {
        current,
        next: next?,
        previous: previous?,
    })
}

/// One version stage of the secret; `None` when no version has that stage.
async fn load_stage(
    client: &Client,
    arn: &str,
    stage: Stage,
) -> Result<Option<NamedKey>, SecretError> {
    let result = client
        .get_secret_value()
        .secret_id(arn)
        .version_stage(stage.label())
        .send()
        .await;
    let out = match result {
        Ok(out) => out,
        Err(e) if stage != Stage::Current && not_found(&e) => return Ok(None),
        Err(e) if not_found(&e) => return Err(SecretError::Missing(arn.to_owned())),
        Err(e) => {
            awsenv::metrics::dependency_failure(awsenv::metrics::Service::SecretsManager);
            return Err(unavailable(arn, e));
        }
    };
    let kid = out
        .version_id
        .clone()
        .unwrap_or_else(|| stage.label().to_owned());
    let bytes = match (out.secret_string, out.secret_binary) {
        (Some(s), _) => s.into_bytes(),
        (None, Some(b)) => b.into_inner(),
        (None, None) => return Err(SecretError::Missing(arn.to_owned())),
    };
    let key = Key::parse(bytes).map_err(|source| SecretError::Unusable {
        arn: arn.to_owned(),
        source,
    })?;
    Ok(Some(NamedKey::versioned(key, kid)))
}

fn not_found<R>(e: &SdkError<GetSecretValueError, R>) -> bool {
    e.as_service_error()
        .is_some_and(|s| s.is_resource_not_found_exception())
}
