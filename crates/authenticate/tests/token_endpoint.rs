//! `POST /token` against a real DynamoDB-compatible server (`moto_server`, over HTTP).

use authcore::password::PasswordHasher;
use authenticate::State;
use lambda_http::http::{self, StatusCode};
use lambda_http::{Body, Request};
use serde_json::json;
use userstore::attempts::AttemptStore;
use userstore::{User, UserStore};

mod support;
use support::*;

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
        let state = State::new(
            config.inline_key().unwrap(),
            &config,
            users,
            authenticate::Guard::for_key(
                attempts,
                authenticate::LockoutPolicy::default(),
                &testkit::lockout_key(),
            ),
        );
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
