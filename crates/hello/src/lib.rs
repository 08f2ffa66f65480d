//! `hello`: the protected demo route, `GET /hello`. It answers with the principal and context
//! that the `check-token` authorizer handed to API Gateway, so a user sees the whole flow work.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value, json};

/// Keys API Gateway adds to the authorizer context itself, not the authorizer's.
const GATEWAY_KEYS: [&str; 2] = ["principalId", "integrationLatency"];

/// The authorizer's output as the backend sees it: `principalId` and the context.
pub fn authorizer_context(request: &Request) -> Option<(String, Map<String, Value>)> {
    let fields = match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => &ctx.authorizer.fields,
        RequestContext::ApiGatewayV2(ctx) => &ctx.authorizer.as_ref()?.fields,
        _ => return None,
    };
    let principal = fields.get("principalId")?.as_str()?.to_owned();
    let context = fields
        .iter()
        .filter(|(k, _)| !GATEWAY_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some((principal, context))
}

/// The handler.
pub async fn handler(request: Request) -> Result<Response<Body>, std::convert::Infallible> {
    let (status, body) = match authorizer_context(&request) {
        Some((principal, context)) => {
            let who = context
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(&principal)
                .to_owned();
            tracing::info!(outcome = "hello", principal = %principal, "request");
            (
                StatusCode::OK,
                json!({"message": format!("Hello, {who}!"), "principalId": principal, "context": context}),
            )
        }
        None => {
            tracing::warn!(
                outcome = "no_authorizer",
                "request without authorizer context"
            );
            (
                StatusCode::FORBIDDEN,
                json!({"message": "no authorizer context: this route must sit behind the check-token authorizer"}),
            )
        }
    };
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
