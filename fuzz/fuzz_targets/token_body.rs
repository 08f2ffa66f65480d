//! Arbitrary /token requests: never a panic; errors are client errors with a description.
#![no_main]

use lambda_http::http::Method;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (selector, body) = data.split_first().unwrap_or((&0, &[]));
    let content_type = match selector % 4 {
        0 => Some("application/json"),
        1 => Some("application/x-www-form-urlencoded"),
        2 => Some("text/plain"),
        _ => None,
    };
    match authenticate::parse_request(&Method::POST, content_type, body) {
        Ok(c) => assert!(!c.password.is_empty() && c.password.len() <= 1024 && !c.email.trim().is_empty()),
        Err(e) => assert!(e.status().is_client_error() && !e.description().is_empty()),
    }
});
