//! Arbitrary authorizer payloads of every flavour (REST TOKEN and REQUEST, HTTP API 1.0 and
//! 2.0), as lambda_runtime reads them: never a panic, never an Allow, and every answer
//! serializes in each response format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn state() -> &'static check_token::State {
    static S: OnceLock<check_token::State> = OnceLock::new();
    S.get_or_init(|| {
        let config = authcore::Config::with_secret("fuzz-secret-0123456789abcdef-0123456789").unwrap();
        check_token::State::new(config.inline_key().unwrap(), &config)
    })
}

fuzz_target!(|data: &[u8]| {
    let mut de = serde_json::Deserializer::from_slice(data);
    let Ok(input) = <check_token::AuthorizerInput as serde::Deserialize>::deserialize(&mut de) else {
        panic!("AuthorizerInput must never fail to deserialize");
    };
    let decision = check_token::authorize(state(), &input, 1_800_000_000);
    assert_ne!(decision.outcome(), check_token::Outcome::Allow);
    for format in [check_token::V2Format::Simple, check_token::V2Format::IamPolicy] {
        let answer = check_token::response::answer(input.kind(), format, decision.verdict.clone());
        if let Ok(answer) = answer {
            serde_json::to_string(&answer).expect("every answer serializes");
        }
    }
});
