//! The authorizer's whole work for one request: raw event JSON in, serialized response out.
//!
//! `cargo bench -p check-token` (or `make bench`).

use std::hint::black_box;

use authcore::token::{Subject, now_seconds};
use authcore::{Config, TokenIssuer};
use check_token::response::{answer, iam_policy};
use check_token::{AuthorizerInput, State, V2Format, authorize};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    // A random per-run secret: nothing secret is stored in the repository.
    let secret = authcore::generate_secret().unwrap();
    let config = Config::with_secret(&secret).unwrap();
    let key = config.inline_key().unwrap().clone();
    let rules = |text: &str| routerules::Rules::parse(text).unwrap();
    let state = State::new(&key, &config).with_rules(rules("GET /hello *; GET /admin admin"));
    // 50 routes granted to readers, and the one called.
    let fifty: Vec<String> = (0..49)
        .map(|i| format!("GET /resource{i}/{{id}} reader"))
        .chain(["GET /hello reader".to_string()])
        .collect();
    let state_50 = State::new(&key, &config).with_rules(rules(&fifty.join("; ")));
    let now = now_seconds();
    let token = TokenIssuer::new(&key, &config)
        .issue_at(
            Subject {
                sub: "7f9c2ba4-e88f-4e3a-9c5e-1b2d3c4d5e6f".into(),
                email: Some("ada.lovelace@example.com".into()),
                name: Some("Ada Lovelace".into()),
                roles: vec!["reader".into(), "writer".into()],
            },
            now,
        )
        .unwrap()
        .token;
    let event = format!(
        r#"{{"type":"TOKEN","authorizationToken":"Bearer {token}","methodArn":"arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/hello"}}"#
    );

    let run = |raw: &str| -> String {
        let input: AuthorizerInput = serde_json::from_str(raw).unwrap();
        let decision = authorize(&state, &input, now);
        match iam_policy(decision.verdict) {
            Ok(response) => serde_json::to_string(&response).unwrap(),
            Err(e) => e.to_string(),
        }
    };
    assert!(run(&event).contains("\"Allow\""));

    c.bench_function("authorize/valid token: event JSON to response JSON", |b| {
        b.iter(|| run(black_box(&event)))
    });
    let run_50 = |raw: &str| -> String {
        let input: AuthorizerInput = serde_json::from_str(raw).unwrap();
        let decision = authorize(&state_50, &input, now);
        serde_json::to_string(&iam_policy(decision.verdict).unwrap()).unwrap()
    };
    assert!(run_50(&event).contains("resource48"));
    c.bench_function(
        "authorize/valid token, 50 routes granted: event JSON to response JSON",
        |b| b.iter(|| run_50(black_box(&event))),
    );
    let input: AuthorizerInput = serde_json::from_str(&event).unwrap();
    c.bench_function("parts/parse event", |b| {
        b.iter(|| serde_json::from_str::<AuthorizerInput>(black_box(&event)).unwrap())
    });
    c.bench_function("parts/authorize parsed event", |b| {
        b.iter(|| authorize(&state, black_box(&input), now))
    });
    let response = iam_policy(authorize(&state, &input, now).verdict).unwrap();
    c.bench_function("parts/serialize response", |b| {
        b.iter(|| serde_json::to_string(black_box(&response)).unwrap())
    });
    let verifier = authcore::TokenVerifier::new(&key, &config);
    c.bench_function("parts/verify token", |b| {
        b.iter(|| verifier.verify_at(black_box(&token), now).unwrap())
    });
    // Every event shape, from the sample events: raw JSON in, the flavour's answer out.
    for name in [
        "check-token.json",
        "check-token-request-type.json",
        "check-token-http-v1.json",
        "check-token-http-v2.json",
    ] {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        let raw = std::fs::read_to_string(&path)
            .unwrap()
            .replace("REPLACE_WITH_TOKEN", &token);
        let run = |raw: &str| -> String {
            let input = AuthorizerInput::parse(raw);
            let decision = authorize(&state, &input, now);
            match answer(input.kind(), V2Format::Simple, decision.verdict) {
                Ok(answer) => serde_json::to_string(&answer).unwrap(),
                Err(e) => e.to_string(),
            }
        };
        assert!(!run(&raw).contains("Unauthorized"), "{name}");
        c.bench_function(&format!("flavour/{name}: event JSON to answer JSON"), |b| {
            b.iter(|| run(black_box(&raw)))
        });
        c.bench_function(&format!("flavour/{name}: parse"), |b| {
            b.iter(|| AuthorizerInput::parse(black_box(&raw)))
        });
    }
    let forged = event.replace(&token[token.len() - 6..], "AAAAAA");
    assert_eq!(run(&forged), "Unauthorized");
    c.bench_function("authorize/forged signature", |b| {
        b.iter(|| run(black_box(&forged)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
