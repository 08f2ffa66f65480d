//! Key rotation against a real Secrets Manager-compatible server (moto): tokens issued before a
//! rotation keep working, new ones name the new key, and a retired key stops working.

use std::time::Duration;

use authcore::token::{Subject, now_seconds};
use authcore::{Config, TokenIssuer};
use check_token::{AuthorizerInput, Refresher, State, Unauthorized, handler};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use testkit::moto::MotoServer;

fn client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&testkit::moto::local_sdk_config(endpoint))
}

fn config() -> Config {
    // Issuer settings only: the keys come from Secrets Manager.
    Config::with_secret(&authcore::generate_secret().unwrap()).unwrap()
}

/// What `authenticate` would issue right now: signed with the secret's current version.
async fn issue(client: &aws_sdk_secretsmanager::Client, arn: &str, sub: &str) -> (String, String) {
    let ring = secrets::load_ring(client, arn).await.unwrap();
    let token = TokenIssuer::from_ring(&ring, &config())
        .issue(Subject {
            sub: sub.into(),
            ..Default::default()
        })
        .unwrap()
        .token;
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    assert_eq!(kid, ring.current.kid, "new tokens name the current key");
    (token, kid)
}

async fn create_secret(client: &aws_sdk_secretsmanager::Client, name: &str) -> String {
    testkit::create_secret(client, name, &authcore::generate_secret().unwrap()).await
}

async fn rotate(client: &aws_sdk_secretsmanager::Client, arn: &str) {
    client
        .put_secret_value()
        .secret_id(arn)
        .secret_string(authcore::generate_secret().unwrap())
        .send()
        .await
        .unwrap();
}

async fn check(state: &State, token: &str) -> Result<String, Unauthorized> {
    let event = json!({
        "type": "TOKEN",
        "authorizationToken": format!("Bearer {token}"),
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/hello"
    });
    let input = AuthorizerInput::parse(&event.to_string());
    let response = handler(state, LambdaEvent::new(input, Context::default())).await?;
    let response = serde_json::to_value(response).unwrap();
    Ok(response["principalId"].as_str().unwrap().to_owned())
}

async fn authorizer(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
    interval: Duration,
) -> State {
    let ring = secrets::load_ring(client, arn).await.unwrap();
    State::from_ring(
        &ring,
        &config(),
        Some(Refresher::new(
            secrets::SecretSource::new(client.clone(), arn),
            interval,
        )),
    )
}

#[tokio::test]
async fn rotations_keep_live_tokens_working_and_retire_the_oldest_key() {
    let moto = MotoServer::start();
    let client = client(&moto.endpoint());
    let arn = create_secret(&client, "jwt-rotation").await;
    // A warm authorizer, started before any rotation (refreshes allowed at once for the test).
    let state = authorizer(&client, &arn, Duration::ZERO).await;
    let (first, kid1) = issue(&client, &arn, "first").await;
    assert_eq!(check(&state, &first).await, Ok("first".into()));

    rotate(&client, &arn).await;
    let (second, kid2) = issue(&client, &arn, "second").await;
    assert_ne!(kid1, kid2, "new tokens name the new key");
    // The warm authorizer has never seen kid2: it reloads its ring and accepts.
    assert_eq!(check(&state, &second).await, Ok("second".into()));
    assert_eq!(state.refreshes(), 1);
    // Tokens issued before the rotation keep working.
    assert_eq!(check(&state, &first).await, Ok("first".into()));

    rotate(&client, &arn).await;
    let (third, _) = issue(&client, &arn, "third").await;
    assert_eq!(check(&state, &third).await, Ok("third".into()));
    assert_eq!(
        check(&state, &second).await,
        Ok("second".into()),
        "the previous key still verifies"
    );
    assert_eq!(
        check(&state, &first).await,
        Err(Unauthorized),
        "two rotations retire the oldest key"
    );
    // A freshly started authorizer agrees.
    let cold = authorizer(&client, &arn, Duration::ZERO).await;
    assert_eq!(check(&cold, &first).await, Err(Unauthorized));
    assert_eq!(check(&cold, &second).await, Ok("second".into()));
}

#[tokio::test]
async fn a_flood_of_unknown_kids_reloads_the_ring_at_most_once_per_interval() {
    let moto = MotoServer::start();
    let client = client(&moto.endpoint());
    let arn = create_secret(&client, "jwt-flood").await;
    let state = authorizer(&client, &arn, check_token::REFRESH_INTERVAL).await;
    let cfg = config();
    for i in 0..25 {
        // Forged: a made-up kid and a key nobody holds.
        let ring = authcore::KeyRing {
            current: authcore::NamedKey {
                kid: format!("forged-{i}"),
                key: cfg.inline_key().unwrap().clone(),
            },
            previous: None,
        };
        let token = TokenIssuer::from_ring(&ring, &cfg)
            .issue_at(
                Subject {
                    sub: "x".into(),
                    ..Default::default()
                },
                now_seconds(),
            )
            .unwrap()
            .token;
        assert_eq!(check(&state, &token).await, Err(Unauthorized));
    }
    assert_eq!(
        state.refreshes(),
        1,
        "one Secrets Manager call for the whole flood"
    );
}
