//! The built `authctl` against a real moto_server: one test per scenario, each on tables of its
//! own in one shared server.

use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;

use lockout::{Guard, GuardError, LockoutPolicy, Source};
use testkit::moto::{MotoServer, local_sdk_config};
use userstore::UserStore;
use userstore::attempts::AttemptStore;
use userstore::sessions::{Family, SessionStore};

const SECRET: &str = "cli-test-secret-0123456789abcdef-0123";
const LOCKOUT_KEY: &str = "cli-test-lockout-key-0123456789abcdef";
const GOOD: &str = "velvet harbor quantum 71\n";

/// One moto server for the whole file; it stops when the test process ends.
fn endpoint() -> String {
    static MOTO: OnceLock<MotoServer> = OnceLock::new();
    MOTO.get_or_init(MotoServer::start).endpoint()
}

/// The tables of one scenario, named after it.
struct Scenario {
    name: &'static str,
    endpoint: String,
}

impl Scenario {
    /// A scenario with its tables created.
    fn new(name: &'static str) -> Self {
        let s = Self {
            name,
            endpoint: endpoint(),
        };
        let created = s.run(&["table", "create"], "");
        assert!(created.status.success(), "{}", text(&created));
        s
    }

    fn table(&self, which: &str) -> String {
        format!("{}-{which}", self.name)
    }

    /// `authctl args` with `stdin`, the signing and lockout keys and the scenario's tables.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        self.run_with(args, stdin, &[])
    }

    fn run_with(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        let (attempts, sessions) = (self.table("attempts"), self.table("sessions"));
        let mut all = vec![
            ("JWT_SECRET", SECRET),
            ("LOCKOUT_KEY", LOCKOUT_KEY),
            ("ATTEMPTS_TABLE", attempts.as_str()),
            ("SESSIONS_TABLE", sessions.as_str()),
        ];
        all.extend_from_slice(env);
        testkit::authctl(
            Path::new(env!("CARGO_BIN_EXE_authctl")),
            &self.endpoint,
            &self.table("users"),
            args,
            stdin,
            &all,
        )
    }

    /// Adds `email` with a good password; its id.
    fn add(&self, email: &str) -> String {
        let add = self.run(&["user", "add", email, "--role", "admin"], GOOD);
        assert!(add.status.success(), "{}", text(&add));
        let listed = text(&self.run(&["user", "list"], ""));
        listed
            .lines()
            .find(|l| l.contains(email))
            .and_then(|l| l.split(r#""id":""#).nth(1))
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no id: {listed}"))
            .to_owned()
    }

    fn client(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&local_sdk_config(&self.endpoint))
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_missing_table_is_named_and_creating_twice_is_fine() {
    let s = Scenario {
        name: "missing",
        endpoint: endpoint(),
    };
    let missing = s.run(&["user", "list"], "");
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("does not exist"),
        "{}",
        text(&missing)
    );
    assert!(s.run(&["table", "create"], "").status.success());
    assert!(text(&s.run(&["table", "create"], "")).contains("exists already"));
}

#[test]
fn adds_users_once_whatever_the_spelling_of_their_email() {
    let s = Scenario::new("add");
    let add = s.run(&["user", "add", " Ada@Example.com ", "--name", "Ada"], GOOD);
    assert!(add.status.success(), "{}", text(&add));
    assert!(text(&add).contains("added ada@example.com"));
    for spelling in ["ADA@example.com", "ＡＤＡ@example.com"] {
        let dup = s.run(&["user", "add", spelling], "copper lantern drift 58\n");
        assert!(!dup.status.success());
        assert!(text(&dup).contains("exists already"), "{}", text(&dup));
    }
}

#[test]
fn refuses_an_address_that_is_no_email() {
    let s = Scenario::new("bad-email");
    let bad = s.run(&["user", "add", "not-an-email"], GOOD);
    assert!(!bad.status.success());
    assert!(
        text(&bad).contains("is not an email address"),
        "{}",
        text(&bad)
    );
}

#[test]
fn lists_users_with_ids_and_roles_and_never_a_hash() {
    let s = Scenario::new("list");
    let id = s.add("ada@example.com");
    assert!(id.starts_with("u_") && id.len() == 34, "{id}");
    let listed = text(&s.run(&["user", "list"], ""));
    assert!(listed.contains(r#""roles":["admin"]"#), "{listed}");
    assert!(
        !listed.contains("argon2"),
        "hashes must not be listed: {listed}"
    );
    assert!(!listed.contains("velvet"), "{listed}");
}

#[test]
fn new_passwords_follow_the_policy() {
    let s = Scenario::new("policy");
    s.add("ada@example.com");
    for (weak, why) in [
        ("short\n", "at least 15 characters"),
        ("passwordpassword\n", "too easy to guess"),
        ("ada@example.com1234\n", "too easy to guess"),
    ] {
        let out = s.run(&["user", "passwd", "ada@example.com"], weak);
        assert!(
            !out.status.success() && text(&out).contains(why),
            "{weak}: {}",
            text(&out)
        );
    }
}

#[test]
fn a_lower_minimum_comes_only_from_its_setting() {
    let s = Scenario::new("minimum");
    s.add("ada@example.com");
    let args = ["user", "passwd", "ada@example.com"];
    assert!(!s.run(&args, "kX9#qv2!Lm\n").status.success());
    let lower = s.run_with(&args, "kX9#qv2!Lm\n", &[("MIN_PASSWORD_CHARS", "8")]);
    assert!(lower.status.success(), "{}", text(&lower));
    let bad = s.run_with(&args, "kX9#qv2!Lm\n", &[("MIN_PASSWORD_CHARS", "4")]);
    assert!(
        text(&bad).contains("MIN_PASSWORD_CHARS=\"4\""),
        "{}",
        text(&bad)
    );
}

/// A guard over scenario `s`'s attempts table under the lockout key.
fn guard(s: &Scenario) -> Guard {
    let key = authcore::SigningKey::new(LOCKOUT_KEY.as_bytes().to_vec()).unwrap();
    Guard::new(
        AttemptStore::new(s.client(), s.table("attempts")),
        LockoutPolicy::default(),
        lockout::counter_hash(&key),
    )
}

#[test]
fn unlock_clears_every_counter_with_the_lockout_key_alone() {
    let s = Scenario::new("unlock");
    let (guard, rt) = (guard(&s), runtime());
    let source = Source::from_address(Some("198.51.100.7"));
    let now = authcore::token::now_millis();
    for _ in 0..5 {
        rt.block_on(guard.reserve("ada@example.com", &source, now))
            .unwrap();
    }
    assert!(matches!(
        rt.block_on(guard.reserve("ada@example.com", &source, now)),
        Err(GuardError::Held { .. })
    ));
    // No signing key: unlocking needs the lockout's key only.
    let unlock = s.run_with(
        &["user", "unlock", "ada@example.com"],
        "",
        &[("JWT_SECRET", "")],
    );
    assert!(unlock.status.success(), "{}", text(&unlock));
    rt.block_on(guard.reserve("ada@example.com", &source, now))
        .expect("unlocked");
}

#[test]
fn unlock_without_the_lockout_key_says_which_to_set() {
    let s = Scenario::new("unlock-nokey");
    let out = s.run_with(
        &["user", "unlock", "ada@example.com"],
        "",
        &[("LOCKOUT_KEY", "")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("LOCKOUT_KEY is not set"),
        "{}",
        text(&out)
    );
}

/// Starts session `family` of user `id` in scenario `s`'s sessions table.
fn start_session(s: &Scenario, rt: &tokio::runtime::Runtime, id: &str, family: &str) {
    let now = authcore::token::now_seconds();
    let f = Family {
        id: family.to_owned(),
        user_id: id.to_owned(),
        email: "ada@example.com".into(),
        created_at: now,
        last_used_at: now,
        ends_at: now + 3600,
        revoked: false,
        scope: None,
    };
    let sessions = SessionStore::new(s.client(), s.table("sessions"));
    rt.block_on(sessions.start(&f, &format!("hash-{family}"), now + 600))
        .unwrap();
}

fn live(s: &Scenario, rt: &tokio::runtime::Runtime, family: &str) -> bool {
    let sessions = SessionStore::new(s.client(), s.table("sessions"));
    !rt.block_on(sessions.family(family))
        .unwrap()
        .unwrap()
        .revoked
}

#[test]
fn lists_sessions_without_token_material_and_revokes_them() {
    let (s, rt) = (Scenario::new("sessions"), runtime());
    let id = s.add("ada@example.com");
    start_session(&s, &rt, &id, "fam1");
    start_session(&s, &rt, &id, "fam2");
    let listed = text(&s.run(&["user", "sessions", "ada@example.com"], ""));
    assert_eq!(listed.matches(r#""active":true"#).count(), 2, "{listed}");
    assert!(
        !listed.contains("fam1") && !listed.contains("hash-"),
        "no token material: {listed}"
    );
    let revoked = text(&s.run(&["user", "revoke", "ada@example.com"], ""));
    assert!(revoked.contains("ended 2 sessions"), "{revoked}");
    assert!(!live(&s, &rt, "fam1") && !live(&s, &rt, "fam2"));
}

#[test]
fn a_new_password_ends_the_sessions() {
    let (s, rt) = (Scenario::new("passwd-ends"), runtime());
    let id = s.add("ada@example.com");
    start_session(&s, &rt, &id, "fam3");
    let passwd = s.run(
        &["user", "passwd", "ada@example.com"],
        "amber glacier violin 33\n",
    );
    assert!(
        text(&passwd).contains("1 sessions ended"),
        "{}",
        text(&passwd)
    );
    assert!(!live(&s, &rt, "fam3"));
}

#[test]
fn disabling_ends_the_sessions_and_enabling_lets_the_user_in_again() {
    let (s, rt) = (Scenario::new("disable"), runtime());
    let id = s.add("ada@example.com");
    start_session(&s, &rt, &id, "fam4");
    let disable = s.run(&["user", "disable", "ada@example.com"], "");
    assert!(
        text(&disable).contains("1 sessions ended"),
        "{}",
        text(&disable)
    );
    assert!(!live(&s, &rt, "fam4"));
    assert!(text(&s.run(&["user", "list"], "")).contains(r#""disabled":true"#));
    assert!(
        s.run(&["user", "enable", "ada@example.com"], "")
            .status
            .success()
    );
    assert!(text(&s.run(&["user", "list"], "")).contains(r#""disabled":false"#));
}

#[test]
fn users_from_before_ids_get_one_once() {
    let (s, rt) = (Scenario::new("ids"), runtime());
    let id = s.add("ada@example.com");
    let bare = userstore::User::new("old@example.com", "$argon2id$v=19$m=19456,t=2,p=1$x$y");
    let users = UserStore::new(s.client(), s.table("users"));
    rt.block_on(users.create(&bare)).unwrap();
    let first = text(&s.run(&["user", "assign-ids"], ""));
    assert!(
        first.contains("gave 1 users an id; 1 had one already"),
        "{first}"
    );
    let again = text(&s.run(&["user", "assign-ids"], ""));
    assert!(
        again.contains("gave 0 users an id; 2 had one already"),
        "{again}"
    );
    let listed = text(&s.run(&["user", "list"], ""));
    assert!(
        listed.contains(&format!(r#""id":"{id}""#)),
        "ada keeps her id: {listed}"
    );
}

#[test]
fn unknown_users_are_named_and_removed_users_are_gone() {
    let s = Scenario::new("remove");
    s.add("ada@example.com");
    let nobody = s.run(&["user", "passwd", "nobody@example.com"], GOOD);
    assert!(!nobody.status.success());
    assert!(
        s.run(&["user", "remove", "ada@example.com"], "")
            .status
            .success()
    );
    let gone = s.run(&["user", "remove", "ada@example.com"], "");
    assert!(!gone.status.success());
    assert!(text(&gone).contains("no user"), "{}", text(&gone));
}

#[test]
fn generates_secrets_that_the_functions_accept() {
    let s = Scenario {
        name: "secrets",
        endpoint: "http://127.0.0.1:1".into(),
    };
    let a = s.run(&["secret", "generate"], "");
    let b = s.run(&["secret", "generate"], "");
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
    let s = Scenario {
        name: "tokens",
        endpoint: "http://127.0.0.1:1".into(),
    };
    let mint = s.run(
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
    let verify = s.run(&["token", "verify"], &format!("Bearer {token}\n"));
    assert!(verify.status.success(), "{}", text(&verify));
    let claims: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(claims["sub"], "dev@example.com");
    assert_eq!(claims["email"], "dev@example.com");
    assert_eq!(claims["roles"], serde_json::json!(["reader"]));
    let tampered = format!("{token}x");
    assert!(!s.run(&["token", "verify", &tampered], "").status.success());
}

#[test]
fn signing_key_generate_prints_a_key_the_functions_read() {
    let s = Scenario {
        name: "signing-generate",
        endpoint: endpoint(),
    };
    let es = s.run(&["signing-key", "generate"], "");
    assert!(es.status.success(), "{}", text(&es));
    let pem = String::from_utf8(es.stdout).unwrap();
    let key = authcore::Key::parse(pem.into_bytes()).unwrap();
    assert_eq!(key.algorithm(), jsonwebtoken::Algorithm::ES256);
    let hs = s.run(&["signing-key", "generate", "--algorithm", "HS256"], "");
    let secret = String::from_utf8(hs.stdout).unwrap();
    assert_eq!(
        authcore::Key::parse(secret.trim().as_bytes().to_vec())
            .unwrap()
            .algorithm(),
        jsonwebtoken::Algorithm::HS256
    );
    let bad = s.run(&["signing-key", "generate", "--algorithm", "RS256"], "");
    assert!(!bad.status.success());
    assert!(text(&bad).contains("ES256"), "{}", text(&bad));
}

#[test]
fn signing_key_init_next_and_promote_rotate_the_secret_without_printing_keys() {
    let s = Scenario {
        name: "signing-rotate",
        endpoint: endpoint(),
    };
    let sm = aws_sdk_secretsmanager::Client::new(&local_sdk_config(&s.endpoint));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let arn = rt.block_on(testkit::create_secret(
        &sm,
        "signing-rotate",
        &authcore::generate_secret().unwrap(),
    ));
    let ring = || rt.block_on(secrets::load_ring(&sm, &arn)).unwrap();
    let step = |args: &[&str]| {
        let mut all = vec!["signing-key"];
        all.extend_from_slice(args);
        all.extend(["--secret-arn", arn.as_str()]);
        let out = s.run(&all, "");
        let said = text(&out);
        assert!(out.status.success(), "{said}");
        assert!(!said.contains("PRIVATE KEY"), "a key was printed: {said}");
        said
    };

    let said = step(&["init"]);
    let first = ring();
    assert_eq!(
        first.current.key.algorithm(),
        jsonwebtoken::Algorithm::ES256
    );
    assert!(said.contains(&first.current.kid), "{said}");
    assert_eq!(
        first.previous.map(|k| k.key.algorithm()),
        Some(jsonwebtoken::Algorithm::HS256),
        "the generated secret still verifies until the next rotation"
    );

    let said = step(&["next"]);
    let published = ring();
    let next = published.next.clone().expect("a next key");
    assert!(said.contains(&next.kid), "{said}");
    assert_eq!(published.current.kid, first.current.kid, "not signing yet");
    assert_eq!(published.jwks().unwrap().keys.len(), 2);

    step(&["promote"]);
    let promoted = ring();
    assert_eq!(promoted.current.kid, next.kid);
    assert_eq!(promoted.previous.map(|k| k.kid), Some(first.current.kid));

    let again = s.run(&["signing-key", "promote", "--secret-arn", &arn], "");
    assert!(!again.status.success());
    assert!(text(&again).contains("no next key"), "{}", text(&again));
}
