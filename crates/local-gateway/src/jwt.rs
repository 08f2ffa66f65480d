//! API Gateway's JWT authorizer of an HTTP API, locally (`--authorizer jwt`): the token from
//! the `Authorization` header (bare, or after `Bearer `), its key found by `kid` in the key set
//! that the issuer's discovery document names, the signature, `iss`, `aud`, `exp` and `nbf`
//! checked, and at least one of the route's scopes in its `scope` (or `scp`) claim.
//!
//! Answers as API Gateway documents them: no token, 401 `{"message":"Unauthorized"}`; a token
//! that fails a check, the same 401 with `www-authenticate: Bearer scope="" error="invalid_token"
//! error_description="..."`; a valid token without the route's scopes, 403
//! `{"message":"Forbidden"}` with `error="insufficient_scope"`. The backend gets the claims in
//! `requestContext.authorizer.jwt`.
//!
//! The discovery document and the key set are read from the stack this gateway serves (by the
//! paths of the issuer and of `jwks_uri`), and kept; an unknown `kid` reads them again, at
//! most once every [`REFETCH_EVERY`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::ApiGatewayRequestAuthorizerJwtDescription;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value, json};

use crate::template::JwtApi;

/// The shortest time between two readings of the key set.
pub const REFETCH_EVERY: Duration = Duration::from_secs(5);

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No token: 401 without a `www-authenticate` description.
    Missing,
    /// The token failed a check: 401, with what failed.
    Invalid(&'static str),
    /// The token is valid but has none of the route's scopes: 403.
    Scope(Vec<String>),
}

impl Refusal {
    /// The status, the `www-authenticate` header (if any) and the body API Gateway sends.
    pub fn answer(&self) -> (u16, Option<String>, String) {
        match self {
            Self::Missing => (401, None, json!({"message": "Unauthorized"}).to_string()),
            Self::Invalid(why) => (
                401,
                Some(format!(
                    r#"Bearer scope="" error="invalid_token" error_description="{why}""#
                )),
                json!({"message": "Unauthorized"}).to_string(),
            ),
            Self::Scope(wanted) => (
                403,
                Some(format!(
                    r#"Bearer scope="{}" error="insufficient_scope" error_description="the token does not have the required scopes""#,
                    wanted.join(" ")
                )),
                json!({"message": "Forbidden"}).to_string(),
            ),
        }
    }
}

/// The authorizer: its configuration and the key set it last read.
#[derive(Debug)]
pub struct JwtAuthorizer {
    api: JwtApi,
    keys: Mutex<(Option<JwkSet>, Option<Instant>)>,
}

impl JwtAuthorizer {
    /// The authorizer `api` declares.
    pub fn new(api: JwtApi) -> Self {
        authcore::token::install_crypto();
        Self {
            api,
            keys: Mutex::new((None, None)),
        }
    }

    /// Whether `route_key` is behind this authorizer.
    pub fn protects(&self, route_key: &str) -> bool {
        self.api.scopes.contains_key(route_key)
    }

    /// Checks the `authorization` header of a request to `route_key`. `get` reads a path of
    /// the stack served (the discovery document, the key set) as JSON. Gives the
    /// `requestContext.authorizer.jwt` of the backend's event.
    pub fn check(
        &self,
        route_key: &str,
        authorization: Option<&str>,
        get: impl Fn(&str) -> Option<Value>,
    ) -> Result<ApiGatewayRequestAuthorizerJwtDescription, Refusal> {
        let header = authorization.map(str::trim).filter(|h| !h.is_empty());
        let token = header.ok_or(Refusal::Missing)?;
        let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
        let head = jsonwebtoken::decode_header(token)
            .map_err(|_| Refusal::Invalid("the token is not a valid JWT"))?;
        let kid = head
            .kid
            .ok_or(Refusal::Invalid("the token has no kid header"))?;
        let jwk = self.key(&kid, &get).ok_or(Refusal::Invalid(
            "the token's kid is not in the issuer's key set",
        ))?;
        let key = DecodingKey::from_jwk(&jwk)
            .map_err(|_| Refusal::Invalid("the issuer's key is not usable"))?;
        let mut validation = Validation::new(head.alg);
        validation.set_issuer(&[&self.api.issuer]);
        validation.set_audience(&self.api.audience);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| Refusal::Invalid(describe(e.kind())))?
            .claims;
        let granted = token_scopes(&claims);
        let wanted = &self.api.scopes[route_key];
        if !wanted.is_empty() && !wanted.iter().any(|s| granted.contains(s)) {
            return Err(Refusal::Scope(wanted.clone()));
        }
        let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
        jwt.claims = claims
            .iter()
            .map(|(k, v)| (k.clone(), as_text(v)))
            .collect();
        jwt.scopes = Some(granted);
        Ok(jwt)
    }

    /// The key `kid` of the issuer's key set, read again when it is not there (at most once
    /// every [`REFETCH_EVERY`]).
    fn key(
        &self,
        kid: &str,
        get: &impl Fn(&str) -> Option<Value>,
    ) -> Option<jsonwebtoken::jwk::Jwk> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = keys.0.as_ref().and_then(|set| set.find(kid)) {
            return Some(found.clone());
        }
        if keys.1.is_some_and(|at| at.elapsed() < REFETCH_EVERY) {
            return None;
        }
        keys.1 = Some(Instant::now());
        let issuer_path = path_of(&self.api.issuer);
        let discovery = get(&format!(
            "{}/.well-known/openid-configuration",
            issuer_path.trim_end_matches('/')
        ))?;
        let jwks_uri = discovery.get("jwks_uri")?.as_str()?;
        let set: JwkSet = serde_json::from_value(get(&path_of(jwks_uri))?).ok()?;
        keys.0 = Some(set);
        keys.0.as_ref()?.find(kid).cloned()
    }
}

/// The path of `url` (`https://host/prod` is `/prod`; a bare host is empty).
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/')
        .map_or(String::new(), |i| rest[i..].to_owned())
}

/// The scopes a token carries: `scope` (space-separated) or `scp` (a list or a string).
fn token_scopes(claims: &Map<String, Value>) -> Vec<String> {
    let words = |v: &Value| match v {
        Value::String(s) => s
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    claims
        .get("scope")
        .or_else(|| claims.get("scp"))
        .map(words)
        .unwrap_or_default()
}

/// A claim as API Gateway hands it to the backend: text; a list as `[a b]`.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(as_text).collect::<Vec<_>>().join(" ")),
        other => other.to_string(),
    }
}

/// What API Gateway's `error_description` says for each failed check.
fn describe(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::ExpiredSignature => "the token has expired",
        K::ImmatureSignature => "the token is not valid yet",
        K::InvalidIssuer => "the token does not have a valid issuer",
        K::InvalidAudience => "the token does not have a valid audience",
        K::InvalidSignature => "the token has an invalid signature",
        K::InvalidAlgorithm => "the token's algorithm is not its key's",
        K::MissingRequiredClaim(_) => "the token lacks a required claim",
        _ => "the token is invalid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn paths_of_issuers_and_key_sets() {
        assert_eq!(path_of("https://abc.example/prod"), "/prod");
        assert_eq!(path_of("http://127.0.0.1:3000"), "");
        assert_eq!(
            path_of("http://127.0.0.1:3000/.well-known/jwks.json"),
            "/.well-known/jwks.json"
        );
    }

    #[test]
    fn scopes_come_from_scope_or_scp() {
        let claims = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(token_scopes(&claims(json!({"scope": "a b"}))), ["a", "b"]);
        assert_eq!(token_scopes(&claims(json!({"scp": ["c"]}))), ["c"]);
        assert!(token_scopes(&claims(json!({}))).is_empty());
    }

    #[test]
    fn claims_reach_the_backend_as_text() {
        assert_eq!(as_text(&json!(["reader", "admin"])), "[reader admin]");
        assert_eq!(as_text(&json!(1_800_000_000)), "1800000000");
    }

    #[test]
    fn refusals_are_api_gateways_answers() {
        let (status, header, body) = Refusal::Missing.answer();
        assert_eq!(
            (status, header, body.as_str()),
            (401, None, r#"{"message":"Unauthorized"}"#)
        );
        let (status, header, _) = Refusal::Invalid("the token has expired").answer();
        assert_eq!(status, 401);
        assert!(header.unwrap().contains(r#"error="invalid_token""#));
        let (status, header, body) = Refusal::Scope(vec!["admin".into()]).answer();
        assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));
        assert!(header.unwrap().contains(r#"scope="admin""#));
    }

    #[test]
    fn no_token_is_missing_and_garbage_is_invalid() {
        let api = JwtApi {
            issuer: "http://127.0.0.1:1".into(),
            audience: vec!["aud".into()],
            scopes: HashMap::from([("GET /hello".to_owned(), Vec::new())]),
        };
        let jwt = JwtAuthorizer::new(api);
        let none = |_: &str| None;
        assert_eq!(jwt.check("GET /hello", None, none), Err(Refusal::Missing));
        assert_eq!(
            jwt.check("GET /hello", Some("  "), none),
            Err(Refusal::Missing)
        );
        assert!(matches!(
            jwt.check("GET /hello", Some("Bearer garbage"), none),
            Err(Refusal::Invalid(_))
        ));
    }
}
