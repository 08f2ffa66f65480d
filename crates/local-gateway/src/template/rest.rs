//! The REST API's model: routes, TOKEN authorizers, `Cors` and gateway responses.

use std::collections::HashMap;
use std::time::Duration;

use serde_norway::Value;

use super::error::{TemplateError, unsupported};
use super::events::{api_events, authorizer_function, match_path, route_authorizer, ttl};
use super::intrinsics::{Resolver, entries, get};

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

/// The API's Lambda authorizers (`Auth.Authorizers`), by name.
pub(super) fn authorizers(
    r: &Resolver,
    props: &Value,
) -> Result<HashMap<String, Authorizer>, TemplateError> {
    let mut authorizers = HashMap::new();
    for (name, spec) in entries(props, &["Auth", "Authorizers"]) {
        let name = name.as_str().unwrap_or_default().to_owned();
        let authorizer = authorizer(r, &name, spec)?;
        authorizers.insert(name, authorizer);
    }
    Ok(authorizers)
}

/// One TOKEN authorizer: its function, identity header, validation expression and cache TTL.
pub(super) fn authorizer(
    r: &Resolver,
    name: &str,
    spec: &Value,
) -> Result<Authorizer, TemplateError> {
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

/// Function `id`'s `Api` events on the API `api_id`, as routes.
pub(super) fn api_routes(
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
pub(super) fn rest_cors(r: &Resolver, props: &Value) -> Result<Option<RestCors>, TemplateError> {
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

/// The API's `GatewayResponses`: status, headers (quotes stripped) and body template.
pub(super) fn gateway_responses(
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
