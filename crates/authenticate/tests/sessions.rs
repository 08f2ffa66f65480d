//! Sessions against a real DynamoDB-compatible server (moto): refresh tokens issued at sign-in,
//! rotated at each refresh, reuse revoking the family, lifetimes, and `/revoke`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use authcore::password::PasswordHasher;
use authcore::{Config, TokenVerifier};
use authenticate::{SessionPolicy, State, handler};
use lambda_http::http::{self, StatusCode};
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use testkit::moto::MotoServer;
use userstore::attempts::AttemptStore;
use userstore::sessions::{DECOY_FAMILY, SessionStore};
use userstore::{User, UserStore};

const SECRET: &str = "sessions-secret-0123456789abcdef-xyz";
const PASSWORD: &str = "correct horse battery staple";

fn moto() -> &'static MotoServer {
    static SERVER: OnceLock<MotoServer> = OnceLock::new();
    SERVER.get_or_init(MotoServer::start)
}

fn client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&testkit::moto::local_sdk_config(&moto().endpoint()))
}

/// Fresh tables with one user, and a state with sessions of lifetimes `policy`.
async fn setup(test: &str, policy: SessionPolicy) -> State {
    let users = UserStore::new(client(), format!("users-{test}"));
    AttemptStore::new(client(), format!("attempts-{test}"))
        .create_table()
        .await
        .unwrap();
    SessionStore::new(client(), format!("sessions-{test}"))
        .create_table()
        .await
        .unwrap();
    users.create_table().await.unwrap();
    users
        .create(&User {
            id: Some(authcore::new_user_id().unwrap()),
            name: Some("Ada".into()),
            roles: vec!["reader".into()],
            ..User::new(
                "ada@example.com",
                PasswordHasher::default().hash(PASSWORD).unwrap(),
            )
        })
        .await
        .unwrap();
    state_on(test, policy, &testkit::refresh_key())
}

/// A state on the tables of `test`, with sessions of lifetimes `policy` and `refresh_key`.
fn state_on(test: &str, policy: SessionPolicy, refresh_key: &authcore::SigningKey) -> State {
    let config = Config::with_secret(SECRET).unwrap();
    State::new(
        config.inline_key().unwrap(),
        &config,
        UserStore::new(client(), format!("users-{test}")),
        authenticate::Guard::for_key(
            AttemptStore::new(client(), format!("attempts-{test}")),
            authenticate::LockoutPolicy::default(),
            &testkit::lockout_key(),
        ),
    )
    .with_sessions(
        SessionStore::new(client(), format!("sessions-{test}")),
        policy,
    )
    .with_refresh_key(refresh_key)
}

fn post(path: &str, content_type: &str, body: String) -> Request {
    http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", content_type)
        .body(Body::Text(body))
        .unwrap()
}

async fn call(state: &State, req: Request) -> (StatusCode, Value) {
    let resp = handler(state, req).await.unwrap();
    let status = resp.status();
    (
        status,
        serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null),
    )
}

async fn sign_in(state: &State) -> Value {
    let body = json!({"email": "ada@example.com", "password": PASSWORD}).to_string();
    let (status, body) = call(state, post("/token", "application/json", body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn refresh(state: &State, token: &str) -> (StatusCode, Value) {
    let body = json!({"grant_type": "refresh_token", "refresh_token": token}).to_string();
    call(state, post("/token", "application/json", body)).await
}

async fn revoke(state: &State, token: &str) -> (StatusCode, Value) {
    let form = format!("token={token}&token_type_hint=refresh_token");
    call(
        state,
        post("/revoke", "application/x-www-form-urlencoded", form),
    )
    .await
}

fn rt(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap().to_owned()
}

fn long() -> SessionPolicy {
    SessionPolicy::default()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_whole_family() {
    let state = setup("rotation", long()).await;
    let first = sign_in(&state).await;
    let r1 = rt(&first);
    assert_eq!(r1.len(), 43, "256 random bits, base64url");
    assert_eq!(r1.split('.').count(), 1, "opaque, never a JWT");
    assert_eq!(first["refresh_expires_in"], 7 * 86_400);

    // The form grant, like the password grant.
    let form = format!("grant_type=refresh_token&refresh_token={r1}");
    let (status, second) = call(
        &state,
        post("/token", "application/x-www-form-urlencoded", form),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let r2 = rt(&second);
    assert_ne!(r1, r2);
    let config = Config::with_secret(SECRET).unwrap();
    let claims = TokenVerifier::new(config.inline_key().unwrap(), &config)
        .verify(second["access_token"].as_str().unwrap())
        .unwrap();
    assert!(claims.sub.starts_with("u_"));
    assert_eq!(claims.email.as_deref(), Some("ada@example.com"));

    let (status, third) = refresh(&state, &r2).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let r3 = rt(&third);

    // r1 again: a thief's copy. Refused, and the family is revoked: r3 (the user's) too.
    let (status, reused) = refresh(&state, &r1).await;
    assert_eq!(
        (status, reused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, _) = refresh(&state, &r3).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the family is revoked");
    // A new sign-in starts a new family that works.
    let again = sign_in(&state).await;
    assert_eq!(refresh(&state, &rt(&again)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn refresh_takes_refresh_tokens_only() {
    let state = setup("refresh-endpoint", long()).await;
    let r1 = rt(&sign_in(&state).await);
    let body = json!({"grant_type": "refresh_token", "refresh_token": r1}).to_string();
    let (status, refreshed) = call(&state, post("/prod/refresh", "application/json", body)).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_ne!(rt(&refreshed), r1);
    // A password there is refused: sign-ins cannot use the refreshes' throttle.
    let body = json!({"email": "ada@example.com", "password": PASSWORD}).to_string();
    let (status, refused) = call(&state, post("/refresh", "application/json", body)).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    assert!(refused.get("access_token").is_none());
}

#[tokio::test]
async fn every_refusal_has_the_same_body() {
    let state = setup("refusals", long()).await;
    let signed = sign_in(&state).await;
    let r1 = rt(&signed);
    let r2 = rt(&refresh(&state, &r1).await.1);
    revoke(&state, &r2).await;
    let other = rt(&sign_in(&state).await);
    let mut bodies = Vec::new();
    for token in [
        "not a token".to_owned(),
        "a".repeat(43),                                      // well formed, unknown
        r1.clone(),                                          // reused
        r2.clone(),                                          // revoked
        signed["access_token"].as_str().unwrap().to_owned(), // an access token
    ] {
        let (status, body) = refresh(&state, &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(!body.to_string().contains(&token[..token.len().min(20)]) || token.len() < 20);
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert_eq!(bodies[0]["error"], "invalid_grant");
    // Another family was untouched.
    assert_eq!(refresh(&state, &other).await.0, StatusCode::OK);
    // A refresh without its token is a malformed request.
    let body = json!({"grant_type": "refresh_token"}).to_string();
    let (status, body) = call(&state, post("/token", "application/json", body)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}

/// `n` refreshes of `token` at once: the statuses and bodies.
#[tokio::test]
async fn unknown_tokens_revoke_only_the_decoy_family_of_nobody() {
    let state = setup("decoy", long()).await;
    let live = rt(&sign_in(&state).await);
    for n in 0..2 {
        let unknown = format!("{n}").repeat(43);
        assert_eq!(refresh(&state, &unknown).await.0, StatusCode::BAD_REQUEST);
    }
    let sessions = SessionStore::new(client(), "sessions-decoy");
    let decoy = sessions
        .family(DECOY_FAMILY)
        .await
        .unwrap()
        .expect("the decoy");
    assert!(decoy.revoked && decoy.user_id.is_empty(), "{decoy:?}");
    let record = sessions
        .token(&authcore::token::refresh::hash(&live).unwrap())
        .await
        .unwrap()
        .unwrap();
    let mine = sessions.family(&record.family).await.unwrap().unwrap();
    let listed = sessions.families_of(&mine.user_id).await.unwrap();
    assert!(listed.iter().all(|f| f.id != DECOY_FAMILY), "{listed:?}");
    assert_eq!(refresh(&state, &live).await.0, StatusCode::OK, "untouched");
}

async fn at_once(state: &std::sync::Arc<State>, token: &str, n: usize) -> Vec<(StatusCode, Value)> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (state, token) = (state.clone(), token.to_owned());
        tasks.spawn(async move { refresh(&state, &token).await });
    }
    tasks.join_all().await
}

#[tokio::test]
async fn concurrent_refreshes_and_stragglers_of_one_token_all_get_its_one_successor() {
    let state = std::sync::Arc::new(setup("concurrent", long()).await);
    let token = rt(&sign_in(&state).await);
    // Twenty at once, then ten more 0.3 s later (a second tab, a retry).
    let mut answers = at_once(&state, &token, 20).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    answers.extend(at_once(&state, &token, 10).await);
    let successors: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, StatusCode::OK, "{body}");
            rt(body)
        })
        .collect();
    assert_eq!(
        successors.len(),
        1,
        "one successor, the family never branches"
    );
    // It works, and its own successor after it: nothing was revoked.
    let next = successors.first().unwrap();
    let (status, body) = refresh(&state, next).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(refresh(&state, &rt(&body)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_gets_the_same_successor_and_a_fresh_access_token() {
    let state = setup("retry", long()).await;
    let token = rt(&sign_in(&state).await);
    let (_, lost) = refresh(&state, &token).await; // the answer the client never saw
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (status, retried) = refresh(&state, &token).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(rt(&retried), rt(&lost));
    assert_ne!(retried["access_token"], lost["access_token"]);
    assert!(retried["refresh_expires_in"].as_u64().unwrap() <= 7 * 86_400);
    // The session goes on from the successor.
    assert_eq!(refresh(&state, &rt(&retried)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn once_the_successor_is_used_the_old_token_again_is_reuse() {
    let state = setup("successor-used", long()).await;
    let r1 = rt(&sign_in(&state).await);
    let r2 = rt(&refresh(&state, &r1).await.1);
    let (status, third) = refresh(&state, &r2).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    // Within the window, but r2 has moved on: r1 is a copy, and the family is revoked.
    let (status, body) = refresh(&state, &r1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        refresh(&state, &rt(&third)).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn a_retry_across_a_refresh_key_change_is_refused_and_revokes_nothing() {
    let before = setup("key-change", long()).await;
    let r1 = rt(&sign_in(&before).await);
    let r2 = rt(&refresh(&before, &r1).await.1);
    let other =
        authcore::SigningKey::new(b"another-refresh-key-0123456789abcdef".to_vec()).unwrap();
    let after = state_on("key-change", long(), &other);
    let (status, body) = refresh(&after, &r1).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // The session goes on with the successor the client was given.
    assert_eq!(refresh(&after, &r2).await.0, StatusCode::OK);
}

#[tokio::test]
async fn after_the_window_the_old_token_again_is_reuse() {
    let policy = SessionPolicy { retry: 1, ..long() };
    let state = setup("window", policy).await;
    let r1 = rt(&sign_in(&state).await);
    let r2 = rt(&refresh(&state, &r1).await.1);
    // Times are whole seconds: two seconds are past a one-second window whatever the rounding.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(refresh(&state, &r1).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        refresh(&state, &r2).await.0,
        StatusCode::BAD_REQUEST,
        "revoked"
    );
}

#[tokio::test]
async fn with_retries_off_concurrent_refreshes_give_exactly_one_success() {
    let policy = SessionPolicy { retry: 0, ..long() };
    let state = std::sync::Arc::new(setup("no-retries", policy).await);
    let token = rt(&sign_in(&state).await);
    let answers = at_once(&state, &token, 20).await;
    for (status, body) in &answers {
        match *status {
            StatusCode::OK => {}
            StatusCode::BAD_REQUEST => assert_eq!(body["error"], "invalid_grant"),
            other => panic!("{other}: {body}"),
        }
    }
    let winners = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(winners, 1, "exactly one success");
    // A loser that read the token before the winner's write lost a race (no revocation); one
    // that read it after saw a used token: reuse, and the family is revoked. Either way only
    // the winner's token was ever handed out.
}

#[tokio::test]
async fn idle_and_absolute_lifetimes_end_sessions() {
    // Idle: a token unused for its lifetime is refused.
    let state = setup(
        "idle",
        SessionPolicy {
            idle: 1,
            absolute: 60,
            ..long()
        },
    )
    .await;
    let token = rt(&sign_in(&state).await);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(refresh(&state, &token).await.0, StatusCode::BAD_REQUEST);

    // Absolute: refreshing keeps a session alive only until the family's end. (Times are whole
    // seconds: the sleeps keep a second's margin on each side.)
    let state = setup(
        "absolute",
        SessionPolicy {
            idle: 3,
            absolute: 5,
            ..long()
        },
    )
    .await;
    let mut token = rt(&sign_in(&state).await);
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (status, body) = refresh(&state, &token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["refresh_expires_in"].as_u64().unwrap() <= 3);
        token = rt(&body);
    }
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(refresh(&state, &token).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn revoke_ends_a_session_and_reveals_nothing() {
    let state = setup("revoke", long()).await;
    let token = rt(&sign_in(&state).await);
    for t in [token.as_str(), token.as_str(), "unknown", &"b".repeat(43)] {
        let (status, body) = revoke(&state, t).await;
        assert_eq!((status, &body), (StatusCode::OK, &json!({})), "{t}");
    }
    assert_eq!(refresh(&state, &token).await.0, StatusCode::BAD_REQUEST);
    // JSON too; and without a token, a malformed request.
    let other = rt(&sign_in(&state).await);
    let body = json!({"token": other}).to_string();
    assert_eq!(
        call(&state, post("/revoke", "application/json", body))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(refresh(&state, &other).await.0, StatusCode::BAD_REQUEST);
    let (status, body) = call(&state, post("/revoke", "application/json", "{}".into())).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}

#[tokio::test]
async fn the_user_is_read_again_at_each_refresh() {
    let state = setup("user-changes", long()).await;
    let token = rt(&sign_in(&state).await);
    // A role change shows at the next refresh.
    let user = state.users.get("ada@example.com").await.unwrap().unwrap();
    state.users.delete("ada@example.com").await.unwrap();
    state
        .users
        .create(&User {
            roles: vec!["admin".into()],
            ..user.clone()
        })
        .await
        .unwrap();
    let (status, body) = refresh(&state, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let config = Config::with_secret(SECRET).unwrap();
    let claims = TokenVerifier::new(config.inline_key().unwrap(), &config)
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.roles, ["admin"]);
    let token = rt(&body);
    // Disabled: refused.
    state
        .users
        .set_disabled("ada@example.com", true)
        .await
        .unwrap();
    assert_eq!(refresh(&state, &token).await.0, StatusCode::BAD_REQUEST);
    state
        .users
        .set_disabled("ada@example.com", false)
        .await
        .unwrap();
    // Removed and added again with the same email: another user, who inherits nothing.
    state.users.delete("ada@example.com").await.unwrap();
    state
        .users
        .create(&User {
            id: Some(authcore::new_user_id().unwrap()),
            ..user
        })
        .await
        .unwrap();
    assert_eq!(refresh(&state, &token).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_refresh_costs_far_less_than_a_password_sign_in() {
    let state = setup("latency", long()).await;
    let mut token = rt(&sign_in(&state).await);
    let (mut sign_ins, mut refreshes) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let t = Instant::now();
        sign_in(&state).await;
        sign_ins.push(t.elapsed());
        let t = Instant::now();
        let (status, body) = refresh(&state, &token).await;
        refreshes.push(t.elapsed());
        assert_eq!(status, StatusCode::OK);
        token = rt(&body);
    }
    sign_ins.sort();
    refreshes.sort();
    println!(
        "against moto, median: password sign-in {:?}, refresh {:?}",
        sign_ins[7], refreshes[7]
    );
}

#[tokio::test]
async fn a_store_failure_during_a_refresh_is_a_503_and_changes_nothing() {
    let state = setup("failure", long()).await;
    let token = rt(&sign_in(&state).await);
    // The same state, but its sessions table is gone: the refresh cannot read or rotate.
    let config = Config::with_secret(SECRET).unwrap();
    let broken = State::new(
        config.inline_key().unwrap(),
        &config,
        UserStore::new(client(), "users-failure"),
        authenticate::Guard::for_key(
            AttemptStore::new(client(), "attempts-failure"),
            authenticate::LockoutPolicy::default(),
            &testkit::lockout_key(),
        ),
    )
    .with_sessions(SessionStore::new(client(), "no-such-sessions"), long());
    let (status, body) = refresh(&broken, &token).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("temporarily_unavailable")
        )
    );
    // Nothing was half done: the token still works, once.
    let (status, next) = refresh(&state, &token).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_eq!(refresh(&state, &rt(&next)).await.0, StatusCode::OK);
}
