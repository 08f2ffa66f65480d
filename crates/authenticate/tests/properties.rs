//! Property tests of the `/token` body parser: arbitrary bodies and content types never panic,
//! and only a well-formed password grant ever yields credentials.

use authenticate::parse_request;
use lambda_http::http::Method;
use proptest::prelude::*;

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_owned())),
        Just(Some("application/x-www-form-urlencoded".to_owned())),
        Just(Some("APPLICATION/JSON; charset=utf-8".to_owned())),
        ".{0,40}".prop_map(Some),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        r#"\{("(email|password|username|grant_type)":("[^"]{0,20}"|[0-9]{1,4}|null|\[\]),?){0,5}\}"#.prop_map(String::into_bytes),
        "((grant_type|username|password|email)=[^&]{0,20}&?){0,5}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_never_panic_and_only_plausible_ones_pass(ct in content_type(), body in body(), post in any::<bool>()) {
        let method = if post { Method::POST } else { Method::GET };
        match parse_request(&method, ct.as_deref(), &body) {
            Ok(credentials) => {
                prop_assert!(post);
                prop_assert!(!credentials.email.trim().is_empty());
                prop_assert!(!credentials.password.is_empty() && credentials.password.len() <= 1024);
                prop_assert!(body.len() <= authenticate::MAX_BODY_BYTES);
            }
            Err(e) => {
                prop_assert!(e.status().is_client_error(), "{:?}", e.status());
                prop_assert!(!e.description().is_empty());
            }
        }
    }
}
