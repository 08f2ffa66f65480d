//! Arbitrary methodArns: never a panic; what parses rebuilds to the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(arn) = check_token::policy::MethodArn::parse(&text) {
        assert_eq!(arn.route(arn.verb, arn.resource), text);
    }
});
