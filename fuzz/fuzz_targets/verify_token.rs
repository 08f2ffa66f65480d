//! Arbitrary text as a token: never a panic, never claims without the key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn verifier() -> &'static authcore::TokenVerifier {
    static V: OnceLock<authcore::TokenVerifier> = OnceLock::new();
    V.get_or_init(|| {
        let config = authcore::Config::with_secret("fuzz-secret-0123456789abcdef-0123456789").unwrap();
        authcore::TokenVerifier::new(config.inline_key().unwrap(), &config)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    assert!(verifier().verify_at(&text, 1_800_000_000).is_err());
});
