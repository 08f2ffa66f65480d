//! `POST /token` against a real DynamoDB-compatible server (`moto_server`, over HTTP).

use std::sync::OnceLock;

use authcore::password::PasswordHasher;
use authcore::{Config, TokenVerifier};
use authenticate::lockout::GuardError;
use authenticate::{LockoutPolicy, Source, State, handler};
use lambda_http::http::{self, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request};
use local_runtime::moto::MotoServer;
use serde_json::{Value, json};
use userstore::attempts::AttemptStore;
use userstore::{User, UserStore};

const SECRET: &str = "integration-secret-0123456789abcdef-xyz";

fn moto() -> &'static MotoServer {
    static SERVER: OnceLock<MotoServer> = OnceLock::new();
    SERVER.get_or_init(MotoServer::start)
}

fn config() -> Config {
    Config::with_secret(SECRET).unwrap()
}

fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&local_runtime::moto::local_sdk_config(endpoint))
}

/// A fresh attempts table.
async fn attempts(test: &str) -> AttemptStore {
    let attempts = AttemptStore::new(client(&moto().endpoint()), format!("attempts-{test}"));
    assert!(attempts.create_table().await.unwrap());
    attempts
}

/// A fresh table with a few users in it.
async fn setup(test: &str) -> State {
    let store = UserStore::new(client(&moto().endpoint()), format!("users-{test}"));
    assert!(store.create_table().await.unwrap());
    let hasher = PasswordHasher::default();
    for (email, password, disabled) in [
        ("ada@example.com", "correct horse battery staple", false),
        ("off@example.com", "correct horse battery staple", true),
    ] {
        store
            .create(&User {
                name: Some("Ada Lovelace".into()),
                roles: vec!["admin".into(), "reader".into()],
                disabled,
                ..User::new(email, hasher.hash(password).unwrap())
            })
            .await
            .unwrap();
    }
    let config = config();
    State::new(
        config.inline_key().unwrap(),
        &config,
        store,
        attempts(test).await,
    )
}

/// The user as stored now.
async fn stored(state: &State, email: &str) -> User {
    state.users.get(email).await.unwrap().unwrap()
}

fn request(content_type: &str, body: impl Into<String>) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/token")
        .header("content-type", content_type)
        .body(Body::Text(body.into()))
        .unwrap()
}

async fn call(state: &State, req: Request) -> (StatusCode, Value, http::HeaderMap) {
    let resp = handler(state, req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    (status, body, headers)
}

fn json_login(email: &str, password: &str) -> Request {
    request(
        "application/json",
        json!({"email": email, "password": password}).to_string(),
    )
}

/// `req` as API Gateway (REST) delivers it from the client address `ip`.
fn from_ip(mut req: Request, ip: &str) -> Request {
    let mut ctx = aws_lambda_events::apigw::ApiGatewayProxyRequestContext::default();
    ctx.identity.source_ip = Some(ip.to_owned());
    req.extensions_mut()
        .insert(RequestContext::ApiGatewayV1(ctx));
    req
}

/// The whole answer as bytes: status, every header, body.
async fn raw(state: &State, req: Request) -> String {
    let resp = handler(state, req).await.unwrap();
    let mut headers: Vec<String> = resp
        .headers()
        .iter()
        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap()))
        .collect();
    headers.sort();
    format!(
        "{}\n{}\n{}",
        resp.status(),
        headers.join("\n"),
        String::from_utf8_lossy(resp.body().as_ref())
    )
}

fn verifier() -> TokenVerifier {
    let config = config();
    TokenVerifier::new(config.inline_key().unwrap(), &config)
}

#[tokio::test]
async fn json_and_form_logins_issue_tokens_that_verify() {
    let state = setup("success").await;
    let (status, body, headers) = call(
        &state,
        json_login("ada@example.com", "correct horse battery staple"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["content-type"], "application/json");
    let claims = verifier()
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    // The subject is the user's stable id (given on first sign-in to a user from before
    // ids); the email is a claim of its own.
    let id = stored(&state, "ada@example.com").await.id.expect("an id");
    assert!(id.starts_with("u_"), "{id}");
    assert_eq!(claims.sub, id);
    assert_eq!(claims.email.as_deref(), Some("ada@example.com"));
    assert_eq!(claims.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(claims.roles.len(), 2);
    assert_eq!(claims.exp - claims.iat, 900);

    let form = request(
        "application/x-www-form-urlencoded; charset=UTF-8",
        "grant_type=password&username=ada%40example.com&password=correct+horse+battery+staple",
    );
    let (status, body, _) = call(&state, form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        verifier()
            .verify(body["access_token"].as_str().unwrap())
            .unwrap()
            .sub,
        id,
        "the id never changes"
    );

    // Mixed case and whitespace in the email are normalized.
    let (status, _, _) = call(
        &state,
        json_login("  ADA@Example.Com ", "correct horse battery staple"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_unknown_email_and_disabled_user_look_the_same() {
    let state = setup("refusals").await;
    let wrong = call(&state, json_login("ada@example.com", "wrong password")).await;
    let unknown = call(
        &state,
        json_login("nobody@example.com", "correct horse battery staple"),
    )
    .await;
    let disabled = call(
        &state,
        json_login("off@example.com", "correct horse battery staple"),
    )
    .await;
    let not_an_email = call(&state, json_login("not-an-email", "whatever")).await;
    for (status, body, headers) in [&wrong, &unknown, &disabled, &not_an_email] {
        assert_eq!(*status, StatusCode::UNAUTHORIZED);
        assert_eq!(*body, wrong.1);
        assert_eq!(headers["cache-control"], "no-store");
    }
    assert_eq!(
        wrong.1,
        json!({"error": "invalid_grant", "error_description": "the email or password is incorrect"})
    );
}

#[tokio::test]
async fn malformed_requests_get_invalid_request_or_unsupported_grant_type() {
    let state = setup("malformed").await;
    let big = "x".repeat(9000);
    let long_password = "p".repeat(1025);
    let cases: Vec<(Request, StatusCode, &str)> = vec![
        (
            request("application/json", "{not json"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            request("application/json", "[]"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            request("application/json", r#"{"email": 1, "password": "x"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            request("application/json", ""),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            request("text/plain", "email=a&password=b"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            request("application/json", r#"{"email": "ada@example.com"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            request("application/json", r#"{"password": "x"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            request("application/json", r#"{"email": "  ", "password": "x"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            request(
                "application/json",
                json!({"email": "a@b.c", "password": big}).to_string(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            request(
                "application/json",
                json!({"email": "a@b.c", "password": long_password}).to_string(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            request(
                "application/x-www-form-urlencoded",
                "username=a%40b.c&password=x",
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            request(
                "application/x-www-form-urlencoded",
                "grant_type=password&username=a&username=b&password=x",
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            request(
                "application/x-www-form-urlencoded",
                "grant_type=client_credentials&client_id=x",
            ),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            request(
                "application/json",
                r#"{"grant_type": "refresh_token", "email": "a@b.c", "password": "x"}"#,
            ),
            // The refresh grant without its refresh token.
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (i, (req, status, error)) in cases.into_iter().enumerate() {
        let (got, body, _) = call(&state, req).await;
        assert_eq!(
            (got, body["error"].as_str().unwrap()),
            (status, error),
            "case {i}: {body}"
        );
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "case {i}"
        );
    }
    let get = http::Request::builder()
        .method("GET")
        .uri("/token")
        .body(Body::Empty)
        .unwrap();
    assert_eq!(call(&state, get).await.0, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_hash_made_by_python_argon2_cffi_signs_in() {
    let state = setup("cffi").await;
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import argon2,sys; print(argon2.PasswordHasher().hash(sys.argv[1]))",
            "py-made password",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}: run `make venv` (installs argon2-cffi)",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    state
        .users
        .create(&User::new("py@example.com", hash))
        .await
        .unwrap();
    assert_eq!(
        call(&state, json_login("py@example.com", "py-made password"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        call(&state, json_login("py@example.com", "not it")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn weak_hashes_are_upgraded_on_successful_login() {
    let state = setup("rehash").await;
    let weak = PasswordHasher::new(1024, 1, 1)
        .unwrap()
        .hash("upgrade me")
        .unwrap();
    state
        .users
        .create(&User::new("old@example.com", weak.clone()))
        .await
        .unwrap();
    // A failed login changes nothing.
    assert_eq!(
        call(&state, json_login("old@example.com", "wrong")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(stored(&state, "old@example.com").await.password_hash, weak);
    // A successful one upgrades the hash to the current parameters.
    assert_eq!(
        call(&state, json_login("old@example.com", "upgrade me"))
            .await
            .0,
        StatusCode::OK
    );
    let upgraded = stored(&state, "old@example.com").await.password_hash;
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{upgraded}"
    );
    assert_eq!(
        call(&state, json_login("old@example.com", "upgrade me"))
            .await
            .0,
        StatusCode::OK
    );
    // The conditional update never overwrites a concurrent change.
    assert!(
        !state
            .users
            .replace_hash_if_unchanged("old@example.com", &weak, "other")
            .await
            .unwrap()
    );
    assert_eq!(
        stored(&state, "old@example.com").await.password_hash,
        upgraded
    );
}

#[tokio::test]
async fn a_missing_table_is_temporarily_unavailable_with_retry_after() {
    let config = config();
    for (users, attempts) in [
        ("no-such-table", attempts("missing-users").await),
        (
            "users-missing-attempts",
            AttemptStore::new(client(&moto().endpoint()), "no-such-table"),
        ),
    ] {
        let users = UserStore::new(client(&moto().endpoint()), users);
        if users.table() != "no-such-table" {
            users.create_table().await.unwrap();
        }
        let state = State::new(config.inline_key().unwrap(), &config, users, attempts);
        let (status, body, headers) = call(&state, json_login("ada@example.com", "pw")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"], "temporarily_unavailable");
        assert_eq!(headers["retry-after"], "1");
    }
}

#[tokio::test]
async fn a_removed_and_recreated_email_is_a_new_subject() {
    let state = setup("recreate").await;
    let sign_in = || async {
        let (status, body, _) = call(
            &state,
            json_login("ada@example.com", "correct horse battery staple"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        verifier()
            .verify(body["access_token"].as_str().unwrap())
            .unwrap()
            .sub
    };
    let first = sign_in().await;
    assert_eq!(first, sign_in().await);
    let old = stored(&state, "ada@example.com").await;
    state.users.delete("ada@example.com").await.unwrap();
    state
        .users
        .create(&User {
            id: Some(authcore::new_user_id().unwrap()),
            ..User::new("ada@example.com", old.password_hash)
        })
        .await
        .unwrap();
    let second = sign_in().await;
    assert_ne!(first, second, "the new account is not the old one");
}

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
    let key = authcore::SigningKey::new(SECRET.as_bytes().to_vec()).unwrap();
    let policy = LockoutPolicy {
        threshold: 3,
        max_hold: 8,
        quiet: 60,
        ..LockoutPolicy::default()
    };
    let guard = authenticate::Guard::new(store, policy, authenticate::attempts_hash(&key));
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

#[tokio::test]
async fn answers_carry_cors_headers_for_allowed_origins_only() {
    let cors = authcore::AllowedOrigins::parse("https://app.example.com").unwrap();
    let state = setup("cors").await.with_cors(cors);
    let from = |origin: Option<&str>| {
        let mut req = request("application/json", "{\"email\": ");
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap());
        }
        req
    };
    // A 400 (and every other answer) is readable by an allowed page.
    let (status, body, headers) = call(&state, from(Some("https://app.example.com"))).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(headers["vary"], "Origin");
    assert!(
        headers["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("Retry-After")
    );
    // Another origin, or none: no CORS headers, the answer otherwise the same.
    for origin in [Some("https://evil.example.com"), None] {
        let (status, _, headers) = call(&state, from(origin)).await;
        assert_eq!(status.as_u16(), 400);
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "{origin:?}"
        );
        assert!(headers.get("vary").is_none(), "{origin:?}");
    }
}
