//! The REST API as API Gateway runs it: routes, the TOKEN authorizer (identity header,
//! `ValidationExpression`, policy cache, policy evaluated per route ARN), gateway responses from
//! the template, and v1 proxy events to the functions.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerResponse, ApiGatewayProxyRequest,
    ApiGatewayProxyRequestContext, ApiGatewayProxyResponse,
};
use aws_lambda_events::query_map::QueryMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use local_runtime::Outcome;
use serde_json::{Map, Value, json};

use crate::policy::{self, Decision};
use crate::template::Route;
use crate::{
    CacheUse, Gateway, INVOKE_TIMEOUT, LOCAL_ACCOUNT, LOCAL_API_ID, function_response,
    json_response, query_values,
};

/// A policy the authorizer returned, as the cache keeps it.
#[derive(Clone)]
pub(crate) struct Answer {
    principal: String,
    /// Kept as sent: the typed statement defaults a missing `Effect` to Allow, which IAM
    /// would refuse, so the policy is judged on what the function actually wrote.
    policy: Value,
    context: Map<String, Value>,
}

pub(crate) struct Cached {
    answer: Answer,
    expires: Instant,
}

impl Gateway {
    /// Handles one request on the REST API.
    pub(crate) fn handle_rest(
        &self,
        req: &Request<Bytes>,
        peer: Option<SocketAddr>,
    ) -> (Response<Bytes>, CacheUse) {
        if let Some(blocked) = self.waf_block(req, peer) {
            return (blocked, CacheUse::None);
        }
        if let Some(preflight) = self.rest_preflight(req) {
            return (preflight, CacheUse::None);
        }
        let Some((route, path_params)) = self.stack.route(req.method().as_str(), req.uri().path())
        else {
            let missing = self.gateway_response(
                "MISSING_AUTHENTICATION_TOKEN",
                StatusCode::FORBIDDEN,
                "Missing Authentication Token",
                "message",
            );
            return (missing, CacheUse::None);
        };
        let limit = self.stack.rest_throttles.limit(&route.method, &route.path);
        if !self
            .buckets
            .admit(&format!("{} {}", route.method, route.path), limit)
        {
            let throttled = self.gateway_response(
                "THROTTLED",
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                "message",
            );
            return (throttled, CacheUse::None);
        }
        let (authorizer, cache) = match &route.authorizer {
            None => (None, CacheUse::None),
            Some(name) => match self.authorize(name, req) {
                Ok((answer, used)) => (Some(answer), used),
                Err(refused) => return *refused,
            },
        };
        let Some(function) = self.functions.get(&route.function) else {
            let failed = self.gateway_response(
                "DEFAULT_5XX",
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error",
                "message",
            );
            return (failed, cache);
        };
        let event = self.proxy_event(route, req, path_params, authorizer, peer);
        let response = serde_json::to_vec(&event).ok().and_then(|payload| {
            match function.invoke(&payload, INVOKE_TIMEOUT) {
                Ok(Outcome::Response(body)) => proxy_response(&body),
                Ok(Outcome::Error { .. }) | Err(_) => None,
            }
        });
        let failed = || {
            self.gateway_response(
                "DEFAULT_5XX",
                StatusCode::BAD_GATEWAY,
                "Internal server error",
                "message",
            )
        };
        (response.unwrap_or_else(failed), cache)
    }

    /// The answer of the web ACL's rule that blocks `req` from `peer`, if one does (WAF sees
    /// every request to the stage first).
    fn waf_block(&self, req: &Request<Bytes>, peer: Option<SocketAddr>) -> Option<Response<Bytes>> {
        let source = peer?.ip();
        let rule = self
            .sources
            .check(&self.stack.rest_waf, req.uri().path(), source)?;
        eprintln!("waf: {} blocked {source} ({})", rule.name, req.uri().path());
        let mut response = Response::new(Bytes::from(rule.body.clone()));
        *response.status_mut() = StatusCode::from_u16(rule.status).unwrap_or(StatusCode::FORBIDDEN);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        Some(response)
    }

    /// The answer of SAM's `OPTIONS` mock method to a request on a path of the API that has no
    /// `OPTIONS` route of its own, when the API has `Cors`: a 200 with the template's static
    /// headers, whatever the request. The authorizer is never called. `None`: not a preflight.
    fn rest_preflight(&self, req: &Request<Bytes>) -> Option<Response<Bytes>> {
        let cors = self.stack.rest_cors.as_ref()?;
        let path = req.uri().path();
        if req.method() != Method::OPTIONS || self.stack.route("OPTIONS", path).is_some() {
            return None;
        }
        let mut methods: Vec<&str> = self
            .stack
            .routes
            .iter()
            .filter(|r| r.matches(path))
            .map(|r| r.method.as_str())
            .collect();
        if methods.is_empty() {
            return None;
        }
        let allow_methods = match &cors.allow_methods {
            Some(m) => m.clone(),
            None if methods.contains(&"ANY") => "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT".into(),
            None => {
                methods.push("OPTIONS");
                methods.sort_unstable();
                methods.dedup();
                methods.join(",")
            }
        };
        let mut response = json_response(StatusCode::OK, "{}".into());
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        match (&cors.allow_origin, origin) {
            (_, None) => {}
            (None, Some(origin)) => {
                eprintln!(
                    "cors: preflight from {origin}: cross-origin access is off (AllowedOrigins is empty)"
                );
            }
            (Some(allowed), Some(origin)) if allowed != "*" && allowed != origin => {
                eprintln!(
                    "cors: preflight from {origin}: not an allowed origin (the REST API's own answers name {allowed})"
                );
            }
            _ => {}
        }
        let headers = [
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                cors.allow_origin.clone(),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                cors.allow_headers.clone(),
            ),
            (header::ACCESS_CONTROL_ALLOW_METHODS, Some(allow_methods)),
            (header::ACCESS_CONTROL_MAX_AGE, cors.max_age.clone()),
        ];
        for (name, value) in headers {
            if let Some(value) = value.and_then(|v| HeaderValue::try_from(v).ok()) {
                response.headers_mut().insert(name, value);
            }
        }
        Some(response)
    }

    fn method_arn(&self, method: &str, path: &str) -> String {
        format!(
            "arn:aws:execute-api:{}:{LOCAL_ACCOUNT}:{LOCAL_API_ID}/{}/{}/{}",
            self.region,
            self.stack.stage,
            method,
            path.trim_start_matches('/')
        )
    }

    /// Runs authorizer `name` for `req` as API Gateway does: identity checks, the cache, the
    /// call, and the policy evaluated against the route's ARN.
    fn authorize(
        &self,
        name: &str,
        req: &Request<Bytes>,
    ) -> Result<(Answer, CacheUse), Box<Refused>> {
        let unauthorized = |used| {
            let response = self.gateway_response(
                "UNAUTHORIZED",
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "message",
            );
            (response, used)
        };
        let authorizer = &self.stack.authorizers[name];
        let token = req
            .headers()
            .get(authorizer.header.as_str())
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty());
        let Some(token) = token else {
            return Err(Box::new(unauthorized(CacheUse::None)));
        };
        if authorizer
            .validation
            .as_ref()
            .is_some_and(|re| !re.is_match(token))
        {
            return Err(Box::new(unauthorized(CacheUse::None)));
        }
        let arn = self.method_arn(req.method().as_str(), req.uri().path());
        let key = (name.to_owned(), token.to_owned());
        let (answer, used) = match self.cached(&key) {
            Some(answer) => (answer, CacheUse::Hit),
            None => match self.call_authorizer(&authorizer.function, token, &arn) {
                Ok(answer) => {
                    self.remember(key, &answer, authorizer.ttl);
                    (answer, CacheUse::Miss)
                }
                Err(AuthorizerFailure::Unauthorized) => {
                    return Err(Box::new(unauthorized(CacheUse::Miss)));
                }
                Err(AuthorizerFailure::Broken) => {
                    let response = self.gateway_response(
                        "AUTHORIZER_CONFIGURATION_ERROR",
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "",
                        "message",
                    );
                    return Err(Box::new((response, CacheUse::Miss)));
                }
            },
        };
        let denied = |message| {
            let response =
                self.gateway_response("ACCESS_DENIED", StatusCode::FORBIDDEN, message, "Message");
            (response, used)
        };
        match policy::evaluate(&answer.policy, &arn) {
            Decision::Allow => Ok((answer, used)),
            Decision::ExplicitDeny => Err(Box::new(denied(
                "User is not authorized to access this resource with an explicit deny",
            ))),
            Decision::ImplicitDeny => Err(Box::new(denied(
                "User is not authorized to access this resource",
            ))),
        }
    }

    fn cached(&self, key: &(String, String)) -> Option<Answer> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(key)
            .filter(|c| c.expires > Instant::now())
            .map(|c| c.answer.clone())
    }

    fn remember(&self, key: (String, String), answer: &Answer, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let cached = Cached {
            answer: answer.clone(),
            expires: Instant::now() + ttl,
        };
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, cached);
    }

    /// Invokes the authorizer function with a TOKEN event and reads its answer.
    fn call_authorizer(
        &self,
        function: &str,
        token: &str,
        arn: &str,
    ) -> Result<Answer, AuthorizerFailure> {
        let function = self
            .functions
            .get(function)
            .ok_or(AuthorizerFailure::Broken)?;
        self.authorizer_calls.fetch_add(1, Ordering::Relaxed);
        let mut event = ApiGatewayCustomAuthorizerRequest::default();
        event.type_ = Some("TOKEN".to_owned());
        event.authorization_token = Some(token.to_owned());
        event.method_arn = Some(arn.to_owned());
        let payload = serde_json::to_vec(&event).map_err(|_| AuthorizerFailure::Broken)?;
        let body = match function.invoke(&payload, INVOKE_TIMEOUT) {
            Ok(Outcome::Response(body)) => body,
            Ok(Outcome::Error { error_message, .. }) if error_message == "Unauthorized" => {
                return Err(AuthorizerFailure::Unauthorized);
            }
            _ => return Err(AuthorizerFailure::Broken),
        };
        read_answer(&body).ok_or(AuthorizerFailure::Broken)
    }

    /// API Gateway's response of `kind`, customized by the template's `GatewayResponses`.
    pub(crate) fn gateway_response(
        &self,
        kind: &str,
        status: StatusCode,
        message: &str,
        key: &str,
    ) -> Response<Bytes> {
        let message_string = if message.is_empty() {
            Value::Null
        } else {
            Value::String(message.to_owned())
        };
        // A type the template does not customize takes DEFAULT_4XX's or DEFAULT_5XX's settings.
        let default = if status.is_server_error() {
            "DEFAULT_5XX"
        } else {
            "DEFAULT_4XX"
        };
        let custom = self
            .stack
            .gateway_responses
            .get(kind)
            .or_else(|| self.stack.gateway_responses.get(default));
        let body = match custom.and_then(|c| c.template.as_ref()) {
            Some(t) => t
                .replace("$context.error.messageString", &message_string.to_string())
                .replace("$context.error.message", message),
            None => json!({ key: message_string }).to_string(),
        };
        let status = custom
            .and_then(|c| c.status)
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(status);
        let mut response = json_response(status, body);
        for (name, value) in custom.map(|c| c.headers.as_slice()).unwrap_or_default() {
            if let (Ok(name), Ok(value)) = (
                header::HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }

    /// The REST API proxy event (payload 1.0) for `req` on `route`.
    fn proxy_event(
        &self,
        route: &Route,
        req: &Request<Bytes>,
        path_params: BTreeMap<String, String>,
        authorizer: Option<Answer>,
        peer: Option<SocketAddr>,
    ) -> ApiGatewayProxyRequest {
        let (request_id, now_ms) = self.request_id();
        let path = req.uri().path();
        let mut context = ApiGatewayProxyRequestContext::default();
        context.account_id = Some(LOCAL_ACCOUNT.to_owned());
        context.apiid = Some(LOCAL_API_ID.to_owned());
        context.stage = Some(self.stack.stage.clone());
        context.request_id = Some(request_id);
        context.resource_path = Some(route.path.clone());
        context.http_method = req.method().clone();
        context.path = Some(format!("/{}{}", self.stack.stage, path));
        context.protocol = Some("HTTP/1.1".to_owned());
        context.request_time_epoch = i64::try_from(now_ms).unwrap_or_default();
        context.identity.source_ip =
            Some(peer.map_or_else(|| "127.0.0.1".into(), |p| p.ip().to_string()));
        context.identity.user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(answer) = authorizer {
            let fields = &mut context.authorizer.fields;
            fields.extend(answer.context);
            fields.insert("principalId".into(), Value::String(answer.principal));
            fields.insert("integrationLatency".into(), json!(0));
        }
        let query = QueryMap::from(query_values(req));
        let (body, is_base64_encoded) = match std::str::from_utf8(req.body()) {
            _ if req.body().is_empty() => (None, false),
            Ok(text) => (Some(text.to_owned()), false),
            Err(_) => (Some(BASE64.encode(req.body())), true),
        };
        let mut event = ApiGatewayProxyRequest::default();
        event.resource = Some(route.path.clone());
        event.path = Some(path.to_owned());
        event.http_method = req.method().clone();
        event.headers = req.headers().clone();
        event.multi_value_headers = req.headers().clone();
        event.query_string_parameters = query.clone();
        event.multi_value_query_string_parameters = query;
        event.path_parameters = path_params.into_iter().collect();
        event.request_context = context;
        event.body = body;
        event.is_base64_encoded = is_base64_encoded;
        event
    }
}

/// The gateway's own answer to a request the authorizer step refused, and how the cache was used.
type Refused = (Response<Bytes>, CacheUse);

/// Why an authorizer gave no policy.
enum AuthorizerFailure {
    /// It answered `Unauthorized`: a 401.
    Unauthorized,
    /// It failed, timed out or answered something API Gateway cannot use: a 500.
    Broken,
}

/// Reads an authorizer's answer; `None` where API Gateway would fail with a 500 (no principal,
/// no policy, or a context value that is not a string, number or boolean).
fn read_answer(body: &[u8]) -> Option<Answer> {
    let raw: Value = serde_json::from_slice(body).ok()?;
    if !policy::context_is_valid(raw.get("context")) {
        return None;
    }
    let policy = raw.get("policyDocument")?.clone();
    let typed: ApiGatewayCustomAuthorizerResponse<Option<Map<String, Value>>> =
        serde_json::from_value(raw).ok()?;
    Some(Answer {
        principal: typed.principal_id?,
        policy,
        context: typed.context.unwrap_or_default(),
    })
}

/// Turns a function's proxy response into HTTP; `None` when it is malformed (a 502).
fn proxy_response(body: &[u8]) -> Option<Response<Bytes>> {
    let proxy: ApiGatewayProxyResponse = serde_json::from_slice(body).ok()?;
    function_response(
        proxy.status_code,
        &proxy.headers,
        &proxy.multi_value_headers,
        proxy.body,
        proxy.is_base64_encoded,
    )
}
