//! ES256 end to end, on both API flavours: the real binaries behind the local gateway issue
//! ES256 tokens, the authorizer accepts them, the stack serves its discovery document and key
//! set, and libraries nobody here wrote (PyJWT's PyJWKClient, Authlib) verify a token through
//! them. An HS256 stack answers both documents with a JSON 404.

use std::path::Path;
use std::process::Command;

use authcore::EcKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use local_gateway::Flavour;
use serde_json::{Value, json};

mod common;
use common::{BASE_URL, Reply, http};

const AUDIENCE: &str = "lambda-auth-api";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sign_in(base: &str, email: &str, password: &str) -> String {
    let r = http(
        "POST",
        &format!("{base}/token"),
        &[("Content-Type", "application/json")],
        Some(&json!({"email": email, "password": password}).to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["access_token"].as_str().unwrap().to_owned()
}

fn part(token: &str, i: usize) -> Value {
    let text = B64.decode(token.split('.').nth(i).unwrap()).unwrap();
    serde_json::from_slice(&text).unwrap()
}

/// RFC 7638: SHA-256 over `{"crv","kty","x","y"}` in that order, base64url.
fn thumbprint(jwk: &Value) -> String {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
        jwk["crv"].as_str().unwrap(),
        jwk["kty"].as_str().unwrap(),
        jwk["x"].as_str().unwrap(),
        jwk["y"].as_str().unwrap()
    );
    B64.encode(ring::digest::digest(
        &ring::digest::SHA256,
        canonical.as_bytes(),
    ))
}

fn get(url: &str) -> Reply {
    http("GET", url, &[], None)
}

fn es256_end_to_end(api: Flavour) {
    let email = format!("es256-{api:?}@example.com").to_ascii_lowercase();
    let (moto, _secret, password) = common::moto_with_reader(&email);
    let key = EcKey::generate().unwrap();
    let (_gateway, base) = common::serve(
        &root().join("template.yaml"),
        api,
        &moto.endpoint(),
        &key.to_pem(),
        &[("SigningAlgorithm", "ES256"), ("JwtIssuer", BASE_URL)],
        &[],
    );

    // Issued: ES256, under the key's thumbprint, for this issuer.
    let token = sign_in(&base, &email, &password);
    let header = part(&token, 0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["kid"], key.kid());
    let claims = part(&token, 1);
    assert_eq!(claims["iss"], base.as_str());

    // The authorizer verifies it with the key from the same secret.
    let hello = http(
        "GET",
        &format!("{base}/hello"),
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    );
    assert_eq!(hello.status, 200, "{}", hello.body);
    let forged = format!("{}x", &token[..token.len() - 1]);
    let refused = http(
        "GET",
        &format!("{base}/hello"),
        &[("Authorization", &format!("Bearer {forged}"))],
        None,
    );
    assert!(matches!(refused.status, 401 | 403), "{}", refused.status);

    // The discovery document: public, cacheable, naming this issuer's endpoints.
    let meta = get(&format!("{base}/.well-known/openid-configuration"));
    assert_eq!(meta.status, 200, "{}", meta.body);
    assert_eq!(meta.headers["cache-control"], "public, max-age=300");
    assert_eq!(meta.body["issuer"], base.as_str());
    assert_eq!(
        meta.body["jwks_uri"],
        format!("{base}/.well-known/jwks.json")
    );
    assert_eq!(meta.body["token_endpoint"], format!("{base}/token"));
    assert_eq!(meta.body["revocation_endpoint"], format!("{base}/revoke"));
    assert_eq!(
        meta.body["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );

    // The key set: public keys only, each fully described and named by its thumbprint.
    let jwks = get(&format!("{base}/.well-known/jwks.json"));
    assert_eq!(jwks.status, 200, "{}", jwks.body);
    assert_eq!(jwks.headers["cache-control"], "public, max-age=300");
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.body.clone()).unwrap();
    assert_eq!(set.keys.len(), 1);
    for jwk in jwks.body["keys"].as_array().unwrap() {
        let mut names: Vec<_> = jwk.as_object().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(
            names,
            ["alg", "crv", "kid", "kty", "use", "x", "y"],
            "{jwk}"
        );
        assert!(jwk.get("d").is_none(), "a private parameter was published");
        assert_eq!(
            (&jwk["kty"], &jwk["crv"], &jwk["alg"], &jwk["use"]),
            (
                &json!("EC"),
                &json!("P-256"),
                &json!("ES256"),
                &json!("sig")
            )
        );
        assert_eq!(jwk["kid"], thumbprint(jwk));
    }
    assert_eq!(jwks.body["keys"][0]["kid"], key.kid());

    // Someone else's libraries, through the served documents.
    let python = root().join(".venv/bin/python");
    let out = Command::new(&python)
        .arg(root().join("tests/third_party_verify.py"))
        .args([base.as_str(), AUDIENCE, token.as_str()])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}: run `make venv`", python.display()));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified: Value = serde_json::from_str(said.trim()).unwrap();
    assert_eq!(verified["sub"], claims["sub"]);
    assert_eq!(verified["kid"], key.kid());
    assert_eq!(verified["issuer"], base.as_str());

    // The same libraries refuse a token altered after signing.
    let out = Command::new(&python)
        .arg(root().join("tests/third_party_verify.py"))
        .args([base.as_str(), AUDIENCE, forged.as_str()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "PyJWT accepted an altered token");
}

#[test]
fn es256_tokens_verify_through_the_served_key_set_on_the_rest_api() {
    es256_end_to_end(Flavour::Rest);
}

#[test]
fn es256_tokens_verify_through_the_served_key_set_on_the_http_api() {
    es256_end_to_end(Flavour::Http);
}

#[test]
fn an_hs256_stack_answers_the_discovery_documents_with_a_json_404() {
    let (moto, secret, _) = common::moto_with_reader("hs256-discovery@example.com");
    for api in [Flavour::Rest, Flavour::Http] {
        let (_gateway, base) = common::serve(
            &root().join("template.yaml"),
            api,
            &moto.endpoint(),
            &secret,
            &[],
            &[],
        );
        for path in ["jwks.json", "openid-configuration"] {
            let r = get(&format!("{base}/.well-known/{path}"));
            assert_eq!(r.status, 404, "{api:?} {path}: {}", r.body);
            assert_eq!(r.body["error"], "not_found", "{api:?} {path}");
            assert!(
                r.body["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("HS256"),
                "{}",
                r.body
            );
        }
    }
}

#[test]
fn an_es256_stack_refuses_to_start_with_an_hs256_key() {
    let (moto, secret, _) = common::moto_with_reader("mismatch@example.com");
    let (_gateway, base) = common::serve(
        &root().join("template.yaml"),
        Flavour::Rest,
        &moto.endpoint(),
        &secret,
        &[("SigningAlgorithm", "ES256")],
        &[],
    );
    let r = http(
        "POST",
        &format!("{base}/token"),
        &[("Content-Type", "application/json")],
        Some(r#"{"email":"mismatch@example.com","password":"whatever-it-is"}"#),
    );
    // The function exits at start-up; API Gateway answers 502 for it.
    assert_eq!(r.status, 502, "{}", r.body);
}

#[test]
#[ignore = "runs against a deployed stack: set API_URL, EMAIL and PASSWORD of a user who is no admin (optionally JWT_API_URL, the JwtHttpApiUrl output of a stack with JwtAuthorizer=on), then `make test-deployed`"]
fn a_deployed_stack_publishes_what_verifies_its_tokens() {
    let need = |k: &str| {
        std::env::var(k)
            .unwrap_or_else(|_| panic!("{k} is not set: see the ignore reason of this test"))
    };
    let base = need("API_URL").trim_end_matches('/').to_owned();
    let token = sign_in(&base, &need("EMAIL"), &need("PASSWORD"));
    let meta = get(&format!("{base}/.well-known/openid-configuration"));
    if part(&token, 0)["alg"] == "HS256" {
        // An HS256 stack publishes nothing, and says why.
        assert_eq!(meta.status, 404, "{}", meta.body);
        assert_eq!(meta.body["error"], "not_found");
        return;
    }
    assert_eq!(meta.status, 200, "{}", meta.body);
    let claims = part(&token, 1);
    let issuer = meta.body["issuer"].as_str().unwrap().to_owned();
    assert_eq!(
        claims["iss"],
        issuer.as_str(),
        "the document's issuer is the tokens'"
    );
    if base.starts_with("https://") {
        assert!(issuer.starts_with("https://"), "{issuer}");
    }
    let python = root().join(".venv/bin/python");
    let out = Command::new(&python)
        .arg(root().join("tests/third_party_verify.py"))
        .args([
            issuer.as_str(),
            claims["aud"].as_str().unwrap(),
            token.as_str(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}: run `make venv`", python.display()));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // API Gateway's own JWT authorizer, with JwtAuthorizer=on: the same token, no function.
    if let Ok(jwt_api) = std::env::var("JWT_API_URL") {
        let jwt_api = jwt_api.trim_end_matches('/');
        let bearer = format!("Bearer {token}");
        let call = |path: &str, auth: Option<&str>| {
            let headers: Vec<(&str, &str)> =
                auth.map(|a| ("Authorization", a)).into_iter().collect();
            http("GET", &format!("{jwt_api}{path}"), &headers, None)
        };
        assert_eq!(call("/hello", Some(&bearer)).status, 200);
        let admin = call("/admin", Some(&bearer));
        assert_eq!(
            (admin.status, admin.body.clone()),
            (403, json!({"message": "Forbidden"}))
        );
        assert_eq!(call("/hello", None).status, 401);
    }
}
