//! The signing key, resolved once at start-up: inline from `JWT_SECRET`, or from the AWS
//! Secrets Manager secret named by `JWT_SECRET_ARN` (the SDK honours
//! `AWS_ENDPOINT_URL_SECRETSMANAGER`). Only the Secrets Manager SDK is linked here, so the
//! authorizer stays free of DynamoDB code.

use std::time::Duration;

use authcore::{Config, KeyError, KeySource, SigningKey};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

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

/// Resolves the configured key: the inline one as it is, or the secret's current value.
pub async fn signing_key(config: &Config) -> Result<SigningKey, SecretError> {
    match &config.key_source {
        KeySource::Inline(key) => Ok(key.clone()),
        KeySource::SecretsManager(arn) => load(&client_from_env().await, arn).await,
    }
}

/// Reads the current value (`AWSCURRENT`) of the secret `arn` as a signing key.
pub async fn load(client: &Client, arn: &str) -> Result<SigningKey, SecretError> {
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            let not_found = e
                .as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception());
            if not_found {
                SecretError::Missing(arn.to_owned())
            } else {
                SecretError::Unavailable {
                    arn: arn.to_owned(),
                    detail: DisplayErrorContext(&e).to_string(),
                }
            }
        })?;
    let bytes = match (out.secret_string, out.secret_binary) {
        (Some(s), _) => s.into_bytes(),
        (None, Some(b)) => b.into_inner(),
        (None, None) => return Err(SecretError::Missing(arn.to_owned())),
    };
    SigningKey::new(bytes).map_err(|source| SecretError::Unusable {
        arn: arn.to_owned(),
        source,
    })
}
