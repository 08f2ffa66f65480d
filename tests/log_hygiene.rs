//! No log level, however verbose, makes a function log a secret: each real binary at TRACE
//! (both `AWS_LAMBDA_LOG_LEVEL` and `RUST_LOG`), through a sign-in, a refusal, a DynamoDB
//! failure, an authorization and the protected route; then every line they printed is searched
//! for the password, the token, the stored hash and the signing key.

use std::time::Duration;

mod common;

use local_runtime::{Function, Outcome};
use serde_json::Value;
use testkit::moto::MotoServer;

const TIMEOUT: Duration = Duration::from_secs(20);

/// Function `binary` at TRACE, against `endpoint`, with `secret` as its key.
fn verbose(binary: &str, endpoint: &str, secret: &str) -> Function {
    let spec = common::function_spec(binary, endpoint, secret)
        .env("AWS_LAMBDA_LOG_LEVEL", "TRACE")
        .env("RUST_LOG", "trace");
    Function::start(spec).unwrap()
}

/// The sample sign-in event with `email` and `password` in its body.
fn sign_in_event(email: &str, password: &str) -> Vec<u8> {
    let mut event: Value =
        serde_json::from_str(&testkit::event("authenticate-json.json", "")).unwrap();
    event["body"] =
        Value::String(serde_json::json!({"email": email, "password": password}).to_string());
    event.to_string().into_bytes()
}

fn body(out: &Outcome) -> Value {
    let v = out.json().unwrap_or_else(|| panic!("{out:?}"));
    serde_json::from_str(v["body"].as_str().unwrap_or("null")).unwrap()
}

#[test]
fn no_function_logs_a_secret_even_at_trace() {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let secret = authcore::generate_secret().unwrap();
    let password = format!(
        "trace {} staple",
        &authcore::generate_secret().unwrap()[..12]
    );
    let email = "trace@example.com";
    common::add_user(
        &endpoint,
        "UsersTable",
        email,
        "Trace User",
        &["reader"],
        &password,
    );

    let authenticate = verbose("authenticate", &endpoint, &secret);
    let issued = authenticate
        .invoke(&sign_in_event(email, &password), TIMEOUT)
        .unwrap();
    let token = body(&issued)["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{issued:?}\n{}", authenticate.logs()))
        .to_owned();
    let refresh_token = body(&issued)["refresh_token"].as_str().unwrap().to_owned();
    // A refresh, its retry, a refresh of the successor, a reuse of the first token, and a
    // revocation.
    let with_body = |path: &str, b: Value| {
        let mut event: Value =
            serde_json::from_str(&testkit::event("authenticate-json.json", "")).unwrap();
        event["path"] = Value::String(path.to_owned());
        event["body"] = Value::String(b.to_string());
        event.to_string().into_bytes()
    };
    let exchange = |token: &str| {
        let grant = serde_json::json!({"grant_type": "refresh_token", "refresh_token": token});
        authenticate
            .invoke(&with_body("/token", grant), TIMEOUT)
            .unwrap()
    };
    let successor = |out| body(&out)["refresh_token"].as_str().unwrap().to_owned();
    let first = successor(exchange(&refresh_token));
    assert_eq!(successor(exchange(&refresh_token)), first, "a retry");
    let next_refresh = successor(exchange(&first));
    let reused = exchange(&refresh_token);
    assert_eq!(body(&reused)["error"], "invalid_grant");
    let revoked = authenticate
        .invoke(
            &with_body("/revoke", serde_json::json!({"token": next_refresh})),
            TIMEOUT,
        )
        .unwrap();
    assert_eq!(body(&revoked), serde_json::json!({}));
    let wrong = "wrong horse battery staple";
    assert_eq!(
        body(
            &authenticate
                .invoke(&sign_in_event(email, wrong), TIMEOUT)
                .unwrap()
        )["error"],
        "invalid_grant"
    );
    // DynamoDB down.
    let down = verbose("authenticate", "http://127.0.0.1:1", &secret);
    assert_eq!(
        body(
            &down
                .invoke(&sign_in_event(email, &password), TIMEOUT)
                .unwrap()
        )["error"],
        "temporarily_unavailable"
    );

    let check = verbose("check-token", &endpoint, &secret);
    let allowed = check
        .invoke(
            testkit::event("check-token.json", &token).as_bytes(),
            TIMEOUT,
        )
        .unwrap();
    assert!(allowed.json().is_some(), "{allowed:?}");
    let hello = verbose("hello", &endpoint, &secret);
    let greeted = hello
        .invoke(testkit::event("hello.json", &token).as_bytes(), TIMEOUT)
        .unwrap();
    assert!(greeted.json().is_some(), "{greeted:?}");

    let hash = {
        let client = aws_sdk_dynamodb::Client::new(&testkit::moto::local_sdk_config(&endpoint));
        let users = userstore::UserStore::new(client, "UsersTable");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(users.get(email))
            .unwrap()
            .unwrap()
            .password_hash
    };
    let logs = [
        (
            "authenticate",
            authenticate.logs_until(
                |l| l.contains("revoke request") && l.matches("token request").count() >= 4,
                Duration::from_secs(5),
            ),
        ),
        (
            "authenticate (DynamoDB down)",
            down.logs_until(|l| l.contains("token request"), Duration::from_secs(5)),
        ),
        (
            "check-token",
            check.logs_until(
                |l| l.contains("authorizer decision"),
                Duration::from_secs(5),
            ),
        ),
        ("hello", hello.logs()),
    ];
    for (name, text) in &logs {
        assert!(!text.is_empty(), "{name} printed nothing");
        for (what, needle) in [
            ("the password", password.as_str()),
            ("the wrong password", wrong),
            ("the token", token.as_str()),
            ("a JWT", "eyJ"),
            ("the stored hash", hash.as_str()),
            ("an argon2 hash", "$argon2id$"),
            ("the signing key", secret.as_str()),
            ("the lockout key", testkit::LOCKOUT_KEY),
            ("the refresh token", refresh_token.as_str()),
            ("the next refresh token", next_refresh.as_str()),
            (
                "a refresh token's hash",
                authcore::token::refresh::hash(&refresh_token)
                    .unwrap()
                    .as_str(),
            ),
        ] {
            assert!(!text.contains(needle), "{name} logged {what} at TRACE");
        }
    }
    // TRACE was in force: the functions' own events are there, one per request.
    assert!(
        logs[0].1.contains("\"outcome\":\"issued\""),
        "{}",
        logs[0].1
    );
    assert!(logs[1].1.contains("store_unavailable"), "{}", logs[1].1);
}
