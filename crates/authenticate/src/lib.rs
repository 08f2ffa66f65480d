//! `authenticate`: `POST /token` exchanges an email and password (or a refresh token) for a
//! short-lived token; `POST /refresh` takes refresh tokens only, behind a throttle of its own,
//! so that a flood of sign-ins cannot starve the refreshes of users already signed in;
//! `POST /revoke` ends a session; `GET /.well-known/jwks.json` and
//! `GET /.well-known/openid-configuration` publish the public keys and the issuer's metadata
//! ([`discovery`]).
//!
//! Bodies: JSON `{"email": ..., "password": ...}`, or the OAuth 2.0 password grant as
//! `application/x-www-form-urlencoded` (`grant_type=password&username=...&password=...`).
//! Answers follow RFC 6749: §5.1 on success, §5.2 (`{"error", "error_description"}`) otherwise.
//! An unknown email, a wrong password and a disabled account get one and the same answer,
//! and cost the same argon2 verification.
//!
//! A request goes: [`handle`] picks the [`Endpoint`] → [`token`] or [`revoke`] → [`request`]
//! (read the body) → [`grant`] (check, issue) → [`response`], with every refusal an
//! [`EndpointError`] mapped to the wire in one place. [`settings`] reads every variable once;
//! [`state`] holds what every request needs.

pub mod discovery;
pub mod error;
pub mod grant;
pub mod metric;
pub mod pad;
pub mod request;
pub mod response;
pub mod revoke;
pub mod settings;
pub mod state;
pub mod token;

use lambda_http::http::header;
use lambda_http::{Body, Request, RequestExt, Response};

pub use error::{EndpointError, Refusal};
pub use grant::password::{SignedIn, sign_in};
pub use grant::refresh::SessionPolicy;
pub use lockout::{Guard, LockoutPolicy, Source};
pub use pad::RefusalPad;
pub use request::{
    Call, Credentials, Grant, MAX_BODY_BYTES, TokenRequest, parse_grant, parse_request,
    parse_revoke,
};
pub use response::respond;
pub use settings::Settings;
pub use state::State;

/// The endpoints this function serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /token`: every grant.
    Token,
    /// `POST /refresh`: the refresh grant only.
    Refresh,
    /// `POST /revoke`.
    Revoke,
    /// `GET /.well-known/...`: a discovery document.
    Discovery(discovery::Document),
}

impl Endpoint {
    /// The endpoint a request's path names: its last segment (the REST API's path carries the
    /// stage's resource path, the HTTP API's the route's).
    pub fn of(path: &str) -> Self {
        if let Some(document) = discovery::Document::of(path) {
            return Self::Discovery(document);
        }
        match path.trim_end_matches('/').rsplit('/').next() {
            Some("revoke") => Self::Revoke,
            Some("refresh") => Self::Refresh,
            _ => Self::Token,
        }
    }
}

/// The Lambda handler for a request whose event was well formed.
pub async fn handler(
    state: &State,
    request: Request,
) -> Result<Response<Body>, std::convert::Infallible> {
    handle(state, request, false).await
}

/// The Lambda handler: routes to the endpoint, which logs one event and answers; adds the CORS
/// headers. Never fails: every problem is an HTTP answer. `undecodable_body`: the event's
/// base64 body did not decode (a 400).
pub async fn handle(
    state: &State,
    request: Request,
    undecodable_body: bool,
) -> Result<Response<Body>, std::convert::Infallible> {
    let origin = request.headers().get(header::ORIGIN);
    let call = Call {
        content_type: request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        undecodable_body,
        request_id: request
            .lambda_context_ref()
            .map_or("", |c| c.request_id.as_str()),
        cors: match origin.and_then(|o| o.to_str().ok()) {
            None => "-",
            Some(o) if state.cors.allows(o) => "allowed",
            Some(_) => "refused",
        },
    };
    let mut response = match Endpoint::of(request.uri().path()) {
        Endpoint::Token => token::endpoint(state, &request, &call, token::Grants::All).await,
        Endpoint::Refresh => {
            token::endpoint(state, &request, &call, token::Grants::RefreshOnly).await
        }
        Endpoint::Revoke => revoke::endpoint(state, &request, &call).await,
        Endpoint::Discovery(document) => {
            state
                .discovery
                .answer(document, request.method(), call.request_id)
        }
    };
    state.cors.apply(origin, response.headers_mut());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_path_segment_names_the_endpoint() {
        assert_eq!(Endpoint::of("/prod/revoke"), Endpoint::Revoke);
        assert_eq!(Endpoint::of("/revoke/"), Endpoint::Revoke);
        assert_eq!(Endpoint::of("/token"), Endpoint::Token);
        assert_eq!(Endpoint::of("/prod/token"), Endpoint::Token);
        assert_eq!(Endpoint::of("/prod/refresh"), Endpoint::Refresh);
        assert_eq!(Endpoint::of("/refresh"), Endpoint::Refresh);
        assert_eq!(
            Endpoint::of("/prod/.well-known/jwks.json"),
            Endpoint::Discovery(discovery::Document::Jwks)
        );
    }

    #[test]
    fn a_path_that_only_ends_like_revoke_is_the_token_endpoint() {
        assert_eq!(Endpoint::of("/unrevoke"), Endpoint::Token);
    }
}
