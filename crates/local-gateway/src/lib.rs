//! A local API Gateway for the stack in `template.yaml`, without Docker or an AWS account.
//!
//! Routes and TOKEN authorizers come from the template. Each function runs as its real built
//! binary behind a local Lambda Runtime API ([`local_runtime`]). In front of protected routes
//! the gateway behaves like API Gateway: the identity header and `ValidationExpression` are
//! checked before the authorizer is called, the authorizer's policy is cached per token for
//! the configured TTL and evaluated against each route's ARN (explicit Deny wins; no match is
//! a 403), non-scalar context values are a 500, and `principalId` and the context reach the
//! backend in `requestContext.authorizer`.

pub mod policy;
pub mod template;

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use local_runtime::http::{self, Request};
use local_runtime::{Function, FunctionSpec, Outcome, RuntimeError};
use serde_json::{Map, Value, json};

use crate::policy::Decision;
use crate::template::{Route, Stack, TemplateError};

/// The account id in local method ARNs.
pub const LOCAL_ACCOUNT: &str = "123456789012";
/// The API id in local method ARNs.
pub const LOCAL_API_ID: &str = "local";
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Variables passed from the gateway's environment to every function.
const PASSTHROUGH: [&str; 11] = [
    "JWT_SECRET",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SECRETSMANAGER",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_LAMBDA_LOG_LEVEL",
    "RUST_LOG",
];

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The template cannot be served.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A function did not start.
    #[error("function {name}: {source}")]
    Function {
        /// Its logical id.
        name: String,
        /// What went wrong.
        source: RuntimeError,
    },
    /// A function needs the signing key and `JWT_SECRET` is not set.
    #[error(
        "{0} reads the signing key from Secrets Manager when deployed; locally set JWT_SECRET (make dev writes one into .env)"
    )]
    NoLocalSecret(String),
    /// The `--env-vars` file is unreadable.
    #[error("env vars file: {0}")]
    EnvVars(String),
}

/// How to start the gateway.
#[derive(Debug, Clone)]
pub struct Options {
    /// The SAM template.
    pub template: PathBuf,
    /// Where the built binaries are (`target/debug`).
    pub bin_dir: PathBuf,
    /// Parameter overrides.
    pub parameters: HashMap<String, String>,
    /// Extra environment per function logical id (SAM's `--env-vars` format; the key
    /// `Parameters` applies to every function).
    pub env_vars: HashMap<String, BTreeMap<String, String>>,
    /// Extra environment for every function (after the passthrough, before `env_vars`).
    pub env: Vec<(String, String)>,
    /// Copy the functions' logs to standard error.
    pub echo_logs: bool,
}

impl Options {
    /// Options for `template` with binaries in `bin_dir` and nothing else.
    pub fn new(template: impl Into<PathBuf>, bin_dir: impl Into<PathBuf>) -> Self {
        Self {
            template: template.into(),
            bin_dir: bin_dir.into(),
            parameters: HashMap::new(),
            env_vars: HashMap::new(),
            env: Vec::new(),
            echo_logs: false,
        }
    }

    /// Reads SAM's `--env-vars` JSON: `{"FunctionLogicalId": {"VAR": "value"}, "Parameters": {...}}`.
    pub fn read_env_vars(
        text: &str,
    ) -> Result<HashMap<String, BTreeMap<String, String>>, GatewayError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| GatewayError::EnvVars(e.to_string()))?;
        let obj = v
            .as_object()
            .ok_or_else(|| GatewayError::EnvVars("not a JSON object".into()))?;
        obj.iter()
            .map(|(function, vars)| {
                let vars = vars
                    .as_object()
                    .ok_or_else(|| GatewayError::EnvVars(format!("{function}: not an object")))?
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect();
                Ok((function.clone(), vars))
            })
            .collect()
    }
}

struct Cached {
    principal: String,
    policy: Value,
    context: Map<String, Value>,
    expires: Instant,
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }
}

/// Whether the authorizer cache was used for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// The route has no authorizer, or the request never reached it.
    None,
    /// The policy came from the cache.
    Hit,
    /// The authorizer was called.
    Miss,
}

/// The running gateway: the stack and its function processes.
pub struct Gateway {
    stack: Stack,
    functions: HashMap<String, Function>,
    cache: Mutex<HashMap<(String, String), Cached>>,
    authorizer_calls: AtomicU64,
    region: String,
    next_id: AtomicU64,
}

impl Gateway {
    /// Reads the template and starts every function.
    pub fn start(options: &Options) -> Result<Self, GatewayError> {
        let stack = Stack::load(&options.template, &options.parameters)?;
        let mut functions = HashMap::new();
        for (id, def) in &stack.functions {
            let mut spec = FunctionSpec::new(def.binary.clone(), options.bin_dir.join(&def.binary));
            spec.echo_logs = options.echo_logs;
            for (k, v) in &def.env {
                spec = spec.env(k, v);
            }
            for key in PASSTHROUGH {
                if let Ok(v) = std::env::var(key) {
                    spec = spec.env(key, v);
                }
            }
            for (k, v) in &options.env {
                spec = spec.env(k, v);
            }
            for scope in ["Parameters", id.as_str()] {
                for (k, v) in options.env_vars.get(scope).into_iter().flatten() {
                    spec = spec.env(k, v);
                }
            }
            if !def.secret_vars.is_empty() && !spec.env.iter().any(|(k, _)| k == "JWT_SECRET") {
                return Err(GatewayError::NoLocalSecret(id.clone()));
            }
            let f = Function::start(spec).map_err(|source| GatewayError::Function {
                name: id.clone(),
                source,
            })?;
            functions.insert(id.clone(), f);
        }
        Ok(Self {
            stack,
            functions,
            cache: Mutex::new(HashMap::new()),
            authorizer_calls: AtomicU64::new(0),
            region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
            next_id: AtomicU64::new(1),
        })
    }

    /// The stack being served.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// How many times an authorizer function has been invoked.
    pub fn authorizer_calls(&self) -> u64 {
        self.authorizer_calls.load(Ordering::Relaxed)
    }

    /// Everything function `logical_id` has printed.
    pub fn function_logs(&self, logical_id: &str) -> String {
        self.functions
            .get(logical_id)
            .map(Function::logs)
            .unwrap_or_default()
    }

    /// Serves connections on `listener` until the process ends, logging one line per request.
    pub fn serve(&self, listener: TcpListener) {
        std::thread::scope(|scope| {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                scope.spawn(move || self.connection(stream));
            }
        });
    }

    fn connection(&self, stream: TcpStream) {
        let peer = stream.peer_addr().ok();
        let Ok(mut writer) = stream.try_clone() else {
            return;
        };
        let mut reader = std::io::BufReader::new(stream);
        loop {
            let req = match http::read_request(&mut reader) {
                Ok(Some(req)) => req,
                Ok(None) => return,
                Err(_) => {
                    let r = Response::json(413, &json!({"message": "Request Too Long"}));
                    let _ = http::write_response(&mut writer, r.status, "", &r.headers, &r.body);
                    return;
                }
            };
            let started = Instant::now();
            let (response, cache) = self.handle(&req, peer);
            let cache = match cache {
                CacheUse::None => "-",
                CacheUse::Hit => "hit",
                CacheUse::Miss => "miss",
            };
            eprintln!(
                "{} {} {} {}ms authorizer-cache={}",
                req.method,
                req.path(),
                response.status,
                started.elapsed().as_millis(),
                cache
            );
            if http::write_response(
                &mut writer,
                response.status,
                reason(response.status),
                &response.headers,
                &response.body,
            )
            .is_err()
            {
                return;
            }
        }
    }

    /// Handles one request.
    pub fn handle(&self, req: &Request, peer: Option<SocketAddr>) -> (Response, CacheUse) {
        let path = req.path();
        let Some((route, path_params)) = self.stack.route(&req.method, path) else {
            return (
                self.gateway_response(
                    "MISSING_AUTHENTICATION_TOKEN",
                    403,
                    "Missing Authentication Token",
                    "message",
                ),
                CacheUse::None,
            );
        };
        let mut cache = CacheUse::None;
        let authorizer = match &route.authorizer {
            None => None,
            Some(name) => match self.authorize(name, req) {
                Ok((principal, context, used)) => {
                    cache = used;
                    Some((principal, context))
                }
                Err((response, used)) => return (response, used),
            },
        };
        let event = self.proxy_event(route, req, &path_params, authorizer, peer);
        let Some(function) = self.functions.get(&route.function) else {
            return (
                Response::json(500, &json!({"message": "Internal server error"})),
                cache,
            );
        };
        let response = match function.invoke_json(&event, INVOKE_TIMEOUT) {
            Ok(Outcome::Response(body)) => proxy_response(&body),
            Ok(Outcome::Error { .. }) | Err(_) => None,
        };
        (
            response.unwrap_or_else(|| {
                Response::json(502, &json!({"message": "Internal server error"}))
            }),
            cache,
        )
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

    #[allow(clippy::type_complexity)]
    fn authorize(
        &self,
        name: &str,
        req: &Request,
    ) -> Result<(String, Map<String, Value>, CacheUse), (Response, CacheUse)> {
        let unauthorized = |used| {
            (
                self.gateway_response("UNAUTHORIZED", 401, "Unauthorized", "message"),
                used,
            )
        };
        let authorizer = &self.stack.authorizers[name];
        let Some(token) = req.header(&authorizer.header).filter(|v| !v.is_empty()) else {
            return Err(unauthorized(CacheUse::None));
        };
        if authorizer
            .validation
            .as_ref()
            .is_some_and(|re| !re.is_match(token))
        {
            return Err(unauthorized(CacheUse::None));
        }
        let arn = self.method_arn(&req.method, req.path());
        let key = (name.to_owned(), token.to_owned());
        let now = Instant::now();
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .get(&key)
                .filter(|c| c.expires > now)
                .map(|c| (c.principal.clone(), c.policy.clone(), c.context.clone()))
        };
        let (principal, policy, context, used) = match cached {
            Some((p, pol, ctx)) => (p, pol, ctx, CacheUse::Hit),
            None => {
                let Some(function) = self.functions.get(&authorizer.function) else {
                    return Err((
                        self.gateway_response("AUTHORIZER_CONFIGURATION_ERROR", 500, "", "message"),
                        CacheUse::Miss,
                    ));
                };
                self.authorizer_calls.fetch_add(1, Ordering::Relaxed);
                let event = json!({"type": "TOKEN", "authorizationToken": token, "methodArn": arn});
                let answer = match function.invoke_json(&event, INVOKE_TIMEOUT) {
                    Ok(Outcome::Error { error_message, .. }) if error_message == "Unauthorized" => {
                        return Err(unauthorized(CacheUse::Miss));
                    }
                    Ok(Outcome::Response(body)) => serde_json::from_slice::<Value>(&body).ok(),
                    _ => None,
                };
                let config_error = || {
                    (
                        self.gateway_response("AUTHORIZER_CONFIGURATION_ERROR", 500, "", "message"),
                        CacheUse::Miss,
                    )
                };
                let Some(answer) = answer else {
                    return Err(config_error());
                };
                let (Some(principal), Some(policy)) = (
                    answer.get("principalId").and_then(Value::as_str),
                    answer.get("policyDocument"),
                ) else {
                    return Err(config_error());
                };
                if !policy::context_is_valid(answer.get("context")) {
                    // API Gateway refuses non-scalar context values with a 500.
                    return Err(config_error());
                }
                let context = answer
                    .get("context")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                if !authorizer.ttl.is_zero() {
                    self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(
                        key,
                        Cached {
                            principal: principal.to_owned(),
                            policy: policy.clone(),
                            context: context.clone(),
                            expires: now + authorizer.ttl,
                        },
                    );
                }
                (
                    principal.to_owned(),
                    policy.clone(),
                    context,
                    CacheUse::Miss,
                )
            }
        };
        match policy::evaluate(&policy, &arn) {
            Decision::Allow => Ok((principal, context, used)),
            Decision::ExplicitDeny => Err((
                self.gateway_response(
                    "ACCESS_DENIED",
                    403,
                    "User is not authorized to access this resource with an explicit deny",
                    "Message",
                ),
                used,
            )),
            Decision::ImplicitDeny => Err((
                self.gateway_response(
                    "ACCESS_DENIED",
                    403,
                    "User is not authorized to access this resource",
                    "Message",
                ),
                used,
            )),
        }
    }

    /// API Gateway's response of `kind`, customized by the template's `GatewayResponses`.
    fn gateway_response(&self, kind: &str, status: u16, message: &str, key: &str) -> Response {
        let message_string = if message.is_empty() {
            Value::Null
        } else {
            Value::String(message.to_owned())
        };
        let custom = self.stack.gateway_responses.get(kind);
        let body = match custom.and_then(|c| c.template.as_ref()) {
            Some(t) => t
                .replace("$context.error.messageString", &message_string.to_string())
                .replace("$context.error.message", message),
            None => json!({ key: message_string }).to_string(),
        };
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        headers.extend(custom.map(|c| c.headers.clone()).unwrap_or_default());
        Response {
            status: custom.and_then(|c| c.status).unwrap_or(status),
            headers,
            body: body.into_bytes(),
        }
    }

    fn proxy_event(
        &self,
        route: &Route,
        req: &Request,
        path_params: &BTreeMap<String, String>,
        authorizer: Option<(String, Map<String, Value>)>,
        peer: Option<SocketAddr>,
    ) -> Value {
        let mut headers = Map::new();
        let mut multi_headers: Map<String, Value> = Map::new();
        for (k, v) in &req.headers {
            headers.insert(k.clone(), Value::String(v.clone()));
            match multi_headers.get_mut(k) {
                Some(Value::Array(a)) => a.push(Value::String(v.clone())),
                _ => {
                    multi_headers.insert(k.clone(), json!([v]));
                }
            }
        }
        let mut query = Map::new();
        let mut multi_query: Map<String, Value> = Map::new();
        for (k, v) in form_urlencoded::parse(req.query().as_bytes()) {
            query.insert(k.to_string(), Value::String(v.to_string()));
            match multi_query.get_mut(k.as_ref()) {
                Some(Value::Array(a)) => a.push(Value::String(v.to_string())),
                _ => {
                    multi_query.insert(k.to_string(), json!([v]));
                }
            }
        }
        let (body, base64) = match std::str::from_utf8(&req.body) {
            _ if req.body.is_empty() => (Value::Null, false),
            Ok(text) => (Value::String(text.to_owned()), false),
            Err(_) => (Value::String(BASE64.encode(&req.body)), true),
        };
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let request_id = format!(
            "local-{:016x}-{:08}",
            now_ms,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let mut context = json!({
            "accountId": LOCAL_ACCOUNT,
            "apiId": LOCAL_API_ID,
            "stage": self.stack.stage,
            "requestId": request_id,
            "resourcePath": route.path,
            "httpMethod": req.method,
            "path": format!("/{}{}", self.stack.stage, req.path()),
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": now_ms as u64,
            "identity": {"sourceIp": peer.map(|p| p.ip().to_string()).unwrap_or_else(|| "127.0.0.1".into()),
                         "userAgent": req.header("user-agent")},
        });
        if let Some((principal, ctx)) = authorizer {
            let mut a = ctx;
            a.insert("principalId".into(), Value::String(principal));
            a.insert("integrationLatency".into(), json!(0));
            context["authorizer"] = Value::Object(a);
        }
        let or_null = |m: Map<String, Value>| {
            if m.is_empty() {
                Value::Null
            } else {
                Value::Object(m)
            }
        };
        json!({
            "resource": route.path,
            "path": req.path(),
            "httpMethod": req.method,
            "headers": or_null(headers),
            "multiValueHeaders": or_null(multi_headers),
            "queryStringParameters": or_null(query),
            "multiValueQueryStringParameters": or_null(multi_query),
            "pathParameters": if path_params.is_empty() { Value::Null } else { json!(path_params) },
            "stageVariables": null,
            "requestContext": context,
            "body": body,
            "isBase64Encoded": base64,
        })
    }
}

/// Turns a function's proxy response into HTTP; `None` when it is malformed (a 502).
fn proxy_response(body: &[u8]) -> Option<Response> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let status = u16::try_from(v.get("statusCode")?.as_u64()?).ok()?;
    let mut headers = Vec::new();
    for (k, val) in v
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        headers.push((
            k.clone(),
            val.as_str().map_or_else(|| val.to_string(), str::to_owned),
        ));
    }
    for (k, vals) in v
        .get("multiValueHeaders")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(k)) {
            continue;
        }
        for val in vals.as_array().into_iter().flatten() {
            headers.push((
                k.clone(),
                val.as_str().map_or_else(|| val.to_string(), str::to_owned),
            ));
        }
    }
    let text = v.get("body").and_then(Value::as_str).unwrap_or_default();
    let body = if v
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        BASE64.decode(text).ok()?
    } else {
        text.as_bytes().to_vec()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}
