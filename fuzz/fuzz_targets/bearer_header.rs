//! Arbitrary header values: never a panic; a token, when found, holds only token characters.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(token) = check_token::header::bearer_token(&text) {
        assert!(!token.is_empty());
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
    }
});
