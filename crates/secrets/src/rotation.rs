//! Writing signing keys into the Secrets Manager secret: the first key, a next key published
//! before it signs (stage `AWSPENDING`), and its promotion to `AWSCURRENT` (the key before it
//! becomes `AWSPREVIOUS`, so that it still verifies). These are the steps of Secrets Manager's
//! own rotation (set, then finish), run by `authctl signing-key`.

use aws_sdk_secretsmanager::Client;

use crate::{SecretError, Stage, unavailable};

/// Stores `value` as a new version of the secret at `stage` (current or next), and
/// returns the version's id. A new current key moves the one before it to `AWSPREVIOUS`.
pub async fn put_key(
    client: &Client,
    arn: &str,
    value: &str,
    stage: Stage,
) -> Result<String, SecretError> {
    let out = client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .version_stages(stage.label())
        .send()
        .await
        .map_err(|e| unavailable(arn, e))?;
    Ok(out.version_id.unwrap_or_default())
}

/// The id of the version at `stage`, if one is.
async fn version_at(
    client: &Client,
    arn: &str,
    stage: Stage,
) -> Result<Option<String>, SecretError> {
    let out = client
        .describe_secret()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| unavailable(arn, e))?;
    Ok(out.version_ids_to_stages.and_then(|versions| {
        versions
            .into_iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage.label()))
            .map(|(id, _)| id)
    }))
}

/// Why a promotion did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    /// No version is at `AWSPENDING`: publish a next key first.
    #[error(
        "the secret has no next key (no AWSPENDING version): publish one first with \
         `authctl signing-key next`, and wait for caches of the key set to expire"
    )]
    NoNextKey,
    /// Secrets Manager refused or failed.
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// Makes the next key the current one: `AWSCURRENT` moves to the `AWSPENDING` version (the
/// current version becomes `AWSPREVIOUS`), then `AWSPENDING` is taken off it. Returns the
/// promoted version's id.
pub async fn promote_next(client: &Client, arn: &str) -> Result<String, PromoteError> {
    let next = version_at(client, arn, Stage::Next)
        .await?
        .ok_or(PromoteError::NoNextKey)?;
    let current = version_at(client, arn, Stage::Current).await?;
    client
        .update_secret_version_stage()
        .secret_id(arn)
        .version_stage(Stage::Current.label())
        .move_to_version_id(&next)
        .set_remove_from_version_id(current)
        .send()
        .await
        .map_err(|e| unavailable(arn, e))?;
    client
        .update_secret_version_stage()
        .secret_id(arn)
        .version_stage(Stage::Next.label())
        .remove_from_version_id(&next)
        .send()
        .await
        .map_err(|e| unavailable(arn, e))?;
    Ok(next)
}
