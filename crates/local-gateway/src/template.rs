//! What the local gateway reads from `template.yaml`: the REST API's routes and TOKEN
//! authorizers, the HTTP API's routes and Lambda authorizers, and each function's binary and
//! environment.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use serde_norway::Value;

/// Why the template cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The template's path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The YAML does not parse.
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    /// Something the gateway needs is missing or of a shape it does not support.
    #[error("template: {0}")]
    Unsupported(String),
    /// A validation expression is not a valid regular expression.
    #[error("authorizer {name}: ValidationExpression does not compile: {source}")]
    Regex {
        /// The authorizer.
        name: String,
        /// The regex error.
        source: regex::Error,
    },
}

/// A TOKEN authorizer.
#[derive(Debug, Clone)]
pub struct Authorizer {
    /// Logical id of its function.
    pub function: String,
    /// The identity header (`Authorization`).
    pub header: String,
    /// Header values that may reach the authorizer; others are a 401 without calling it.
    pub validation: Option<regex::Regex>,
    /// How long a policy is cached per token (0: no cache).
    pub ttl: Duration,
}

/// One route of the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Upper-case HTTP method, or `ANY`.
    pub method: String,
    /// Path template, such as `/users/{id}`.
    pub path: String,
    /// Logical id of the function behind it.
    pub function: String,
    /// The authorizer's name, or `None` for an open route.
    pub authorizer: Option<String>,
}

impl Route {
    /// Whether its path template matches `path`, whatever the method.
    pub fn matches(&self, path: &str) -> bool {
        match_path(&self.path, path).is_some()
    }
}

/// A function.
#[derive(Debug, Clone)]
pub struct FunctionDef {
    /// The workspace binary (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// Environment variables, resolved for local use.
    pub env: BTreeMap<String, String>,
    /// Variables that name a Secrets Manager secret: locally the key comes from `JWT_SECRET`.
    pub secret_vars: Vec<String>,
}

/// A customized gateway response (`GatewayResponses` of the API).
#[derive(Debug, Clone, Default)]
pub struct GatewayResponse {
    /// Status code, when overridden.
    pub status: Option<u16>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The `application/json` body template.
    pub template: Option<String>,
}

/// The REST API's `Cors`, as SAM turns it into an `OPTIONS` mock method on every path: static
/// header values, quotes stripped; a value the template leaves out (`AWS::NoValue`) is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestCors {
    /// `Access-Control-Allow-Origin`: one origin or `*`.
    pub allow_origin: Option<String>,
    /// `Access-Control-Allow-Headers`.
    pub allow_headers: Option<String>,
    /// `Access-Control-Allow-Methods`; `None`: the path's methods and `OPTIONS`, as SAM derives them.
    pub allow_methods: Option<String>,
    /// `Access-Control-Max-Age`, in seconds.
    pub max_age: Option<String>,
}

/// The HTTP API's `CorsConfiguration`: API Gateway answers preflight with it and sets the CORS
/// headers of every answer from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpCors {
    /// Allowed origins, as written (`*` for any).
    pub allow_origins: Vec<String>,
    /// Allowed request headers, lower-case (`*` for any).
    pub allow_headers: Vec<String>,
    /// Allowed methods, upper-case (`*` for any).
    pub allow_methods: Vec<String>,
    /// Response headers a page may read.
    pub expose_headers: Vec<String>,
    /// How long a browser may keep a preflight answer, in seconds.
    pub max_age: Option<u32>,
}

/// An HTTP API's Lambda authorizer (`AWS::Serverless::HttpApi` `Auth.Authorizers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAuthorizer {
    /// Logical id of its function.
    pub function: String,
    /// `AuthorizerPayloadFormatVersion`: `"1.0"` or `"2.0"`.
    pub payload_version: String,
    /// `EnableSimpleResponses` (payload 2.0 only).
    pub simple_responses: bool,
    /// `Identity.Headers`: each must be present, else a 401 without calling the authorizer.
    pub headers: Vec<String>,
    /// `Identity.ReauthorizeEvery`: how long an answer is cached per identity (0: no cache).
    pub ttl: Duration,
}

/// One route of the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRoute {
    /// The route key: `GET /hello`, `ANY /{proxy+}` or `$default`.
    pub key: String,
    /// Logical id of the function behind it.
    pub function: String,
    /// The authorizer's name, or `None` for an open route.
    pub authorizer: Option<String>,
}

impl HttpRoute {
    /// The method and path template of the key; `None` for `$default`.
    pub fn method_and_path(&self) -> Option<(&str, &str)> {
        self.key.split_once(' ')
    }
}

/// The HTTP API (`AWS::Serverless::HttpApi`): its routes and authorizers.
#[derive(Debug, Clone, Default)]
pub struct HttpApi {
    /// Routes, in template order.
    pub routes: Vec<HttpRoute>,
    /// Authorizers by name.
    pub authorizers: HashMap<String, HttpAuthorizer>,
    /// Its CORS configuration, if any.
    pub cors: Option<HttpCors>,
}

impl HttpApi {
    /// The route API Gateway picks for `method` and `path`, with its path parameters: the most
    /// specific route key wins (literal segments over `{param}`, over a greedy `{proxy+}`; a
    /// method over `ANY`), and `$default` catches the rest.
    pub fn route(
        &self,
        method: &str,
        path: &str,
    ) -> Option<(&HttpRoute, BTreeMap<String, String>)> {
        // Rank: literal segments, then no greedy `{proxy+}`, then a method over `ANY`.
        let ranked = self.routes.iter().filter_map(|route| {
            let (m, template) = route.method_and_path()?;
            if m != "ANY" && !m.eq_ignore_ascii_case(method) {
                return None;
            }
            let params = match_path(template, path)?;
            let literals = template
                .split('/')
                .filter(|s| !s.is_empty() && !s.starts_with('{'))
                .count();
            let rank = (literals, !template.contains("+}"), m != "ANY");
            Some((rank, route, params))
        });
        let best = ranked.max_by_key(|(rank, _, _)| *rank);
        best.map(|(_, route, params)| (route, params)).or_else(|| {
            self.routes
                .iter()
                .find(|r| r.key == "$default")
                .map(|r| (r, BTreeMap::new()))
        })
    }
}

/// Everything the gateway serves.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Customized gateway responses by type (`UNAUTHORIZED`, `ACCESS_DENIED`, ...).
    pub gateway_responses: HashMap<String, GatewayResponse>,
    /// Stage name.
    pub stage: String,
    /// Routes.
    pub routes: Vec<Route>,
    /// Authorizers by name.
    pub authorizers: HashMap<String, Authorizer>,
    /// Functions by logical id.
    pub functions: BTreeMap<String, FunctionDef>,
    /// The HTTP API, when the template has one.
    pub http_api: Option<HttpApi>,
    /// The REST API's `Cors`, if any.
    pub rest_cors: Option<RestCors>,
}

fn unsupported(msg: impl Into<String>) -> TemplateError {
    TemplateError::Unsupported(msg.into())
}

/// An intrinsic function in the template, as `(name, argument)`: `!Ref X` or `{Ref: X}`.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            let k = k.as_str()?;
            (k == "Ref" || k.starts_with("Fn::"))
                .then(|| (k.trim_start_matches("Fn::").to_owned(), v))
        }
        _ => None,
    }
}

struct Resolver<'a> {
    parameters: HashMap<String, String>,
    resources: &'a serde_norway::Mapping,
    /// The template's `Conditions`.
    conditions: Option<&'a Value>,
}

enum Resolved {
    Text(String),
    Secret,
    Unknown,
}

impl Resolver<'_> {
    fn resource_type(&self, id: &str) -> Option<&str> {
        self.resources.get(id)?.get("Type")?.as_str()
    }

    fn resolve(&self, v: &Value) -> Resolved {
        match v {
            Value::String(s) => Resolved::Text(s.clone()),
            Value::Number(n) => Resolved::Text(n.to_string()),
            Value::Bool(b) => Resolved::Text(b.to_string()),
            _ => match intrinsic(v) {
                Some((name, Value::String(target))) if name == "Ref" => {
                    if let Some(p) = self.parameters.get(target) {
                        Resolved::Text(p.clone())
                    } else {
                        match self.resource_type(target) {
                            Some("AWS::SecretsManager::Secret") => Resolved::Secret,
                            // Locally, a table is named after its logical id.
                            Some("AWS::DynamoDB::Table") => Resolved::Text(target.clone()),
                            _ => Resolved::Unknown,
                        }
                    }
                }
                _ => Resolved::Unknown,
            },
        }
    }

    /// `v` with the intrinsics a local reading needs evaluated: `Ref` (parameters,
    /// `AWS::NoValue`), `Fn::If` on the template's conditions, `Fn::Sub`, `Fn::Select` and
    /// `Fn::Split`. `None` for `AWS::NoValue`: the value is left out, as CloudFormation does.
    fn eval(&self, v: &Value) -> Result<Option<Value>, TemplateError> {
        let Some((name, arg)) = intrinsic(v) else {
            return Ok(Some(match v {
                Value::Sequence(items) => Value::Sequence(
                    items
                        .iter()
                        .map(|i| self.eval(i))
                        .filter_map(Result::transpose)
                        .collect::<Result<_, _>>()?,
                ),
                Value::Mapping(m) => {
                    let mut out = serde_norway::Mapping::new();
                    for (k, v) in m {
                        if let Some(v) = self.eval(v)? {
                            out.insert(k.clone(), v);
                        }
                    }
                    Value::Mapping(out)
                }
                other => other.clone(),
            }));
        };
        let args = arg.as_sequence().map(Vec::as_slice).unwrap_or_default();
        let text = |v: &Value| -> Result<String, TemplateError> {
            match self.eval(v)? {
                Some(Value::String(s)) => Ok(s),
                Some(Value::Number(n)) => Ok(n.to_string()),
                other => Err(unsupported(format!("{name}: {other:?} is not a string"))),
            }
        };
        match (name.as_str(), args) {
            ("Ref", _) if arg.as_str() == Some("AWS::NoValue") => Ok(None),
            ("Ref", _) => self.text(v, "Ref").map(|t| Some(Value::String(t))),
            ("If", [cond, yes, no]) => {
                let cond = cond
                    .as_str()
                    .ok_or_else(|| unsupported("Fn::If: the condition is not a name"))?;
                self.eval(if self.condition(cond)? { yes } else { no })
            }
            ("Split", [sep, value]) => {
                let (sep, value) = (text(sep)?, text(value)?);
                Ok(Some(Value::Sequence(
                    value.split(sep.as_str()).map(Value::from).collect(),
                )))
            }
            ("Select", [index, list]) => {
                let index: usize = text(index)?
                    .parse()
                    .map_err(|_| unsupported("Fn::Select: the index is not a number"))?;
                match self.eval(list)? {
                    Some(Value::Sequence(items)) => items
                        .get(index)
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| unsupported("Fn::Select: index out of range")),
                    _ => Err(unsupported("Fn::Select: not a list")),
                }
            }
            ("Sub", _) => {
                let (template, vars) = match (arg, args) {
                    (Value::String(t), _) => (t.clone(), None),
                    (_, [Value::String(t), vars]) => (t.clone(), Some(vars)),
                    _ => return Err(unsupported("Fn::Sub: neither a string nor [string, map]")),
                };
                let mut out = String::new();
                let mut rest = template.as_str();
                while let Some(start) = rest.find("${") {
                    let end = rest[start..]
                        .find('}')
                        .ok_or_else(|| unsupported("Fn::Sub: unclosed ${"))?;
                    let var = &rest[start + 2..start + end];
                    let value = match vars.and_then(|m| m.get(var)) {
                        Some(v) => text(v)?,
                        None => self.parameters.get(var).cloned().ok_or_else(|| {
                            unsupported(format!("Fn::Sub: ${{{var}}} cannot be resolved locally"))
                        })?,
                    };
                    out.push_str(&rest[..start]);
                    out.push_str(&value);
                    rest = &rest[start + end + 1..];
                }
                out.push_str(rest);
                Ok(Some(Value::String(out)))
            }
            _ => Err(unsupported(format!(
                "Fn::{name} cannot be evaluated locally"
            ))),
        }
    }

    /// Condition `name` of the template's `Conditions` (`Fn::Equals`, `Fn::Not`, `Fn::And`,
    /// `Fn::Or`, `Condition`).
    fn condition(&self, name: &str) -> Result<bool, TemplateError> {
        let spec = self
            .conditions
            .and_then(|c| c.get(name))
            .ok_or_else(|| unsupported(format!("condition {name} is not defined")))?;
        self.truth(spec)
    }

    fn truth(&self, spec: &Value) -> Result<bool, TemplateError> {
        let (name, arg) =
            intrinsic(spec).ok_or_else(|| unsupported(format!("condition {spec:?}")))?;
        let args = arg.as_sequence().map(Vec::as_slice).unwrap_or_default();
        match (name.as_str(), args) {
            ("Equals", [a, b]) => Ok(self.eval(a)? == self.eval(b)?),
            ("Not", [a]) => Ok(!self.truth(a)?),
            ("And", items) => items
                .iter()
                .try_fold(true, |acc, i| Ok(acc && self.truth(i)?)),
            ("Or", items) => items
                .iter()
                .try_fold(false, |acc, i| Ok(acc || self.truth(i)?)),
            ("Condition", _) => self.condition(arg.as_str().unwrap_or_default()),
            _ => Err(unsupported(format!("condition function {name}"))),
        }
    }

    /// `v` evaluated, as text with API Gateway's static-value quotes stripped; `None` when left out.
    fn quoted(&self, v: Option<&Value>) -> Result<Option<String>, TemplateError> {
        match v.map(|v| self.eval(v)).transpose()?.flatten() {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim_matches('\'').to_owned())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(unsupported(format!("{other:?} is not a header value"))),
        }
    }

    fn text(&self, v: &Value, what: &str) -> Result<String, TemplateError> {
        match self.resolve(v) {
            Resolved::Text(t) => Ok(t),
            _ => Err(unsupported(format!("{what}: cannot resolve {v:?} locally"))),
        }
    }
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// The entries of the mapping at `path`; none when it is absent or not a mapping.
fn entries<'a>(v: &'a Value, path: &[&str]) -> impl Iterator<Item = (&'a Value, &'a Value)> {
    get(v, path)
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
}

impl Stack {
    /// Reads `template.yaml` at `path`; `overrides` replace parameter defaults, as
    /// `sam deploy --parameter-overrides` does.
    pub fn load(path: &Path, overrides: &HashMap<String, String>) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, overrides)
    }

    /// Parses a template's text.
    pub fn parse(text: &str, overrides: &HashMap<String, String>) -> Result<Self, TemplateError> {
        let doc: Value = serde_norway::from_str(text)?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| unsupported("no Resources"))?;
        let r = Resolver {
            parameters: parameters(&doc, overrides)?,
            resources,
            conditions: doc.get("Conditions"),
        };

        // The REST API: its stage, authorizers and gateway responses.
        let (api_id, api) = resources
            .iter()
            .find(|(_, v)| v.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Api"))
            .ok_or_else(|| unsupported("no AWS::Serverless::Api resource"))?;
        let api_id = api_id.as_str().unwrap_or_default();
        let props = api
            .get("Properties")
            .ok_or_else(|| unsupported("the API has no Properties"))?;
        let stage = r.text(
            props
                .get("StageName")
                .ok_or_else(|| unsupported("no StageName"))?,
            "StageName",
        )?;
        let authorizers = authorizers(&r, props)?;
        let default_authorizer = get(props, &["Auth", "DefaultAuthorizer"])
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(d) = &default_authorizer
            && !authorizers.contains_key(d)
        {
            return Err(unsupported(format!("DefaultAuthorizer {d} is not defined")));
        }

        // The HTTP API, if any: its authorizers.
        let http = resources.iter().find(|(_, v)| {
            v.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::HttpApi")
        });
        let mut http_api = match http {
            Some((_, api)) => Some(HttpApi {
                routes: Vec::new(),
                authorizers: http_authorizers(&r, api.get("Properties").unwrap_or(&Value::Null))?,
                cors: http_cors(&r, api.get("Properties").unwrap_or(&Value::Null))?,
            }),
            None => None,
        };
        let http_id = http.and_then(|(id, _)| id.as_str()).unwrap_or_default();
        let http_default = http
            .and_then(|(_, api)| get(api, &["Properties", "Auth", "DefaultAuthorizer"]))
            .and_then(Value::as_str)
            .map(str::to_owned);

        // Functions, their environment and their Api events.
        let mut functions = BTreeMap::new();
        let mut routes = Vec::new();
        for (id, res) in resources {
            if res.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
                continue;
            }
            let id = id.as_str().unwrap_or_default().to_owned();
            for route in api_routes(&id, res, api_id, default_authorizer.as_deref())? {
                if let Some(a) = &route.authorizer
                    && !authorizers.contains_key(a)
                {
                    return Err(unsupported(format!("{id}: authorizer {a} is not defined")));
                }
                routes.push(route);
            }
            if let Some(api) = &mut http_api {
                for route in http_routes(&id, res, http_id, http_default.as_deref())? {
                    if let Some(a) = &route.authorizer
                        && !api.authorizers.contains_key(a)
                    {
                        return Err(unsupported(format!(
                            "{id}: HTTP API authorizer {a} is not defined"
                        )));
                    }
                    api.routes.push(route);
                }
            }
            let function = function(&r, &id, res, &doc)?;
            functions.insert(id, function);
        }
        let http_functions = http_api
            .iter()
            .flat_map(|api| api.authorizers.values().map(|a| &a.function));
        for f in authorizers
            .values()
            .map(|a| &a.function)
            .chain(http_functions)
        {
            if !functions.contains_key(f) {
                return Err(unsupported(format!(
                    "authorizer function {f} is not a function of the template"
                )));
            }
        }
        Ok(Self {
            rest_cors: rest_cors(&r, props)?,
            gateway_responses: gateway_responses(&r, props)?,
            stage,
            routes,
            authorizers,
            functions,
            http_api,
        })
    }

    /// The route for `method` and `path`, with its path parameters.
    pub fn route(&self, method: &str, path: &str) -> Option<(&Route, BTreeMap<String, String>)> {
        self.routes.iter().find_map(|route| {
            if route.method != "ANY" && !route.method.eq_ignore_ascii_case(method) {
                return None;
            }
            match_path(&route.path, path).map(|params| (route, params))
        })
    }
}

/// Matches `/a/{id}/c` (and a greedy `{proxy+}`) against a request path.
fn match_path(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    let want = template.trim_matches('/').split('/');
    let mut got = path.trim_matches('/').split('/');
    for w in want {
        if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix("+}")) {
            let rest: Vec<&str> = got.by_ref().collect();
            if rest.is_empty() || rest == [""] {
                return None;
            }
            params.insert(name.to_owned(), rest.join("/"));
            return Some(params);
        }
        let g = got.next()?;
        if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            if g.is_empty() {
                return None;
            }
            params.insert(name.to_owned(), g.to_owned());
        } else if w != g {
            return None;
        }
    }
    got.next().is_none().then_some(params)
}

/// The template's parameters: each one's default, or the override given for it. An override
/// for a parameter the template does not have is an error, as in `sam deploy`.
fn parameters(
    doc: &Value,
    overrides: &HashMap<String, String>,
) -> Result<HashMap<String, String>, TemplateError> {
    let mut parameters = HashMap::new();
    for (name, spec) in entries(doc, &["Parameters"]) {
        let Some(name) = name.as_str() else { continue };
        let default = match spec.get("Default") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        };
        if let Some(v) = overrides.get(name).cloned().or(default) {
            parameters.insert(name.to_owned(), v);
        }
    }
    if let Some(name) = overrides.keys().find(|n| !parameters.contains_key(*n)) {
        return Err(unsupported(format!(
            "parameter override {name}: the template has no such parameter"
        )));
    }
    Ok(parameters)
}

/// The API's Lambda authorizers (`Auth.Authorizers`), by name.
fn authorizers(r: &Resolver, props: &Value) -> Result<HashMap<String, Authorizer>, TemplateError> {
    let mut authorizers = HashMap::new();
    for (name, spec) in entries(props, &["Auth", "Authorizers"]) {
        let name = name.as_str().unwrap_or_default().to_owned();
        let authorizer = authorizer(r, &name, spec)?;
        authorizers.insert(name, authorizer);
    }
    Ok(authorizers)
}

/// The logical id of an authorizer's function, from its `FunctionArn: !GetAtt F.Arn`.
fn authorizer_function(name: &str, spec: &Value) -> Result<String, TemplateError> {
    match spec.get("FunctionArn").and_then(intrinsic) {
        Some((f, Value::Sequence(args))) if f == "GetAtt" => {
            args.first().and_then(Value::as_str).map(str::to_owned)
        }
        Some((f, Value::String(s))) if f == "GetAtt" => s.split('.').next().map(str::to_owned),
        _ => None,
    }
    .ok_or_else(|| {
        unsupported(format!(
            "authorizer {name}: FunctionArn must be !GetAtt Function.Arn"
        ))
    })
}

/// A cache TTL in seconds (`ReauthorizeEvery`), `default` when absent.
fn ttl(r: &Resolver, identity: Option<&Value>, default: u64) -> Result<Duration, TemplateError> {
    let seconds = match identity.and_then(|i| i.get("ReauthorizeEvery")) {
        Some(v) => r
            .text(v, "ReauthorizeEvery")?
            .parse()
            .map_err(|_| unsupported("ReauthorizeEvery is not a number"))?,
        None => default,
    };
    Ok(Duration::from_secs(seconds))
}

/// The HTTP API's Lambda authorizers, by name.
fn http_authorizers(
    r: &Resolver,
    props: &Value,
) -> Result<HashMap<String, HttpAuthorizer>, TemplateError> {
    let mut authorizers = HashMap::new();
    for (name, spec) in entries(props, &["Auth", "Authorizers"]) {
        let name = name.as_str().unwrap_or_default().to_owned();
        let function = authorizer_function(&name, spec)?;
        let payload_version = spec
            .get("AuthorizerPayloadFormatVersion")
            .map(|v| r.text(v, "AuthorizerPayloadFormatVersion"))
            .transpose()?
            .ok_or_else(|| {
                unsupported(format!(
                    "authorizer {name}: AuthorizerPayloadFormatVersion is required"
                ))
            })?;
        if payload_version != "1.0" && payload_version != "2.0" {
            return Err(unsupported(format!(
                "authorizer {name}: AuthorizerPayloadFormatVersion must be 1.0 or 2.0"
            )));
        }
        let simple_responses = match spec.get("EnableSimpleResponses") {
            Some(v) => r.text(v, "EnableSimpleResponses")? == "true",
            None => false,
        };
        if simple_responses && payload_version != "2.0" {
            return Err(unsupported(format!(
                "authorizer {name}: simple responses need payload format 2.0"
            )));
        }
        let identity = spec.get("Identity");
        let headers = identity
            .and_then(|i| i.get("Headers"))
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|h| h.as_str().map(str::to_owned))
            .collect();
        authorizers.insert(
            name,
            HttpAuthorizer {
                function,
                payload_version,
                simple_responses,
                headers,
                // CloudFormation's AuthorizerResultTtlInSeconds defaults to 0: no cache.
                ttl: ttl(r, identity, 0)?,
            },
        );
    }
    Ok(authorizers)
}

/// The `Properties` of function `res`'s events of type `kind` (`Api`, `HttpApi`) that belong to
/// the API `api_id`, named by `id_key` (`RestApiId`, `ApiId`); an event naming no API belongs
/// to it, as SAM's implicit API.
fn api_events<'a>(
    res: &'a Value,
    kind: &'a str,
    id_key: &'a str,
    api_id: &'a str,
) -> impl Iterator<Item = &'a Value> {
    entries(res, &["Properties", "Events"])
        .filter(move |(_, event)| event.get("Type").and_then(Value::as_str) == Some(kind))
        .map(|(_, event)| event.get("Properties").unwrap_or(&Value::Null))
        .filter(move |p| {
            p.get(id_key)
                .and_then(intrinsic)
                .is_none_or(|(_, target)| target.as_str() == Some(api_id))
        })
}

/// The authorizer of a route's event properties `p`: its own, none (`NONE`), or the API's default.
fn route_authorizer(p: &Value, default_authorizer: Option<&str>) -> Option<String> {
    match get(p, &["Auth", "Authorizer"]).and_then(Value::as_str) {
        Some("NONE") => None,
        Some(name) => Some(name.to_owned()),
        None => default_authorizer.map(str::to_owned),
    }
}

/// Function `id`'s `HttpApi` events on the HTTP API `api_id`, as routes.
fn http_routes(
    id: &str,
    res: &Value,
    api_id: &str,
    default_authorizer: Option<&str>,
) -> Result<Vec<HttpRoute>, TemplateError> {
    let mut routes = Vec::new();
    for p in api_events(res, "HttpApi", "ApiId", api_id) {
        if p.get("PayloadFormatVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v != "2.0")
        {
            return Err(unsupported(format!(
                "{id}: only payload format 2.0 integrations are emulated for the HTTP API"
            )));
        }
        let key = match (
            p.get("Method").and_then(Value::as_str),
            p.get("Path").and_then(Value::as_str),
        ) {
            (None, None) => "$default".to_owned(),
            (method, Some(path)) => {
                let method = method.unwrap_or("ANY").to_ascii_uppercase();
                format!("{method} {path}")
            }
            (Some(_), None) => {
                return Err(unsupported(format!(
                    "{id}: HttpApi event with a Method but no Path"
                )));
            }
        };
        routes.push(HttpRoute {
            key,
            function: id.to_owned(),
            authorizer: route_authorizer(p, default_authorizer),
        });
    }
    Ok(routes)
}

/// One TOKEN authorizer: its function, identity header, validation expression and cache TTL.
fn authorizer(r: &Resolver, name: &str, spec: &Value) -> Result<Authorizer, TemplateError> {
    let function = authorizer_function(name, spec)?;
    if spec
        .get("FunctionPayloadType")
        .and_then(Value::as_str)
        .is_some_and(|t| t != "TOKEN")
    {
        return Err(unsupported(format!(
            "authorizer {name}: only TOKEN authorizers are emulated"
        )));
    }
    let identity = spec.get("Identity");
    let header = identity
        .and_then(|i| i.get("Header"))
        .and_then(Value::as_str)
        .unwrap_or("Authorization")
        .to_owned();
    let validation = match identity.and_then(|i| i.get("ValidationExpression")) {
        Some(v) => Some(
            regex::Regex::new(&r.text(v, "ValidationExpression")?).map_err(|source| {
                TemplateError::Regex {
                    name: name.to_owned(),
                    source,
                }
            })?,
        ),
        None => None,
    };
    Ok(Authorizer {
        function,
        header,
        validation,
        ttl: ttl(r, identity, 300)?,
    })
}

/// Function `id`'s binary and environment (globals first, then its own).
fn function(
    r: &Resolver,
    id: &str,
    res: &Value,
    doc: &Value,
) -> Result<FunctionDef, TemplateError> {
    let binary = get(res, &["Metadata", "BuildProperties", "Binary"])
        .and_then(Value::as_str)
        .ok_or_else(|| unsupported(format!("{id}: no Metadata.BuildProperties.Binary")))?
        .to_owned();
    let mut env = BTreeMap::new();
    let mut secret_vars = Vec::new();
    let globals = entries(doc, &["Globals", "Function", "Environment", "Variables"]);
    let own = entries(res, &["Properties", "Environment", "Variables"]);
    for (k, v) in globals.chain(own) {
        let k = k.as_str().unwrap_or_default().to_owned();
        match r.resolve(v) {
            Resolved::Text(t) => {
                env.insert(k, t);
            }
            Resolved::Secret => secret_vars.push(k),
            Resolved::Unknown => {
                return Err(unsupported(format!(
                    "{id}: environment variable {k} cannot be resolved locally"
                )));
            }
        }
    }
    Ok(FunctionDef {
        binary,
        env,
        secret_vars,
    })
}

/// Function `id`'s `Api` events on the API `api_id`, as routes.
fn api_routes(
    id: &str,
    res: &Value,
    api_id: &str,
    default_authorizer: Option<&str>,
) -> Result<Vec<Route>, TemplateError> {
    let mut routes = Vec::new();
    for p in api_events(res, "Api", "RestApiId", api_id) {
        let path = p
            .get("Path")
            .and_then(Value::as_str)
            .ok_or_else(|| unsupported(format!("{id}: Api event without Path")))?;
        let method = p
            .get("Method")
            .and_then(Value::as_str)
            .unwrap_or("ANY")
            .to_ascii_uppercase();
        let authorizer = route_authorizer(p, default_authorizer);
        routes.push(Route {
            method: if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" {
                "ANY".into()
            } else {
                method
            },
            path: path.to_owned(),
            function: id.to_owned(),
            authorizer,
        });
    }
    Ok(routes)
}

/// The REST API's `Cors` (a string is the origin alone), evaluated.
fn rest_cors(r: &Resolver, props: &Value) -> Result<Option<RestCors>, TemplateError> {
    let Some(cors) = props.get("Cors") else {
        return Ok(None);
    };
    if r.eval(cors)?.is_some_and(|c| c.is_string()) {
        return Ok(Some(RestCors {
            allow_origin: r.quoted(Some(cors))?,
            ..RestCors::default()
        }));
    }
    Ok(Some(RestCors {
        allow_origin: r.quoted(cors.get("AllowOrigin"))?,
        allow_headers: r.quoted(cors.get("AllowHeaders"))?,
        allow_methods: r.quoted(cors.get("AllowMethods"))?,
        max_age: r.quoted(cors.get("MaxAge"))?,
    }))
}

/// The HTTP API's `CorsConfiguration` (`true` allows every origin), evaluated; `None` when
/// absent or left out.
fn http_cors(r: &Resolver, props: &Value) -> Result<Option<HttpCors>, TemplateError> {
    let Some(cors) = props
        .get("CorsConfiguration")
        .map(|c| r.eval(c))
        .transpose()?
        .flatten()
    else {
        return Ok(None);
    };
    let list = |key: &str| -> Vec<String> {
        cors.get(key)
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    Ok(match cors {
        Value::Bool(false) => None,
        Value::Bool(true) => Some(HttpCors {
            allow_origins: vec!["*".into()],
            ..HttpCors::default()
        }),
        _ => Some(HttpCors {
            allow_origins: list("AllowOrigins"),
            allow_headers: list("AllowHeaders")
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            allow_methods: list("AllowMethods")
                .iter()
                .map(|m| m.to_ascii_uppercase())
                .collect(),
            expose_headers: list("ExposeHeaders"),
            max_age: cors
                .get("MaxAge")
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                .and_then(|v| u32::try_from(v).ok()),
        }),
    })
}

/// The API's `GatewayResponses`: status, headers (quotes stripped) and body template.
fn gateway_responses(
    r: &Resolver,
    props: &Value,
) -> Result<HashMap<String, GatewayResponse>, TemplateError> {
    let mut responses = HashMap::new();
    for (kind, spec) in entries(props, &["GatewayResponses"]) {
        let kind = kind.as_str().unwrap_or_default().to_owned();
        let status = match spec.get("StatusCode") {
            Some(v) => Some(
                r.text(v, "StatusCode")?
                    .parse()
                    .map_err(|_| unsupported(format!("{kind}: StatusCode")))?,
            ),
            None => None,
        };
        let mut headers = Vec::new();
        for (k, v) in entries(spec, &["ResponseParameters", "Headers"]) {
            if let (Some(k), Some(v)) = (k.as_str(), r.quoted(Some(v))?) {
                headers.push((k.to_owned(), v));
            }
        }
        let template = get(spec, &["ResponseTemplates", "application/json"])
            .and_then(Value::as_str)
            .map(str::to_owned);
        responses.insert(
            kind,
            GatewayResponse {
                status,
                headers,
                template,
            },
        );
    }
    Ok(responses)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = include_str!("../../../template.yaml");

    #[test]
    fn reads_the_projects_template() {
        let stack = Stack::parse(TEMPLATE, &HashMap::new()).unwrap();
        assert_eq!(stack.stage, "prod");
        let token = stack.route("POST", "/token").unwrap().0;
        assert_eq!(
            (token.function.as_str(), token.authorizer.as_deref()),
            ("AuthenticateFunction", None)
        );
        let hello = stack.route("GET", "/hello").unwrap().0;
        assert_eq!(hello.authorizer.as_deref(), Some("TokenAuthorizer"));
        assert!(stack.route("GET", "/token").is_none());
        assert!(stack.route("DELETE", "/hello").is_none());
        let auth = &stack.authorizers["TokenAuthorizer"];
        assert_eq!(
            (auth.function.as_str(), auth.header.as_str()),
            ("CheckTokenFunction", "Authorization")
        );
        assert_eq!(auth.ttl, Duration::from_secs(300));
        let v = auth.validation.as_ref().unwrap();
        assert!(v.is_match("Bearer aaa.bbb.ccc"));
        assert!(!v.is_match("Basic dXNlcg=="));
        let f = &stack.functions["AuthenticateFunction"];
        assert_eq!(f.binary, "authenticate");
        assert_eq!(f.env["USERS_TABLE"], "UsersTable");
        assert_eq!(f.env["TOKEN_TTL_SECONDS"], "900");
        assert_eq!(f.env["JWT_ISSUER"], "lambda-auth");
        assert_eq!(f.secret_vars, ["JWT_SECRET_ARN"]);
        assert!(!f.env.contains_key("JWT_SECRET_ARN"));
    }

    #[test]
    fn parameter_overrides_apply_and_unknown_ones_are_refused() {
        let overrides = HashMap::from([("AuthorizerCacheTtlSeconds".to_owned(), "2".to_owned())]);
        let stack = Stack::parse(TEMPLATE, &overrides).unwrap();
        assert_eq!(
            stack.authorizers["TokenAuthorizer"].ttl,
            Duration::from_secs(2)
        );
        let bad = HashMap::from([("NoSuchParameter".to_owned(), "1".to_owned())]);
        assert!(
            Stack::parse(TEMPLATE, &bad)
                .unwrap_err()
                .to_string()
                .contains("NoSuchParameter")
        );
    }

    #[test]
    fn reads_the_http_api_of_the_projects_template() {
        let stack = Stack::parse(TEMPLATE, &HashMap::new()).unwrap();
        let api = stack
            .http_api
            .as_ref()
            .expect("the template has an HTTP API");
        let token = api.route("POST", "/token").unwrap().0;
        assert_eq!(
            (
                token.key.as_str(),
                token.function.as_str(),
                token.authorizer.as_deref()
            ),
            ("POST /token", "AuthenticateFunction", None)
        );
        let hello = api.route("GET", "/hello").unwrap().0;
        assert_eq!(hello.authorizer.as_deref(), Some("LambdaAuthorizer"));
        assert!(api.route("GET", "/token").is_none());
        assert_eq!(
            api.authorizers["LambdaAuthorizer"],
            HttpAuthorizer {
                function: "CheckTokenFunction".into(),
                payload_version: "2.0".into(),
                simple_responses: true,
                headers: vec!["Authorization".into()],
                ttl: Duration::from_secs(300),
            }
        );
        assert_eq!(
            stack.functions["CheckTokenFunction"].env["ENABLE_SIMPLE_RESPONSES"],
            "true"
        );
    }

    #[test]
    fn http_api_route_keys_pick_the_most_specific_route() {
        let route = |key: &str, function: &str| HttpRoute {
            key: key.into(),
            function: function.into(),
            authorizer: None,
        };
        let api = HttpApi {
            routes: vec![
                route("$default", "fallback"),
                route("ANY /{proxy+}", "proxy"),
                route("GET /items/{id}", "item"),
                route("ANY /items/special", "special-any"),
                route("GET /items/special", "special-get"),
            ],
            ..HttpApi::default()
        };
        let pick = |m, p| api.route(m, p).map(|(r, _)| r.function.as_str());
        assert_eq!(pick("GET", "/items/special"), Some("special-get"));
        assert_eq!(pick("POST", "/items/special"), Some("special-any"));
        assert_eq!(pick("GET", "/items/7"), Some("item"));
        assert_eq!(pick("DELETE", "/items/7"), Some("proxy"));
        assert_eq!(pick("GET", "/anything/else"), Some("proxy"));
        assert_eq!(pick("GET", "/"), Some("fallback"));
        assert_eq!(api.route("GET", "/items/7").unwrap().1["id"], "7");
        assert_eq!(api.route("PUT", "/a/b").unwrap().1["proxy"], "a/b");
    }

    #[test]
    fn path_templates_match_like_api_gateway() {
        assert_eq!(match_path("/hello", "/hello"), Some(BTreeMap::new()));
        assert_eq!(match_path("/hello", "/hello/"), Some(BTreeMap::new()));
        assert_eq!(match_path("/hello", "/hello/x"), None);
        let p = match_path("/users/{id}", "/users/42").unwrap();
        assert_eq!(p["id"], "42");
        assert_eq!(match_path("/users/{id}", "/users/"), None);
        let p = match_path("/files/{proxy+}", "/files/a/b/c").unwrap();
        assert_eq!(p["proxy"], "a/b/c");
    }

    #[test]
    fn cors_follows_the_allowed_origins_parameter_on_both_apis() {
        let with = |origins: &str| {
            let overrides = HashMap::from([("AllowedOrigins".to_owned(), origins.to_owned())]);
            Stack::parse(TEMPLATE, &overrides).unwrap()
        };
        let header = |stack: &Stack, kind: &str, name: &str| {
            stack.gateway_responses[kind]
                .headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        // Off by default: no origin anywhere, no HTTP API CORS configuration.
        let off = Stack::parse(TEMPLATE, &HashMap::new()).unwrap();
        let rest = off.rest_cors.as_ref().expect("the REST API has Cors");
        assert_eq!(rest.allow_origin, None);
        assert_eq!(
            rest.allow_headers.as_deref(),
            Some("authorization,content-type")
        );
        assert_eq!(rest.max_age.as_deref(), Some("600"));
        for kind in [
            "UNAUTHORIZED",
            "ACCESS_DENIED",
            "DEFAULT_4XX",
            "DEFAULT_5XX",
        ] {
            assert_eq!(
                header(&off, kind, "Access-Control-Allow-Origin"),
                None,
                "{kind}"
            );
        }
        assert_eq!(
            header(&off, "UNAUTHORIZED", "WWW-Authenticate").as_deref(),
            Some("Bearer")
        );
        assert_eq!(off.http_api.as_ref().unwrap().cors, None);
        for env in ["AuthenticateFunction", "HelloFunction"] {
            assert_eq!(off.functions[env].env["ALLOWED_ORIGINS"], "", "{env}");
        }

        // Two origins: the REST API's own answers name the first, the HTTP API allows both.
        let two = with("https://app.example.com,http://127.0.0.1:8000");
        let rest = two.rest_cors.as_ref().unwrap();
        assert_eq!(
            rest.allow_origin.as_deref(),
            Some("https://app.example.com")
        );
        for kind in [
            "UNAUTHORIZED",
            "ACCESS_DENIED",
            "DEFAULT_4XX",
            "DEFAULT_5XX",
        ] {
            assert_eq!(
                header(&two, kind, "Access-Control-Allow-Origin").as_deref(),
                Some("https://app.example.com"),
                "{kind}"
            );
        }
        let cors = two.http_api.as_ref().unwrap().cors.clone().unwrap();
        assert_eq!(
            cors.allow_origins,
            ["https://app.example.com", "http://127.0.0.1:8000"]
        );
        assert_eq!(cors.allow_headers, ["authorization", "content-type"]);
        assert_eq!(cors.allow_methods, ["GET", "POST", "OPTIONS"]);
        assert_eq!(cors.max_age, Some(600));
        assert_eq!(
            two.functions["HelloFunction"].env["ALLOWED_ORIGINS"],
            "https://app.example.com,http://127.0.0.1:8000"
        );
        // Any origin.
        assert_eq!(
            with("*").rest_cors.unwrap().allow_origin.as_deref(),
            Some("*")
        );
    }

    #[test]
    fn intrinsics_evaluate_as_cloudformation_does() {
        let text = r#"
Parameters:
  A: {Type: String, Default: "x,y"}
Conditions:
  IsEmpty: !Equals [!Ref A, ""]
  NotEmpty: !Not [!Condition IsEmpty]
Resources: {}
"#;
        let doc: Value = serde_norway::from_str(text).unwrap();
        let resources = serde_norway::Mapping::new();
        let r = Resolver {
            parameters: parameters(&doc, &HashMap::new()).unwrap(),
            resources: &resources,
            conditions: doc.get("Conditions"),
        };
        let eval = |yaml: &str| r.eval(&serde_norway::from_str(yaml).unwrap()).unwrap();
        assert_eq!(
            eval("!Select [1, !Split [',', !Ref A]]"),
            Some(Value::from("y"))
        );
        assert_eq!(
            eval("!Sub ['<${B}>', {B: !Ref A}]"),
            Some(Value::from("<x,y>"))
        );
        assert_eq!(eval("!Sub 'a ${A} b'"), Some(Value::from("a x,y b")));
        assert_eq!(eval("!If [IsEmpty, 1, 2]"), Some(Value::from(2)));
        assert_eq!(eval("!If [NotEmpty, !Ref AWS::NoValue, 2]"), None);
        assert_eq!(
            eval("{k: !Ref AWS::NoValue, j: 1}"),
            Some(serde_norway::from_str("{j: 1}").unwrap())
        );
        assert!(
            r.eval(&serde_norway::from_str("!If [Nope, 1, 2]").unwrap())
                .is_err()
        );
        assert!(
            r.eval(&serde_norway::from_str("!GetAZs ''").unwrap())
                .is_err()
        );
    }
}
