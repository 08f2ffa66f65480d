//! What the local gateway reads from `template.yaml`: the REST API's routes and TOKEN
//! authorizers ([`rest`]), the HTTP API's routes and Lambda authorizers ([`http_api`]), and each
//! function's binary and environment ([`functions`]), with the intrinsics evaluated
//! ([`intrinsics`]).

mod error;
mod events;
mod functions;
pub mod http_api;
mod intrinsics;
pub mod jwt_api;
pub mod rest;
mod throttles;
mod waf;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_norway::Value;

pub use error::TemplateError;
pub use functions::FunctionDef;
pub use http_api::{HttpApi, HttpAuthorizer, HttpCors, HttpRoute};
pub use jwt_api::JwtApi;
pub use rest::{Authorizer, GatewayResponse, RestCors, Route};
pub use throttles::{Limit, Throttles};
pub use waf::{PathMatch, RateRule, Waf};

use error::unsupported;
use events::match_path;
use functions::function;
use http_api::{http_authorizers, http_cors, http_routes};
use intrinsics::{Resolver, get, parameters};
use rest::{api_routes, authorizers, gateway_responses, rest_cors};
use throttles::{http_throttles, rest_throttles};
use waf::rest_waf;

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
    /// The REST API stage's throttles (`MethodSettings`).
    pub rest_throttles: Throttles,
    /// The rules of the web ACL on the REST API's stage, when the template creates one.
    pub rest_waf: Waf,
    /// The JWT-authorized HTTP API of a nested template, when the template has one (read by
    /// [`Stack::load`], which knows where the nested template is).
    pub jwt_api: Option<JwtApi>,
}

impl Stack {
    /// Reads `template.yaml` at `path`; `overrides` replace parameter defaults, as
    /// `sam deploy --parameter-overrides` does.
    pub fn load(path: &Path, overrides: &HashMap<String, String>) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse_in(&text, overrides, path.parent())
    }

    /// Parses a template's text.
    pub fn parse(text: &str, overrides: &HashMap<String, String>) -> Result<Self, TemplateError> {
        Self::parse_in(text, overrides, None)
    }

    /// Parses a template's text, reading nested templates from `dir` when given.
    fn parse_in(
        text: &str,
        overrides: &HashMap<String, String>,
        dir: Option<&Path>,
    ) -> Result<Self, TemplateError> {
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
        let rest = RestDoc::read(&r, resources)?;
        let mut http = HttpDoc::read(&r, resources)?;
        let mut functions = BTreeMap::new();
        let mut routes = Vec::new();
        for (id, res) in resources {
            if res.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
                continue;
            }
            let id = id.as_str().unwrap_or_default().to_owned();
            routes.extend(rest.routes_of(&id, res)?);
            if let Some(http) = &mut http {
                let found = http.routes_of(&id, res)?;
                http.api.routes.extend(found);
            }
            functions.insert(id.clone(), function(&r, &id, res, &doc)?);
        }
        let http_api = http.map(|h| h.api);
        let http_functions = http_api
            .iter()
            .flat_map(|api| api.authorizers.values().map(|a| &a.function));
        let rest_functions = rest.authorizers.values().map(|a| &a.function);
        if let Some(f) = rest_functions
            .chain(http_functions)
            .find(|f| !functions.contains_key(*f))
        {
            return Err(unsupported(format!(
                "authorizer function {f} is not a function of the template"
            )));
        }
        Ok(Self {
            rest_cors: rest_cors(&r, rest.props)?,
            rest_throttles: rest_throttles(&r, rest.props)?,
            rest_waf: rest_waf(&r, resources)?,
            gateway_responses: gateway_responses(&r, rest.props)?,
            stage: rest.stage,
            routes,
            authorizers: rest.authorizers,
            functions,
            http_api,
            jwt_api: match dir {
                Some(dir) => jwt_api::jwt_api(&r, resources, dir)?,
                None => None,
            },
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

/// The first authorizer among `named` (a route's, or none) that `defined` does not know.
fn undefined<'a>(
    mut named: impl Iterator<Item = Option<&'a String>>,
    defined: impl Fn(&String) -> bool,
) -> Option<&'a String> {
    named.find_map(|a| a.filter(|a| !defined(a)))
}

/// The REST API resource as read so far: its id, properties, stage and authorizers.
struct RestDoc<'a> {
    id: &'a str,
    props: &'a Value,
    stage: String,
    authorizers: HashMap<String, Authorizer>,
    default_authorizer: Option<String>,
}

impl<'a> RestDoc<'a> {
    /// The template's `AWS::Serverless::Api`.
    fn read(r: &Resolver, resources: &'a serde_norway::Mapping) -> Result<Self, TemplateError> {
        let (id, api) = resources
            .iter()
            .find(|(_, v)| v.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Api"))
            .ok_or_else(|| unsupported("no AWS::Serverless::Api resource"))?;
        let props = api
            .get("Properties")
            .ok_or_else(|| unsupported("the API has no Properties"))?;
        let stage = r.text(
            props
                .get("StageName")
                .ok_or_else(|| unsupported("no StageName"))?,
            "StageName",
        )?;
        let authorizers = authorizers(r, props)?;
        let default_authorizer = get(props, &["Auth", "DefaultAuthorizer"])
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(d) = &default_authorizer
            && !authorizers.contains_key(d)
        {
            return Err(unsupported(format!("DefaultAuthorizer {d} is not defined")));
        }
        Ok(Self {
            id: id.as_str().unwrap_or_default(),
            props,
            stage,
            authorizers,
            default_authorizer,
        })
    }

    /// Function `id`'s routes on this API, each with an authorizer the API defines.
    fn routes_of(&self, id: &str, res: &Value) -> Result<Vec<Route>, TemplateError> {
        let routes = api_routes(id, res, self.id, self.default_authorizer.as_deref())?;
        let named = routes.iter().map(|r| r.authorizer.as_ref());
        match undefined(named, |a| self.authorizers.contains_key(a)) {
            Some(a) => Err(unsupported(format!("{id}: authorizer {a} is not defined"))),
            None => Ok(routes),
        }
    }
}

/// The HTTP API resource as read so far.
struct HttpDoc<'a> {
    id: &'a str,
    api: HttpApi,
    default_authorizer: Option<String>,
}

impl<'a> HttpDoc<'a> {
    /// The template's `AWS::Serverless::HttpApi`, if any.
    fn read(
        r: &Resolver,
        resources: &'a serde_norway::Mapping,
    ) -> Result<Option<Self>, TemplateError> {
        let Some((id, res)) = resources.iter().find(|(_, v)| {
            v.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::HttpApi")
        }) else {
            return Ok(None);
        };
        let props = res.get("Properties").unwrap_or(&Value::Null);
        Ok(Some(Self {
            id: id.as_str().unwrap_or_default(),
            api: HttpApi {
                routes: Vec::new(),
                authorizers: http_authorizers(r, props)?,
                cors: http_cors(r, props)?,
                throttles: http_throttles(r, props)?,
            },
            default_authorizer: get(props, &["Auth", "DefaultAuthorizer"])
                .and_then(Value::as_str)
                .map(str::to_owned),
        }))
    }

    /// Function `id`'s routes on this API, each with an authorizer the API defines.
    fn routes_of(&self, id: &str, res: &Value) -> Result<Vec<HttpRoute>, TemplateError> {
        let routes = http_routes(id, res, self.id, self.default_authorizer.as_deref())?;
        let named = routes.iter().map(|r| r.authorizer.as_ref());
        match undefined(named, |a| self.api.authorizers.contains_key(a)) {
            Some(a) => Err(unsupported(format!(
                "{id}: HTTP API authorizer {a} is not defined"
            ))),
            None => Ok(routes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const TEMPLATE: &str = include_str!("../../../../template.yaml");

    #[test]
    fn reads_each_stages_throttles_with_the_sign_in_routes_own() {
        let overrides = HashMap::from([
            ("TokenThrottlingRateLimit".to_owned(), "3".to_owned()),
            ("ThrottlingBurstLimit".to_owned(), "50".to_owned()),
        ]);
        let stack = Stack::parse(TEMPLATE, &overrides).unwrap();
        let http = &stack.http_api.as_ref().unwrap().throttles;
        for throttles in [&stack.rest_throttles, http] {
            let stage = Limit {
                rate: 100.0,
                burst: 50,
            };
            let token = Limit {
                rate: 3.0,
                burst: 20,
            };
            assert_eq!(throttles.default, Some(stage));
            assert_eq!(throttles.limit("POST", "/token"), Some(token));
            let refresh = Limit {
                rate: 10.0,
                burst: 20,
            };
            assert_eq!(throttles.limit("POST", "/refresh"), Some(refresh));
            assert_eq!(throttles.limit("GET", "/hello"), Some(stage));
            assert_eq!(throttles.limit("POST", "/revoke"), Some(stage));
        }
    }

    #[test]
    fn the_sign_in_web_acl_is_read_only_when_the_template_creates_it() {
        let off = Stack::parse(TEMPLATE, &HashMap::new()).unwrap();
        assert_eq!(off.rest_waf, Waf::default());
        let overrides = HashMap::from([
            ("SignInWaf".to_owned(), "on".to_owned()),
            ("SignInWafRateLimit".to_owned(), "10".to_owned()),
            ("SignInWafWindowSeconds".to_owned(), "60".to_owned()),
        ]);
        let on = Stack::parse(TEMPLATE, &overrides).unwrap();
        let [rule] = &on.rest_waf.rules[..] else {
            panic!("{:?}", on.rest_waf);
        };
        assert_eq!(
            (rule.limit, rule.window_seconds, rule.status),
            (10, 60, 429)
        );
        assert_eq!(rule.body, r#"{"message":"Too Many Requests"}"#);
        for path in ["/prod/token", "/refresh", "/prod/Revoke"] {
            assert!(rule.paths.iter().any(|p| p.matches(path)), "{path}");
        }
        assert!(!rule.paths.iter().any(|p| p.matches("/hello")));
    }

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
        assert_eq!(
            f.secret_vars,
            ["JWT_SECRET_ARN", "LOCKOUT_KEY_ARN", "REFRESH_KEY_ARN"]
        );
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
                route_key: true,
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
