//! `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`: the public keys
//! of the key ring and the issuer's metadata (OpenID Connect Discovery 1.0, RFC 8414), so that
//! others (API Gateway's JWT authorizer, PyJWT, any service) verify tokens without a secret.
//!
//! Both documents are built once at start-up from the same key ring the issuer signs with;
//! only public JWKs ever reach them. With an HS256 current key there is nothing public: both
//! answer 404 with a JSON body that says so.

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

use authcore::{Config, KeyRing};

/// How long clients and caches may keep the documents: the least time a next key must be
/// published before it is promoted (README, "Rotating an ES256 key").
pub const MAX_AGE_SECONDS: u32 = 300;

/// The path of the key set under the issuer.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The path of the discovery document under the issuer.
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";

/// Which document a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// The JWK set.
    Jwks,
    /// The OpenID provider metadata.
    OpenIdConfiguration,
}

impl Document {
    /// The document `path` names, by its last two segments (the REST API's path carries the
    /// stage's resource path).
    pub fn of(path: &str) -> Option<Self> {
        let path = path.trim_end_matches('/');
        if path.ends_with(JWKS_PATH) {
            Some(Self::Jwks)
        } else if path.ends_with(OPENID_CONFIGURATION_PATH) {
            Some(Self::OpenIdConfiguration)
        } else {
            None
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Jwks => "jwks",
            Self::OpenIdConfiguration => "openid_configuration",
        }
    }
}

/// The issuer metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2.
#[derive(Serialize)]
struct Metadata<'a> {
    issuer: &'a str,
    jwks_uri: String,
    token_endpoint: String,
    revocation_endpoint: String,
    grant_types_supported: [&'static str; 2],
    token_endpoint_auth_methods_supported: [&'static str; 1],
    revocation_endpoint_auth_methods_supported: [&'static str; 1],
    response_types_supported: [&'static str; 1],
    subject_types_supported: [&'static str; 1],
    id_token_signing_alg_values_supported: [&'static str; 1],
    scopes_supported: &'a [String],
    claims_supported: [&'static str; 10],
}

/// The two documents, serialised once; `None` when the issuer signs with HS256.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    documents: Option<(String, String)>,
}

impl Discovery {
    /// The documents for `ring` under the configured issuer, which must be the URL that serves
    /// them. `scopes` are the scopes tokens may carry.
    pub fn new(ring: &KeyRing, config: &Config, scopes: &[String]) -> Self {
        let Some(jwks) = ring.jwks() else {
            return Self::default();
        };
        let issuer = config.issuer.trim_end_matches('/');
        let metadata = Metadata {
            issuer: &config.issuer,
            jwks_uri: format!("{issuer}{JWKS_PATH}"),
            token_endpoint: format!("{issuer}/token"),
            revocation_endpoint: format!("{issuer}/revoke"),
            grant_types_supported: ["password", "refresh_token"],
            // Public clients: a browser page or curl, no client secret.
            token_endpoint_auth_methods_supported: ["none"],
            revocation_endpoint_auth_methods_supported: ["none"],
            // Required by OpenID Connect Discovery; this issuer has no authorization endpoint,
            // and its tokens come from the token endpoint alone.
            response_types_supported: ["token"],
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: ["ES256"],
            scopes_supported: scopes,
            claims_supported: [
                "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "email", "name", "roles",
            ],
        };
        let documents = serde_json::to_string(&jwks)
            .and_then(|jwks| Ok((jwks, serde_json::to_string(&metadata)?)))
            .ok();
        Self { documents }
    }

    /// Whether the documents are served (an ES256 current key).
    pub fn published(&self) -> bool {
        self.documents.is_some()
    }

    /// Answers a request for `document` and logs its one event.
    pub fn answer(&self, document: Document, method: &Method, request_id: &str) -> Response<Body> {
        let body = self
            .documents
            .as_ref()
            .map(|(jwks, metadata)| match document {
                Document::Jwks => jwks,
                Document::OpenIdConfiguration => metadata,
            });
        let (status, body, cache) = match (method, body) {
            (&Method::GET | &Method::HEAD, Some(body)) => (
                StatusCode::OK,
                body.clone(),
                format!("public, max-age={MAX_AGE_SECONDS}"),
            ),
            (&Method::GET | &Method::HEAD, None) => (
                StatusCode::NOT_FOUND,
                error_body(
                    "not_found",
                    "this issuer signs with HS256, a shared secret: it has no public keys to \
                     publish; deploy with SigningAlgorithm=ES256 to publish them",
                ),
                "no-store".to_owned(),
            ),
            _ => (
                StatusCode::METHOD_NOT_ALLOWED,
                error_body("invalid_request", "use GET"),
                "no-store".to_owned(),
            ),
        };
        tracing::info!(
            outcome = if status == StatusCode::OK {
                "served"
            } else {
                "refused"
            },
            document = document.word(),
            status = status.as_u16(),
            request_id,
            "discovery request"
        );
        let mut response = Response::new(Body::Text(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(value) = HeaderValue::from_str(&cache) {
            headers.insert(header::CACHE_CONTROL, value);
        }
        if status == StatusCode::METHOD_NOT_ALLOWED {
            headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        }
        response
    }
}

fn error_body(error: &str, description: &str) -> String {
    serde_json::json!({"error": error, "error_description": description}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use authcore::EcKey;

    fn config() -> Config {
        let lookup = authcore::settings::from_pairs(&[
            ("JWT_SECRET", "unit-test-secret-0123456789abcdef-0123456789"),
            ("JWT_ISSUER", "https://auth.example.com/prod"),
        ]);
        Config::read(&authcore::Vars::new(&lookup)).unwrap()
    }

    fn body(response: &Response<Body>) -> serde_json::Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn paths_name_their_documents() {
        assert_eq!(
            Document::of("/prod/.well-known/jwks.json"),
            Some(Document::Jwks)
        );
        assert_eq!(
            Document::of("/.well-known/openid-configuration/"),
            Some(Document::OpenIdConfiguration)
        );
        assert_eq!(Document::of("/token"), None);
        assert_eq!(Document::of("/jwks.json"), None);
    }

    #[test]
    fn an_es256_issuer_publishes_its_keys_and_metadata_for_caching() {
        let key = EcKey::generate().unwrap();
        let ring = KeyRing::local(key.clone(), None);
        let d = Discovery::new(&ring, &config(), &["orders:read".to_owned()]);
        let jwks = d.answer(Document::Jwks, &Method::GET, "r");
        assert_eq!(jwks.status(), StatusCode::OK);
        assert_eq!(jwks.headers()[header::CACHE_CONTROL], "public, max-age=300");
        assert_eq!(body(&jwks)["keys"][0]["kid"], key.kid());
        let meta = body(&d.answer(Document::OpenIdConfiguration, &Method::GET, "r"));
        assert_eq!(meta["issuer"], "https://auth.example.com/prod");
        assert_eq!(
            meta["jwks_uri"],
            "https://auth.example.com/prod/.well-known/jwks.json"
        );
        assert_eq!(
            meta["token_endpoint"],
            "https://auth.example.com/prod/token"
        );
        assert_eq!(
            meta["revocation_endpoint"],
            "https://auth.example.com/prod/revoke"
        );
        assert_eq!(meta["id_token_signing_alg_values_supported"][0], "ES256");
        assert_eq!(meta["scopes_supported"][0], "orders:read");
    }

    #[test]
    fn an_hs256_issuer_answers_404_with_a_reason() {
        let c = config();
        let authcore::KeySource::Inline(ring) = &c.key_source else {
            panic!("inline keys expected")
        };
        let d = Discovery::new(ring, &c, &[]);
        assert!(!d.published());
        for doc in [Document::Jwks, Document::OpenIdConfiguration] {
            let r = d.answer(doc, &Method::GET, "r");
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
            let b = body(&r);
            assert_eq!(b["error"], "not_found");
            assert!(b["error_description"].as_str().unwrap().contains("ES256"));
        }
    }

    #[test]
    fn other_methods_are_refused() {
        let ring = KeyRing::local(EcKey::generate().unwrap(), None);
        let d = Discovery::new(&ring, &config(), &[]);
        let r = d.answer(Document::Jwks, &Method::POST, "r");
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()[header::ALLOW], "GET, HEAD");
    }
}
