//! The hostile-token corpus (`tests/data/hostile_tokens.json`): every token is refused with
//! exactly the reason the file names. The same file feeds the authorizer's tests, so every
//! flavour of event sees every hostile token.

mod corpus;

use authcore::{TokenError, TokenVerifier};
use corpus::{NOW, SECRET};

fn verifier() -> TokenVerifier {
    let config = corpus::config(SECRET);
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
    let cases = corpus::cases();
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
