//! Token verification and its steps. `cargo bench -p authcore`.

use std::hint::black_box;

use authcore::token::Subject;
use authcore::{Config, EcKey, KeyRing, TokenIssuer, TokenVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn bench(c: &mut Criterion) {
    let secret = authcore::generate_secret().unwrap();
    let config = Config::with_secret(&secret).unwrap();
    let key = config.inline_key().unwrap();
    let now = authcore::token::now_seconds();
    let subject = Subject {
        sub: "7f9c2ba4-e88f-4e3a-9c5e-1b2d3c4d5e6f".into(),
        email: Some("ada.lovelace@example.com".into()),
        name: Some("Ada Lovelace".into()),
        roles: vec!["reader".into(), "writer".into()],
    };
    let token = TokenIssuer::new(key, &config)
        .issue_at(subject.clone(), now)
        .unwrap()
        .token;
    let verifier = TokenVerifier::new(key, &config);
    c.bench_function("verify/valid token", |b| {
        b.iter(|| verifier.verify_at(black_box(&token), now).unwrap())
    });
    // The same with a per-run ES256 key.
    let ring = KeyRing::local(EcKey::generate().unwrap(), None);
    let es256 = TokenIssuer::from_ring(&ring, &config)
        .issue_at(subject, now)
        .unwrap()
        .token;
    let es_verifier = TokenVerifier::from_ring(&ring, &config);
    c.bench_function("verify/valid ES256 token", |b| {
        b.iter(|| es_verifier.verify_at(black_box(&es256), now).unwrap())
    });

    let (input, _) = token.rsplit_once('.').unwrap();
    let mac = <Hmac<Sha256> as Mac>::new_from_slice(key.secret().unwrap().expose_secret()).unwrap();
    c.bench_function("steps/hmac-sha256 of the signing input", |b| {
        b.iter(|| {
            let mut m = mac.clone();
            m.update(black_box(input.as_bytes()));
            m.finalize()
        })
    });
    let payload = input.split_once('.').unwrap().1;
    c.bench_function("steps/base64url-decode the claims", |b| {
        b.iter(|| URL_SAFE_NO_PAD.decode(black_box(payload)).unwrap())
    });
    let claims = URL_SAFE_NO_PAD.decode(payload).unwrap();
    c.bench_function("steps/parse the claims as JSON", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&claims)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
