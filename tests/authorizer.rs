//! End to end: the real `check-token` binary, run as Lambda runs it, behind a local Runtime API.
//!
//! Needs the binaries built (`make test` does it; or `cargo build --workspace --bins`).

mod common;
use std::time::Duration;

use authcore::token::now_seconds;
use local_runtime::{Function, FunctionSpec, Outcome};
use serde_json::json;
use testkit::moto::MotoServer;
use testkit::moto::local_aws_env;
use testkit::process::built_binary;

const TIMEOUT: Duration = Duration::from_secs(10);

fn start(secret: &str) -> Function {
    let binary = built_binary("check-token").unwrap_or_else(|e| panic!("{e}"));
    Function::start(
        FunctionSpec::new("check-token", binary)
            .env("JWT_SECRET", secret)
            .env("ROUTE_RULES", testkit::ROUTE_RULES)
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    )
    .unwrap()
}

fn mint(secret: &str, sub: &str, at: u64) -> String {
    testkit::mint(secret, testkit::demo_subject(sub), at)
}

use common::event as event_file;

fn unauthorized() -> Outcome {
    Outcome::Error {
        error_type: "Unauthorized".into(),
        error_message: "Unauthorized".into(),
    }
}

#[test]
fn the_built_authorizer_allows_valid_tokens_and_answers_unauthorized_otherwise() {
    let secret = authcore::generate_secret().unwrap();
    let f = start(&secret);
    let good = mint(&secret, "user-e2e", now_seconds());

    let allowed = f
        .invoke(&event_file("check-token.json", &good), TIMEOUT)
        .unwrap();
    let v = allowed.json().expect("an Allow response");
    assert_eq!(v["principalId"], "user-e2e");
    assert_eq!(v["policyDocument"]["Statement"][0]["Effect"], "Allow");
    // The template's rules: /hello for anyone signed in; /admin only for admins.
    assert_eq!(
        v["policyDocument"]["Statement"][0]["Resource"][0],
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/hello"
    );
    assert_eq!(
        v["policyDocument"]["Statement"][0]["Resource"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "no /admin for a reader"
    );
    assert_eq!(
        v["context"],
        json!({"sub": "user-e2e", "email": "demo@example.com", "name": "Demo User", "roles": "reader,writer"})
    );

    let expired = mint(&secret, "user-e2e", now_seconds() - 7200);
    let forged = mint(
        &authcore::generate_secret().unwrap(),
        "user-e2e",
        now_seconds(),
    );
    let payloads: Vec<(&str, Vec<u8>)> = vec![
        ("expired", event_file("check-token.json", &expired)),
        ("other key", event_file("check-token.json", &forged)),
        ("Basic", event_file("check-token-no-bearer.json", "")),
        ("garbage", event_file("check-token-garbage.json", "")),
        (
            "an event of no authorizer",
            br#"{"type": "COGNITO_USER_POOLS"}"#.to_vec(),
        ),
        ("not JSON", b"definitely not json".to_vec()),
        ("empty payload", Vec::new()),
        ("JSON null", b"null".to_vec()),
    ];
    for (name, payload) in payloads {
        assert_eq!(
            f.invoke(&payload, TIMEOUT).unwrap(),
            unauthorized(),
            "{name}"
        );
    }
    // Still serving after all of that: nothing panicked.
    assert!(
        f.invoke(&event_file("check-token.json", &good), TIMEOUT)
            .unwrap()
            .json()
            .is_some()
    );
    // Every other event shape, in its own format (the template's simple responses for 2.0).
    for (name, allowed) in [
        ("check-token-request-type.json", "policy"),
        ("check-token-http-v1.json", "policy"),
        ("check-token-http-v2.json", "simple"),
        // No rule can name the `$default` route: it is refused to everyone.
        ("check-token-http-v2-default-route.json", "refused"),
    ] {
        let v = f
            .invoke(&event_file(name, &good), TIMEOUT)
            .unwrap()
            .json()
            .unwrap_or_else(|| panic!("{name}: an answer"));
        match allowed {
            "simple" => assert_eq!(v["isAuthorized"], true, "{name}"),
            "refused" => assert_eq!(v, json!({"isAuthorized": false, "context": {}}), "{name}"),
            _ => assert_eq!(
                v["policyDocument"]["Statement"][0]["Effect"], "Allow",
                "{name}"
            ),
        }
        if allowed != "refused" {
            assert_eq!(v["context"]["sub"], "user-e2e", "{name}");
        }
        assert_eq!(
            f.invoke(&event_file(name, &expired), TIMEOUT).unwrap(),
            unauthorized(),
            "{name}"
        );
    }

    // One JSON log event per decision, never the token or the secret.
    let logs = f.logs_until(|l| l.matches("authorizer decision").count() >= 18, TIMEOUT);
    let decisions: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "authorizer decision")
        .collect();
    assert_eq!(decisions.len(), 18, "{logs}");
    assert_eq!(decisions[0]["fields"]["outcome"], "allow");
    let kinds: Vec<&str> = decisions[10..]
        .iter()
        .filter_map(|d| d["fields"]["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "request", "request", "http_v1", "http_v1", "http_v2", "http_v2", "http_v2", "http_v2"
        ]
    );
    assert_eq!(decisions[0]["fields"]["sub"], "user-e2e");
    assert_eq!(decisions[1]["fields"]["reason"], "expired");
    assert_eq!(decisions[2]["fields"]["reason"], "bad_signature");
    assert_eq!(decisions[6]["fields"]["reason"], "malformed_event");
    for secretish in [&secret, &good, &expired, &forged] {
        assert!(
            !logs.contains(secretish.as_str()),
            "a token or the secret reached the logs"
        );
    }
}

#[test]
fn a_short_secret_stops_start_up_with_a_clear_message() {
    let f = start("too-short");
    let status = f.wait_exit(TIMEOUT).expect("the process should exit");
    assert!(!status.success());
    let logs = f.logs();
    assert!(logs.contains("at least 32 bytes"), "{logs}");
    assert!(
        !logs.contains("too-short"),
        "the secret itself must not be printed: {logs}"
    );
}

fn start_with_arn(endpoint: &str, arn: &str) -> Function {
    let binary = built_binary("check-token").unwrap_or_else(|e| panic!("{e}"));
    let mut spec = FunctionSpec::new("check-token", binary)
        .env("JWT_SECRET_ARN", arn)
        .env("ROUTE_RULES", testkit::ROUTE_RULES);
    for (key, value) in local_aws_env(endpoint) {
        spec = spec.env(key, value);
    }
    Function::start(spec).unwrap()
}

#[test]
fn the_key_comes_from_secrets_manager_when_jwt_secret_arn_is_set() {
    let moto = MotoServer::start();
    let secret = authcore::generate_secret().unwrap();
    let arn = testkit::create_secret_at(&moto.endpoint(), "jwt-key", &secret);
    let f = start_with_arn(&moto.endpoint(), &arn);
    let good = mint(&secret, "from-secrets-manager", now_seconds());
    let v = f
        .invoke(&event_file("check-token.json", &good), TIMEOUT)
        .unwrap()
        .json()
        .expect("Allow");
    assert_eq!(v["principalId"], "from-secrets-manager");
    let other = mint(&authcore::generate_secret().unwrap(), "x", now_seconds());
    assert_eq!(
        f.invoke(&event_file("check-token.json", &other), TIMEOUT)
            .unwrap(),
        unauthorized()
    );
    assert!(!f.logs().contains(&secret));

    // A secret too short to sign with stops start-up, saying why, without its value.
    let short = testkit::create_secret_at(&moto.endpoint(), "short-key", "twenty-bytes-exactly");
    let f = start_with_arn(&moto.endpoint(), &short);
    assert!(!f.wait_exit(TIMEOUT).expect("start-up must fail").success());
    let logs = f.logs();
    assert!(logs.contains("at least 32 bytes"), "{logs}");
    assert!(!logs.contains("twenty-bytes-exactly"), "{logs}");

    // So does a missing one.
    let f = start_with_arn(
        &moto.endpoint(),
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf",
    );
    assert!(!f.wait_exit(TIMEOUT).expect("start-up must fail").success());
    assert!(f.logs().contains("does not exist"), "{}", f.logs());
}

/// What the gateway's cache does: the answer given for the first route an identity calls is
/// reused for every other route. Whichever route comes first, the policy must allow exactly
/// the routes the token's roles may call, on REST and on HTTP APIs, nested and root routes
/// included.
#[test]
fn whichever_route_comes_first_the_policy_allows_exactly_the_granted_routes() {
    let secret = authcore::generate_secret().unwrap();
    let binary = built_binary("check-token").unwrap_or_else(|e| panic!("{e}"));
    // The minted token is reader and writer.
    let rules = "GET /hello *; GET /admin admin; GET /items/{id} reader; \
                 GET /items/{id}/secret admin; DELETE /users/{id} writer; GET / *";
    let f = Function::start(
        FunctionSpec::new("check-token", binary)
            .env("JWT_SECRET", &secret)
            .env("ROUTE_RULES", rules)
            .env("ENABLE_SIMPLE_RESPONSES", "false"),
    )
    .unwrap();
    let token = mint(&secret, "user-arn", now_seconds());
    let routes = |base: &str| {
        [
            ("GET/hello", true),
            ("GET/admin", false),
            ("GET/items/42", true),
            ("GET/items/42/secret", false),
            ("DELETE/users/7", true),
            ("GET/users/7", false),
            ("GET/", true),
        ]
        .map(|(route, granted)| (format!("{base}/{route}"), granted))
    };
    let http = routes("arn:aws:execute-api:us-east-1:123456789012:abcdef1234/$default");
    let rest = routes("arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod");
    let cases = [
        ("check-token-http-v2.json", "routeArn", &http),
        ("check-token-http-v1.json", "methodArn", &http),
        ("check-token.json", "methodArn", &rest),
        ("check-token-request-type.json", "methodArn", &rest),
    ];
    for (name, field, routes) in cases {
        for (first, _) in routes.iter() {
            let mut event: serde_json::Value =
                serde_json::from_slice(&event_file(name, &token)).unwrap();
            event[field] = json!(first);
            // The payload 2.0 event names its route: drop it, the ARN stands for the route.
            event.as_object_mut().unwrap().remove("routeKey");
            let answer = f
                .invoke(event.to_string().as_bytes(), TIMEOUT)
                .unwrap()
                .json()
                .unwrap_or_else(|| panic!("{name} {first}: an IAM policy"));
            for (other, granted) in routes.iter() {
                let allowed = local_gateway::policy::evaluate(&answer["policyDocument"], other)
                    == local_gateway::policy::Decision::Allow;
                assert_eq!(
                    allowed, *granted,
                    "{name}: the answer for {first} on {other}"
                );
            }
        }
    }
}
