//! The functions reach a local AWS through the per-service endpoint variables the AWS SDK for
//! Rust reads — `AWS_ENDPOINT_URL_SECRETS_MANAGER` and `AWS_ENDPOINT_URL_DYNAMODB` — with no
//! `AWS_ENDPOINT_URL` set. The secret and the user exist only in the local server, so every
//! success below proves the call went there.

use std::time::Duration;

mod common;

use authcore::token::now_seconds;
use authcore::{Config, SigningKey, TokenVerifier};
use local_runtime::{Function, FunctionSpec, Outcome};
use serde_json::Value;
use testkit::moto::MotoServer;
use testkit::moto::local_aws_env;
use testkit::process::built_binary;

const TIMEOUT: Duration = Duration::from_secs(20);

/// Dummy credentials, region and log format, without the catch-all endpoint.
fn spec(binary: &str, endpoint: &str) -> FunctionSpec {
    let path = built_binary(binary).unwrap_or_else(|e| panic!("{e}"));
    let mut spec = FunctionSpec::new(binary, path).env("ROUTE_RULES", testkit::ROUTE_RULES);
    for (key, value) in local_aws_env(endpoint) {
        if key != "AWS_ENDPOINT_URL" {
            spec = spec.env(key, value);
        }
    }
    spec
}

use common::event;

/// A fresh local server holding a random signing secret: the server, the secret, its ARN.
fn moto_with_key() -> (MotoServer, String, String) {
    let moto = MotoServer::start();
    let secret = authcore::generate_secret().unwrap();
    let arn = testkit::create_secret_at(&moto.endpoint(), "jwt-key", &secret);
    (moto, secret, arn)
}

fn allowed(f: &Function, token: &str) -> Value {
    let out = f
        .invoke(&event("check-token.json", token), TIMEOUT)
        .unwrap();
    out.json()
        .unwrap_or_else(|| panic!("{out:?}\n{}", f.logs()))
}

#[test]
fn only_the_per_service_endpoint_variables_reach_the_local_server() {
    let (moto, secret, arn) = moto_with_key();
    let endpoint = moto.endpoint();
    common::add_user(
        &endpoint,
        "endpoint-users",
        "demo@example.com",
        "Demo",
        &[],
        "correct horse battery staple",
    );

    // check-token: the key from Secrets Manager.
    let check = Function::start(
        spec("check-token", &endpoint)
            .env("JWT_SECRET_ARN", &arn)
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &endpoint),
    )
    .unwrap();
    let token = testkit::mint(
        &secret,
        testkit::demo_subject("endpoint-user"),
        now_seconds(),
    );
    assert_eq!(allowed(&check, &token)["principalId"], "endpoint-user");

    // authenticate: all three keys from Secrets Manager, the user from DynamoDB.
    let lockout_arn =
        testkit::create_secret_at(&endpoint, "endpoint-lockout-key", testkit::LOCKOUT_KEY);
    let refresh_arn =
        testkit::create_secret_at(&endpoint, "endpoint-refresh-key", testkit::REFRESH_KEY);
    let auth = Function::start(
        spec("authenticate", &endpoint)
            .env("JWT_SECRET_ARN", &arn)
            .env("LOCKOUT_KEY_ARN", &lockout_arn)
            .env("REFRESH_KEY_ARN", &refresh_arn)
            .env("USERS_TABLE", "endpoint-users")
            .env("ATTEMPTS_TABLE", "AttemptsTable")
            .env("SESSIONS_TABLE", "SessionsTable")
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &endpoint)
            .env("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
    )
    .unwrap();
    let out = auth
        .invoke(&event("authenticate-json.json", ""), TIMEOUT)
        .unwrap();
    let response = out
        .json()
        .unwrap_or_else(|| panic!("{out:?}\n{}", auth.logs()));
    assert_eq!(response["statusCode"], 200, "{response}\n{}", auth.logs());
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    let issued = body["access_token"].as_str().unwrap();
    // Signed with the secret's value: verifiable with it, and accepted by the authorizer.
    let config = Config::with_secret(&secret).unwrap();
    let key = SigningKey::new(secret.as_bytes().to_vec()).unwrap();
    let claims = TokenVerifier::new(&key, &config).verify(issued).unwrap();
    assert_eq!(claims.email.as_deref(), Some("demo@example.com"));
    assert_eq!(
        allowed(&check, issued)["context"]["email"],
        "demo@example.com"
    );
}

#[test]
fn the_misspelled_secrets_manager_variable_gets_a_warning_that_names_the_right_one() {
    let (moto, secret, arn) = moto_with_key();
    let endpoint = moto.endpoint();
    // The catch-all endpoint keeps the call local; the misspelled name alone would not.
    let f = Function::start(
        spec("check-token", &endpoint)
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ENDPOINT_URL_SECRETSMANAGER", &endpoint)
            .env("JWT_SECRET_ARN", &arn),
    )
    .unwrap();
    let token = testkit::mint(&secret, testkit::demo_subject("u"), now_seconds());
    assert!(matches!(
        f.invoke(&event("check-token.json", &token), TIMEOUT)
            .unwrap(),
        Outcome::Response(_)
    ));
    let logs = f.logs();
    let warning = logs
        .lines()
        .find(|l| l.contains("AWS_ENDPOINT_URL_SECRETSMANAGER"))
        .unwrap_or_else(|| panic!("no warning about the misspelled variable:\n{logs}"));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(
        warning.contains("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
        "{warning}"
    );
}

#[test]
fn a_secrets_manager_outage_at_cold_start_fails_that_start_and_the_next_one_recovers() {
    let (moto, _, arn) = moto_with_key();
    let endpoint = moto.endpoint();
    let start = |secrets_manager: &str| {
        Function::start(
            spec("authenticate", &endpoint)
                .env("JWT_SECRET_ARN", &arn)
                .env("LOCKOUT_KEY", testkit::LOCKOUT_KEY)
                .env("REFRESH_KEY", testkit::REFRESH_KEY)
                .env("USERS_TABLE", "outage-users")
                .env("ATTEMPTS_TABLE", "AttemptsTable")
                .env("SESSIONS_TABLE", "SessionsTable")
                .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets_manager)
                .env("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
        )
        .unwrap()
    };
    // Secrets Manager unreachable: the environment fails to start, saying why, and ends.
    let down = start("http://127.0.0.1:1");
    let status = down.wait_exit(TIMEOUT).expect("the process ends");
    assert!(!status.success());
    let logs = down.logs();
    assert!(
        logs.contains("start-up failed") && logs.contains(&format!("cannot read the secret {arn}")),
        "{logs}"
    );
    // And counts it before it ends: the metric an operator's alarm sees.
    let failures = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|d| d["Service"] == "secretsmanager")
        .filter_map(|d| d["DependencyFailures"].as_f64())
        .sum::<f64>();
    assert!(
        failures >= 1.0,
        "no DependencyFailures for Secrets Manager: {logs}"
    );
    // Lambda starts another environment for the next invocation: with the service back, it
    // answers (no such user here: a refusal, but an answer).
    common::add_user(
        &endpoint,
        "outage-users",
        "someone@example.com",
        "Someone",
        &[],
        "correct horse battery staple",
    );
    let up = start(&endpoint);
    let out = up
        .invoke(&event("authenticate-json.json", ""), TIMEOUT)
        .unwrap();
    let response = out
        .json()
        .unwrap_or_else(|| panic!("{out:?}\n{}", up.logs()));
    assert_eq!(response["statusCode"], 401, "{response}\n{}", up.logs());
}
