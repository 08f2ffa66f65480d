//! The HTTP API in the JWT-authorizer mode (`make dev API=http AUTHORIZER=jwt SIGNING=ES256`):
//! the local gateway checks ES256 tokens as API Gateway's JWT authorizer does, against the key
//! set and discovery document the stack itself serves, with each route's scopes from
//! `jwt-api.yaml`, and answers with API Gateway's documented 401 and 403. check-token is never
//! called.

use std::path::Path;

use authcore::token::{Subject, now_seconds};
use authcore::{Config, EcKey, KeySource, TokenIssuer};
use local_gateway::{AuthorizerMode, Flavour};
use serde_json::json;

mod common;
use common::{BASE_URL, Reply, http};

const AUDIENCE: &str = "lambda-auth-api";

/// Tokens signed with `key` for `issuer` and `audience`, as `authenticate` would sign them.
fn mint(key: &EcKey, issuer: &str, audience: &str, roles: &[&str], at: u64) -> String {
    let pem = key.to_pem();
    let lookup = authcore::settings::from_pairs(&[
        ("JWT_SECRET", pem.as_str()),
        ("JWT_ISSUER", issuer),
        ("JWT_AUDIENCE", audience),
    ]);
    let config = Config::read(&authcore::Vars::new(&lookup)).unwrap();
    let KeySource::Inline(ring) = &config.key_source else {
        panic!("an inline key")
    };
    let subject = Subject {
        sub: "u_jwt".into(),
        name: Some("Jay".into()),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        ..Default::default()
    };
    TokenIssuer::from_ring(ring, &config)
        .issue_at(subject, at)
        .unwrap()
        .token
}

fn call(base: &str, path: &str, token: Option<&str>) -> Reply {
    let header = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = header
        .iter()
        .map(|h| ("Authorization", h.as_str()))
        .collect();
    http("GET", &format!("{base}{path}"), &headers, None)
}

fn challenge(r: &Reply) -> &str {
    r.headers
        .get("www-authenticate")
        .map(String::as_str)
        .unwrap_or("")
}

#[test]
fn the_jwt_authorizer_mode_checks_tokens_like_api_gateway() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let email = "jwt-mode@example.com";
    let (moto, _secret, password) = common::moto_with_reader(email);
    let key = EcKey::generate().unwrap();
    let (gateway, base) = common::serve_guarded(
        &root.join("template.yaml"),
        Flavour::Http,
        AuthorizerMode::Jwt,
        &moto.endpoint(),
        &key.to_pem(),
        &[
            ("SigningAlgorithm", "ES256"),
            ("JwtIssuer", BASE_URL),
            ("JwtAuthorizer", "on"),
        ],
        &[],
    );
    let now = now_seconds();

    // A token from the stack's own /token opens /hello; the backend sees the token's claims.
    let signed = http(
        "POST",
        &format!("{base}/token"),
        &[("Content-Type", "application/json")],
        Some(&json!({"email": email, "password": password}).to_string()),
    );
    assert_eq!(signed.status, 200, "{}", signed.body);
    let reader = signed.body["access_token"].as_str().unwrap();
    let hello = call(&base, "/hello", Some(reader));
    assert_eq!(hello.status, 200, "{}", hello.body);
    assert_eq!(hello.body["message"], "Hello, Local Demo!");
    assert_eq!(hello.body["context"]["scope"], "reader");
    assert_eq!(hello.body["context"]["iss"], base.as_str());

    // The route's scopes: a reader may not call /admin; an admin may.
    let denied = call(&base, "/admin", Some(reader));
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.body, json!({"message": "Forbidden"}));
    assert!(
        challenge(&denied).contains(r#"error="insufficient_scope""#),
        "{}",
        challenge(&denied)
    );
    let admin = mint(&key, &base, AUDIENCE, &["admin"], now);
    assert_eq!(call(&base, "/admin", Some(&admin)).status, 200);
    // Without the Bearer prefix too, as API Gateway takes it.
    let bare = http(
        "GET",
        &format!("{base}/admin"),
        &[("Authorization", admin.as_str())],
        None,
    );
    assert_eq!(bare.status, 200, "{}", bare.body);

    // No token: 401 without a description. Failed checks: 401 saying which.
    let none = call(&base, "/hello", None);
    assert_eq!((none.status, challenge(&none)), (401, ""));
    assert_eq!(none.body, json!({"message": "Unauthorized"}));
    let other_key = EcKey::generate().unwrap();
    let hs256 = testkit::mint(
        &authcore::generate_secret().unwrap(),
        Subject {
            sub: "x".into(),
            ..Default::default()
        },
        now,
    );
    for (token, says) in [
        (
            mint(&key, &base, AUDIENCE, &["reader"], now - 3_600),
            "expired",
        ),
        (
            mint(&key, &base, "another-api", &["reader"], now),
            "audience",
        ),
        (
            mint(&key, "https://elsewhere.example", AUDIENCE, &[], now),
            "issuer",
        ),
        (
            mint(&other_key, &base, AUDIENCE, &["reader"], now),
            "key set",
        ),
        (hs256, "kid"),
        ("not.a.token".to_owned(), "not a valid JWT"),
    ] {
        let r = call(&base, "/hello", Some(&token));
        assert_eq!(r.status, 401, "{says}: {}", r.body);
        assert_eq!(r.body, json!({"message": "Unauthorized"}));
        assert!(
            challenge(&r).contains(r#"error="invalid_token""#) && challenge(&r).contains(says),
            "{says}: {}",
            challenge(&r)
        );
    }
    // A token altered after signing.
    let mut forged = reader.to_owned();
    forged.pop();
    forged.push(if reader.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(call(&base, "/hello", Some(&forged)).status, 401);

    // The public routes stay public, and no authorizer function ran for any of this.
    assert_eq!(call(&base, "/.well-known/jwks.json", None).status, 200);
    assert_eq!(gateway.authorizer_calls(), 0, "check-token was called");
}

#[test]
fn the_jwt_authorizer_mode_needs_the_http_api_and_the_nested_template() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = common::bin_dir();
    let mut options = local_gateway::Options::new(root.join("template.yaml"), bin_dir);
    options.authorizer = AuthorizerMode::Jwt;
    options.api = Flavour::Rest;
    let err = local_gateway::Gateway::start(&options).err().unwrap();
    assert!(err.to_string().contains("--api http"), "{err}");
}
