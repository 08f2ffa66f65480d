//! `POST /token`: the password grant (sign-in) and the refresh grant (RFC 6749); `POST
//! /refresh`: the refresh grant alone.

use lambda_http::{Body, Request, RequestExt, Response};
use lockout::Source;

use crate::error::{EndpointError, Refusal};
use crate::grant::password::{SignedIn, sign_in};
use crate::grant::refresh;
use crate::metric::{self, Counted};
use crate::request::{Call, Grant, TokenRequest, parse_grant};
use crate::response::respond;
use crate::state::State;

/// Which grants an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grants {
    /// `/token`: passwords and refresh tokens.
    All,
    /// `/refresh`: refresh tokens; a password there is `unsupported_grant_type`, so that
    /// sign-ins cannot use the refreshes' throttle.
    RefreshOnly,
}

/// Answers one `/token` or `/refresh` request and logs its one event.
pub async fn endpoint(
    state: &State,
    request: &Request,
    call: &Call<'_>,
    grants: Grants,
) -> Response<Body> {
    let source = Source::from_address(source_ip(request));
    let parsed = match call.undecodable_body {
        true => Err(EndpointError::UndecodableBody),
        false => parse_grant(request.method(), call.content_type, request.body().as_ref()),
    };
    let parsed = match (parsed, grants) {
        (
            Ok(TokenRequest {
                grant: Grant::Password(_),
                ..
            }),
            Grants::RefreshOnly,
        ) => Err(EndpointError::PasswordAtRefresh),
        (parsed, _) => parsed,
    };
    // A request that is neither grant counts where it was sent: /token's sign-ins, /refresh's
    // refreshes.
    let unparsed = match grants {
        Grants::All => Counted::SignIn,
        Grants::RefreshOnly => Counted::Refresh,
    };
    let (grant, counted, result) = match parsed {
        Ok(TokenRequest {
            grant: Grant::Password(credentials),
            scope,
        }) => (
            "password",
            Counted::SignIn,
            sign_in(state, &credentials, &source, scope.as_ref()).await,
        ),
        Ok(TokenRequest {
            grant: Grant::Refresh(token),
            scope,
        }) => (
            "refresh_token",
            Counted::Refresh,
            refresh::refresh(state, &token, scope.as_ref())
                .await
                .map(|r| SignedIn {
                    token: r.token,
                    rehashed: false,
                    refresh: Some(r.refresh),
                    retry: r.retry,
                }),
        ),
        Err(e) => ("-", unparsed, Err(e)),
    };
    log(grant, &result, call);
    metric::token_request(counted, result.as_ref().map(|s| s.retry));
    if matches!(&result, Ok(s) if s.rehashed) {
        metric::hash_upgraded();
    }
    respond(&result)
}

/// The client address API Gateway saw: `identity.sourceIp` (REST), `http.sourceIp` (HTTP API).
fn source_ip(request: &Request) -> Option<&str> {
    use lambda_http::request::RequestContext;
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(ctx) => ctx.identity.source_ip.as_deref(),
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.as_deref(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The one log event of a `/token` request: the outcome and why, never a token.
fn log(grant: &str, result: &Result<SignedIn, EndpointError>, call: &Call<'_>) {
    let (cors, request_id) = (call.cors, call.request_id);
    match result {
        Ok(signed) => tracing::info!(
            outcome = "issued",
            grant,
            email = signed.token.claims.email.as_deref(),
            jti = signed.token.claims.jti.as_deref(),
            rehashed = signed.rehashed,
            retry = signed.retry,
            cors,
            request_id,
            "token request"
        ),
        Err(e) => tracing::info!(
            outcome = "refused",
            grant,
            reason = e.reason(),
            held_by = match e {
                EndpointError::InvalidGrant(Refusal::Held { by, .. }) => by.as_str(),
                _ => "-",
            },
            status = e.status().as_u16(),
            cors,
            request_id,
            "token request"
        ),
    }
}
