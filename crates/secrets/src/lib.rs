//! The signing keys, resolved at start-up: inline from `JWT_SECRET` (and `JWT_PREVIOUS_SECRET`),
//! or from the AWS Secrets Manager secret named by `JWT_SECRET_ARN`, whose `AWSCURRENT` and
//! `AWSPREVIOUS` versions form the key ring (each named by its version id). The SDK honours
//! `AWS_ENDPOINT_URL_SECRETSMANAGER`. Only the Secrets Manager SDK is linked here, so the
//! authorizer stays free of DynamoDB code.

use std::time::Duration;

use authcore::{Config, KeyError, KeyRing, KeySource, NamedKey, SigningKey};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

/// Why the signing key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager has no such secret, or no value in it.
    #[error("the secret {0} does not exist or has no value: check JWT_SECRET_ARN")]
    Missing(String),
    /// The secret's value is too short to be a signing key.
    #[error("the secret {arn} cannot sign tokens: {source}")]
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

/// Builds a Secrets Manager client from the environment, with timeouts fit for a cold start.
pub async fn client_from_env() -> Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(5))
        .build();
    let config = aws_config::from_env().timeout_config(timeouts).load().await;
    Client::new(&config)
}

/// Resolves the configured keys: the local ring, or the secret's current and previous versions.
pub async fn key_ring(config: &Config) -> Result<KeyRing, SecretError> {
    match (config.local_key_ring(), &config.key_source) {
        (Some(ring), _) => Ok(ring),
        (None, KeySource::SecretsManager(arn)) => load_ring(&client_from_env().await, arn).await,
        (None, KeySource::Inline(key)) => Ok(KeyRing::local(key.clone(), None)),
    }
}

/// The secret's `AWSCURRENT` and `AWSPREVIOUS` versions as a key ring, named by version id.
pub async fn load_ring(client: &Client, arn: &str) -> Result<KeyRing, SecretError> {
    let current = load_stage(client, arn, "AWSCURRENT")
        .await?
        .ok_or_else(|| SecretError::Missing(arn.to_owned()))?;
    let previous = load_stage(client, arn, "AWSPREVIOUS").await?;
    Ok(KeyRing { current, previous })
}

/// Reads the current value (`AWSCURRENT`) of the secret `arn` as a signing key.
pub async fn load(client: &Client, arn: &str) -> Result<SigningKey, SecretError> {
    Ok(load_ring(client, arn).await?.current.key)
}

/// One version stage of the secret; `None` when no version has that stage.
async fn load_stage(
    client: &Client,
    arn: &str,
    stage: &str,
) -> Result<Option<NamedKey>, SecretError> {
    let result = client
        .get_secret_value()
        .secret_id(arn)
        .version_stage(stage)
        .send()
        .await;
    let out = match result {
        Ok(out) => out,
        Err(e) if stage != "AWSCURRENT" && not_found(&e) => return Ok(None),
        Err(e) if not_found(&e) => return Err(SecretError::Missing(arn.to_owned())),
        Err(e) => {
            return Err(SecretError::Unavailable {
                arn: arn.to_owned(),
                detail: DisplayErrorContext(&e).to_string(),
            });
        }
    };
    let kid = out.version_id.clone().unwrap_or_else(|| stage.to_owned());
    let bytes = match (out.secret_string, out.secret_binary) {
        (Some(s), _) => s.into_bytes(),
        (None, Some(b)) => b.into_inner(),
        (None, None) => return Err(SecretError::Missing(arn.to_owned())),
    };
    let key = SigningKey::new(bytes).map_err(|source| SecretError::Unusable {
        arn: arn.to_owned(),
        source,
    })?;
    Ok(Some(NamedKey { kid, key }))
}

fn not_found<R>(e: &SdkError<GetSecretValueError, R>) -> bool {
    e.as_service_error()
        .is_some_and(|s| s.is_resource_not_found_exception())
}
