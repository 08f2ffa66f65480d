//! The JWT-authorized HTTP API (the nested stack `jwt-api.yaml`): the issuer and audience its
//! JWT authorizer trusts, and each protected route's authorization scopes.

use std::collections::HashMap;
use std::path::Path;

use serde_norway::Value;

use super::error::{TemplateError, unsupported};
use super::intrinsics::{Resolver, get};

/// API Gateway's JWT authorizer of an HTTP API, as the nested template declares it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwtApi {
    /// `JwtConfiguration.Issuer`: the tokens' `iss`, where the discovery document is served.
    pub issuer: String,
    /// `JwtConfiguration.Audience`: a token's `aud` must be one of them.
    pub audience: Vec<String>,
    /// The routes behind the JWT authorizer by route key (`GET /admin`), with their
    /// `AuthorizationScopes` (empty: any valid token).
    pub scopes: HashMap<String, Vec<String>>,
}

/// The nested `AWS::Serverless::Application` (found next to the template at `dir`) whose
/// template has a JWT authorizer, read with the parent's parameters; `None` when there is none.
pub(super) fn jwt_api(
    r: &Resolver,
    resources: &serde_norway::Mapping,
    dir: &Path,
) -> Result<Option<JwtApi>, TemplateError> {
    for app in resources.values() {
        if app.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Application") {
            continue;
        }
        let Some(location) = get(app, &["Properties", "Location"]).and_then(Value::as_str) else {
            continue;
        };
        // A nested template that is not there (a template copied elsewhere) has no JWT API
        // to serve; the JWT-authorizer mode then says that none was found.
        let Ok(text) = std::fs::read_to_string(dir.join(location)) else {
            continue;
        };
        let nested: Value = serde_norway::from_str(&text)?;
        let Some(nested_resources) = nested.get("Resources").and_then(Value::as_mapping) else {
            continue;
        };
        let jwt = |v: &&Value| {
            v.get("Type").and_then(Value::as_str) == Some("AWS::ApiGatewayV2::Authorizer")
                && get(v, &["Properties", "AuthorizerType"]).and_then(Value::as_str) == Some("JWT")
        };
        if !nested_resources.values().any(|v| jwt(&v)) {
            continue;
        }
        let parameter = |name: &str| -> Result<String, TemplateError> {
            let value = get(app, &["Properties", "Parameters", name])
                .ok_or_else(|| unsupported(format!("{location}: no {name} parameter is passed")))?;
            r.text(value, name)
        };
        let mut scopes = HashMap::new();
        for route in nested_resources.values() {
            if route.get("Type").and_then(Value::as_str) != Some("AWS::ApiGatewayV2::Route")
                || get(route, &["Properties", "AuthorizationType"]).and_then(Value::as_str)
                    != Some("JWT")
            {
                continue;
            }
            let key = get(route, &["Properties", "RouteKey"])
                .and_then(Value::as_str)
                .ok_or_else(|| unsupported(format!("{location}: a route without RouteKey")))?;
            let names = get(route, &["Properties", "AuthorizationScopes"])
                .and_then(Value::as_sequence)
                .map(|s| {
                    s.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            scopes.insert(key.to_owned(), names);
        }
        return Ok(Some(JwtApi {
            issuer: parameter("Issuer")?,
            audience: vec![parameter("Audience")?],
            scopes,
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Stack;

    #[test]
    fn the_projects_jwt_api_is_read_with_its_scopes_and_issuer() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let overrides =
            HashMap::from([("JwtIssuer".to_owned(), "https://auth.example".to_owned())]);
        let stack = Stack::load(&root, &overrides).unwrap();
        let jwt = stack.jwt_api.expect("the template nests jwt-api.yaml");
        assert_eq!(jwt.issuer, "https://auth.example");
        assert_eq!(jwt.audience, ["lambda-auth-api"]);
        assert_eq!(jwt.scopes["GET /admin"], ["admin"]);
        assert!(jwt.scopes["GET /hello"].is_empty());
        assert!(
            !jwt.scopes.contains_key("POST /token"),
            "public routes are not behind it"
        );
    }
}
