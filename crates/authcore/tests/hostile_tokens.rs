//! The hostile-token corpus (`tests/data/hostile_tokens.json`): every token is refused with
//! exactly the reason the file names. The same file feeds the authorizer's tests, so every
//! flavour of event sees every hostile token.

use authcore::{Config, TokenError, TokenVerifier};
use serde::Deserialize;

/// The secret the signed cases were made with: a test fixture, not a key in use anywhere.
pub const SECRET: &str = "unit-test-secret-0123456789abcdef-0123456789";
/// The time the cases are verified at.
pub const NOW: u64 = 1_800_000_000;

#[derive(Deserialize)]
struct Corpus {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    token: String,
    reason: String,
    detail: Option<String>,
}

fn corpus() -> Vec<Case> {
    let text = include_str!("data/hostile_tokens.json");
    serde_json::from_str::<Corpus>(text)
        .expect("the corpus is valid JSON")
        .cases
}

fn verifier() -> TokenVerifier {
    let vars = [
        ("JWT_SECRET", SECRET),
        ("JWT_ISSUER", "https://issuer.example"),
        ("JWT_AUDIENCE", "orders-api"),
    ];
    let lookup = authcore::settings::from_pairs(&vars);
    let config = Config::read(&authcore::Vars::new(&lookup)).unwrap();
    TokenVerifier::new(config.inline_key().unwrap(), &config)
}

/// What the file says in `detail`, for the variants that carry one.
fn detail(e: &TokenError) -> Option<String> {
    match e {
        TokenError::Malformed(m) => Some((*m).to_owned()),
        TokenError::UnsupportedAlgorithm(a) => Some(a.clone()),
        TokenError::MissingClaim(c) => Some((*c).to_owned()),
        _ => None,
    }
}

#[test]
fn every_hostile_token_is_refused_with_its_exact_reason() {
    let cases = corpus();
    assert!(cases.len() >= 49, "the corpus shrank to {}", cases.len());
    let v = verifier();
    for case in cases {
        let got = v.verify_at(&case.token, NOW);
        let Err(e) = got else {
            panic!("{}: accepted", case.name);
        };
        assert_eq!(
            (e.reason(), detail(&e)),
            (case.reason.as_str(), case.detail.clone()),
            "{}",
            case.name
        );
    }
}
