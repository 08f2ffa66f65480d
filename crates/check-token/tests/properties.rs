//! Property tests of the authorizer's wire code: arbitrary header values and ARNs never panic,
//! and a policy without Allow statements never allows.

use check_token::header::bearer_token;
use check_token::policy::{MethodArn, PolicyBuilder};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn header_parsing_never_panics_and_only_returns_token_characters(value in prop_oneof![
        ".{0,200}",
        "(?i:bearer)[ \t]{0,3}[A-Za-z0-9._~+/=-]{0,80}",
        "[ \t]{0,3}[A-Za-z]{0,8} [^\n]{0,40}",
    ]) {
        if let Ok(token) = bearer_token(&value) {
            prop_assert!(!token.is_empty());
            prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
            prop_assert!(value.contains(token));
        }
    }

    #[test]
    fn arn_parsing_never_panics_and_round_trips(arn in prop_oneof![
        ".{0,120}",
        "arn:[a-z-]{0,10}:execute-api:[a-z0-9-]{0,12}:[0-9]{0,12}:[a-z0-9]{0,10}(/[A-Za-z0-9*]{0,6}){0,5}",
    ]) {
        if let Ok(parsed) = MethodArn::parse(&arn) {
            let rebuilt = parsed.route(parsed.verb, parsed.resource);
            prop_assert_eq!(&rebuilt, &arn);
            prop_assert!(rebuilt.starts_with(&parsed.stage_prefix()));
        }
    }

    #[test]
    fn a_policy_without_allow_statements_never_allows(denies in proptest::collection::vec(".{0,40}", 0..4)) {
        let mut builder = PolicyBuilder::new();
        for d in denies {
            builder = builder.deny(d);
        }
        let text = serde_json::to_string(&builder.document()).unwrap();
        prop_assert!(!text.contains("\"Allow\""));
    }
}
