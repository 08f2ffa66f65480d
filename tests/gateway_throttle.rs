//! The template's throttles through the local gateway, on both flavours: each route's own token
//! bucket, a 429 with API Gateway's body once it is empty, and a flood on `/token` leaving the
//! protected routes and the refreshes of users already signed in alone.

use std::path::Path;

use authcore::token::now_seconds;
use local_gateway::Flavour;
use serde_json::json;

mod common;
use common::{Reply, http_from, serve};

/// `n` requests at once from `from`, each made by `request`.
fn at_once(n: usize, request: impl Fn() -> Reply + Sync) -> Vec<Reply> {
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..n).map(|_| s.spawn(&request)).collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

#[test]
fn a_flood_on_token_gets_429s_from_its_own_bucket_and_leaves_hello_alone() {
    let (moto, secret, password) = common::moto_with_reader("reader@example.com");
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    let slow = [
        ("TokenThrottlingRateLimit", "1"),
        ("TokenThrottlingBurstLimit", "5"),
    ];
    let token = testkit::mint(&secret, testkit::demo_subject("u1"), now_seconds());
    for api in [Flavour::Rest, Flavour::Http] {
        let (_, base) = serve(&template, api, &moto.endpoint(), &secret, &slow, &[]);
        let json_ct = [("Content-Type", "application/json")];
        // A user signs in before the flood.
        let signed = http_from(
            Some("127.0.0.3"),
            "POST",
            &format!("{base}/token"),
            &json_ct,
            Some(&json!({"email": "reader@example.com", "password": password}).to_string()),
        );
        assert_eq!(signed.status, 200, "{api:?}: {}", signed.body);
        let refresh_token = signed.body["refresh_token"].as_str().unwrap().to_owned();
        // One client sends 20 sign-ins at once; its malformed bodies cost the function nothing.
        let replies = at_once(20, || {
            http_from(
                Some("127.0.0.2"),
                "POST",
                &format!("{base}/token"),
                &[("Content-Type", "application/json")],
                Some("{}"),
            )
        });
        let throttled: Vec<&Reply> = replies.iter().filter(|r| r.status == 429).collect();
        let passed = replies.iter().filter(|r| r.status == 400).count();
        assert_eq!(throttled.len() + passed, 20, "{api:?}: only 400s and 429s");
        // The bucket held 4 after the sign-in and gains one a second: 4 to 6 pass.
        assert!((4..=6).contains(&passed), "{api:?}: {passed} passed");
        for r in &throttled {
            assert_eq!(r.body, json!({"message": "Too Many Requests"}), "{api:?}");
        }
        // Meanwhile /hello has a bucket of its own: another client's call goes through.
        let hello = http_from(
            Some("127.0.0.3"),
            "GET",
            &format!("{base}/hello"),
            &[("Authorization", &format!("Bearer {token}"))],
            None,
        );
        assert_eq!(hello.status, 200, "{api:?}: {}", hello.body);
        // And the signed-in user's refresh, at /refresh, has its own bucket too.
        let refreshed = http_from(
            Some("127.0.0.3"),
            "POST",
            &format!("{base}/refresh"),
            &json_ct,
            Some(
                &json!({"grant_type": "refresh_token", "refresh_token": refresh_token}).to_string(),
            ),
        );
        assert_eq!(refreshed.status, 200, "{api:?}: {}", refreshed.body);
    }
}
