//! The HTTP API (API Gateway v2) as API Gateway runs it, not as REST does: route keys, payload
//! 2.0 events to the functions, the Lambda authorizer called with a 2.0 or 1.0 event, and its
//! answers mapped to statuses as the HTTP API guide documents them (see `check-token`'s
//! `response` module): no identity source is a 401 without calling the authorizer; the
//! `Unauthorized` error is a 401; `isAuthorized: false`, or a policy that does not allow the
//! route, is a 403; any other error or an answer in another format is a 500. Answers are cached
//! per identity-source values for `ReauthorizeEvery`, and the context reaches the backend at
//! `requestContext.authorizer.lambda`. HTTP APIs have no gateway responses to customize. With a
//! `CorsConfiguration`, the gateway answers preflight itself unless a route catches `OPTIONS`,
//! and sets the CORS headers of every answer in place of the function's.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequestIdentity, ApiGatewayRequestAuthorizer,
    ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayV2CustomAuthorizerV1Request,
    ApiGatewayV2CustomAuthorizerV1RequestTypeRequestContext, ApiGatewayV2CustomAuthorizerV2Request,
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription, ApiGatewayV2httpResponse,
};
use aws_lambda_events::query_map::QueryMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use local_runtime::Outcome;
use serde_json::{Map, Value, json};

use crate::policy::{self, Decision};
use crate::template::{HttpAuthorizer, HttpCors, HttpRoute};
use crate::{
    CacheUse, Gateway, INVOKE_TIMEOUT, LOCAL_ACCOUNT, LOCAL_API_ID, function_response,
    json_response, query_values,
};

/// The HTTP API's stage: SAM's `AWS::Serverless::HttpApi` serves `$default`.
pub const STAGE: &str = "$default";

/// What an HTTP API authorizer answered, as the cache keeps it.
#[derive(Debug, Clone)]
pub(crate) enum HttpAnswer {
    /// A simple response: authorized or not, and the context.
    Simple {
        /// `isAuthorized`.
        authorized: bool,
        /// `context`.
        context: Map<String, Value>,
    },
    /// An IAM policy, judged against each route's ARN.
    Policy {
        /// `principalId`.
        principal: String,
        /// `policyDocument`, as sent.
        policy: Value,
        /// `context`.
        context: Map<String, Value>,
    },
}

/// A cached answer.
pub(crate) struct HttpCached {
    answer: HttpAnswer,
    expires: Instant,
}

/// Whether `origin` is one of the configuration's allowed origins (or it allows any).
fn allowed_origin(cors: &HttpCors, origin: &str) -> bool {
    cors.allow_origins.iter().any(|o| o == "*" || o == origin)
}

/// API Gateway's own answer for an HTTP API: `{"message": ...}`.
fn message(status: StatusCode) -> Response<Bytes> {
    let text = match status {
        StatusCode::UNAUTHORIZED => "Unauthorized",
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::NOT_FOUND => "Not Found",
        StatusCode::PAYLOAD_TOO_LARGE => "Request Entity Too Large",
        StatusCode::SERVICE_UNAVAILABLE => "Service Unavailable",
        StatusCode::TOO_MANY_REQUESTS => "Too Many Requests",
        _ => "Internal Server Error",
    };
    json_response(status, json!({ "message": text }).to_string())
}

/// API Gateway's answer refusing a request at the JWT authorizer.
fn jwt_refusal(refusal: &crate::jwt::Refusal) -> Response<Bytes> {
    let (status, challenge, body) = refusal.answer();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = json_response(status, body);
    if let Some(value) = challenge.and_then(|c| HeaderValue::try_from(c).ok()) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The HTTP API's answer to a body over the payload limit.
pub(crate) fn too_large() -> Response<Bytes> {
    message(StatusCode::PAYLOAD_TOO_LARGE)
}

impl Gateway {
    /// Handles one request on the HTTP API: a preflight API Gateway answers itself, or the
    /// route; then the CORS configuration sets the answer's CORS headers.
    pub(crate) fn handle_http(
        &self,
        req: &Request<Bytes>,
        peer: Option<SocketAddr>,
    ) -> (Response<Bytes>, CacheUse) {
        if let Some(preflight) = self.http_preflight(req) {
            return (preflight, CacheUse::None);
        }
        let (mut response, cache) = self.route_http(req, peer);
        self.http_cors(req, &mut response);
        (response, cache)
    }

    /// With a CORS configuration, API Gateway answers an `OPTIONS` request that no route
    /// catches (no `OPTIONS`, `ANY` or `$default` route matches it) with a 204, without calling
    /// the authorizer. The preflight headers are there only for an allowed origin asking for an
    /// allowed method and headers. `None`: the request goes to its route.
    fn http_preflight(&self, req: &Request<Bytes>) -> Option<Response<Bytes>> {
        let api = self.stack.http_api.as_ref()?;
        let cors = api.cors.as_ref()?;
        if req.method() != http::Method::OPTIONS || api.route("OPTIONS", req.uri().path()).is_some()
        {
            return None;
        }
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let text = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        let (Some(origin), Some(method)) = (
            text(header::ORIGIN),
            text(header::ACCESS_CONTROL_REQUEST_METHOD),
        ) else {
            return Some(response);
        };
        let any = |list: &[String]| list.iter().any(|v| v == "*");
        let method_ok = any(&cors.allow_methods) || cors.allow_methods.iter().any(|m| m == method);
        let headers_ok = text(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .all(|h| any(&cors.allow_headers) || cors.allow_headers.contains(&h));
        if !allowed_origin(cors, origin) {
            eprintln!("cors: preflight from {origin}: not an allowed origin");
        } else if !method_ok || !headers_ok {
            eprintln!(
                "cors: preflight from {origin}: method {method} or headers {:?} not allowed",
                text(header::ACCESS_CONTROL_REQUEST_HEADERS).unwrap_or_default()
            );
        } else {
            self.http_cors(req, &mut response);
            let h = response.headers_mut();
            let join = |list: &[String]| HeaderValue::try_from(list.join(",")).ok();
            for (name, value) in [
                (
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    join(&cors.allow_methods),
                ),
                (
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    join(&cors.allow_headers),
                ),
                (
                    header::ACCESS_CONTROL_MAX_AGE,
                    cors.max_age.map(HeaderValue::from),
                ),
            ] {
                if let Some(value) = value.filter(|v| !v.is_empty()) {
                    h.insert(name, value);
                }
            }
        }
        Some(response)
    }

    /// The CORS headers of an HTTP API answer, as API Gateway sets them when the API has a CORS
    /// configuration: the function's own are dropped; an allowed `Origin` gets
    /// `Access-Control-Allow-Origin` (and the exposed headers); any other gets none.
    pub(crate) fn http_cors(&self, req: &Request<Bytes>, response: &mut Response<Bytes>) {
        let Some(cors) = self.stack.http_api.as_ref().and_then(|a| a.cors.as_ref()) else {
            return;
        };
        let h = response.headers_mut();
        let own: Vec<_> = h
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in own {
            h.remove(name);
        }
        let Some(origin) = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
        else {
            return;
        };
        if !allowed_origin(cors, origin) {
            if req.method() != http::Method::OPTIONS {
                eprintln!("cors: {origin}: not an allowed origin");
            }
            return;
        }
        let wildcard = cors.allow_origins.iter().any(|o| o == "*");
        let allow = if wildcard { "*" } else { origin };
        if let Ok(value) = HeaderValue::try_from(allow) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        let varies = h
            .get_all(header::VARY)
            .iter()
            .any(|v| v.as_bytes().eq_ignore_ascii_case(b"origin"));
        if !wildcard && !varies {
            h.append(header::VARY, HeaderValue::from_static("origin"));
        }
        if let Ok(value) = HeaderValue::try_from(cors.expose_headers.join(","))
            && !value.is_empty()
        {
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, value);
        }
    }

    /// Routes one request on the HTTP API.
    fn route_http(
        &self,
        req: &Request<Bytes>,
        peer: Option<SocketAddr>,
    ) -> (Response<Bytes>, CacheUse) {
        let Some(api) = self.stack.http_api.as_ref() else {
            return (message(StatusCode::NOT_FOUND), CacheUse::None);
        };
        let Some((route, path_params)) = api.route(req.method().as_str(), req.uri().path()) else {
            return (message(StatusCode::NOT_FOUND), CacheUse::None);
        };
        let limit = route
            .method_and_path()
            .and_then(|(method, path)| api.throttles.limit(method, path))
            .or(api.throttles.default);
        if !self.buckets.admit(&route.key, limit) {
            return (message(StatusCode::TOO_MANY_REQUESTS), CacheUse::None);
        }
        let (context, cache) = match (&self.jwt, &route.authorizer) {
            (_, None) => (None, CacheUse::None),
            (Some(jwt), Some(_)) => match self.authorize_jwt(jwt, route, req) {
                Ok(jwt) => {
                    let mut authorizer = ApiGatewayRequestAuthorizer::default();
                    authorizer.jwt = Some(jwt);
                    (Some(authorizer), CacheUse::None)
                }
                Err(refused) => return (jwt_refusal(&refused), CacheUse::None),
            },
            (None, Some(name)) => {
                match self.authorize_http(name, &api.authorizers[name], route, req, peer) {
                    Ok((context, used)) => {
                        // `fields` is the event's `lambda` object.
                        let mut authorizer = ApiGatewayRequestAuthorizer::default();
                        authorizer.fields = context.into_iter().collect();
                        (Some(authorizer), used)
                    }
                    Err((status, used)) => return (message(status), used),
                }
            }
        };
        let Some(function) = self.functions.get(&route.function) else {
            return (message(StatusCode::INTERNAL_SERVER_ERROR), cache);
        };
        let mut event = self.http_event(route, req, path_params, peer);
        if let Some(context) = context {
            event.request_context.authorizer = Some(context);
        }
        let response =
            payload(&event).and_then(|payload| match function.invoke(&payload, INVOKE_TIMEOUT) {
                Ok(Outcome::Response(body)) => http_response(&body),
                Ok(Outcome::Error { .. }) | Err(_) => None,
            });
        (
            response.unwrap_or_else(|| message(StatusCode::INTERNAL_SERVER_ERROR)),
            cache,
        )
    }

    /// API Gateway's JWT authorizer for `req` on `route`: the `jwt` object for the backend, or
    /// why the request is refused. The discovery document and key set are read from this
    /// stack's own routes, in process.
    fn authorize_jwt(
        &self,
        jwt: &crate::jwt::JwtAuthorizer,
        route: &HttpRoute,
        req: &Request<Bytes>,
    ) -> Result<ApiGatewayRequestAuthorizerJwtDescription, crate::jwt::Refusal> {
        if !jwt.protects(&route.key) {
            // A route of the HTTP API that the JWT-authorized API does not protect.
            return Err(crate::jwt::Refusal::Invalid(
                "the route has no JWT authorizer",
            ));
        }
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let get = |path: &str| {
            let request = Request::builder()
                .method(http::Method::GET)
                .uri(path)
                .body(Bytes::new())
                .ok()?;
            let (response, _) = self.route_http(&request, None);
            (response.status() == StatusCode::OK)
                .then(|| serde_json::from_slice(response.body()).ok())
                .flatten()
        };
        jwt.check(&route.key, authorization, get)
    }

    /// Runs authorizer `name` for `req` on `route`: identity sources, the cache, the call, and
    /// the answer judged. Gives the context for the backend, or the status refusing the request.
    fn authorize_http(
        &self,
        name: &str,
        authorizer: &HttpAuthorizer,
        route: &HttpRoute,
        req: &Request<Bytes>,
        peer: Option<SocketAddr>,
    ) -> Result<(Map<String, Value>, CacheUse), (StatusCode, CacheUse)> {
        let mut identity = Vec::new();
        for name in &authorizer.headers {
            match req
                .headers()
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
            {
                Some(v) if !v.is_empty() => identity.push(v.to_owned()),
                _ => return Err((StatusCode::UNAUTHORIZED, CacheUse::None)),
            }
        }
        // After the headers, as API Gateway lists the identity sources: the cache key and the
        // event's identitySource then hold the route too.
        if authorizer.route_key {
            identity.push(route.key.clone());
        }
        let arn = route_arn(&self.region, route, req);
        let key = (name.to_owned(), identity.join("\u{0}"));
        let cached = if identity.is_empty() {
            None
        } else {
            self.http_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .filter(|c| c.expires > Instant::now())
                .map(|c| c.answer.clone())
        };
        let (answer, used) = match cached {
            Some(answer) => (answer, CacheUse::Hit),
            None => {
                let answer = self
                    .call_http_authorizer(authorizer, route, req, peer, &identity, &arn)
                    .map_err(|status| (status, CacheUse::Miss))?;
                if !authorizer.ttl.is_zero() && !identity.is_empty() {
                    let cached = HttpCached {
                        answer: answer.clone(),
                        expires: Instant::now() + authorizer.ttl,
                    };
                    self.http_cache
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(key, cached);
                }
                (answer, CacheUse::Miss)
            }
        };
        match answer {
            HttpAnswer::Simple {
                authorized: true,
                context,
            } => Ok((context, used)),
            HttpAnswer::Simple { .. } => Err((StatusCode::FORBIDDEN, used)),
            HttpAnswer::Policy {
                principal,
                policy,
                mut context,
            } => match policy::evaluate(&policy, &arn) {
                Decision::Allow => {
                    context.insert("principalId".into(), Value::String(principal));
                    Ok((context, used))
                }
                Decision::ExplicitDeny | Decision::ImplicitDeny => {
                    Err((StatusCode::FORBIDDEN, used))
                }
            },
        }
    }

    /// Invokes the authorizer with the event of its payload version and reads its answer.
    fn call_http_authorizer(
        &self,
        authorizer: &HttpAuthorizer,
        route: &HttpRoute,
        req: &Request<Bytes>,
        peer: Option<SocketAddr>,
        identity: &[String],
        arn: &str,
    ) -> Result<HttpAnswer, StatusCode> {
        let broken = StatusCode::INTERNAL_SERVER_ERROR;
        let function = self.functions.get(&authorizer.function).ok_or(broken)?;
        self.authorizer_calls.fetch_add(1, Ordering::Relaxed);
        let payload = if authorizer.payload_version == "2.0" {
            let request = self.http_event(route, req, BTreeMap::new(), peer);
            let mut event = ApiGatewayV2CustomAuthorizerV2Request::default();
            event.version = Some("2.0".into());
            event.type_ = Some("REQUEST".into());
            event.route_arn = Some(arn.to_owned());
            event.identity_source = Some(identity.to_vec());
            event.route_key = Some(route.key.clone());
            event.raw_path = request.raw_path;
            event.raw_query_string = request.raw_query_string;
            event.cookies = request.cookies.unwrap_or_default();
            event.headers = request.headers;
            event.query_string_parameters = query_map(req)
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            event.request_context = request.request_context;
            serde_json::to_vec(&event).ok()
        } else {
            let mut context = ApiGatewayV2CustomAuthorizerV1RequestTypeRequestContext::default();
            context.account_id = Some(LOCAL_ACCOUNT.into());
            context.apiid = Some(LOCAL_API_ID.into());
            context.stage = Some(STAGE.into());
            context.request_id = Some(self.request_id().0);
            context.http_method = req.method().clone();
            context.path = Some(req.uri().path().to_owned());
            context.resource_path = route.method_and_path().map(|(_, p)| p.to_owned());
            context.resource_id = Some(route.key.clone());
            let mut identity_ctx = ApiGatewayCustomAuthorizerRequestTypeRequestIdentity::default();
            identity_ctx.source_ip = Some(source_ip(peer));
            context.identity = identity_ctx;
            let mut event = ApiGatewayV2CustomAuthorizerV1Request::default();
            event.version = Some("1.0".into());
            event.type_ = Some("REQUEST".into());
            event.method_arn = Some(arn.to_owned());
            event.identity_source = Some(identity.join(","));
            event.authorization_token = Some(identity.join(","));
            event.resource = context.resource_path.clone();
            event.path = Some(req.uri().path().to_owned());
            event.http_method = req.method().clone();
            event.headers = req.headers().clone();
            event.query_string_parameters = query_map(req)
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            event.request_context = context;
            serde_json::to_vec(&event).ok()
        }
        .ok_or(broken)?;
        let body = match function.invoke(&payload, INVOKE_TIMEOUT) {
            Ok(Outcome::Response(body)) => body,
            Ok(Outcome::Error { error_message, .. }) if error_message == "Unauthorized" => {
                return Err(StatusCode::UNAUTHORIZED);
            }
            _ => return Err(broken),
        };
        read_answer(&body, authorizer).ok_or(broken)
    }

    /// The payload 2.0 event for `req` on `route`.
    fn http_event(
        &self,
        route: &HttpRoute,
        req: &Request<Bytes>,
        path_params: BTreeMap<String, String>,
        peer: Option<SocketAddr>,
    ) -> ApiGatewayV2httpRequest {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
        http.method = req.method().clone();
        http.path = Some(req.uri().path().to_owned());
        http.protocol = Some("HTTP/1.1".into());
        http.source_ip = Some(source_ip(peer));
        http.user_agent = user_agent;
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.route_key = Some(route.key.clone());
        context.account_id = Some(LOCAL_ACCOUNT.into());
        context.stage = Some(STAGE.into());
        context.request_id = Some(self.request_id().0);
        context.apiid = Some(LOCAL_API_ID.into());
        context.domain_name = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        context.domain_prefix = Some(LOCAL_API_ID.into());
        context.time_epoch = i64::try_from(now.as_millis()).unwrap_or_default();
        context.http = http;
        // Payload 2.0 joins repeated headers with commas and passes cookies apart.
        let mut headers = HeaderMap::new();
        let mut cookies = Vec::new();
        for name in req.headers().keys() {
            let values: Vec<&str> = req
                .headers()
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if name == header::COOKIE {
                cookies.extend(values.iter().flat_map(|v| v.split("; ")).map(str::to_owned));
            } else if let Ok(v) = HeaderValue::from_str(&values.join(",")) {
                headers.insert(name.clone(), v);
            }
        }
        let (body, is_base64_encoded) = match std::str::from_utf8(req.body()) {
            _ if req.body().is_empty() => (None, false),
            Ok(text) => (Some(text.to_owned()), false),
            Err(_) => (Some(BASE64.encode(req.body())), true),
        };
        let mut event = ApiGatewayV2httpRequest::default();
        event.version = Some("2.0".into());
        event.route_key = Some(route.key.clone());
        event.raw_path = Some(req.uri().path().to_owned());
        event.raw_query_string = Some(req.uri().query().unwrap_or_default().to_owned());
        event.cookies = (!cookies.is_empty()).then_some(cookies);
        event.headers = headers;
        event.query_string_parameters = query_map(req);
        event.path_parameters = path_params.into_iter().collect();
        event.request_context = context;
        event.body = body;
        event.is_base64_encoded = is_base64_encoded;
        event
    }
}

/// The query string as payload 2.0 carries it (repeated names joined with commas).
fn query_map(req: &Request<Bytes>) -> QueryMap {
    let joined: HashMap<String, String> = query_values(req)
        .into_iter()
        .map(|(k, v)| (k, v.join(",")))
        .collect();
    QueryMap::from(joined)
}

fn source_ip(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "127.0.0.1".into(), |p| p.ip().to_string())
}

/// The ARN of the route: `{api}/$default/{METHOD}/{path}`, or `{api}/$default/$default` for
/// the `$default` route.
fn route_arn(region: &str, route: &HttpRoute, req: &Request<Bytes>) -> String {
    let tail = match route.method_and_path() {
        None => "$default".to_owned(),
        Some(_) => format!(
            "{}/{}",
            req.method().as_str(),
            req.uri().path().trim_start_matches('/')
        ),
    };
    format!("arn:aws:execute-api:{region}:{LOCAL_ACCOUNT}:{LOCAL_API_ID}/{STAGE}/{tail}")
}

/// The event's JSON without the fields `ApiGatewayV2httpRequest` keeps only for old authorizer
/// payloads: a real payload 2.0 event has no `httpMethod`, and with it a function would read
/// the event as REST's.
fn payload(event: &ApiGatewayV2httpRequest) -> Option<Vec<u8>> {
    let mut v = serde_json::to_value(event).ok()?;
    if let Some(o) = v.as_object_mut() {
        for legacy in [
            "type",
            "methodArn",
            "httpMethod",
            "identitySource",
            "authorizationToken",
            "resource",
        ] {
            o.remove(legacy);
        }
    }
    serde_json::to_vec(&v).ok()
}

/// Reads an authorizer's answer in the format `authorizer` is configured for; `None` where
/// API Gateway would answer 500.
fn read_answer(body: &[u8], authorizer: &HttpAuthorizer) -> Option<HttpAnswer> {
    let raw: Value = serde_json::from_slice(body).ok()?;
    let context = match raw.get("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(c)) => c.clone(),
        Some(_) => return None,
    };
    if authorizer.simple_responses {
        let authorized = raw.get("isAuthorized")?.as_bool()?;
        return Some(HttpAnswer::Simple {
            authorized,
            context,
        });
    }
    // Payload 1.0 follows REST's rules for context values.
    if authorizer.payload_version == "1.0" && !policy::context_is_valid(raw.get("context")) {
        return None;
    }
    Some(HttpAnswer::Policy {
        principal: raw.get("principalId")?.as_str()?.to_owned(),
        policy: raw.get("policyDocument")?.clone(),
        context,
    })
}

/// Turns a function's payload 2.0 response into HTTP; `None` when it is malformed (a 500).
/// A response without `statusCode` is, as in API Gateway, a 200 with the JSON as its body.
fn http_response(body: &[u8]) -> Option<Response<Bytes>> {
    let raw: Value = serde_json::from_slice(body).ok()?;
    if raw.get("statusCode").is_none() {
        return Some(json_response(StatusCode::OK, raw.to_string()));
    }
    let proxy: ApiGatewayV2httpResponse = serde_json::from_value(raw).ok()?;
    let mut response = function_response(
        proxy.status_code,
        &proxy.headers,
        &proxy.multi_value_headers,
        proxy.body,
        proxy.is_base64_encoded,
    )?;
    for cookie in &proxy.cookies {
        if let Ok(v) = HeaderValue::from_str(cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorizer(version: &str, simple: bool) -> HttpAuthorizer {
        HttpAuthorizer {
            function: "F".into(),
            payload_version: version.into(),
            simple_responses: simple,
            headers: vec!["Authorization".into()],
            route_key: false,
            ttl: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn authorizer_answers_are_read_in_the_configured_format_only() {
        let simple = authorizer("2.0", true);
        let iam = authorizer("2.0", false);
        let v1 = authorizer("1.0", false);
        let yes = br#"{"isAuthorized": true, "context": {"sub": "u", "list": [1]}}"#;
        assert!(matches!(
            read_answer(yes, &simple),
            Some(HttpAnswer::Simple {
                authorized: true,
                ..
            })
        ));
        assert!(
            read_answer(yes, &iam).is_none(),
            "a simple answer to an IAM authorizer is a 500"
        );
        assert!(read_answer(br#"{"isAuthorized": "yes"}"#, &simple).is_none());
        let policy = br#"{"principalId": "u", "policyDocument": {"Version": "2012-10-17", "Statement": []}, "context": {"a": [1]}}"#;
        assert!(
            read_answer(policy, &simple).is_none(),
            "an IAM answer to a simple authorizer is a 500"
        );
        assert!(matches!(
            read_answer(policy, &iam),
            Some(HttpAnswer::Policy { .. })
        ));
        assert!(
            read_answer(policy, &v1).is_none(),
            "payload 1.0 context values must be scalars"
        );
        assert!(read_answer(b"not json", &simple).is_none());
    }

    #[test]
    fn route_arns_name_the_request_or_the_default_route() {
        let req = Request::builder()
            .method("GET")
            .uri("/a/b?x=1")
            .body(Bytes::new())
            .unwrap();
        let route = |key: &str| HttpRoute {
            key: key.into(),
            function: "F".into(),
            authorizer: None,
        };
        assert_eq!(
            route_arn("eu-west-1", &route("ANY /{proxy+}"), &req),
            "arn:aws:execute-api:eu-west-1:123456789012:local/$default/GET/a/b"
        );
        assert_eq!(
            route_arn("eu-west-1", &route("$default"), &req),
            "arn:aws:execute-api:eu-west-1:123456789012:local/$default/$default"
        );
    }

    #[test]
    fn a_response_without_a_status_code_is_a_200_with_the_json() {
        let r = http_response(br#"{"hello": "world"}"#).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.body().as_ref(), br#"{"hello":"world"}"#);
        let r =
            http_response(br#"{"statusCode": 418, "body": "tea", "cookies": ["a=b"]}"#).unwrap();
        assert_eq!(
            (r.status().as_u16(), r.body().as_ref()),
            (418, b"tea".as_ref())
        );
        assert_eq!(r.headers()[header::SET_COOKIE], "a=b");
        assert!(http_response(br#"{"statusCode": "x"}"#).is_none());
    }
}
