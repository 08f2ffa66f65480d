//! `POST /revoke` (RFC 7009): ends the session of a refresh token; 200 whether or not the
//! token was known.

use lambda_http::{Body, Request, Response};

use crate::error::EndpointError;
use crate::grant::refresh;
use crate::request::{Call, parse_revoke};
use crate::response::answer;
use crate::state::State;

/// Answers one `/revoke` request and logs its one event.
pub async fn endpoint(state: &State, request: &Request, call: &Call<'_>) -> Response<Body> {
    let result = match call.undecodable_body {
        true => Err(EndpointError::UndecodableBody),
        false => parse_revoke(request.method(), call.content_type, request.body().as_ref()),
    };
    let result = match result {
        Ok(token) => refresh::revoke(state, &token).await,
        Err(e) => Err(e),
    };
    let (cors, request_id) = (call.cors, call.request_id);
    match &result {
        Ok(revoked) => tracing::info!(
            outcome = "revoked",
            known = revoked,
            cors,
            request_id,
            "revoke request"
        ),
        Err(e) => tracing::info!(
            outcome = "refused",
            reason = e.reason(),
            status = e.status().as_u16(),
            cors,
            request_id,
            "revoke request"
        ),
    }
    crate::metric::revoke_request(result.as_ref().copied());
    answer(result.as_ref().map(|_| "{}".to_owned()))
}
