//! API Gateway events of the HTTP functions (`authenticate`, `hello`), before `lambda_http`
//! turns them into requests.
//!
//! Event bodies that say they are base64 but are not: `lambda_http` decodes them with
//! `expect()` while turning the event into a request, before any handler runs, so such an event
//! (a direct invoke; API Gateway always encodes correctly) would be a panic. The functions check
//! the body first and drop it, and answer 400.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::request::LambdaRequest;

/// Drops a body the event flags as base64 that does not decode, so that turning the event into
/// a request cannot panic; returns whether it did. Each function's
/// `main` calls it on every event before `lambda_http`'s adapter.
pub fn drop_undecodable_body(event: &mut LambdaRequest) -> bool {
    let (body, flag) = match event {
        LambdaRequest::ApiGatewayV1(e) => (&mut e.body, &mut e.is_base64_encoded),
        LambdaRequest::ApiGatewayV2(e) => (&mut e.body, &mut e.is_base64_encoded),
        #[allow(unreachable_patterns)]
        _ => return false,
    };
    drop_undecodable(body, flag)
}

/// Whether a body flagged `is_base64_encoded` fails to decode; if so it is removed (and the
/// flag cleared), so that turning the event into a request cannot panic.
pub fn drop_undecodable(body: &mut Option<String>, is_base64_encoded: &mut bool) -> bool {
    let undecodable =
        *is_base64_encoded && body.as_deref().is_some_and(|b| STANDARD.decode(b).is_err());
    if undecodable {
        *body = None;
        *is_base64_encoded = false;
    }
    undecodable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_flagged_bodies_that_do_not_decode_are_dropped() {
        let case = |body: Option<&str>, flag: bool| {
            let (mut b, mut f) = (body.map(str::to_owned), flag);
            (drop_undecodable(&mut b, &mut f), b, f)
        };
        assert_eq!(case(Some("not base64!"), true), (true, None, false));
        assert_eq!(case(Some("e30="), true), (false, Some("e30=".into()), true));
        assert_eq!(
            case(Some("not base64!"), false),
            (false, Some("not base64!".into()), false)
        );
        assert_eq!(case(None, true), (false, None, true));
    }
}
