//! The HTTP API's model: routes, Lambda authorizers and `CorsConfiguration`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_norway::Value;

use super::error::{TemplateError, unsupported};
use super::events::{api_events, authorizer_function, match_path, route_authorizer, ttl};
use super::intrinsics::{Resolver, entries};

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
    /// `Identity.Context` names `routeKey`: the route is an identity source too, so that
    /// answers are cached per route.
    pub route_key: bool,
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
    /// Its stage's throttles (`DefaultRouteSettings`, `RouteSettings`).
    pub throttles: super::Throttles,
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

/// The HTTP API's Lambda authorizers, by name.
pub(super) fn http_authorizers(
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
        let list = |key: &str| -> Vec<String> {
            identity
                .and_then(|i| i.get(key))
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(|h| h.as_str().map(str::to_owned))
                .collect()
        };
        let (headers, context) = (list("Headers"), list("Context"));
        if let Some(unknown) = context.iter().find(|c| c.as_str() != "routeKey") {
            return Err(unsupported(format!(
                "authorizer {name}: Identity.Context {unknown} is not emulated (routeKey is)"
            )));
        }
        authorizers.insert(
            name,
            HttpAuthorizer {
                function,
                payload_version,
                simple_responses,
                headers,
                route_key: !context.is_empty(),
                // CloudFormation's AuthorizerResultTtlInSeconds defaults to 0: no cache.
                ttl: ttl(r, identity, 0)?,
            },
        );
    }
    Ok(authorizers)
}

/// Function `id`'s `HttpApi` events on the HTTP API `api_id`, as routes.
pub(super) fn http_routes(
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

/// The HTTP API's `CorsConfiguration` (`true` allows every origin), evaluated; `None` when
/// absent or left out.
pub(super) fn http_cors(r: &Resolver, props: &Value) -> Result<Option<HttpCors>, TemplateError> {
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
