//! The four events an API Gateway Lambda authorizer receives, recognised from the event itself,
//! each parsed with the `aws_lambda_events` type made for it, and the token taken from each.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV1Request, ApiGatewayV2CustomAuthorizerV2Request,
};
use http::header::AUTHORIZATION;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::decision::Reason;

/// Which authorizer event arrived: the API flavour and payload format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// REST API, TOKEN authorizer: `{"type": "TOKEN", "authorizationToken", "methodArn"}`.
    Token,
    /// REST API, REQUEST authorizer: headers, query string and `methodArn`.
    Request,
    /// HTTP API, payload format 1.0 (`"version": "1.0"`): REST's REQUEST shape.
    HttpV1,
    /// HTTP API, payload format 2.0 (`"version": "2.0"`): `routeArn`, `identitySource`.
    HttpV2,
}

impl Kind {
    /// The word logged for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Request => "request",
            Self::HttpV1 => "http_v1",
            Self::HttpV2 => "http_v2",
        }
    }

    /// Whether the event comes from an HTTP API (API Gateway v2).
    pub fn is_http_api(self) -> bool {
        matches!(self, Self::HttpV1 | Self::HttpV2)
    }
}

/// A recognised authorizer event.
#[derive(Debug, Clone)]
pub enum AuthorizerEvent {
    /// REST TOKEN.
    Token(ApiGatewayCustomAuthorizerRequest),
    /// REST REQUEST.
    Request(Box<ApiGatewayCustomAuthorizerRequestTypeRequest>),
    /// HTTP API payload 1.0.
    HttpV1(Box<ApiGatewayV2CustomAuthorizerV1Request>),
    /// HTTP API payload 2.0.
    HttpV2(Box<ApiGatewayV2CustomAuthorizerV2Request>),
}

impl AuthorizerEvent {
    /// Which event this is.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Token(_) => Kind::Token,
            Self::Request(_) => Kind::Request,
            Self::HttpV1(_) => Kind::HttpV1,
            Self::HttpV2(_) => Kind::HttpV2,
        }
    }

    /// The `Authorization` value the caller sent, or why there is no single one.
    ///
    /// TOKEN: `authorizationToken`. REST REQUEST: the `Authorization` header in any case, from
    /// `headers` or else `multiValueHeaders`. HTTP API 1.0: the header. HTTP API 2.0: the
    /// header, or else the one value of `identitySource`.
    pub fn authorization(&self) -> Result<&str, Reason> {
        let value = match self {
            Self::Token(e) => e.authorization_token.as_deref(),
            Self::Request(e) => match one_header(&e.headers)? {
                Some(v) => Some(v),
                None => one_header(&e.multi_value_headers)?,
            },
            Self::HttpV1(e) => one_header(&e.headers)?,
            // The header first: the identity sources also hold `$context.routeKey`, which the
            // template adds so that answers are cached per route.
            Self::HttpV2(e) => match one_header(&e.headers)? {
                Some(v) => Some(v),
                None => match e.identity_source.as_deref() {
                    Some([one]) => Some(one.as_str()),
                    Some([]) | None => None,
                    Some(_) => return Err(Reason::SeveralTokens),
                },
            },
        };
        value.filter(|v| !v.is_empty()).ok_or(Reason::MissingToken)
    }

    /// The route key of an HTTP API payload 2.0 event (`GET /items/{id}`, `$default`): the
    /// route as the template declares it.
    pub fn route_key(&self) -> Option<&str> {
        match self {
            Self::HttpV2(e) => e.route_key.as_deref(),
            _ => None,
        }
    }

    /// The ARN of the request: `methodArn`, or `routeArn` for HTTP API payload 2.0.
    pub fn arn(&self) -> Option<&str> {
        match self {
            Self::Token(e) => e.method_arn.as_deref(),
            Self::Request(e) => e.method_arn.as_deref(),
            Self::HttpV1(e) => e.method_arn.as_deref(),
            Self::HttpV2(e) => e.route_arn.as_deref(),
        }
    }
}

/// The one `Authorization` value of `headers` (names are case-insensitive there); several
/// values are refused rather than guessed between.
fn one_header(headers: &http::HeaderMap) -> Result<Option<&str>, Reason> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| Reason::MalformedEvent),
        (Some(_), Some(_)) => Err(Reason::SeveralTokens),
    }
}

/// The authorizer's input: a recognised event, or why the payload is not one.
///
/// Deserializing never fails, so a payload that is not JSON, or not shaped like any authorizer
/// event, reaches the handler and is refused like any other bad request, instead of becoming a
/// runtime error that API Gateway would turn into a 500.
#[derive(Debug, Clone)]
pub enum AuthorizerInput {
    /// A readable event.
    Event(AuthorizerEvent),
    /// Not a readable authorizer event.
    Unreadable {
        /// The flavour the payload claimed, when it named one.
        kind: Option<Kind>,
        /// `MalformedEvent` or `WrongEventType`.
        reason: Reason,
    },
}

impl AuthorizerInput {
    /// Which event this is, as far as the payload says.
    pub fn kind(&self) -> Option<Kind> {
        match self {
            Self::Event(e) => Some(e.kind()),
            Self::Unreadable { kind, .. } => *kind,
        }
    }

    /// Recognises and parses `raw`, an event's JSON text.
    pub fn parse(raw: &str) -> Self {
        /// Just the fields that tell the events apart.
        #[derive(Deserialize)]
        struct Shape<'a> {
            #[serde(default, borrow)]
            version: Option<std::borrow::Cow<'a, str>>,
            #[serde(default, rename = "type", borrow)]
            type_: Option<std::borrow::Cow<'a, str>>,
        }
        let unreadable = |kind, reason| Self::Unreadable { kind, reason };
        let Ok(shape) = serde_json::from_str::<Shape>(raw) else {
            return unreadable(None, Reason::MalformedEvent);
        };
        let is_type = |t: &str| {
            shape
                .type_
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case(t))
        };
        let kind = match shape.version.as_deref() {
            Some("2.0") => Kind::HttpV2,
            Some("1.0") => Kind::HttpV1,
            Some(_) => return unreadable(None, Reason::WrongEventType),
            None if is_type("TOKEN") => Kind::Token,
            None if is_type("REQUEST") => Kind::Request,
            None => return unreadable(None, Reason::WrongEventType),
        };
        if kind.is_http_api() && !is_type("REQUEST") {
            return unreadable(Some(kind), Reason::WrongEventType);
        }
        let event = match kind {
            Kind::Token => serde_json::from_str(raw).map(AuthorizerEvent::Token),
            Kind::Request => {
                serde_json::from_str(raw).map(|e| AuthorizerEvent::Request(Box::new(e)))
            }
            Kind::HttpV1 => serde_json::from_str(raw).map(|e| AuthorizerEvent::HttpV1(Box::new(e))),
            Kind::HttpV2 => serde_json::from_str(raw).map(|e| AuthorizerEvent::HttpV2(Box::new(e))),
        };
        match event {
            Ok(event) => Self::Event(event),
            Err(_) => unreadable(Some(kind), Reason::MalformedEvent),
        }
    }
}

impl From<AuthorizerEvent> for AuthorizerInput {
    fn from(event: AuthorizerEvent) -> Self {
        Self::Event(event)
    }
}

impl From<ApiGatewayCustomAuthorizerRequest> for AuthorizerInput {
    fn from(event: ApiGatewayCustomAuthorizerRequest) -> Self {
        Self::Event(AuthorizerEvent::Token(event))
    }
}

impl<'de> Deserialize<'de> for AuthorizerInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Box::<RawValue>::deserialize(d) {
            Ok(raw) => Self::parse(raw.get()),
            Err(_) => Self::Unreadable {
                kind: None,
                reason: Reason::MalformedEvent,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_and_token(raw: &str) -> (Option<Kind>, Result<String, Reason>) {
        let input = AuthorizerInput::parse(raw);
        let token = match &input {
            AuthorizerInput::Event(e) => e.authorization().map(str::to_owned),
            AuthorizerInput::Unreadable { reason, .. } => Err(reason.clone()),
        };
        (input.kind(), token)
    }

    const CONTEXT_V1: &str =
        r#""httpMethod": "GET", "requestContext": {"httpMethod": "GET", "identity": {}}"#;
    const CONTEXT_V2: &str = r#""requestContext": {"http": {"method": "GET", "path": "/hello", "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4", "userAgent": "t"}, "accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d", "requestId": "r", "routeKey": "GET /hello", "stage": "$default", "time": "t", "timeEpoch": 1}"#;

    #[test]
    fn each_event_is_recognised_from_its_own_fields() {
        let ok = |t: &str| Ok(t.to_owned());
        let cases = [
            (
                r#"{"type": "TOKEN", "authorizationToken": "Bearer t"}"#.to_owned(),
                Some(Kind::Token),
                ok("Bearer t"),
            ),
            (
                r#"{"type": "token", "authorizationToken": "Bearer t"}"#.to_owned(),
                Some(Kind::Token),
                ok("Bearer t"),
            ),
            (
                r#"{"type": "REQUEST", "headers": {"authorization": "Bearer r"}, "requestContext": {}}"#.to_string(),
                Some(Kind::Request),
                ok("Bearer r"),
            ),
            (
                r#"{"type": "REQUEST", "headers": {"AUTHORIZATION": "Bearer r"}, "requestContext": {}}"#.to_string(),
                Some(Kind::Request),
                ok("Bearer r"),
            ),
            (
                r#"{"type": "REQUEST", "multiValueHeaders": {"Authorization": ["Bearer m"]}, "requestContext": {}}"#.to_string(),
                Some(Kind::Request),
                ok("Bearer m"),
            ),
            (
                r#"{"type": "REQUEST", "multiValueHeaders": {"Authorization": ["Bearer a", "Bearer b"]}, "requestContext": {}}"#.to_string(),
                Some(Kind::Request),
                Err(Reason::SeveralTokens),
            ),
            (
                r#"{"type": "REQUEST", "requestContext": {}}"#.to_string(),
                Some(Kind::Request),
                Err(Reason::MissingToken),
            ),
            (
                format!(
                    r#"{{"version": "1.0", "type": "REQUEST", "headers": {{"Authorization": "Bearer h1"}}, {CONTEXT_V1}}}"#
                ),
                Some(Kind::HttpV1),
                ok("Bearer h1"),
            ),
            (
                format!(r#"{{"version": "1.0", "type": "REQUEST", {CONTEXT_V1}}}"#),
                Some(Kind::HttpV1),
                Err(Reason::MissingToken),
            ),
            (
                format!(
                    r#"{{"version": "2.0", "type": "REQUEST", "identitySource": ["Bearer h2"], {CONTEXT_V2}}}"#
                ),
                Some(Kind::HttpV2),
                ok("Bearer h2"),
            ),
            (
                format!(
                    r#"{{"version": "2.0", "type": "REQUEST", "headers": {{"authorization": "Bearer hh"}}, {CONTEXT_V2}}}"#
                ),
                Some(Kind::HttpV2),
                ok("Bearer hh"),
            ),
            (
                format!(
                    r#"{{"version": "2.0", "type": "REQUEST", "identitySource": [], {CONTEXT_V2}}}"#
                ),
                Some(Kind::HttpV2),
                Err(Reason::MissingToken),
            ),
            (
                format!(
                    r#"{{"version": "2.0", "type": "REQUEST", "identitySource": ["Bearer a", "b"], {CONTEXT_V2}}}"#
                ),
                Some(Kind::HttpV2),
                Err(Reason::SeveralTokens),
            ),
            (
                format!(
                    r#"{{"version": "2.0", "type": "REQUEST", "identitySource": [""], {CONTEXT_V2}}}"#
                ),
                Some(Kind::HttpV2),
                Err(Reason::MissingToken),
            ),
            (
                r#"{"version": "2.0", "type": "REQUEST"}"#.to_owned(),
                Some(Kind::HttpV2),
                Err(Reason::MalformedEvent),
            ),
            (
                r#"{"version": "2.0", "type": "TOKEN"}"#.to_owned(),
                Some(Kind::HttpV2),
                Err(Reason::WrongEventType),
            ),
            (
                r#"{"version": "3.0", "type": "REQUEST"}"#.to_owned(),
                None,
                Err(Reason::WrongEventType),
            ),
            (
                r#"{"type": "OTHER"}"#.to_owned(),
                None,
                Err(Reason::WrongEventType),
            ),
            (r#"{}"#.to_owned(), None, Err(Reason::WrongEventType)),
            (r#"[1, 2]"#.to_owned(), None, Err(Reason::MalformedEvent)),
            (
                r#"{"type": 7}"#.to_owned(),
                None,
                Err(Reason::MalformedEvent),
            ),
            (
                r#"{"type": "TOKEN", "authorizationToken": 42}"#.to_owned(),
                Some(Kind::Token),
                Err(Reason::MalformedEvent),
            ),
        ];
        for (raw, kind, token) in cases {
            assert_eq!(kind_and_token(&raw), (kind, token), "{raw}");
        }
    }

    #[test]
    fn a_payload_that_is_not_json_is_unreadable_not_an_error() {
        for raw in ["", "not json", "{\"type\": \"TOKEN\"", "\u{0}"] {
            let mut de = serde_json::Deserializer::from_str(raw);
            let input = AuthorizerInput::deserialize(&mut de).expect("never fails");
            assert!(
                matches!(
                    input,
                    AuthorizerInput::Unreadable {
                        reason: Reason::MalformedEvent,
                        ..
                    }
                ),
                "{raw:?}"
            );
        }
    }
}
