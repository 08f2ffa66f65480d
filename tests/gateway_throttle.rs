//! The template's throttles through the local gateway, on both flavours: each route's own token
//! bucket, a 429 with API Gateway's body once it is empty, and a flood on `/token` leaving the
//! protected routes alone.

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
    let (moto, secret, _) = common::moto_with_reader("reader@example.com");
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    let slow = [
        ("TokenThrottlingRateLimit", "1"),
        ("TokenThrottlingBurstLimit", "5"),
    ];
    let token = testkit::mint(&secret, testkit::demo_subject("u1"), now_seconds());
    for api in [Flavour::Rest, Flavour::Http] {
        let (_, base) = serve(&template, api, &moto.endpoint(), &secret, &slow, &[]);
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
        // The bucket holds 5 and gains one a second: 5 or 6 pass, whatever the timing.
        assert!((5..=6).contains(&passed), "{api:?}: {passed} passed");
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
    }
}
