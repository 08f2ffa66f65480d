//! Loading the key from a real Secrets Manager-compatible server (moto, over HTTP).

use secrets::{SecretError, load_ring};
use testkit::moto::MotoServer;

fn client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&testkit::moto::local_sdk_config(endpoint))
}

async fn create(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) -> String {
    let out = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
    out.arn.unwrap()
}

#[tokio::test]
async fn loads_the_current_value_and_refuses_short_or_missing_secrets() {
    let moto = MotoServer::start();
    let client = client(&moto.endpoint());
    let value = authcore::generate_secret().unwrap();
    let arn = create(&client, "jwt-signing-key", &value).await;
    let key = load_ring(&client, &arn).await.unwrap().current.key;
    assert_eq!(key.secret().unwrap().expose_secret(), value.as_bytes());
    // By name as well as by ARN.
    assert_eq!(
        load_ring(&client, "jwt-signing-key")
            .await
            .unwrap()
            .current
            .key
            .secret()
            .unwrap()
            .expose_secret(),
        value.as_bytes()
    );

    let short = create(&client, "too-short", "only-20-bytes-long!!").await;
    let err = load_ring(&client, &short).await.unwrap_err();
    assert!(matches!(err, SecretError::Unusable { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("20 bytes") && message.contains("at least 32"),
        "{message}"
    );
    assert!(
        !message.contains("only-20-bytes-long"),
        "the value must not be in the message"
    );

    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf";
    let err = load_ring(&client, missing).await.unwrap_err();
    assert!(matches!(err, SecretError::Missing(_)), "{err}");
    assert!(err.to_string().contains("JWT_SECRET_ARN"), "{err}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_reported_as_unavailable() {
    let err = load_ring(
        &client("http://127.0.0.1:1"),
        "arn:aws:secretsmanager:us-east-1:1:secret:x",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SecretError::Unavailable { .. }), "{err}");
}
