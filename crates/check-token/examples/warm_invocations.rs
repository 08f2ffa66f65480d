//! Measures the built binary as Lambda runs it: N warm invocations through a local Runtime API,
//! the function's CPU time per invocation (what Lambda bills, and what a warm authorizer
//! costs), round-trip latency percentiles and the process's peak resident memory.
//!
//! `cargo build --release -p check-token && cargo run --release -p check-token --example warm_invocations -- [N] [EVENT]`
//!
//! `SIGNING=ES256` signs with a per-run P-256 key instead of an HS256 secret.
//!
//! EVENT is a sample event file (`events/check-token-http-v2.json`, ...) whose
//! `REPLACE_WITH_TOKEN` gets a fresh token; without it, a TOKEN event.

use std::time::{Duration, Instant};

use authcore::token::{Subject, now_seconds};
use authcore::{Config, KeySource, TokenIssuer};
use local_runtime::{Function, FunctionSpec};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let binary =
        std::env::var("CHECK_TOKEN_BIN").unwrap_or_else(|_| "target/release/check-token".into());
    // ROUTE_RULES from the environment (to measure many rules), else the template's.
    let rules =
        std::env::var("ROUTE_RULES").unwrap_or_else(|_| "GET /hello *; GET /admin admin".into());
    // SIGNING=ES256: a per-run P-256 key (a PEM in JWT_SECRET), else a per-run HS256 secret.
    let secret = match std::env::var("SIGNING").as_deref() {
        Ok("ES256") => authcore::EcKey::generate().unwrap().to_pem(),
        _ => authcore::generate_secret().unwrap(),
    };
    let config = Config::with_secret(&secret).unwrap();
    let KeySource::Inline(ring) = &config.key_source else {
        unreachable!("a key given inline")
    };
    let subject = Subject {
        sub: "bench-user".into(),
        email: Some("b@example.com".into()),
        name: None,
        roles: vec!["reader".into()],
    };
    let token = TokenIssuer::from_ring(ring, &config)
        .issue_at(subject, now_seconds())
        .unwrap()
        .token;
    let event = match std::env::args().nth(2) {
        Some(path) => std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .replace("REPLACE_WITH_TOKEN", &token),
        None => format!(
            r#"{{"type":"TOKEN","authorizationToken":"Bearer {token}","methodArn":"arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/hello"}}"#
        ),
    };

    let f = Function::start(
        FunctionSpec::new("check-token", &binary)
            .env("JWT_SECRET", &secret)
            .env("ROUTE_RULES", &rules)
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "WARN"),
    )
    .expect("start the function");
    let timeout = Duration::from_secs(10);
    let first = f.invoke(event.as_bytes(), timeout).unwrap().json();
    let allowed = first.as_ref().is_some_and(|v| {
        v["isAuthorized"] == true || v["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    });
    assert!(allowed, "first invocation must Allow: {first:?}");
    let mut times = Vec::with_capacity(n);
    let cpu_before = f.cpu_time();
    for _ in 0..n {
        let t = Instant::now();
        let out = f.invoke(event.as_bytes(), timeout).unwrap();
        times.push(t.elapsed());
        assert!(matches!(out, local_runtime::Outcome::Response(_)));
    }
    let cpu = match (cpu_before, f.cpu_time()) {
        (Some(before), Some(after)) => {
            format!("{:.1} µs", (after - before).as_secs_f64() * 1e6 / n as f64)
        }
        _ => "?".into(),
    };
    times.sort();
    let pct = |p: f64| times[((n as f64 * p) as usize).min(n - 1)];
    println!(
        "{binary}: {n} warm invocations, function CPU {cpu} per invocation; round trip p50 {:?} p90 {:?} p99 {:?}; peak RSS {} KiB",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        f.peak_rss_kib().map_or("?".into(), |k| k.to_string())
    );
}
