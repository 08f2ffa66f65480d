//! The built `authctl` against a real moto_server.

use std::path::Path;
use std::process::Output;

use local_runtime::moto::MotoServer;

fn authctl(endpoint: &str, args: &[&str], stdin: &str) -> Output {
    testkit::authctl(
        Path::new(env!("CARGO_BIN_EXE_authctl")),
        endpoint,
        "cli-users",
        args,
        stdin,
        &[("JWT_SECRET", SECRET)],
    )
}

const SECRET: &str = "cli-test-secret-0123456789abcdef-0123";

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn manages_users_and_refuses_duplicates_and_bad_input() {
    let moto = MotoServer::start();
    let e = moto.endpoint();

    let missing = authctl(&e, &["user", "list"], "");
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("does not exist"),
        "{}",
        text(&missing)
    );

    assert!(authctl(&e, &["table", "create"], "").status.success());
    assert!(text(&authctl(&e, &["table", "create"], "")).contains("exists already"));

    let add = authctl(
        &e,
        &[
            "user",
            "add",
            " Ada@Example.com ",
            "--name",
            "Ada",
            "--role",
            "admin",
        ],
        "velvet harbor quantum 71\n",
    );
    assert!(add.status.success(), "{}", text(&add));
    assert!(text(&add).contains("added ada@example.com"));

    let dup = authctl(
        &e,
        &["user", "add", "ADA@example.com"],
        "copper lantern drift 58\n",
    );
    assert!(!dup.status.success());
    assert!(text(&dup).contains("exists already"), "{}", text(&dup));

    let bad = authctl(
        &e,
        &["user", "add", "not-an-email"],
        "velvet harbor quantum 71\n",
    );
    assert!(!bad.status.success());
    assert!(
        text(&bad).contains("is not an email address"),
        "{}",
        text(&bad)
    );

    let short = authctl(&e, &["user", "add", "bob@example.com"], "short\n");
    assert!(!short.status.success());
    assert!(
        text(&short).contains("at least 15 characters"),
        "{}",
        text(&short)
    );

    let list = authctl(&e, &["user", "list"], "");
    let listed = text(&list);
    assert!(listed.contains(r#""email":"ada@example.com""#), "{listed}");
    assert!(listed.contains(r#""roles":["admin"]"#), "{listed}");
    assert!(
        !listed.contains("argon2"),
        "hashes must not be listed: {listed}"
    );
    assert!(!listed.contains("velvet"), "{listed}");
    // Every new user gets an immutable random id.
    let id = listed
        .split(r#""id":""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no id: {listed}"))
        .to_owned();
    assert!(id.starts_with("u_") && id.len() == 34, "{id}");

    // The password policy: 15 characters, nothing common or built from the user's details.
    for (weak, why) in [
        ("short\n", "at least 15 characters"),
        ("passwordpassword\n", "too easy to guess"),
        ("ada@example.com1234\n", "too easy to guess"),
    ] {
        let out = authctl(&e, &["user", "passwd", "ada@example.com"], weak);
        assert!(
            !out.status.success() && text(&out).contains(why),
            "{weak}: {}",
            text(&out)
        );
    }
    // A lower minimum only through the explicit setting.
    let lower = testkit::authctl(
        Path::new(env!("CARGO_BIN_EXE_authctl")),
        &e,
        "cli-users",
        &["user", "passwd", "ada@example.com"],
        "kX9#qv2!Lm\n",
        &[("MIN_PASSWORD_CHARS", "8")],
    );
    assert!(lower.status.success(), "{}", text(&lower));

    // Fullwidth spellings are the same account.
    let dup_wide = authctl(
        &e,
        &["user", "add", "ＡＤＡ@example.com"],
        "copper lantern drift 58\n",
    );
    assert!(
        text(&dup_wide).contains("exists already"),
        "{}",
        text(&dup_wide)
    );

    // Unlock clears the smart lockout's counters for every source.
    let client = aws_sdk_dynamodb::Client::new(&local_runtime::moto::local_sdk_config(&e));
    let key = authcore::SigningKey::new(SECRET.as_bytes().to_vec()).unwrap();
    let guard = authenticate::Guard::new(
        userstore::attempts::AttemptStore::new(client, "attempts"),
        authenticate::LockoutPolicy::default(),
        authenticate::attempts_hash(&key),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let source = authenticate::Source::from_address(Some("198.51.100.7"));
    let now = authcore::token::now_millis();
    for _ in 0..5 {
        rt.block_on(guard.reserve("ada@example.com", &source, now))
            .unwrap();
    }
    assert!(matches!(
        rt.block_on(guard.reserve("ada@example.com", &source, now)),
        Err(authenticate::lockout::GuardError::Held { .. })
    ));
    let unlock = authctl(&e, &["user", "unlock", "ada@example.com"], "");
    assert!(unlock.status.success(), "{}", text(&unlock));
    rt.block_on(guard.reserve("ada@example.com", &source, now))
        .expect("unlocked");

    // Sessions: listed without token material, ended by `revoke`, `passwd` and `disable`.
    let sessions = userstore::sessions::SessionStore::new(
        aws_sdk_dynamodb::Client::new(&local_runtime::moto::local_sdk_config(&e)),
        "sessions",
    );
    let start = |family: &str| {
        let f = userstore::sessions::Family {
            id: family.to_owned(),
            user_id: id.clone(),
            email: "ada@example.com".into(),
            created_at: now / 1000,
            last_used_at: now / 1000,
            ends_at: now / 1000 + 3600,
            revoked: false,
        };
        rt.block_on(sessions.start(&f, &format!("hash-{family}"), now / 1000 + 600))
            .unwrap();
    };
    let live = |family: &str| {
        !rt.block_on(sessions.family(family))
            .unwrap()
            .unwrap()
            .revoked
    };
    start("fam1");
    start("fam2");
    let listed = text(&authctl(&e, &["user", "sessions", "ada@example.com"], ""));
    assert_eq!(listed.matches(r#""active":true"#).count(), 2, "{listed}");
    assert!(
        !listed.contains("fam1") && !listed.contains("hash-"),
        "no token material: {listed}"
    );
    let revoked = text(&authctl(&e, &["user", "revoke", "ada@example.com"], ""));
    assert!(revoked.contains("ended 2 sessions"), "{revoked}");
    assert!(!live("fam1") && !live("fam2"));
    start("fam3");
    let passwd = authctl(
        &e,
        &["user", "passwd", "ada@example.com"],
        "amber glacier violin 33\n",
    );
    assert!(
        text(&passwd).contains("1 sessions ended"),
        "{}",
        text(&passwd)
    );
    assert!(!live("fam3"));
    start("fam4");
    let disable = authctl(&e, &["user", "disable", "ada@example.com"], "");
    assert!(
        text(&disable).contains("1 sessions ended"),
        "{}",
        text(&disable)
    );
    assert!(!live("fam4"));
    assert!(
        authctl(&e, &["user", "enable", "ada@example.com"], "")
            .status
            .success()
    );

    // Users from before ids get one, once.
    let bare = userstore::User::new("old@example.com", "$argon2id$v=19$m=19456,t=2,p=1$x$y");
    let users = userstore::UserStore::new(
        aws_sdk_dynamodb::Client::new(&local_runtime::moto::local_sdk_config(&e)),
        "cli-users",
    );
    rt.block_on(users.create(&bare)).unwrap();
    let first = text(&authctl(&e, &["user", "assign-ids"], ""));
    assert!(
        first.contains("gave 1 users an id; 1 had one already"),
        "{first}"
    );
    let again = text(&authctl(&e, &["user", "assign-ids"], ""));
    assert!(
        again.contains("gave 0 users an id; 2 had one already"),
        "{again}"
    );
    let listed = text(&authctl(&e, &["user", "list"], ""));
    assert!(
        listed.contains(&format!(r#""id":"{id}""#)),
        "ada keeps her id: {listed}"
    );

    assert!(
        authctl(&e, &["user", "disable", "ada@example.com"], "")
            .status
            .success()
    );
    assert!(text(&authctl(&e, &["user", "list"], "")).contains(r#""disabled":true"#));
    assert!(
        authctl(&e, &["user", "enable", "ada@example.com"], "")
            .status
            .success()
    );
    assert!(
        authctl(
            &e,
            &["user", "passwd", "ada@example.com"],
            "amber glacier violin 33\n"
        )
        .status
        .success()
    );
    assert!(
        !authctl(
            &e,
            &["user", "passwd", "nobody@example.com"],
            "amber glacier violin 33\n"
        )
        .status
        .success()
    );
    assert!(
        authctl(&e, &["user", "remove", "ada@example.com"], "")
            .status
            .success()
    );
    let gone = authctl(&e, &["user", "remove", "ada@example.com"], "");
    assert!(!gone.status.success());
    assert!(text(&gone).contains("no user"), "{}", text(&gone));
}

#[test]
fn generates_secrets_that_the_functions_accept() {
    let a = authctl("http://127.0.0.1:1", &["secret", "generate"], "");
    let b = authctl("http://127.0.0.1:1", &["secret", "generate"], "");
    let (a, b) = (
        String::from_utf8(a.stdout).unwrap(),
        String::from_utf8(b.stdout).unwrap(),
    );
    assert_eq!(a.trim().len(), 64);
    assert_ne!(a, b);
    assert!(authcore::Config::with_secret(a.trim()).is_ok());
}

#[test]
fn mints_and_verifies_tokens() {
    let mint = authctl(
        "http://127.0.0.1:1",
        &[
            "token",
            "mint",
            "--sub",
            "dev@example.com",
            "--role",
            "reader",
        ],
        "",
    );
    assert!(mint.status.success(), "{}", text(&mint));
    let token = String::from_utf8(mint.stdout).unwrap().trim().to_owned();
    assert_eq!(token.split('.').count(), 3);
    let verify = authctl(
        "http://127.0.0.1:1",
        &["token", "verify"],
        &format!("Bearer {token}\n"),
    );
    assert!(verify.status.success(), "{}", text(&verify));
    let claims: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(claims["sub"], "dev@example.com");
    assert_eq!(claims["email"], "dev@example.com");
    assert_eq!(claims["roles"], serde_json::json!(["reader"]));
    let tampered = format!("{}x", token);
    assert!(
        !authctl("http://127.0.0.1:1", &["token", "verify", &tampered], "")
            .status
            .success()
    );
}
