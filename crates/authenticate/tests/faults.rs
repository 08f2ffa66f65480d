//! Faults between `authenticate` and DynamoDB, call by call: a throttling error, a 500, no
//! answer, and a call carried out whose answer is lost, injected at each DynamoDB call of a
//! sign-in, a refresh and a revocation (testkit's fault proxy in front of moto). The client
//! gets the right answer or a 503 with `Retry-After`, never a 500 or a wait past the function's
//! timeout; afterwards the session is whole: a retry works, and exactly one successor exists.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use authcore::password::PasswordHasher;
use authcore::{Config, new_user_id};
use authenticate::{LockoutPolicy, SessionPolicy, State, handler};
use lambda_http::http::{self, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use testkit::faults::{Fault, FaultProxy};
use testkit::moto::MotoServer;
use userstore::attempts::AttemptStore;
use userstore::sessions::SessionStore;
use userstore::{User, UserStore};

const SECRET: &str = "faults-secret-0123456789abcdef-xyz-0";
const PASSWORD: &str = "correct horse battery staple";
/// The function's timeout in the template: no answer may take longer.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

fn moto() -> &'static MotoServer {
    static SERVER: OnceLock<MotoServer> = OnceLock::new();
    SERVER.get_or_init(MotoServer::start)
}

/// Tables on moto with one user, and a state whose DynamoDB calls go through `proxy`, with the
/// function's own client settings (one second per call, retries included).
async fn setup(test: &str, proxy: &FaultProxy) -> State {
    let direct =
        aws_sdk_dynamodb::Client::new(&testkit::moto::local_sdk_config(&moto().endpoint()));
    let names = [
        format!("users-{test}"),
        format!("attempts-{test}"),
        format!("sessions-{test}"),
    ];
    let users = UserStore::new(direct.clone(), &names[0]);
    users.create_table().await.unwrap();
    AttemptStore::new(direct.clone(), &names[1])
        .create_table()
        .await
        .unwrap();
    SessionStore::new(direct, &names[2])
        .create_table()
        .await
        .unwrap();
    users
        .create(&User {
            id: Some(new_user_id().unwrap()),
            ..User::new(
                "ada@example.com",
                PasswordHasher::default().hash(PASSWORD).unwrap(),
            )
        })
        .await
        .unwrap();
    let sdk = testkit::moto::local_sdk_config(&proxy.endpoint());
    let client = userstore::client(&sdk, Duration::from_millis(1000));
    let config = Config::with_secret(SECRET).unwrap();
    State::new(
        config.inline_key().unwrap(),
        &config,
        UserStore::new(client.clone(), &names[0]),
        authenticate::Guard::for_key(
            AttemptStore::new(client.clone(), &names[1]),
            LockoutPolicy::default(),
            &testkit::lockout_key(),
        ),
    )
    .with_sessions(
        SessionStore::new(client, &names[2]),
        SessionPolicy::default(),
    )
    .with_refresh_key(&testkit::refresh_key())
}

/// A JSON POST to `path` from `ip`.
fn post(path: &str, ip: &str, body: Value) -> Request {
    let mut req = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap();
    let mut ctx = aws_lambda_events::apigw::ApiGatewayProxyRequestContext::default();
    ctx.identity.source_ip = Some(ip.to_owned());
    req.extensions_mut()
        .insert(RequestContext::ApiGatewayV1(ctx));
    req
}

/// The status and body of `req`, checked: the right answer or a 503 with `Retry-After`, within
/// the function's timeout.
async fn call(state: &State, req: Request, what: &str) -> (StatusCode, Value) {
    let started = Instant::now();
    let response = handler(state, req).await.unwrap();
    assert!(
        started.elapsed() < FUNCTION_TIMEOUT,
        "{what}: {:?}",
        started.elapsed()
    );
    let status = response.status();
    let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        assert!(response.headers().contains_key("retry-after"), "{what}");
        assert_eq!(body["error"], "temporarily_unavailable", "{what}");
    }
    (status, body)
}

fn sign_in(ip: &str) -> Request {
    post(
        "/token",
        ip,
        json!({"email": "ada@example.com", "password": PASSWORD}),
    )
}

fn refresh(ip: &str, token: &str) -> Request {
    post(
        "/refresh",
        ip,
        json!({"grant_type": "refresh_token", "refresh_token": token}),
    )
}

/// How many DynamoDB calls `request` makes when nothing fails.
async fn calls_of(proxy: &FaultProxy, run: impl std::future::Future<Output = ()>) -> usize {
    let before = proxy.calls();
    run.await;
    proxy.calls() - before
}

/// `req` with `fault` at its `k`-th DynamoDB call: the fault's call is made, and the answer is
/// the right one or a 503 (checked by [`call`]).
async fn faulted(
    state: &State,
    proxy: &FaultProxy,
    (k, fault): (usize, Fault),
    req: Request,
    what: &str,
) -> (StatusCode, Value) {
    let before = proxy.calls();
    proxy.fail_call(k, fault);
    let (status, body) = call(state, req, what).await;
    proxy.clear();
    assert!(
        proxy.calls() - before >= k,
        "{what}: the fault's call was never made"
    );
    assert!(
        [StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE].contains(&status),
        "{what}: {status} {body}"
    );
    (status, body)
}

#[tokio::test]
async fn a_sign_in_survives_a_fault_at_any_call() {
    let proxy = FaultProxy::start(&moto().endpoint());
    let state = setup("sign-in", &proxy).await;
    let n = calls_of(&proxy, async {
        assert_eq!(
            call(&state, sign_in("192.0.2.1"), "clean").await.0,
            StatusCode::OK
        );
    })
    .await;
    for fault in Fault::ALL {
        for k in 1..=n {
            let what = format!("sign-in, {fault:?} at call {k} of {n}");
            // Each case from its own address: an attempt reserved and then lost counts against
            // that address and account only, as the README says.
            let ip = format!("198.51.100.{}", 10 + k + 20 * fault as usize);
            faulted(&state, &proxy, (k, fault), sign_in(&ip), &what).await;
            // The user tries again and gets in.
            let (status, body) = call(&state, sign_in(&ip), &what).await;
            assert_eq!(status, StatusCode::OK, "{what}: the retry: {body}");
        }
    }
}

#[tokio::test]
async fn a_refresh_survives_a_fault_at_any_call_with_exactly_one_successor() {
    let proxy = FaultProxy::start(&moto().endpoint());
    let state = setup("refresh", &proxy).await;
    let token = |body: &Value| body["refresh_token"].as_str().unwrap().to_owned();
    let start = call(&state, sign_in("192.0.2.2"), "sign-in").await.1;
    let n = calls_of(&proxy, async {
        let (status, _) = call(&state, refresh("192.0.2.2", &token(&start)), "clean").await;
        assert_eq!(status, StatusCode::OK);
    })
    .await;
    for fault in Fault::ALL {
        for k in 1..=n {
            let what = format!("refresh, {fault:?} at call {k} of {n}");
            let old = token(&call(&state, sign_in("192.0.2.2"), &what).await.1);
            let (_, first) = faulted(
                &state,
                &proxy,
                (k, fault),
                refresh("192.0.2.2", &old),
                &what,
            )
            .await;
            // The client retries with the token it sent (its answer lost or refused): it gets
            // the one successor, the same as any answer it did get.
            let (status, retried) = call(&state, refresh("192.0.2.2", &old), &what).await;
            assert_eq!(status, StatusCode::OK, "{what}: the retry: {retried}");
            if first["refresh_token"].is_string() {
                assert_eq!(token(&first), token(&retried), "{what}: two successors");
            }
            // And the successor works: the family is whole.
            let (status, next) = call(&state, refresh("192.0.2.2", &token(&retried)), &what).await;
            assert_eq!(status, StatusCode::OK, "{what}: the successor: {next}");
        }
    }
}

#[tokio::test]
async fn a_revocation_survives_a_fault_at_any_call() {
    let proxy = FaultProxy::start(&moto().endpoint());
    let state = setup("revoke", &proxy).await;
    let token = |body: &Value| body["refresh_token"].as_str().unwrap().to_owned();
    let revoke = |t: &str| post("/revoke", "192.0.2.3", json!({"token": t}));
    let first = token(&call(&state, sign_in("192.0.2.3"), "sign-in").await.1);
    let n = calls_of(&proxy, async {
        assert_eq!(
            call(&state, revoke(&first), "clean").await.0,
            StatusCode::OK
        );
    })
    .await;
    for fault in Fault::ALL {
        for k in 1..=n {
            let what = format!("revoke, {fault:?} at call {k} of {n}");
            let session = token(&call(&state, sign_in("192.0.2.3"), &what).await.1);
            let (status, _) = faulted(&state, &proxy, (k, fault), revoke(&session), &what).await;
            if status != StatusCode::OK {
                assert_eq!(
                    call(&state, revoke(&session), &what).await.0,
                    StatusCode::OK
                );
            }
            // Either way the session is over.
            let (status, body) = call(&state, refresh("192.0.2.3", &session), &what).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (StatusCode::BAD_REQUEST, Some("invalid_grant")),
                "{what}"
            );
        }
    }
}
