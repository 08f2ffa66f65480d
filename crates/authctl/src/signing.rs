//! The signing-key commands: generate a key, and write keys into the stack's signing-key
//! secret (first key, next key, promotion) with `secrets::rotation`.

use authcore::{EcKey, Key};
use secrets::{Stage, rotation};

use crate::Failure;
use crate::cli::{Algorithm, SigningKeyCommand};
use crate::settings::Settings;

/// A new key's stored value: a PEM for ES256, a random secret for HS256; and its key id where
/// it has a public one.
fn new_key(algorithm: Algorithm) -> Result<(String, Option<String>), Failure> {
    Ok(match algorithm {
        Algorithm::Es256 => {
            let key = EcKey::generate()?;
            (key.to_pem(), Some(key.kid().to_owned()))
        }
        Algorithm::Hs256 => (authcore::generate_secret()?, None),
    })
}

/// Stores a new key at `stage` of the secret, and says which key it is without a word of the
/// key itself.
async fn put(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
    algorithm: Algorithm,
    stage: Stage,
) -> Result<(), Failure> {
    let (value, kid) = new_key(algorithm)?;
    let version = rotation::put_key(client, arn, &value, stage).await?;
    let what = match stage {
        Stage::Next => "next key, published",
        _ => "current key",
    };
    match kid {
        Some(kid) => println!("{what}: version {version}, kid {kid}"),
        None => println!("{what}: version {version} (HS256)"),
    }
    Ok(())
}

/// Runs one signing-key command.
pub async fn run(settings: &Settings, cmd: SigningKeyCommand) -> Result<(), Failure> {
    let client =
        || async { aws_sdk_secretsmanager::Client::new(&crate::sdk_config(settings).await) };
    match cmd {
        SigningKeyCommand::Generate { algorithm } => {
            let (value, _) = new_key(algorithm)?;
            // Checked as the functions will read it.
            Key::parse(value.clone().into_bytes())?;
            print!("{value}");
            if !value.ends_with('\n') {
                println!();
            }
        }
        SigningKeyCommand::Init {
            secret_arn,
            algorithm,
        } => put(&client().await, &secret_arn, algorithm, Stage::Current).await?,
        SigningKeyCommand::Next {
            secret_arn,
            algorithm,
        } => put(&client().await, &secret_arn, algorithm, Stage::Next).await?,
        SigningKeyCommand::Promote { secret_arn } => {
            let version = rotation::promote_next(&client().await, &secret_arn).await?;
            println!("promoted version {version}: it signs from now on");
        }
    }
    Ok(())
}
