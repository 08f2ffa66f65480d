//! `POST /token` against a real DynamoDB-compatible server (`moto_server`, over HTTP).

use std::sync::OnceLock;

use authcore::password::PasswordHasher;
use authcore::{Config, TokenVerifier};
use authenticate::{State, handler};
use lambda_http::http::{self, StatusCode};
use lambda_http::{Body, Request};
use local_runtime::moto::MotoServer;
use serde_json::{Value, json};
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
    State::new(config.inline_key().unwrap(), &config, store)
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
    assert_eq!(claims.sub, "ada@example.com");
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
        "ada@example.com"
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
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
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
async fn a_missing_table_is_temporarily_unavailable() {
    let store = UserStore::new(client(&moto().endpoint()), "no-such-table");
    let config = config();
    let state = State::new(config.inline_key().unwrap(), &config, store);
    let (status, body, _) = call(&state, json_login("ada@example.com", "pw")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_success_resets_the_count() {
    let state = setup("lockout").await;
    let wrong = || json_login("ada@example.com", "wrong password");
    let right = || json_login("ada@example.com", "correct horse battery staple");
    let (_, refusal, _) = call(&state, wrong()).await;
    for _ in 1..5 {
        let (status, body, _) = call(&state, wrong()).await;
        assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &refusal));
    }
    assert_eq!(stored(&state, "ada@example.com").await.failed_attempts, 5);
    // A sixth failure now: locked for 2^(6-5) = 2 s from this second, so at least one more second.
    let now = authcore::token::now_seconds();
    assert_eq!(
        state
            .users
            .record_failure("ada@example.com", now)
            .await
            .unwrap(),
        6
    );
    // Even the right password gets the same refusal, plus Retry-After.
    let (status, body, headers) = call(&state, right()).await;
    assert_eq!((status, &body), (StatusCode::UNAUTHORIZED, &refusal));
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // While locked, the password is not checked and nothing is counted.
    assert_eq!(call(&state, wrong()).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(stored(&state, "ada@example.com").await.failed_attempts, 6);

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, _, headers) = call(&state, right()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("retry-after").is_none());
    let user = stored(&state, "ada@example.com").await;
    assert_eq!(
        (user.failed_attempts, user.last_failed_at),
        (0, None),
        "success resets the count"
    );
}

#[tokio::test]
async fn fifty_concurrent_failures_are_all_counted() {
    let state = setup("concurrent").await;
    let before = stored(&state, "ada@example.com").await.failed_attempts;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let users = state.users.clone();
        tasks.spawn(async move {
            users
                .record_failure("ada@example.com", authcore::token::now_seconds())
                .await
        });
    }
    let mut counts = Vec::new();
    while let Some(result) = tasks.join_next().await {
        counts.push(result.unwrap().unwrap());
    }
    let after = stored(&state, "ada@example.com").await.failed_attempts;
    assert_eq!(after, before + 50);
    // Every ADD saw a distinct count: no update was lost or merged.
    counts.sort_unstable();
    assert_eq!(counts, (before + 1..=before + 50).collect::<Vec<_>>());
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
