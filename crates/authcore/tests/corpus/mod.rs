//! The hostile-token corpus (`tests/data/hostile_tokens.json`) and the settings its cases were
//! made for, shared by the HS256 and ES256 corpus tests.
#![allow(dead_code)]

use authcore::Config;
use serde::Deserialize;

/// The secret the signed cases were made with: a test fixture, not a key in use anywhere.
pub const SECRET: &str = "unit-test-secret-0123456789abcdef-0123456789";
/// The time the cases are verified at.
pub const NOW: u64 = 1_800_000_000;

#[derive(Deserialize)]
struct Corpus {
    cases: Vec<Case>,
}

/// One hostile token and the refusal it must get.
#[derive(Deserialize)]
pub struct Case {
    /// What it tries.
    pub name: String,
    /// The token.
    pub token: String,
    /// The refusal's reason word.
    pub reason: String,
    /// The refusal's detail, for the variants that carry one.
    pub detail: Option<String>,
}

/// Every case of the corpus.
pub fn cases() -> Vec<Case> {
    let text = include_str!("../data/hostile_tokens.json");
    serde_json::from_str::<Corpus>(text)
        .expect("the corpus is valid JSON")
        .cases
}

/// The settings the cases were made for, with `key` as the signing key (`JWT_SECRET`).
pub fn config(key: &str) -> Config {
    let vars = [
        ("JWT_SECRET", key),
        ("JWT_ISSUER", "https://issuer.example"),
        ("JWT_AUDIENCE", "orders-api"),
    ];
    let lookup = authcore::settings::from_pairs(&vars);
    Config::read(&authcore::Vars::new(&lookup)).expect("the corpus's settings")
}
