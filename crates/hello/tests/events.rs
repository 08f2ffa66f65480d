//! The handler over the sample event, as API Gateway sends it after the authorizer allowed.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use serde_json::{Value, json};

fn request(raw: &str) -> Request {
    lambda_http::request::from_str(raw).expect("an API Gateway event")
}

async fn call(req: Request) -> (StatusCode, Value) {
    let resp = hello::handler(req).await.unwrap();
    let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    (resp.status(), body)
}

#[tokio::test]
async fn answers_with_the_principal_and_the_authorizer_context() {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/hello.json"
    ))
    .unwrap();
    let (status, body) = call(request(&raw)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({
            "message": "Hello, Demo User!",
            "principalId": "demo@example.com",
            "context": {"sub": "demo@example.com", "email": "demo@example.com", "name": "Demo User", "roles": "reader"}
        })
    );
}

#[tokio::test]
async fn refuses_a_request_that_bypassed_the_authorizer() {
    let req = lambda_http::http::Request::builder()
        .uri("/hello")
        .body(Body::Empty)
        .unwrap();
    let (status, body) = call(req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["message"].as_str().unwrap().contains("check-token"));
}
