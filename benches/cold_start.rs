//! Cold starts as Lambda sees them: a fresh process of the built binary, spawn → first
//! response through a local Runtime API, with its CPU time and peak memory at that point.
//!
//! `make bench` (or `cargo bench --bench cold_start`); `COLD_STARTS=N` sets the number of fresh
//! processes per case (default 20). Each case runs with the key in the environment and with
//! the key from a local Secrets Manager (moto). What it leaves out: no TLS handshake, no DNS,
//! no real network round trip, and no Lambda sandbox start; on AWS those add to every figure.

use std::time::{Duration, Instant};

use local_runtime::{Function, FunctionSpec};
use testkit::moto::MotoServer;
use testkit::moto::local_aws_env;
use testkit::process::built_binary;

const TIMEOUT: Duration = Duration::from_secs(30);

/// One measured cold start.
struct Sample {
    first_response: Duration,
    cpu: Duration,
    peak_rss_kib: u64,
}

fn cold_start(spec: &FunctionSpec, payload: &[u8]) -> Sample {
    let started = Instant::now();
    let f = Function::start(spec.clone()).expect("the function starts");
    let answer = f
        .invoke(payload, TIMEOUT)
        .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
    let first_response = started.elapsed();
    // The authorizer's cold start is measured on the path a user takes: an Allow.
    if spec.name == "check-token" {
        let effect = answer
            .json()
            .map(|v| v["policyDocument"]["Statement"][0]["Effect"].clone());
        assert_eq!(
            effect,
            Some(serde_json::json!("Allow")),
            "{}: no Allow",
            spec.name
        );
    }
    Sample {
        first_response,
        cpu: f.cpu_time().unwrap_or_default(),
        peak_rss_kib: f.peak_rss_kib().unwrap_or_default(),
    }
}

fn report(name: &str, samples: &mut [Sample]) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    samples.sort_by_key(|s| s.first_response);
    let n = samples.len();
    let at = |p: f64| samples[((n as f64 * p) as usize).min(n - 1)].first_response;
    let mut cpu: Vec<Duration> = samples.iter().map(|s| s.cpu).collect();
    cpu.sort();
    let rss = samples
        .iter()
        .map(|s| s.peak_rss_kib)
        .max()
        .unwrap_or_default();
    println!(
        "{name:<40} n={n:<3} first response min {:>6.2} ms  median {:>6.2} ms  p90 {:>6.2} ms  \
         cold CPU median {:>5.2} ms  peak RSS {:.1} MiB",
        ms(samples[0].first_response),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(cpu[n / 2]),
        rss as f64 / 1024.0
    );
}

/// The binary to start: the Lambda package `make package` built (`target/lambda/NAME/bootstrap`,
/// stripped, what `sam deploy` ships), else the release build.
fn package(binary: &str) -> std::path::PathBuf {
    let built = built_binary(binary).unwrap_or_else(|e| panic!("{e}"));
    let bootstrap = built
        .parent()
        .and_then(|release| release.parent())
        .map(|target| target.join("lambda").join(binary).join("bootstrap"));
    let path = bootstrap.filter(|p| p.is_file()).unwrap_or(built);
    let size = std::fs::metadata(&path)
        .map(|m| m.len())
        .unwrap_or_default();
    println!("{binary}: {} ({size} bytes)", path.display());
    path
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that does not name this benchmark skips it.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with("--") && !"cold_start".contains(&a))
    {
        return;
    }
    let n: usize = std::env::var("COLD_STARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let secret = authcore::generate_secret().expect("randomness");
    let arn = testkit::create_secret_at(&endpoint, "cold-start-key", &secret);
    let lockout_arn =
        testkit::create_secret_at(&endpoint, "cold-start-lockout-key", testkit::LOCKOUT_KEY);
    let refresh_arn =
        testkit::create_secret_at(&endpoint, "cold-start-refresh-key", testkit::REFRESH_KEY);
    let token = testkit::mint(
        &secret,
        testkit::demo_subject("cold"),
        authcore::token::now_seconds(),
    );
    let authorizer_event = |token: &str| {
        format!(
            r#"{{"type":"TOKEN","authorizationToken":"Bearer {token}","methodArn":"arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/hello"}}"#
        )
    };
    let hs256_event = authorizer_event(&token);
    // The same with an ES256 key (a PEM), in the environment or in Secrets Manager.
    let pem = authcore::EcKey::generate().expect("randomness").to_pem();
    let es256_arn = testkit::create_secret_at(&endpoint, "cold-start-es256-key", &pem);
    let es256_event = authorizer_event(&testkit::mint(
        &pem,
        testkit::demo_subject("cold"),
        authcore::token::now_seconds(),
    ));
    // A request answered without a DynamoDB call: the cold start, not the table, is measured.
    let token_request = testkit::event("authenticate-malformed.json", "").into_bytes();

    let spec = |binary: &str, keys: &[(&str, &str)]| {
        let path = package(binary);
        let mut spec = FunctionSpec::new(binary, path)
            .env("USERS_TABLE", "cold-start-users")
            .env("ATTEMPTS_TABLE", "cold-start-attempts")
            .env("SESSIONS_TABLE", "cold-start-sessions")
            .env("ROUTE_RULES", testkit::ROUTE_RULES)
            .env("AWS_LAMBDA_LOG_LEVEL", "WARN");
        for (k, v) in local_aws_env(&endpoint) {
            spec = spec.env(k, v);
        }
        for (k, v) in keys {
            spec = spec.env(*k, *v);
        }
        // Lambda sets no SSL_CERT_FILE: the functions trust their compiled-in roots. To measure
        // a CA bundle instead, name it in COLD_START_SSL_CERT_FILE.
        if let Ok(bundle) = std::env::var("COLD_START_SSL_CERT_FILE") {
            spec = spec.env("SSL_CERT_FILE", bundle);
        }
        spec
    };
    let cases = [
        (
            "check-token, key in the environment",
            spec("check-token", &[("JWT_SECRET", &secret)]),
            hs256_event.as_bytes(),
        ),
        (
            "check-token, key from Secrets Manager",
            spec("check-token", &[("JWT_SECRET_ARN", &arn)]),
            hs256_event.as_bytes(),
        ),
        (
            "check-token, ES256 key in the environment",
            spec("check-token", &[("JWT_SECRET", &pem)]),
            es256_event.as_bytes(),
        ),
        (
            "check-token, ES256 key from Secrets Manager",
            spec("check-token", &[("JWT_SECRET_ARN", &es256_arn)]),
            es256_event.as_bytes(),
        ),
        (
            "authenticate, key in the environment",
            spec(
                "authenticate",
                &[
                    ("JWT_SECRET", &secret),
                    ("LOCKOUT_KEY", testkit::LOCKOUT_KEY),
                    ("REFRESH_KEY", testkit::REFRESH_KEY),
                ],
            ),
            &token_request[..],
        ),
        (
            "authenticate, keys from Secrets Manager",
            spec(
                "authenticate",
                &[
                    ("JWT_SECRET_ARN", &arn),
                    ("LOCKOUT_KEY_ARN", &lockout_arn),
                    ("REFRESH_KEY_ARN", &refresh_arn),
                ],
            ),
            &token_request[..],
        ),
    ];
    // Interleaved, so that a burst of noise on the machine spreads over every case.
    let mut samples: Vec<Vec<Sample>> = cases.iter().map(|_| Vec::new()).collect();
    for _ in 0..n {
        for (i, (_, spec, payload)) in cases.iter().enumerate() {
            samples[i].push(cold_start(spec, payload));
        }
    }
    for ((name, ..), samples) in cases.iter().zip(&mut samples) {
        report(name, samples);
    }
}
