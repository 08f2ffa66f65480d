//! The one place statuses, bodies and headers are set: RFC 6749 §5.1 on success, §5.2
//! (`{"error", "error_description"}`) for every [`EndpointError`].

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::error::EndpointError;
use crate::grant::password::SignedIn;

/// RFC 6749 §5.1.
#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_expires_in: Option<u64>,
}

/// RFC 6749 §5.2.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// Turns a `/token` outcome into the HTTP response.
pub fn respond(result: &Result<SignedIn, EndpointError>) -> Response<Body> {
    answer(result.as_ref().map(|signed| {
        serde_json::to_string(&TokenResponse {
            access_token: &signed.token.token,
            token_type: "Bearer",
            expires_in: signed.token.expires_in,
            refresh_token: signed.refresh.as_ref().map(|r| r.token.as_str()),
            refresh_expires_in: signed.refresh.as_ref().map(|r| r.expires_in),
        })
        .unwrap_or_default()
    }))
}

/// `Ok` is a 200 with that JSON body, an error its status, OAuth body and `Retry-After`.
pub fn answer(result: Result<String, &EndpointError>) -> Response<Body> {
    let retry_after = result.as_ref().err().and_then(|e| e.retry_after());
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => (
            e.status(),
            serde_json::to_string(&ErrorBody {
                error: e.oauth_error(),
                error_description: &e.description(),
            })
            .unwrap_or_default(),
        ),
    };
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // RFC 6749 §5.1: token responses must not be cached.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}
