//! `POST /token` costs, measured apart: everything but argon2 and DynamoDB (parse the request,
//! issue the token, build the response), and one argon2 verification with the default parameters.
//!
//! `cargo bench -p authenticate`.

use std::hint::black_box;

use authcore::password::{PasswordHasher, Verification};
use authcore::token::Subject;
use authcore::{Config, TokenIssuer};
use authenticate::{SignedIn, parse_request, respond};
use criterion::{Criterion, criterion_group, criterion_main};
use lambda_http::http::Method;

fn bench(c: &mut Criterion) {
    let secret = authcore::generate_secret().unwrap();
    let config = Config::with_secret(&secret).unwrap();
    let key = config.inline_key().unwrap();
    let issuer = TokenIssuer::new(key, &config);
    let json =
        br#"{"email": "Ada.Lovelace@Example.com", "password": "correct horse battery staple"}"#;
    let form = b"grant_type=password&username=ada.lovelace%40example.com&password=correct+horse+battery+staple";

    let request = |content_type: &str, body: &[u8]| {
        let credentials = parse_request(&Method::POST, Some(content_type), body).unwrap();
        let email = authcore::normalize_email(&credentials.email).unwrap();
        let subject = Subject {
            sub: email.clone(),
            email: Some(email),
            name: Some("Ada Lovelace".into()),
            roles: vec!["admin".into(), "reader".into()],
        };
        let token = issuer.issue(subject).unwrap();
        respond(&Ok(SignedIn {
            token,
            rehashed: false,
            refresh: None,
            retry: false,
        }))
    };
    c.bench_function(
        "token endpoint without argon2 and DynamoDB/json body",
        |b| b.iter(|| request("application/json", black_box(json))),
    );
    c.bench_function(
        "token endpoint without argon2 and DynamoDB/form body",
        |b| b.iter(|| request("application/x-www-form-urlencoded", black_box(form))),
    );

    let hasher = PasswordHasher::default();
    let stored = hasher.hash("correct horse battery staple").unwrap();
    let mut group = c.benchmark_group("argon2id m=19456 t=2 p=1");
    group.sample_size(20);
    group.bench_function("verify", |b| {
        b.iter(|| {
            assert!(matches!(
                hasher.verify(black_box("correct horse battery staple"), &stored),
                Ok(Verification::Valid { .. })
            ))
        })
    });
    group.bench_function("verify against the dummy hash (unknown email)", |b| {
        b.iter(|| hasher.verify_dummy(black_box("correct horse battery staple")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
