//! `hello`: the protected demo route, `GET /hello`. It answers with the principal and context
//! that the `check-token` authorizer handed to API Gateway, so a user sees the whole flow work.

pub mod settings;

use authcore::AllowedOrigins;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value, json};

/// Keys API Gateway adds to the authorizer context itself, not the authorizer's.
const GATEWAY_KEYS: [&str; 2] = ["principalId", "integrationLatency"];

/// The authorizer's output as the backend sees it: the principal and the context.
///
/// REST APIs and HTTP API payload 1.0 put the context in `requestContext.authorizer` with
/// `principalId`; HTTP API payload 2.0 puts it in `requestContext.authorizer.lambda`, where a
/// simple response leaves no `principalId`: the principal is then the context's `sub`. Behind
/// API Gateway's JWT authorizer, the context is the token's claims,
/// `requestContext.authorizer.jwt.claims`.
pub fn authorizer_context(request: &Request) -> Option<(String, Map<String, Value>)> {
    let mut context: Map<String, Value> = match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => ctx.authorizer.fields.clone().into_iter().collect(),
        RequestContext::ApiGatewayV2(ctx) => {
            let authorizer = ctx.authorizer.as_ref()?;
            match &authorizer.jwt {
                Some(jwt) => jwt
                    .claims
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
                // `fields` is the `lambda` object.
                None => authorizer.fields.clone().into_iter().collect(),
            }
        }
        _ => return None,
    };
    let principal = context.get("principalId").cloned();
    context.retain(|k, _| !GATEWAY_KEYS.contains(&k.as_str()));
    let principal = principal
        .as_ref()
        .or_else(|| context.get("sub"))?
        .as_str()
        .filter(|p| !p.is_empty())?
        .to_owned();
    Some((principal, context))
}

/// The handler; pages from `cors` may read its answers.
pub async fn handler(
    cors: &AllowedOrigins,
    request: Request,
) -> Result<Response<Body>, std::convert::Infallible> {
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
    cors.apply(
        request.headers().get(header::ORIGIN),
        response.headers_mut(),
    );
    Ok(response)
}
