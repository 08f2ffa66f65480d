//! The smart lockout through the handler, against a real DynamoDB-compatible server: holds,
//! enumeration, races, spraying, the account ceiling, and its own key.

use authenticate::{LockoutPolicy, Source, State};
use lambda_http::http::StatusCode;
use lockout::GuardError;

mod support;
use support::*;

#[tokio::test]
async fn the_lockout_holds_the_failing_source_not_the_owner_elsewhere() {
    let state = setup("lockout").await;
    let wrong = || {
        from_ip(
            json_login("ada@example.com", "wrong password"),
            "203.0.113.9",
        )
    };
    let (_, refusal, headers) = call(&state, wrong()).await;
    assert!(headers.get("retry-after").is_none());
    for _ in 1..5 {
        let (status, body, headers) = call(&state, wrong()).await;
        assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &refusal));
        assert!(headers.get("retry-after").is_none());
    }
    // Five passwords checked from 203.0.113.9: from now on each attempt waits for its hold
    // (1 s, then 2 s, 4 s, ...); a slow attacker gets one more try per hold.
    let mut tries = 0;
    let retry = loop {
        let (_, _, headers) = call(&state, wrong()).await;
        if let Some(retry) = headers.get("retry-after") {
            break retry.to_str().unwrap().parse::<u64>().unwrap();
        }
        tries += 1;
        assert!(tries < 4, "never held");
    };
    assert!((1..=8).contains(&retry), "{retry}");
    // Held, even with the right password.
    let right_from_attacker = from_ip(
        json_login("ada@example.com", "correct horse battery staple"),
        "203.0.113.9",
    );
    let (status, body, headers) = call(&state, right_from_attacker).await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &refusal));
    assert!(headers.get("retry-after").is_some());
    // The owner, from elsewhere, signs in at once.
    let started = std::time::Instant::now();
    let owner = from_ip(
        json_login("ada@example.com", "correct horse battery staple"),
        "198.51.100.20",
    );
    let (status, body, _) = call(&state, owner).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    println!(
        "owner signed in from another source in {:?}",
        started.elapsed()
    );
    // An IPv6 attacker is one source per /64, whichever addresses it rotates through.
    for i in 0..5 {
        let req = from_ip(
            json_login("ada@example.com", "wrong"),
            &format!("2001:db8:7:7::{i:x}"),
        );
        assert!(call(&state, req).await.2.get("retry-after").is_none());
    }
    let req = from_ip(
        json_login("ada@example.com", "wrong"),
        "2001:db8:7:7:ffff::1",
    );
    assert!(call(&state, req).await.2.get("retry-after").is_some());
}

#[tokio::test]
async fn an_unknown_email_is_answered_byte_for_byte_like_a_real_one() {
    let state = setup("enumeration").await;
    let mut compared = 0;
    for step in 0..8 {
        let before = authcore::token::now_seconds();
        let (real, unknown) = tokio::join!(
            raw(
                &state,
                from_ip(json_login("ada@example.com", "wrong guess"), "203.0.113.1")
            ),
            raw(
                &state,
                from_ip(
                    json_login("nobody@example.com", "wrong guess"),
                    "203.0.113.2"
                )
            ),
        );
        // Retry-After counts whole seconds: compare the steps that did not straddle one.
        if authcore::token::now_seconds() == before {
            assert_eq!(real, unknown, "step {step}");
            compared += 1;
        }
        if step == 6 {
            assert!(real.contains("retry-after"), "held by now: {real}");
        }
    }
    assert!(compared >= 6, "only {compared} steps compared");
}

#[tokio::test]
async fn twenty_concurrent_wrong_guesses_check_at_most_the_threshold() {
    let state = std::sync::Arc::new(setup("race").await);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let state = state.clone();
        tasks.spawn(async move {
            let req = from_ip(json_login("ada@example.com", "wrong guess"), "203.0.113.50");
            call(&state, req).await
        });
    }
    let mut checked = 0;
    while let Some(result) = tasks.join_next().await {
        let (status, body, headers) = result.unwrap();
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_grant"))
        );
        // A held attempt says when to come back; a checked one does not.
        if headers.get("retry-after").is_none() {
            checked += 1;
        }
    }
    println!("20 concurrent wrong guesses: {checked} passwords checked");
    let threshold = usize::try_from(state.guard.policy().threshold).unwrap();
    assert!(
        (1..=threshold).contains(&checked),
        "{checked} passwords checked"
    );
}

#[tokio::test]
async fn a_source_failing_against_many_accounts_is_slowed_on_all_of_them() {
    let policy = LockoutPolicy {
        source_threshold: 6,
        ..LockoutPolicy::default()
    };
    let state = setup("spray").await.with_lockout(policy);
    for i in 0..6 {
        let req = from_ip(
            json_login(&format!("user{i}@example.com"), "Winter2026!"),
            "192.0.2.66",
        );
        assert!(
            call(&state, req).await.2.get("retry-after").is_none(),
            "attempt {i}"
        );
    }
    // A seventh account, never tried before: the sprayer waits.
    let req = from_ip(json_login("ada@example.com", "Winter2026!"), "192.0.2.66");
    assert!(call(&state, req).await.2.get("retry-after").is_some());
    // Everyone else is unaffected.
    let owner = from_ip(
        json_login("ada@example.com", "correct horse battery staple"),
        "192.0.2.99",
    );
    assert_eq!(call(&state, owner).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_account_ceiling_slows_new_sources_but_not_known_ones() {
    let policy = LockoutPolicy {
        account_ceiling: 4,
        ..LockoutPolicy::default()
    };
    let state = setup("ceiling").await.with_lockout(policy);
    let right = "correct horse battery staple";
    // The owner signs in from home once: a known source from now on.
    let home = from_ip(json_login("ada@example.com", right), "198.51.100.1");
    assert_eq!(call(&state, home).await.0, StatusCode::OK);
    // A botnet spreads guesses over many sources, one each.
    for i in 0..4 {
        let req = from_ip(
            json_login("ada@example.com", "guess"),
            &format!("203.0.113.{}", 100 + i),
        );
        assert!(call(&state, req).await.2.get("retry-after").is_none());
    }
    // A new source is slowed (not locked: the hold is seconds and ends)...
    let new = from_ip(json_login("ada@example.com", right), "203.0.113.200");
    let (status, _, headers) = call(&state, new).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry <= state.guard.policy().max_hold);
    // ...the owner at home is not.
    let home = from_ip(json_login("ada@example.com", right), "198.51.100.1");
    assert_eq!(call(&state, home).await.0, StatusCode::OK);
}

#[tokio::test]
async fn holds_double_up_to_the_maximum_and_quiet_resets_them() {
    let store = attempts("decay").await;
    let policy = LockoutPolicy {
        threshold: 3,
        max_hold: 8,
        quiet: 60,
        ..LockoutPolicy::default()
    };
    let guard = authenticate::Guard::for_key(store, policy, &testkit::lockout_key());
    let source = Source::from_address(Some("203.0.113.7"));
    // Milliseconds since the epoch, as the handler passes them.
    let mut now = 1_000_000_000;
    let mut holds = Vec::new();
    for _ in 0..8 {
        match guard.reserve("ada@example.com", &source, now).await {
            Ok(_) => {}
            Err(GuardError::Held { retry_after, .. }) => {
                holds.push(retry_after);
                now += retry_after * 1000;
                guard
                    .reserve("ada@example.com", &source, now)
                    .await
                    .unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    }
    // Three free attempts, then 1, 2, 4, 8 (the maximum), 8 s.
    assert_eq!(holds, [1, 2, 4, 8, 8]);
    // After the hold and a quiet minute, it starts again: three free attempts.
    now += (8 + 60) * 1000;
    for _ in 0..3 {
        guard
            .reserve("ada@example.com", &source, now)
            .await
            .expect("reset");
    }
    assert!(
        guard
            .reserve("ada@example.com", &source, now)
            .await
            .is_err()
    );
}

/// A state started from settings as the function starts (`State::start`), on the tables of
/// `test`, with `signing` and `lockout` as its keys.
async fn started(test: &str, signing: &str, lockout: &str) -> State {
    let endpoint = moto().endpoint();
    let aws = testkit::moto::local_aws_env(&endpoint);
    let (users, attempts, sessions) = (
        format!("users-{test}"),
        format!("attempts-{test}"),
        format!("sessions-{test}"),
    );
    let mut pairs: Vec<(&str, &str)> = aws.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.extend([
        ("JWT_SECRET", signing),
        ("LOCKOUT_KEY", lockout),
        ("REFRESH_KEY", testkit::REFRESH_KEY),
        ("USERS_TABLE", users.as_str()),
        ("ATTEMPTS_TABLE", attempts.as_str()),
        ("SESSIONS_TABLE", sessions.as_str()),
    ]);
    let lookup = authcore::settings::from_pairs(&pairs);
    let settings = authenticate::Settings::read(&authcore::Vars::new(&lookup)).unwrap();
    State::start(&settings).await.unwrap()
}

#[tokio::test]
async fn rotating_the_signing_key_keeps_every_hold_and_rotating_the_lockout_key_does_not() {
    attempts("rotation").await;
    let (signing, rotated) = (SECRET, "rotated-signing-key-0123456789abcdef-xyz");
    let (lockout, new_lockout) = (
        "rotation-lockout-key-0123456789abcdef-x",
        "rotation-lockout-key-2-0123456789abcdef",
    );
    let before = started("rotation", signing, lockout).await;
    let source = Source::from_address(Some("203.0.113.88"));
    // Milliseconds since the epoch, fixed: a hold is judged at this instant by every state.
    let now = authcore::token::now_millis();
    let threshold = before.guard.policy().threshold;
    for _ in 0..threshold {
        before
            .guard
            .reserve("ada@example.com", &source, now)
            .await
            .unwrap();
    }
    let held =
        |r: Result<lockout::Reservation, GuardError>| matches!(r, Err(GuardError::Held { .. }));
    assert!(held(
        before.guard.reserve("ada@example.com", &source, now).await
    ));
    // A new environment after the signing key's rotation: still held.
    let after = started("rotation", rotated, lockout).await;
    assert!(held(
        after.guard.reserve("ada@example.com", &source, now).await
    ));
    // The counters are named by the lockout key: under another one, nothing is held.
    let relocked = started("rotation", rotated, new_lockout).await;
    assert!(
        relocked
            .guard
            .reserve("ada@example.com", &source, now)
            .await
            .is_ok()
    );
}

/// One failed attempt on `email` from `source` at `now_ms`, reserved and settled; whether it was
/// held instead (and by what).
async fn fail(
    guard: &authenticate::Guard,
    email: &str,
    source: &str,
    now_ms: u64,
) -> Option<lockout::HeldBy> {
    let source = Source::from_address(Some(source));
    match guard.reserve(email, &source, now_ms).await {
        Ok(r) => {
            guard.settle(&r, false, now_ms).await.unwrap();
            None
        }
        Err(GuardError::Held { by, .. }) => Some(by),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn keeping_new_sources_out_takes_the_ceiling_in_every_window() {
    let policy = LockoutPolicy {
        account_ceiling: 4,
        account_window: 60,
        ..LockoutPolicy::default()
    };
    let guard =
        authenticate::Guard::for_key(attempts("window").await, policy, &testkit::lockout_key());
    // The start of a window, in milliseconds.
    let start = 1_000_000_020_000 / 60_000 * 60_000;
    let owner_from = |address: &str, now_ms: u64| {
        let source = Source::from_address(Some(address));
        let guard = guard.clone();
        async move { guard.reserve("ada@example.com", &source, now_ms).await }
    };
    // Four failures from four addresses: a new address of the owner's is held to the window's end.
    for i in 0..4 {
        assert_eq!(
            fail(
                &guard,
                "ada@example.com",
                &format!("203.0.113.{i}"),
                start + i * 1000
            )
            .await,
            None
        );
    }
    match owner_from("198.51.100.7", start + 10_000).await {
        Err(GuardError::Held { retry_after, by }) => {
            assert_eq!((by, retry_after), (lockout::HeldBy::Account, 50));
        }
        other => panic!("{other:?}"),
    }
    // In the next window, with no failures yet, new addresses are let in again...
    let next = start + 60_000;
    assert!(owner_from("198.51.100.8", next).await.is_ok());
    // ...and holding them again takes the ceiling again: one failure a window is not enough.
    for i in 0..3 {
        assert_eq!(
            fail(
                &guard,
                "ada@example.com",
                &format!("203.0.113.{}", 10 + i),
                next + 1000
            )
            .await,
            None
        );
    }
    assert!(owner_from("198.51.100.9", next + 2000).await.is_ok());
    assert_eq!(
        fail(&guard, "ada@example.com", "203.0.113.20", next + 3000).await,
        None
    );
    assert!(owner_from("198.51.100.10", next + 4000).await.is_err());
}

#[tokio::test]
async fn a_spraying_hold_spares_a_source_that_signed_in_to_the_account_before() {
    let policy = LockoutPolicy {
        source_threshold: 5,
        ..LockoutPolicy::default()
    };
    let guard = authenticate::Guard::for_key(
        attempts("known-spray").await,
        policy,
        &testkit::lockout_key(),
    );
    let office = Source::from_address(Some("192.0.2.50"));
    let now = 1_000_000_000_000;
    // The owner signed in from the office once.
    let r = guard
        .reserve("ada@example.com", &office, now)
        .await
        .unwrap();
    guard.settle(&r, true, now).await.unwrap();
    // Someone at the same address sprays other accounts until the address is held.
    for i in 0..5 {
        assert_eq!(
            fail(
                &guard,
                &format!("user{i}@example.com"),
                "192.0.2.50",
                now + 1000
            )
            .await,
            None
        );
    }
    assert_eq!(
        fail(&guard, "bob@example.com", "192.0.2.50", now + 1500).await,
        Some(lockout::HeldBy::Source)
    );
    // The owner, from there, is not held.
    assert!(
        guard
            .reserve("ada@example.com", &office, now + 1500)
            .await
            .is_ok()
    );
}
