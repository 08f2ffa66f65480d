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
        &[("JWT_SECRET", "cli-test-secret-0123456789abcdef-0123")],
    )
}

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
        "s3cret-password\n",
    );
    assert!(add.status.success(), "{}", text(&add));
    assert!(text(&add).contains("added ada@example.com"));

    let dup = authctl(
        &e,
        &["user", "add", "ADA@example.com"],
        "another-password\n",
    );
    assert!(!dup.status.success());
    assert!(text(&dup).contains("exists already"), "{}", text(&dup));

    let bad = authctl(&e, &["user", "add", "not-an-email"], "s3cret-password\n");
    assert!(!bad.status.success());
    assert!(
        text(&bad).contains("is not an email address"),
        "{}",
        text(&bad)
    );

    let short = authctl(&e, &["user", "add", "bob@example.com"], "short\n");
    assert!(!short.status.success());
    assert!(text(&short).contains("at least 8 characters"));

    let list = authctl(&e, &["user", "list"], "");
    let listed = text(&list);
    assert!(listed.contains(r#""email":"ada@example.com""#), "{listed}");
    assert!(listed.contains(r#""roles":["admin"]"#), "{listed}");
    assert!(
        !listed.contains("argon2"),
        "hashes must not be listed: {listed}"
    );
    assert!(!listed.contains("s3cret"), "{listed}");

    // Lock state shows in the list, and unlock clears it.
    let client = { aws_sdk_dynamodb::Client::new(&local_runtime::moto::local_sdk_config(&e)) };
    let store = userstore::UserStore::new(client, "cli-users");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for _ in 0..7 {
        rt.block_on(store.record_failure("ada@example.com", authcore::token::now_seconds()))
            .unwrap();
    }
    let listed = text(&authctl(&e, &["user", "list"], ""));
    assert!(listed.contains(r#""failed_attempts":7"#), "{listed}");
    assert!(
        listed.contains(r#""locked_for_seconds":4"#)
            || listed.contains(r#""locked_for_seconds":3"#),
        "{listed}"
    );
    assert!(
        authctl(&e, &["user", "unlock", "ada@example.com"], "")
            .status
            .success()
    );
    let listed = text(&authctl(&e, &["user", "list"], ""));
    assert!(
        listed.contains(r#""failed_attempts":0"#)
            && listed.contains(r#""locked_for_seconds":null"#),
        "{listed}"
    );
    assert!(
        !authctl(&e, &["user", "unlock", "nobody@example.com"], "")
            .status
            .success()
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
            "a-new-password\n"
        )
        .status
        .success()
    );
    assert!(
        !authctl(
            &e,
            &["user", "passwd", "nobody@example.com"],
            "a-new-password\n"
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
