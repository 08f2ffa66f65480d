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

/// `count` sign-ins with a wrong password from `from`, `rate` a second, one after another on
/// one connection (curl's `--rate`): the status of each.
fn flood(base: &str, from: &str, count: usize, rate: u32) -> Vec<u16> {
    let out = std::process::Command::new("curl")
        .args(["-s", "--interface", from, "--rate", &format!("{rate}/s")])
        .args(["-X", "POST", "-H", "Content-Type: application/json"])
        .args([
            "--data-binary",
            r#"{"email":"nobody@example.com","password":"a wrong guess 123"}"#,
        ])
        .args(["-w", "\nSTATUS %{http_code}\n"])
        .arg(format!("{base}/token?n=[1-{count}]"))
        .output()
        .unwrap_or_else(|e| panic!("curl: {e}: install it (apt-get install curl)"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("STATUS ")?.parse().ok())
        .collect()
}

/// While one client floods `/token` at 50 requests a second for `seconds`, another signs in
/// once a second: the statuses of the second one's sign-ins, and of the flood's requests.
fn sign_ins_during_a_flood(base: &str, password: &str, seconds: u64) -> (Vec<u16>, Vec<u16>) {
    std::thread::scope(|s| {
        let flood = s.spawn(|| flood(base, "127.0.0.2", (seconds * 50) as usize, 50));
        let mut mine = Vec::new();
        for _ in 0..seconds {
            std::thread::sleep(std::time::Duration::from_secs(1));
            let r = http_from(
                Some("127.0.0.3"),
                "POST",
                &format!("{base}/token"),
                &[("Content-Type", "application/json")],
                Some(&json!({"email": "reader@example.com", "password": password}).to_string()),
            );
            mine.push(r.status);
        }
        (mine, flood.join().unwrap())
    })
}

#[test]
fn with_the_web_acl_one_flooding_source_cannot_keep_others_from_signing_in() {
    let (moto, secret, password) = common::moto_with_reader("reader@example.com");
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    let throttle = [
        ("TokenThrottlingRateLimit", "5"),
        ("TokenThrottlingBurstLimit", "10"),
    ];
    // Without it, the flood takes the sign-in bucket's tokens as they come: others get 429s.
    let (_, base) = serve(
        &template,
        Flavour::Rest,
        &moto.endpoint(),
        &secret,
        &throttle,
        &[],
    );
    let (mine, _) = sign_ins_during_a_flood(&base, &password, 10);
    let refused = mine.iter().filter(|s| **s == 429).count();
    println!(
        "without WAF: {refused} of {} sign-ins throttled",
        mine.len()
    );
    assert!(refused >= 1, "the flood did not hurt: {mine:?}");
    assert!(mine.iter().all(|s| [200, 429].contains(s)), "{mine:?}");

    // With it, the flooding source is blocked after its limit and every sign-in succeeds. (The
    // limit counts the other source too: 20 a minute lets its 20 through.)
    let mut waf = throttle.to_vec();
    waf.extend([
        ("SignInWaf", "on"),
        ("SignInWafRateLimit", "20"),
        ("SignInWafWindowSeconds", "60"),
    ]);
    let (_, base) = serve(
        &template,
        Flavour::Rest,
        &moto.endpoint(),
        &secret,
        &waf,
        &[],
    );
    let (mine, flood) = sign_ins_during_a_flood(&base, &password, 20);
    assert_eq!(
        mine,
        vec![200; 20],
        "every sign-in of the other source succeeds"
    );
    let passed = flood.iter().filter(|s| **s != 429).count();
    println!("with WAF: the flood sent {}, {passed} passed", flood.len());
    assert!(flood.len() >= 900, "the flood ran: {}", flood.len());
    assert!(
        passed <= 20,
        "{passed} of the flood's requests passed the web ACL"
    );
}
