//! Property tests: arbitrary input never panics and never yields claims.
//!
//! Strategies aim near the valid shapes (three base64url parts, `Bearer ...`, ARN-like strings)
//! as well as at pure noise, so that the interesting branches are reached.

use authcore::token::now_seconds;
use authcore::{Config, TokenVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

const SECRET: &str = "property-test-secret-0123456789abcdef-xyz";

fn verifier() -> TokenVerifier {
    let config = Config::with_secret(SECRET).unwrap();
    TokenVerifier::new(config.inline_key().unwrap(), &config)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// JSON-ish text for headers and claims: objects with likely keys and odd values.
fn jsonish() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("alg"),
        Just("typ"),
        Just("kid"),
        Just("crit"),
        Just("iss"),
        Just("aud"),
        Just("sub"),
        Just("exp"),
        Just("nbf"),
        Just("iat"),
        Just("roles"),
        Just("email"),
    ];
    let value = prop_oneof![
        Just("\"HS256\"".to_owned()),
        Just("\"none\"".to_owned()),
        Just("null".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f}")),
        "[a-zA-Z0-9 ]{0,12}".prop_map(|s| format!("\"{s}\"")),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
    ];
    prop_oneof![
        proptest::collection::vec((key, value), 0..8).prop_map(|kv| {
            let body: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", body.join(","))
        }),
        ".{0,64}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_verify(token in ".{0,300}") {
        prop_assert!(verifier().verify_at(&token, now_seconds()).is_err());
    }

    #[test]
    fn token_shaped_input_without_the_key_never_verifies(header in jsonish(), claims in jsonish(), sig in proptest::collection::vec(any::<u8>(), 0..40)) {
        let token = format!("{}.{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()), b64(&sig));
        prop_assert!(verifier().verify_at(&token, now_seconds()).is_err());
    }

    #[test]
    fn signed_but_arbitrary_claims_never_panic(header in jsonish(), claims in jsonish()) {
        // Correctly signed: what the verifier does with hostile claims from a key holder.
        use hmac::{Hmac, Mac};
        let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
        // Claims only come back when every required claim is there and right.
        if let Ok(c) = verifier().verify_at(&token, now_seconds()) {
            prop_assert!(!c.sub.is_empty());
            prop_assert_eq!(c.iss, authcore::config::DEFAULT_ISSUER);
        }
    }
}
