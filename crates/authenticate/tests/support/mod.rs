//! What the `/token` and lockout tests share: one moto server, tables with users, requests.
#![allow(dead_code)]

use std::sync::OnceLock;

use authcore::password::PasswordHasher;
use authcore::{Config, TokenVerifier};
use authenticate::{State, handler};
use lambda_http::http::{self, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request};
use serde_json::{Value, json};
use testkit::moto::MotoServer;
use userstore::attempts::AttemptStore;
use userstore::{User, UserStore};

pub const SECRET: &str = "integration-secret-0123456789abcdef-xyz";

pub fn moto() -> &'static MotoServer {
    static SERVER: OnceLock<MotoServer> = OnceLock::new();
    SERVER.get_or_init(MotoServer::start)
}

pub fn config() -> Config {
    Config::with_secret(SECRET).unwrap()
}

pub fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&testkit::moto::local_sdk_config(endpoint))
}

/// A fresh attempts table.
pub async fn attempts(test: &str) -> AttemptStore {
    let attempts = AttemptStore::new(client(&moto().endpoint()), format!("attempts-{test}"));
    assert!(attempts.create_table().await.unwrap());
    attempts
}

/// A fresh table with a few users in it.
pub async fn setup(test: &str) -> State {
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
        authenticate::Guard::for_key(
            attempts(test).await,
            authenticate::LockoutPolicy::default(),
            &testkit::lockout_key(),
        ),
    )
}

/// The user as stored now.
pub async fn stored(state: &State, email: &str) -> User {
    state.users.get(email).await.unwrap().unwrap()
}

pub fn request(content_type: &str, body: impl Into<String>) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/token")
        .header("content-type", content_type)
        .body(Body::Text(body.into()))
        .unwrap()
}

pub async fn call(state: &State, req: Request) -> (StatusCode, Value, http::HeaderMap) {
    let resp = handler(state, req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    (status, body, headers)
}

pub fn json_login(email: &str, password: &str) -> Request {
    request(
        "application/json",
        json!({"email": email, "password": password}).to_string(),
    )
}

/// `req` as API Gateway (REST) delivers it from the client address `ip`.
pub fn from_ip(mut req: Request, ip: &str) -> Request {
    let mut ctx = aws_lambda_events::apigw::ApiGatewayProxyRequestContext::default();
    ctx.identity.source_ip = Some(ip.to_owned());
    req.extensions_mut()
        .insert(RequestContext::ApiGatewayV1(ctx));
    req
}

/// The whole answer as bytes: status, every header, body.
pub async fn raw(state: &State, req: Request) -> String {
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

pub fn verifier() -> TokenVerifier {
    let config = config();
    TokenVerifier::new(config.inline_key().unwrap(), &config)
}
