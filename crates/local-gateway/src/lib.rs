//! A local API Gateway for the stack in `template.yaml`, without Docker or an AWS account.
//!
//! It serves either of the template's APIs ([`Flavour`]). Each function runs as its real built
//! binary behind a local Lambda Runtime API ([`local_runtime`]).
//!
//! REST API: routes and TOKEN authorizers come from the template. In front of protected routes
//! the gateway behaves like API Gateway: the identity header and `ValidationExpression` are
//! checked before the authorizer is called, the authorizer's policy is cached per token for
//! the configured TTL and evaluated against each route's ARN (explicit Deny wins; no match is
//! a 403), non-scalar context values are a 500, and `principalId` and the context reach the
//! backend in `requestContext.authorizer`. With `Cors`, `OPTIONS` on a path of the API is SAM's
//! mock method: a 200 with the template's static headers, without the authorizer; gateway
//! responses take `DEFAULT_4XX`/`DEFAULT_5XX`'s headers unless customized themselves.
//!
//! REST API in `rest.rs`; HTTP API, with its own semantics, in [`http_api`].

pub mod http_api;
pub mod jwt;
pub mod metrics;
pub mod policy;
mod rest;
pub mod template;
pub mod throttle;
pub mod waf;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::encodings::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use local_runtime::{FunctionSpec, Pool, RuntimeError};
use serde_json::{Value, json};

use crate::template::{Stack, TemplateError};

/// The account id in local method ARNs.
pub const LOCAL_ACCOUNT: &str = "123456789012";
/// The API id in local method ARNs.
pub const LOCAL_API_ID: &str = "local";
pub(crate) const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
/// API Gateway's payload limit: larger bodies get a 413.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// API Gateway's limit on the request line and headers together: larger heads get a 431.
pub const MAX_HEAD_BYTES: usize = 10 * 1024;
/// How long a client may take to send the request line and headers, by default.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send the body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Variables `local-gateway` passes from its own environment to every function, as Lambda
/// sets region and credentials (its `main` reads them into [`Options::env`]). The misspelled
/// Secrets Manager variable is passed on too, so the functions warn about it.
pub const PASSTHROUGH: [&str; 12] = [
    "DYNAMODB_TIMEOUT_MS",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
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
    /// A function needs a key that is in Secrets Manager when deployed, and its local
    /// stand-in is not set.
    #[error(
        "{function} reads {key} from Secrets Manager when deployed; locally set {key} (make dev writes one into .env)"
    )]
    NoLocalSecret {
        /// The function's logical id.
        function: String,
        /// The variable to set.
        key: &'static str,
    },
    /// The `--env-vars` file is unreadable.
    #[error("env vars file: {0}")]
    EnvVars(String),
}

/// Which of the template's APIs to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavour {
    /// The REST API (`AWS::Serverless::Api`).
    #[default]
    Rest,
    /// The HTTP API (`AWS::Serverless::HttpApi`).
    Http,
}

/// Who guards the HTTP API's protected routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthorizerMode {
    /// The template's Lambda authorizer (check-token).
    #[default]
    Lambda,
    /// API Gateway's own JWT authorizer, as the nested JWT-authorized API declares it.
    Jwt,
}

impl std::str::FromStr for AuthorizerMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "lambda" => Ok(Self::Lambda),
            "jwt" => Ok(Self::Jwt),
            other => Err(format!("{other}: use lambda or jwt")),
        }
    }
}

impl std::str::FromStr for Flavour {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rest" => Ok(Self::Rest),
            "http" => Ok(Self::Http),
            other => Err(format!("{other:?}: the API is rest or http")),
        }
    }
}

/// How to start the gateway.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which API of the template to serve.
    pub api: Flavour,
    /// Who guards the HTTP API's protected routes.
    pub authorizer: AuthorizerMode,
    /// The SAM template.
    pub template: PathBuf,
    /// Where the built binaries are (`target/debug`).
    pub bin_dir: PathBuf,
    /// Parameter overrides.
    pub parameters: HashMap<String, String>,
    /// Extra environment per function logical id (SAM's `--env-vars` format; the key
    /// `Parameters` applies to every function).
    pub env_vars: HashMap<String, BTreeMap<String, String>>,
    /// Environment for every function after its template's (region, credentials, endpoints,
    /// local keys), before `env_vars`. Local keys reach only the functions whose template
    /// names their secret.
    pub env: Vec<(String, String)>,
    /// The region in ARNs and events.
    pub region: String,
    /// Copy the functions' logs to standard error.
    pub echo_logs: bool,
    /// Write a line per request to standard error (method, path, status, time, cache use).
    pub access_log: bool,
    /// Print a summary of the functions' metrics (their EMF lines) this often; `None`, never.
    pub metrics_summary: Option<Duration>,
    /// The most instances of one function running at once, as Lambda scales out.
    pub max_instances: usize,
    /// How long a client may take to send its request line and headers.
    pub header_timeout: Duration,
}

impl Options {
    /// Options for `template` with binaries in `bin_dir` and nothing else.
    pub fn new(template: impl Into<PathBuf>, bin_dir: impl Into<PathBuf>) -> Self {
        Self {
            api: Flavour::Rest,
            authorizer: AuthorizerMode::Lambda,
            template: template.into(),
            bin_dir: bin_dir.into(),
            parameters: HashMap::new(),
            env_vars: HashMap::new(),
            env: Vec::new(),
            region: "us-east-1".to_owned(),
            echo_logs: false,
            access_log: true,
            metrics_summary: None,
            max_instances: local_runtime::pool::DEFAULT_MAX_INSTANCES,
            header_timeout: HEADER_READ_TIMEOUT,
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

impl CacheUse {
    /// The word in the request log.
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "-",
            Self::Hit => "hit",
            Self::Miss => "miss",
        }
    }
}

/// A response with `status` and the JSON text `body`.
pub(crate) fn json_response(status: StatusCode, body: String) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn internal_error(status: StatusCode) -> Response<Bytes> {
    json_response(
        status,
        json!({"message": "Internal server error"}).to_string(),
    )
}

/// A function's HTTP answer (a v1 proxy or payload 2.0 response) as HTTP; `None` when the
/// status is not one. Single-value headers win over multi-value ones of the same name, as in
/// API Gateway.
pub(crate) fn function_response(
    status_code: i64,
    headers: &HeaderMap,
    multi_value_headers: &HeaderMap,
    body: Option<Body>,
    is_base64_encoded: bool,
) -> Option<Response<Bytes>> {
    let status = StatusCode::from_u16(u16::try_from(status_code).ok()?).ok()?;
    let body = match body {
        None | Some(Body::Empty) => Vec::new(),
        Some(Body::Text(text)) if is_base64_encoded => BASE64.decode(text).ok()?,
        Some(Body::Text(text)) => text.into_bytes(),
        Some(other) => other.to_vec(),
    };
    let mut merged = HeaderMap::new();
    for (name, value) in multi_value_headers {
        merged.append(name, value.clone());
    }
    for name in headers.keys() {
        merged.remove(name);
    }
    for (name, value) in headers {
        merged.append(name, value.clone());
    }
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = merged;
    Some(response)
}

/// The request's query string: each name with its values, in order.
pub(crate) fn query_values(req: &Request<Bytes>) -> HashMap<String, Vec<String>> {
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes()) {
        query
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    query
}

/// The running gateway: the stack and its function processes.
pub struct Gateway {
    stack: Stack,
    api: Flavour,
    functions: HashMap<String, Pool>,
    cache: Mutex<HashMap<(String, String), rest::Cached>>,
    http_cache: Mutex<HashMap<(String, String), http_api::HttpCached>>,
    authorizer_calls: AtomicU64,
    header_timeout: Duration,
    access_log: bool,
    region: String,
    next_id: AtomicU64,
    buckets: throttle::Buckets,
    sources: waf::Sources,
    /// API Gateway's JWT authorizer, in the JWT-authorizer mode.
    jwt: Option<jwt::JwtAuthorizer>,
}

impl Gateway {
    /// Reads the template and starts every function.
    pub fn start(options: &Options) -> Result<Self, GatewayError> {
        let stack = Stack::load(&options.template, &options.parameters)?;
        if options.api == Flavour::Http && stack.http_api.is_none() {
            return Err(TemplateError::Unsupported(
                "no AWS::Serverless::HttpApi resource to serve".into(),
            )
            .into());
        }
        let jwt = match options.authorizer {
            AuthorizerMode::Lambda => None,
            AuthorizerMode::Jwt if options.api != Flavour::Http => {
                return Err(TemplateError::Unsupported(
                    "the JWT authorizer guards the HTTP API only: serve --api http".into(),
                )
                .into());
            }
            AuthorizerMode::Jwt => Some(jwt::JwtAuthorizer::new(
                stack.jwt_api.clone().ok_or_else(|| {
                    TemplateError::Unsupported(
                        "no nested template with a JWT authorizer (jwt-api.yaml)".into(),
                    )
                })?,
            )),
        };
        let tally = options.metrics_summary.map(|every| {
            let tally = Arc::new(metrics::Tally::default());
            tally.print_every(every);
            tally
        });
        let mut functions = HashMap::new();
        for (id, def) in &stack.functions {
            let mut spec = function_spec(options, id, def)?;
            spec.observer = tally.as_ref().map(metrics::Tally::observer);
            let f = Pool::start(spec, options.max_instances).map_err(|source| {
                GatewayError::Function {
                    name: id.clone(),
                    source,
                }
            })?;
            functions.insert(id.clone(), f);
        }
        Ok(Self {
            stack,
            api: options.api,
            functions,
            cache: Mutex::new(HashMap::new()),
            http_cache: Mutex::new(HashMap::new()),
            authorizer_calls: AtomicU64::new(0),
            header_timeout: options.header_timeout,
            access_log: options.access_log,
            region: options.region.clone(),
            next_id: AtomicU64::new(1),
            buckets: throttle::Buckets::default(),
            sources: waf::Sources::default(),
            jwt,
        })
    }

    /// The stack being served.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// Which API is served.
    pub fn api(&self) -> Flavour {
        self.api
    }

    /// A new request id, and the time of the request in milliseconds since the epoch.
    pub(crate) fn request_id(&self) -> (String, u128) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let id = format!(
            "local-{now_ms:016x}-{:08}",
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        (id, now_ms)
    }

    /// How many times an authorizer function has been invoked.
    pub fn authorizer_calls(&self) -> u64 {
        self.authorizer_calls.load(Ordering::Relaxed)
    }

    /// How many instances of function `logical_id` are running.
    pub fn instances(&self, logical_id: &str) -> usize {
        self.functions.get(logical_id).map_or(0, Pool::instances)
    }

    /// Everything function `logical_id` has printed.
    pub fn function_logs(&self, logical_id: &str) -> String {
        self.functions
            .get(logical_id)
            .map(Pool::logs)
            .unwrap_or_default()
    }

    /// Serves HTTP/1.1 on `listener` with hyper until the process ends, logging one line per
    /// request. Connections are tasks, not threads; a head over [`MAX_HEAD_BYTES`] is a 431,
    /// a malformed request a 400 (hyper's own answers), a client that does not send its head
    /// within the header timeout is disconnected. Function invocations block, so each runs on
    /// tokio's blocking pool, capped.
    pub fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(64)
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let gateway = self.clone();
                let service =
                    hyper::service::service_fn(move |req| gateway.clone().serve_one(req, peer));
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(self.header_timeout)
                    .max_buf_size(MAX_HEAD_BYTES)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::spawn(connection);
            }
        })
    }

    async fn serve_one(
        self: Arc<Self>,
        req: Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let started = Instant::now();
        let (parts, body) = req.into_parts();
        let (method, path) = (parts.method.clone(), parts.uri.path().to_owned());
        // hyper's buffer bounds the memory a head may take; API Gateway's limit is exact.
        let head_bytes = parts.method.as_str().len()
            + parts.uri.to_string().len()
            + parts
                .headers
                .iter()
                .map(|(k, v)| k.as_str().len() + v.len() + 4)
                .sum::<usize>();
        if head_bytes > MAX_HEAD_BYTES {
            let response = json_response(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                json!({"message": "Request Header Fields Too Large"}).to_string(),
            );
            eprintln!("{method} {path} 431 {head_bytes} bytes of request line and headers");
            return Ok(response.map(Full::new));
        }
        let read = tokio::time::timeout(
            BODY_READ_TIMEOUT,
            Limited::new(body, MAX_BODY_BYTES).collect(),
        );
        let access_log = self.access_log;
        let (response, cache) = match read.await {
            Ok(Ok(body)) => {
                let req = Request::from_parts(parts, body.to_bytes());
                tokio::task::spawn_blocking(move || self.handle(&req, Some(peer)))
                    .await
                    .unwrap_or_else(|_| {
                        (
                            internal_error(StatusCode::INTERNAL_SERVER_ERROR),
                            CacheUse::None,
                        )
                    })
            }
            Ok(Err(e))
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                let req = Request::from_parts(parts, Bytes::new());
                (self.too_large(&req), CacheUse::None)
            }
            // A body that breaks off or is malformed (bad chunking): the client's fault.
            Ok(Err(_)) => (
                json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"message": "Bad Request"}).to_string(),
                ),
                CacheUse::None,
            ),
            Err(_) => (
                json_response(
                    StatusCode::REQUEST_TIMEOUT,
                    json!({"message": "Request Timeout"}).to_string(),
                ),
                CacheUse::None,
            ),
        };
        if access_log {
            eprintln!(
                "{method} {path} {} {}ms authorizer-cache={}",
                response.status().as_u16(),
                started.elapsed().as_millis(),
                cache.as_str()
            );
        }
        Ok(response.map(Full::new))
    }

    /// The gateway's answer to a body over [`MAX_BODY_BYTES`].
    fn too_large(&self, req: &Request<Bytes>) -> Response<Bytes> {
        match self.api {
            Flavour::Rest => self.gateway_response(
                "REQUEST_TOO_LARGE",
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request Too Long",
                "message",
            ),
            Flavour::Http => {
                let mut response = http_api::too_large();
                self.http_cors(req, &mut response);
                response
            }
        }
    }

    /// Handles one request on the API being served.
    pub fn handle(
        &self,
        req: &Request<Bytes>,
        peer: Option<SocketAddr>,
    ) -> (Response<Bytes>, CacheUse) {
        match self.api {
            Flavour::Rest => self.handle_rest(req, peer),
            Flavour::Http => self.handle_http(req, peer),
        }
    }
}

/// The local stand-ins for Secrets Manager secrets: the variable that names the secret when
/// deployed, and the variables that hold the key locally (the first one required).
pub const LOCAL_SECRETS: [(&str, &[&str]); 3] = [
    (
        "JWT_SECRET_ARN",
        &["JWT_SECRET", "JWT_PREVIOUS_SECRET", "JWT_NEXT_SECRET"],
    ),
    ("LOCKOUT_KEY_ARN", &["LOCKOUT_KEY"]),
    ("REFRESH_KEY_ARN", &["REFRESH_KEY"]),
];

/// The environment function `id` runs with: its template's, then the callers' ([`Options::env`]),
/// then `--env-vars`, of which only the variables its template declares are kept, as `sam local`
/// does. A local key reaches only the functions whose template names its secret.
fn function_spec(
    options: &Options,
    id: &str,
    def: &template::FunctionDef,
) -> Result<FunctionSpec, GatewayError> {
    let mut spec = FunctionSpec::new(def.binary.clone(), options.bin_dir.join(&def.binary));
    spec.echo_logs = options.echo_logs;
    let named = |arn: &&(&str, &[&str])| def.secret_vars.iter().any(|v| v == arn.0);
    let keys_for = |k: &str| LOCAL_SECRETS.iter().find(|(_, keys)| keys.contains(&k));
    let callers = options
        .env
        .iter()
        .filter(|(k, _)| keys_for(k).is_none_or(|secret| named(&secret)))
        .cloned();
    let declared = |k: &str| def.env.contains_key(k) || def.secret_vars.iter().any(|v| v == k);
    let env_vars = ["Parameters", id]
        .into_iter()
        .flat_map(|scope| options.env_vars.get(scope).into_iter().flatten())
        .filter(|(k, _)| declared(k))
        .map(|(k, v)| (k.clone(), v.clone()));
    spec.env = def
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain(callers)
        .chain(env_vars)
        .collect();
    for (_, keys) in LOCAL_SECRETS.iter().filter(named) {
        let key = keys[0];
        let last = spec.env.iter().rev().find(|(k, _)| k == key);
        if last.is_none_or(|(_, v)| v.is_empty()) {
            return Err(GatewayError::NoLocalSecret {
                function: id.to_owned(),
                key,
            });
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(secrets: &[&str], declared: &[&str]) -> template::FunctionDef {
        template::FunctionDef {
            binary: "f".into(),
            env: declared
                .iter()
                .map(|k| (k.to_string(), String::new()))
                .collect(),
            secret_vars: secrets.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn options(env: &[(&str, &str)]) -> Options {
        let mut options = Options::new("template.yaml", "bin");
        options.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        options
    }

    fn value<'a>(spec: &'a FunctionSpec, name: &str) -> Option<&'a str> {
        spec.env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn only_functions_that_name_a_secret_get_its_local_key() {
        let options = options(&[("JWT_SECRET", "local-key"), ("LOCKOUT_KEY", "lockout-key")]);
        let signs = function_spec(
            &options,
            "CheckTokenFunction",
            &def(&["JWT_SECRET_ARN"], &[]),
        )
        .unwrap();
        assert_eq!(value(&signs, "JWT_SECRET"), Some("local-key"));
        assert_eq!(value(&signs, "LOCKOUT_KEY"), None);
        let hello = function_spec(&options, "HelloFunction", &def(&[], &[])).unwrap();
        assert_eq!(value(&hello, "JWT_SECRET"), None);
    }

    #[test]
    fn a_named_secret_without_its_local_key_stops_start_up_naming_it() {
        let options = options(&[("JWT_SECRET", "local-key")]);
        let err = function_spec(
            &options,
            "AuthenticateFunction",
            &def(&["JWT_SECRET_ARN", "LOCKOUT_KEY_ARN"], &["LOCKOUT_KEY"]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("set LOCKOUT_KEY"), "{err}");
    }

    #[test]
    fn functions_get_the_callers_endpoint_variables() {
        let options = options(&[
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:2"),
        ]);
        let spec = function_spec(&options, "CheckTokenFunction", &def(&[], &[])).unwrap();
        assert_eq!(
            value(&spec, "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(
            value(&spec, "AWS_ENDPOINT_URL_DYNAMODB"),
            Some("http://127.0.0.1:2")
        );
    }

    #[test]
    fn env_vars_keep_only_what_the_template_declares_as_sam_does() {
        let mut options = options(&[]);
        options.env_vars = Options::read_env_vars(
            r#"{"Parameters": {"DECLARED": "p", "UNDECLARED": "p"},
                "HelloFunction": {"OWN": "o", "OTHER": "o"}}"#,
        )
        .unwrap();
        let spec =
            function_spec(&options, "HelloFunction", &def(&[], &["DECLARED", "OWN"])).unwrap();
        assert_eq!(value(&spec, "DECLARED"), Some("p"));
        assert_eq!(value(&spec, "OWN"), Some("o"));
        assert_eq!(value(&spec, "UNDECLARED"), None);
        assert_eq!(value(&spec, "OTHER"), None);
    }
}
