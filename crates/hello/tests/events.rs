//! The handler over the sample event, as API Gateway sends it after the authorizer allowed.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use serde_json::{Value, json};

fn request(raw: &str) -> Request {
    lambda_http::request::from_str(raw).expect("an API Gateway event")
}

async fn call(req: Request) -> (StatusCode, Value) {
    let resp = hello::handler(&authcore::AllowedOrigins::None, req)
        .await
        .unwrap();
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
async fn answers_the_same_behind_an_http_api_with_the_context_under_lambda() {
    let rest = call(request(&sample("hello.json"))).await;
    let http = call(request(&sample("hello-http-api.json"))).await;
    assert_eq!(http, rest);
    // An IAM-policy answer (or payload 1.0) also carries principalId, which wins over sub.
    let mut v: Value = serde_json::from_str(&sample("hello-http-api.json")).unwrap();
    v["requestContext"]["authorizer"]["lambda"]["principalId"] = json!("p-1");
    let (status, body) = call(request(&v.to_string())).await;
    assert_eq!(
        (status, body["principalId"].as_str()),
        (StatusCode::OK, Some("p-1"))
    );
    assert!(body["context"].get("principalId").is_none());
}

#[tokio::test]
async fn answers_behind_a_jwt_authorizer_with_the_tokens_claims() {
    let mut v: Value = serde_json::from_str(&sample("hello-http-api.json")).unwrap();
    let claims =
        json!({"sub": "u_1", "name": "Ada", "email": "ada@example.com", "roles": "[reader]"});
    v["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": ["reader"]}});
    let (status, body) = call(request(&v.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "Hello, Ada!");
    assert_eq!(body["principalId"], "u_1");
    assert_eq!(body["context"], claims);
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../events/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
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

#[tokio::test]
async fn an_allowed_page_may_read_the_answer_and_others_may_not() {
    let cors = authcore::AllowedOrigins::parse("http://127.0.0.1:8000").unwrap();
    for (origin, allowed) in [
        ("http://127.0.0.1:8000", true),
        ("http://127.0.0.1:9999", false),
    ] {
        let mut req = request(&sample("hello.json"));
        req.headers_mut().insert("origin", origin.parse().unwrap());
        let resp = hello::handler(&cors, req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()
                .get("access-control-allow-origin")
                .and_then(|v| v.to_str().ok()),
            allowed.then_some(origin),
            "{origin}"
        );
    }
}

mod arbitrary_events {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Sample events with any body (flagged base64 or not) and any authorizer context, as
        /// the function's main runs them: always an answer, never a panic.
        #[test]
        fn any_event_gets_an_answer(
            http_api in any::<bool>(),
            base64 in any::<bool>(),
            body in ".{0,100}",
            context in prop::option::of(prop::collection::hash_map("[a-zA-Z]{1,10}", ".{0,20}", 0..5)),
        ) {
            let raw = if http_api {
                include_str!("../../../events/hello-http-api.json")
            } else {
                include_str!("../../../events/hello.json")
            };
            let mut v: serde_json::Value = serde_json::from_str(raw).unwrap();
            v["isBase64Encoded"] = base64.into();
            v["body"] = body.into();
            if let Some(context) = context {
                let target = if http_api { &mut v["requestContext"]["authorizer"]["lambda"] } else { &mut v["requestContext"]["authorizer"] };
                *target = serde_json::to_value(context).unwrap();
            }
            let Ok(mut payload) = serde_json::from_value::<lambda_http::request::LambdaRequest>(v) else {
                return Ok(());
            };
            awsenv::http_events::drop_undecodable_body(&mut payload);
            let request = lambda_http::Request::from(payload);
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let response = rt.block_on(hello::handler(&authcore::AllowedOrigins::None, request)).unwrap();
            prop_assert!(matches!(response.status().as_u16(), 200 | 403), "{}", response.status());
        }
    }
}
