//! The functions' metrics, as CloudWatch would read them: each real binary through its Runtime
//! API, then the Embedded Metric Format documents among the lines it printed (and the X-Ray
//! trace id in its request log line). Every document
//! names the namespace from `METRICS_NAMESPACE` and the function; the counts match what was
//! asked of it; no dimension holds a user, an email or a token.

use std::time::Duration;

mod common;

use authcore::TokenError;
use local_runtime::Function;
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(20);
const NAMESPACE: &str = "metrics-test";
/// The client address in the sample sign-in event (`events/authenticate-json.json`).
const SOURCE_IP: &str = "203.0.113.10";

fn start(binary: &str, endpoint: &str, secret: &str) -> Function {
    let spec = common::function_spec(binary, endpoint, secret).env("METRICS_NAMESPACE", NAMESPACE);
    Function::start(spec).unwrap()
}

/// The EMF documents in `logs`.
fn parse(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect()
}

/// The EMF documents `f` printed, once `metric` appears in them `n` times in all (a function
/// writes its lines on its own: the last can arrive just after its answer).
fn documents(f: &Function, metric: &str, n: f64) -> Vec<Value> {
    let logs = f.logs_until(|l| total(&parse(l), metric, &[]) >= n, TIMEOUT);
    parse(&logs)
}

/// The sum of metric `name` over the documents whose dimensions include `dims`.
fn total(docs: &[Value], name: &str, dims: &[(&str, &str)]) -> f64 {
    docs.iter()
        .filter(|d| dims.iter().all(|(k, v)| d[*k] == *v))
        .filter_map(|d| d[name].as_f64())
        .sum()
}

/// Every document is in the namespace and names `function`, and declares the dimensions it
/// carries; none carries any of `secrets`.
fn well_formed(docs: &[Value], function: &str, secrets: &[&str]) {
    assert!(!docs.is_empty(), "no metrics from {function}");
    for d in docs {
        let directive = &d["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE, "{d}");
        assert_eq!(d["Function"], function, "{d}");
        assert!(d["_aws"]["Timestamp"].as_u64().is_some(), "{d}");
        for dim in directive["Dimensions"][0].as_array().unwrap() {
            assert!(d[dim.as_str().unwrap()].is_string(), "{dim} in {d}");
        }
        // Every metric named, with its unit, and present as a member of the document.
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().expect("a Name");
            assert!(metric["Unit"].is_string(), "no Unit for {name}: {d}");
            assert!(
                d[name].is_number() || d[name].is_array(),
                "no value for {name}: {d}"
            );
        }
        let text = d.to_string();
        for s in secrets {
            assert!(!text.contains(s), "{s} in {d}");
        }
    }
}

#[test]
fn the_authorizer_counts_decisions_by_outcome_and_reason_and_its_cold_start() {
    let secret = authcore::generate_secret().unwrap();
    let token = testkit::mint(
        &secret,
        testkit::demo_subject("u_metrics"),
        authcore::token::now_seconds(),
    );
    let check = start("check-token", "http://127.0.0.1:1", &secret);
    let now = authcore::token::now_seconds();
    let subject = || testkit::demo_subject("u_metrics");
    let other = |change: fn(&mut authcore::Config)| {
        let mut config = authcore::Config::with_secret(&secret).unwrap();
        change(&mut config);
        let key = config.inline_key().unwrap().clone();
        authcore::TokenIssuer::new(&key, &config)
            .issue_at(subject(), now)
            .unwrap()
            .token
    };
    let with = |t: &str| testkit::event("check-token.json", t);
    let stranger = authcore::generate_secret().unwrap();
    let cases: Vec<(String, &str, &str)> = vec![
        (with(&token), "allow", "valid"),
        (with(&token), "allow", "valid"),
        (
            with(&token).replace("/GET/hello", "/GET/admin"),
            "deny",
            "not_granted",
        ),
        (
            with(&testkit::mint(&secret, subject(), now - 86_400)),
            "unauthorized",
            TokenError::Expired.reason(),
        ),
        (
            with(&testkit::mint(&secret, subject(), now + 3_600)),
            "unauthorized",
            TokenError::NotYetValid.reason(),
        ),
        (
            with(&testkit::mint(&stranger, subject(), now)),
            "unauthorized",
            TokenError::BadSignature.reason(),
        ),
        (
            with(&other(|c| c.issuer = "https://elsewhere".into())),
            "unauthorized",
            TokenError::WrongIssuer.reason(),
        ),
        (
            with(&other(|c| c.audience = "another-api".into())),
            "unauthorized",
            TokenError::WrongAudience.reason(),
        ),
        (
            testkit::event("check-token-garbage.json", ""),
            "unauthorized",
            "malformed",
        ),
        (
            testkit::event("check-token-no-bearer.json", ""),
            "unauthorized",
            "wrong_scheme",
        ),
    ];
    for (event, _, _) in &cases {
        check.invoke(event.as_bytes(), TIMEOUT).unwrap();
    }
    let docs = documents(&check, "Decisions", cases.len() as f64);
    well_formed(
        &docs,
        "check-token",
        &[&token, "u_metrics", "demo@example.com"],
    );
    for (_, outcome, reason) in &cases {
        let driven = cases
            .iter()
            .filter(|(_, o, r)| (o, r) == (outcome, reason))
            .count();
        let dims = [("Outcome", *outcome), ("Reason", *reason)];
        let counted = total(&docs, "Decisions", &dims);
        assert_eq!(counted, driven as f64, "{outcome} {reason}: {docs:?}");
    }
    assert_eq!(total(&docs, "ColdStarts", &[]), 1.0, "{docs:?}");
    // The request's log line carries the X-Ray trace id Lambda sent with the invocation.
    let logs = check.logs();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("authorizer decision"))
        .collect();
    assert_eq!(lines.len(), cases.len(), "{logs}");
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap();
        let request_id = v["fields"]["request_id"].as_str().unwrap();
        let (pid, n) = request_id.split_once("-local-").unwrap();
        let sent =
            local_runtime::trace_id(u32::from_str_radix(pid, 16).unwrap(), n.parse().unwrap());
        assert_eq!(v["span"]["xrayTraceId"], sent, "{line}");
    }
    let init = docs
        .iter()
        .find_map(|d| d["InitDuration"].as_array())
        .expect("InitDuration");
    assert!(
        init.len() == 1 && init[0].as_f64().unwrap() > 0.0,
        "{init:?}"
    );
}

#[test]
fn sign_ins_refreshes_and_revocations_are_counted_by_outcome() {
    let email = "metrics@example.com";
    let (moto, secret, password) = common::moto_with_reader(email);
    let endpoint = moto.endpoint();
    let authenticate = start("authenticate", &endpoint, &secret);
    let call = |path: &str, body: Value| {
        let mut event: Value =
            serde_json::from_str(&testkit::event("authenticate-json.json", "")).unwrap();
        event["path"] = Value::String(path.to_owned());
        event["body"] = Value::String(body.to_string());
        let out = authenticate
            .invoke(event.to_string().as_bytes(), TIMEOUT)
            .unwrap();
        let v = out.json().unwrap_or_else(|| panic!("{out:?}"));
        serde_json::from_str::<Value>(v["body"].as_str().unwrap_or("null")).unwrap()
    };
    let signed = call("/token", json!({"email": email, "password": password}));
    // Five wrong passwords from one source, then a sixth, which the lockout holds.
    for _ in 0..6 {
        call(
            "/token",
            json!({"email": email, "password": "wrong horse battery"}),
        );
    }
    call(
        "/token",
        json!({"email": "nobody@example.com", "password": "wrong horse battery"}),
    );
    call("/token", json!({"email": email}));
    let first = signed["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |t: &str| json!({"grant_type": "refresh_token", "refresh_token": t});
    let next = call("/refresh", refresh(&first))["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    call("/refresh", refresh(&first)); // a retry: the same successor
    let last = call("/refresh", refresh(&next))["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    call("/refresh", refresh(&first)); // its successor was used: reuse, the family is revoked
    call("/revoke", json!({"token": last}));
    call("/refresh", refresh(&last)); // revoked

    let docs = documents(&authenticate, "Revocations", 1.0);
    well_formed(
        &docs,
        "authenticate",
        &[&password, email, &first, &next, &last, SOURCE_IP],
    );
    for (metric, outcome, n) in [
        ("SignIns", "success", 1.0),
        ("SignIns", "bad_credentials", 6.0),
        ("SignIns", "held", 1.0),
        ("SignIns", "malformed_request", 1.0),
        ("Refreshes", "success", 2.0),
        ("Refreshes", "retry", 1.0),
        ("Refreshes", "reuse", 1.0),
        ("Refreshes", "revoked", 1.0),
        ("Revocations", "revoked", 1.0),
    ] {
        assert_eq!(
            total(&docs, metric, &[("Outcome", outcome)]),
            n,
            "{metric} {outcome}: {docs:?}"
        );
    }
    let held = [("Outcome", "held"), ("Rule", "account_and_source")];
    assert_eq!(
        total(&docs, "SignIns", &held),
        1.0,
        "the rule that held it: {docs:?}"
    );
    assert_eq!(total(&docs, "ColdStarts", &[]), 1.0);
}

#[test]
fn a_store_outage_counts_as_a_dynamodb_failure() {
    let secret = authcore::generate_secret().unwrap();
    let down = start("authenticate", "http://127.0.0.1:1", &secret);
    let mut event: Value =
        serde_json::from_str(&testkit::event("authenticate-json.json", "")).unwrap();
    event["body"] =
        Value::String(json!({"email": "a@example.com", "password": "pw pw pw pw"}).to_string());
    down.invoke(event.to_string().as_bytes(), TIMEOUT).unwrap();
    let docs = documents(&down, "SignIns", 1.0);
    well_formed(&docs, "authenticate", &[]);
    let dynamodb = [("Service", "dynamodb")];
    assert_eq!(
        total(&docs, "DependencyFailures", &dynamodb),
        1.0,
        "{docs:?}"
    );
    let unavailable = [("Outcome", "store_unavailable")];
    assert_eq!(total(&docs, "SignIns", &unavailable), 1.0, "{docs:?}");
}
