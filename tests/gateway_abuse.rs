//! Abuse through the local gateway, from several loopback addresses: the lockout holds the
//! attacker and not the owner, and an unknown email is answered like a real one.

use authcore::token::now_seconds;

mod common;
use common::{Reply, http_from, start_gateway};
use serde_json::json;

/// Sign-in from `from` (a loopback source address) with `password`.
fn sign_in_from(base: &str, from: &str, email: &str, password: &str) -> Reply {
    http_from(
        Some(from),
        "POST",
        &format!("{base}/token"),
        &[("Content-Type", "application/json")],
        Some(&json!({"email": email, "password": password}).to_string()),
    )
}

#[test]
fn the_lockout_through_the_gateway_holds_the_attacker_not_the_owner() {
    let (moto, secret, password) = common::moto_with_reader("owner@example.com");
    // About the lockout, not the throttle (gateway_throttle.rs): a bucket for every request here.
    let roomy = [("TokenThrottlingBurstLimit", "100")];
    let (gateway, base) = start_gateway(&moto.endpoint(), &secret, &roomy, &[]);
    // The attacker, at 127.0.0.2, guesses until held.
    let mut checked = 0;
    let held = loop {
        let r = sign_in_from(&base, "127.0.0.2", "owner@example.com", "guess");
        assert_eq!(r.status, 401, "{}", r.body);
        if let Some(retry) = r.headers.get("retry-after") {
            break retry.parse::<u64>().unwrap();
        }
        checked += 1;
        assert!(checked <= 5, "more than the threshold checked");
    };
    assert_eq!(checked, 5);
    assert!(held >= 1);
    // Even the right password waits at 127.0.0.2...
    let r = sign_in_from(&base, "127.0.0.2", "owner@example.com", &password);
    assert!(r.headers.contains_key("retry-after"), "{:?}", r.headers);
    // ...while the owner, at 127.0.0.3, signs in at once.
    let started = std::time::Instant::now();
    let r = sign_in_from(&base, "127.0.0.3", "owner@example.com", &password);
    assert_eq!(r.status, 200, "{}", r.body);
    println!(
        "owner at another address signed in in {:?} while the attacker was held",
        started.elapsed()
    );

    // Twenty concurrent wrong guesses from a fresh address: at most five passwords checked,
    // and Lambda-style instances running side by side.
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let base = base.clone();
            std::thread::spawn(move || {
                sign_in_from(&base, "127.0.0.4", "owner@example.com", "guess")
            })
        })
        .collect();
    let replies: Vec<Reply> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let checked = replies
        .iter()
        .filter(|r| !r.headers.contains_key("retry-after"))
        .count();
    println!("20 concurrent guesses through the gateway: {checked} passwords checked");
    assert!((1..=5).contains(&checked), "{checked}");
    assert!(replies.iter().all(|r| r.status == 401));
    assert!(
        gateway.instances("AuthenticateFunction") > 1,
        "overlapping requests start more instances"
    );
}

#[test]
fn an_unknown_email_gets_the_same_answers_through_the_gateway() {
    let (moto, secret, _) = common::moto_with_reader("real@example.com");
    let (_, base) = start_gateway(&moto.endpoint(), &secret, &[], &[]);
    let mut compared = 0;
    for step in 0..7 {
        let before = now_seconds();
        let (real, unknown) = std::thread::scope(|s| {
            let real = s.spawn(|| sign_in_from(&base, "127.0.0.5", "real@example.com", "guess"));
            let unknown =
                s.spawn(|| sign_in_from(&base, "127.0.0.6", "nobody@example.com", "guess"));
            (real.join().unwrap(), unknown.join().unwrap())
        });
        if now_seconds() != before {
            continue; // Retry-After counts whole seconds: a step across a second boundary
        }
        let strip = |r: &Reply| {
            let mut h = r.headers.clone();
            h.remove("date"); // the gateway's clock, not the function's answer
            (r.status, h, r.body.clone())
        };
        assert_eq!(strip(&real), strip(&unknown), "step {step}");
        compared += 1;
    }
    assert!(compared >= 5, "only {compared} steps compared");
}

#[test]
fn keeping_the_owners_new_devices_out_takes_failures_in_every_window() {
    let (moto, secret, password) = common::moto_with_reader("owner@example.com");
    let parameters = [
        ("AccountFailureCeiling", "4"),
        ("AccountCeilingWindowSeconds", "10"),
    ];
    let (_, base) = start_gateway(&moto.endpoint(), &secret, &parameters, &[]);
    // Wait for the start of a window, so that the steps below fall in one.
    let ceiling_window = 10;
    while now_seconds() % ceiling_window > 1 {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // A botnet: one wrong guess from each of four addresses.
    for i in 0..4 {
        let r = sign_in_from(
            &base,
            &format!("127.0.1.{}", 10 + i),
            "owner@example.com",
            "guess",
        );
        assert_eq!((r.status, r.headers.get("retry-after")), (401, None), "{i}");
    }
    // The owner, from an address never used, waits until the window ends...
    let r = sign_in_from(&base, "127.0.1.30", "owner@example.com", &password);
    let retry: u64 = r.headers["retry-after"].parse().unwrap();
    assert!((1..=ceiling_window).contains(&retry), "{retry}");
    // ...and then signs in: one more failure in the new window does not hold new addresses
    // again (the window starts from zero; the ceiling must be reached again).
    std::thread::sleep(std::time::Duration::from_secs(retry));
    let r = sign_in_from(&base, "127.0.1.20", "owner@example.com", "guess");
    assert_eq!((r.status, r.headers.get("retry-after")), (401, None));
    let r = sign_in_from(&base, "127.0.1.31", "owner@example.com", &password);
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn spraying_from_the_owners_network_does_not_hold_the_owner() {
    let (moto, secret, password) = common::moto_with_reader("owner@example.com");
    let (_, base) = start_gateway(
        &moto.endpoint(),
        &secret,
        &[("SourceFailureThreshold", "5")],
        &[],
    );
    let office = "127.0.2.1";
    assert_eq!(
        sign_in_from(&base, office, "owner@example.com", &password).status,
        200
    );
    // Someone in the same office sprays other accounts until the address is held.
    for i in 0..5 {
        let r = sign_in_from(
            &base,
            office,
            &format!("user{i}@example.com"),
            "Winter2026!",
        );
        assert!(!r.headers.contains_key("retry-after"), "{i}");
    }
    let sprayer = sign_in_from(&base, office, "user9@example.com", "Winter2026!");
    assert!(
        sprayer.headers.contains_key("retry-after"),
        "the address is held"
    );
    // The owner, at the same address, is not.
    let r = sign_in_from(&base, office, "owner@example.com", &password);
    assert_eq!(r.status, 200, "{}", r.body);
}
