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
            next: None,
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

/// Verifies `token` the way another service would: with a JWK set it fetched earlier, by kid.
fn verify_with_jwks(jwks: &jsonwebtoken::jwk::JwkSet, token: &str) -> bool {
    let Some(kid) = jsonwebtoken::decode_header(token).unwrap().kid else {
        return false;
    };
    let Some(jwk) = jwks.find(&kid) else {
        return false;
    };
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[config().audience]);
    jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).is_ok()
}

#[tokio::test]
async fn an_es256_next_key_is_published_before_it_signs_and_nobody_is_logged_out() {
    let moto = MotoServer::start();
    let client = client(&moto.endpoint());
    let first_key = authcore::EcKey::generate().unwrap();
    let arn = testkit::create_secret(&client, "jwt-es256", &first_key.to_pem()).await;
    let state = authorizer(&client, &arn, Duration::ZERO).await;
    let (first, kid1) = issue(&client, &arn, "first").await;
    assert_eq!(
        kid1,
        first_key.kid(),
        "an ES256 key is named by its thumbprint"
    );
    assert_eq!(check(&state, &first).await, Ok("first".into()));

    // Publish the next key: it is in the key set, and tokens are still signed with the first.
    let next_key = authcore::EcKey::generate().unwrap();
    secrets::rotation::put_key(&client, &arn, &next_key.to_pem(), secrets::Stage::Next)
        .await
        .unwrap();
    let published = secrets::load_ring(&client, &arn)
        .await
        .unwrap()
        .jwks()
        .unwrap();
    let kids: Vec<_> = published
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect();
    assert_eq!(kids, [first_key.kid(), next_key.kid()]);
    let (still_first, kid) = issue(&client, &arn, "still-first").await;
    assert_eq!(kid, kid1, "a published next key does not sign yet");

    // Promote it. A service that cached the key set before the promotion verifies new tokens
    // already; the warm authorizer reloads once; old tokens keep working.
    secrets::rotation::promote_next(&client, &arn)
        .await
        .unwrap();
    let (second, kid2) = issue(&client, &arn, "second").await;
    assert_eq!(kid2, next_key.kid());
    assert!(
        verify_with_jwks(&published, &second),
        "verified with the cached key set"
    );
    assert!(verify_with_jwks(&published, &still_first));
    assert_eq!(check(&state, &second).await, Ok("second".into()));
    assert_eq!(check(&state, &first).await, Ok("first".into()));
    let ring = secrets::load_ring(&client, &arn).await.unwrap();
    assert_eq!(ring.previous.map(|k| k.kid), Some(kid1));
    assert!(ring.next.is_none(), "the promoted key is no longer pending");

    // Promoting again without a new next key is refused, and changes nothing.
    assert!(matches!(
        secrets::rotation::promote_next(&client, &arn).await,
        Err(secrets::rotation::PromoteError::NoNextKey)
    ));
    assert_eq!(issue(&client, &arn, "third").await.1, kid2);
}
