//! End to end: the real `authenticate` binary, run as Lambda runs it, against a real moto_server,
//! with the sample events from `events/`.

use std::time::{Duration, Instant};

mod common;

use local_runtime::{Function, FunctionSpec};
use serde_json::Value;
use testkit::moto::MotoServer;
use testkit::moto::local_aws_env;
use testkit::process::built_binary;

fn event(name: &str) -> Vec<u8> {
    common::event(name, "")
}

fn start(endpoint: &str, secret: &str) -> Function {
    let binary = built_binary("authenticate").unwrap_or_else(|e| panic!("{e}"));
    let mut spec = FunctionSpec::new("authenticate", binary)
        .env("JWT_SECRET", secret)
        .env("LOCKOUT_KEY", testkit::LOCKOUT_KEY)
        .env("REFRESH_KEY", testkit::REFRESH_KEY)
        .env("USERS_TABLE", "e2e-users")
        .env("ATTEMPTS_TABLE", "AttemptsTable")
        .env("SESSIONS_TABLE", "SessionsTable");
    for (key, value) in local_aws_env(endpoint) {
        spec = spec.env(key, value);
    }
    Function::start(spec).unwrap()
}

fn http(outcome: &local_runtime::Outcome) -> (u64, Value, Value) {
    let v = outcome
        .json()
        .unwrap_or_else(|| panic!("not a response: {outcome:?}"));
    let body: Value = serde_json::from_str(v["body"].as_str().unwrap_or("null")).unwrap();
    // lambda_http answers REST (v1) events with multiValueHeaders and HTTP API (v2) ones with headers.
    let mut headers = v["headers"].as_object().cloned().unwrap_or_default();
    for (name, values) in v["multiValueHeaders"].as_object().into_iter().flatten() {
        headers.insert(name.clone(), values[0].clone());
    }
    (
        v["statusCode"].as_u64().unwrap(),
        body,
        Value::Object(headers),
    )
}

#[test]
fn sample_events_through_the_built_binary() {
    let moto = MotoServer::start();
    common::add_user(
        &moto.endpoint(),
        "e2e-users",
        "demo@example.com",
        "Demo",
        &[],
        "correct horse battery staple",
    );
    let secret = authcore::generate_secret().unwrap();
    let f = start(&moto.endpoint(), &secret);
    let t = Duration::from_secs(20);

    for name in [
        "authenticate-json.json",
        "authenticate-form.json",
        "authenticate-http-api.json",
    ] {
        let (status, body, headers) = http(&f.invoke(&event(name), t).unwrap());
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(headers["cache-control"], "no-store", "{name}");
    }
    let (status, body, _) = http(
        &f.invoke(&event("authenticate-wrong-password.json"), t)
            .unwrap(),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_grant"))
    );
    let (status, body, _) = http(&f.invoke(&event("authenticate-malformed.json"), t).unwrap());
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // One log event per request; never the password or a token.
    let logs = f.logs_until(
        |l| l.matches("token request").count() >= 5,
        Duration::from_secs(10),
    );
    let events: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "token request")
        .collect();
    assert_eq!(events.len(), 5, "{logs}");
    assert_eq!(events[0]["fields"]["outcome"], "issued");
    assert_eq!(events[0]["fields"]["email"], "demo@example.com");
    assert_eq!(events[3]["fields"]["reason"], "wrong_password");
    assert!(
        events[3]["fields"].get("email").is_none(),
        "no email on failures"
    );
    assert!(
        !logs.contains("correct horse"),
        "a password reached the logs"
    );
    assert!(!logs.contains(&secret));
    assert!(!logs.contains("eyJ"), "a token reached the logs");
}

#[test]
fn unreachable_dynamodb_is_a_503_within_the_function_timeout() {
    // Port 1 on loopback: connection refused, as for a down endpoint.
    let f = start("http://127.0.0.1:1", &authcore::generate_secret().unwrap());
    let started = Instant::now();
    let (status, body, headers) = http(
        &f.invoke(&event("authenticate-json.json"), Duration::from_secs(20))
            .unwrap(),
    );
    let took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(headers["retry-after"], "1", "{headers}");
    // The template gives the function 10 s; the DynamoDB timeouts keep it well inside.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let logs = f.logs_until(
        |l| l.contains("attempts table unavailable"),
        Duration::from_secs(5),
    );
    assert!(logs.contains("attempts table unavailable"), "{logs}");
}

#[test]
fn a_hung_dynamodb_costs_about_a_second_not_five() {
    // A server that accepts connections and never answers.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", hung.local_addr().unwrap());
    let binary = built_binary("authenticate").unwrap_or_else(|e| panic!("{e}"));
    let mut spec = FunctionSpec::new("authenticate", binary)
        .env("JWT_SECRET", authcore::generate_secret().unwrap())
        .env("LOCKOUT_KEY", testkit::LOCKOUT_KEY)
        .env("REFRESH_KEY", testkit::REFRESH_KEY)
        .env("USERS_TABLE", "e2e-users")
        .env("ATTEMPTS_TABLE", "AttemptsTable")
        .env("SESSIONS_TABLE", "SessionsTable");
    for (key, value) in local_aws_env(&endpoint) {
        // The deployed default budget, not the one tests give moto.
        if key != "DYNAMODB_TIMEOUT_MS" {
            spec = spec.env(key, value);
        }
    }
    let f = Function::start(spec).unwrap();
    let started = Instant::now();
    let (status, body, headers) = http(
        &f.invoke(&event("authenticate-json.json"), Duration::from_secs(20))
            .unwrap(),
    );
    let took = started.elapsed();
    assert_eq!(
        (status, &headers["retry-after"]),
        (503, &Value::from("1")),
        "{body}"
    );
    println!("a hung DynamoDB answered 503 after {took:?}");
    // The budget is DYNAMODB_TIMEOUT_MS's default, one second (see userstore::timeouts).
    assert!(
        took < Duration::from_secs(3),
        "a hung table must not cost the SDK's default 5 s or more: {took:?}"
    );
    drop(hung);
}

#[test]
fn a_body_flagged_base64_that_is_not_is_a_400_and_the_process_lives_on() {
    let moto = MotoServer::start();
    let secret = authcore::generate_secret().unwrap();
    let f = start(&moto.endpoint(), &secret);
    let hello = Function::start({
        let mut spec = FunctionSpec::new(
            "hello",
            built_binary("hello").unwrap_or_else(|e| panic!("{e}")),
        );
        for (key, value) in local_aws_env(&moto.endpoint()) {
            spec = spec.env(key, value);
        }
        spec
    })
    .unwrap();
    let t = Duration::from_secs(20);
    let garbled = |name: &str| {
        let mut v: Value = serde_json::from_slice(&event(name)).unwrap();
        v["isBase64Encoded"] = Value::Bool(true);
        v["body"] = Value::String("%%% not base64 %%%".into());
        v.to_string().into_bytes()
    };
    for name in ["authenticate-json.json", "authenticate-http-api.json"] {
        let (status, body, _) = http(&f.invoke(&garbled(name), t).unwrap());
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{name}: {body}"
        );
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("base64"),
            "{body}"
        );
    }
    let (status, _, _) = http(&hello.invoke(&garbled("hello.json"), t).unwrap());
    assert_eq!(status, 200);
    // The same processes answer the next requests: nothing exited.
    let (status, body, _) = http(&f.invoke(&event("authenticate-malformed.json"), t).unwrap());
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _, _) = http(&hello.invoke(&event("hello.json"), t).unwrap());
    assert_eq!(status, 200);
}
