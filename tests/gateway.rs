//! End to end through a gateway: the real binaries behind the local gateway and a real
//! moto_server, or a deployed stack when API_URL is set (`make test-deployed`).
//!
//! HTTP goes through curl, so that the deployed mode speaks HTTPS like any client.

use std::path::Path;

use std::time::Duration;

use authcore::token::now_seconds;
use local_gateway::{Flavour, Gateway};
use serde_json::{Value, json};

mod common;
use common::{Reply, http, start_gateway};

fn mint(secret: &str, sub: &str, at: u64) -> String {
    testkit::mint(
        secret,
        authcore::Subject {
            sub: sub.into(),
            ..Default::default()
        },
        at,
    )
}

/// What a client sees, whichever stack serves it.
struct Target {
    /// Which API serves it: the answers the gateway gives itself differ.
    api: Flavour,
    base: String,
    email: String,
    password: String,
    /// The signing secret, when known (local mode): for expired tokens.
    secret: Option<String>,
}

impl Target {
    /// A local stack of flavour `api` at `base`, whose signing secret is known.
    fn local(api: Flavour, base: &str, email: &str, password: &str, secret: &str) -> Self {
        Self {
            api,
            base: base.to_owned(),
            email: email.to_owned(),
            password: password.to_owned(),
            secret: Some(secret.to_owned()),
        }
    }

    fn token(&self) -> String {
        let r = http(
            "POST",
            &format!("{}/token", self.base),
            &[("Content-Type", "application/json")],
            Some(&json!({"email": self.email, "password": self.password}).to_string()),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    fn hello(&self, authorization: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> = authorization
            .map(|a| ("Authorization", a))
            .into_iter()
            .collect();
        http("GET", &format!("{}/hello", self.base), &headers, None)
    }
}

/// The checks that hold for the local stack and a deployed one alike, on either API.
fn black_box_checks(t: &Target) {
    let token = t.token();
    let ok = t.hello(Some(&format!("Bearer {token}")));
    assert_eq!(ok.status, 200, "{}", ok.body);
    // The principal is the user's stable id; the email travels as a claim of its own.
    let principal = ok.body["principalId"].as_str().unwrap_or_default();
    assert!(principal.starts_with("u_"), "{}", ok.body);
    assert_eq!(ok.body["context"]["email"], t.email.as_str());
    assert_eq!(ok.body["context"]["sub"], principal);
    // The scheme in any case.
    let lower = t.hello(Some(&format!("bearer {token}")));
    assert_eq!((lower.status, &lower.body), (200, &ok.body));
    // A bare token, as some clients send it: the REST API's validation expression refuses it at
    // the gateway; the HTTP API has none, and the authorizer accepts it.
    let bare = t.hello(Some(&token));
    match t.api {
        Flavour::Rest => assert_eq!(bare.status, 401, "{}", bare.body),
        Flavour::Http => assert_eq!((bare.status, &bare.body), (200, &ok.body)),
    }

    let no_header = t.hello(None);
    assert_eq!(
        (no_header.status, &no_header.body),
        (401, &json!({"message": "Unauthorized"}))
    );
    // The REST API's UNAUTHORIZED gateway response adds the header; HTTP APIs have no
    // gateway responses to customize.
    let www = no_header
        .headers
        .get("www-authenticate")
        .map(String::as_str);
    match t.api {
        Flavour::Rest => assert_eq!(www, Some("Bearer")),
        Flavour::Http => assert_eq!(www, None),
    }
    for garbage in [
        "garbage",
        "Bearer garbage",
        "Basic ZGVtbzpkZW1v",
        "Bearer a.b.c",
    ] {
        let r = t.hello(Some(garbage));
        assert_eq!(
            (r.status, &r.body),
            (401, &json!({"message": "Unauthorized"})),
            "{garbage}"
        );
    }
    let other_key = mint(
        &authcore::generate_secret().unwrap(),
        &t.email,
        now_seconds(),
    );
    assert_eq!(t.hello(Some(&format!("Bearer {other_key}"))).status, 401);
    if let Some(secret) = &t.secret {
        let expired = mint(secret, &t.email, now_seconds() - 7200);
        assert_eq!(t.hello(Some(&format!("Bearer {expired}"))).status, 401);
    }

    // /token errors come back with their status and OAuth 2.0 body through the gateway.
    let url = format!("{}/token", t.base);
    let json_ct = [("Content-Type", "application/json")];
    let wrong = http(
        "POST",
        &url,
        &json_ct,
        Some(&json!({"email": t.email, "password": "not it"}).to_string()),
    );
    assert_eq!(
        (wrong.status, wrong.body["error"].as_str()),
        (401, Some("invalid_grant"))
    );
    let malformed = http("POST", &url, &json_ct, Some("{\"email\": "));
    assert_eq!(
        (malformed.status, malformed.body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let grant = http(
        "POST",
        &url,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some("grant_type=client_credentials"),
    );
    assert_eq!(
        (grant.status, grant.body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let form = http(
        "POST",
        &url,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&format!(
            "grant_type=password&username={}&password={}",
            t.email.replace('@', "%40"),
            t.password
        )),
    );
    assert_eq!(form.status, 200, "{}", form.body);

    // Sessions: the refresh token rotates, /revoke ends the session, reuse is refused.
    let refresh = |token: &str| {
        http(
            "POST",
            &url,
            &json_ct,
            Some(&json!({"grant_type": "refresh_token", "refresh_token": token}).to_string()),
        )
    };
    let r1 = form.body["refresh_token"].as_str().unwrap().to_owned();
    let rotated = refresh(&r1);
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let r2 = rotated.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    // That answer lost on the way (a tunnel, a killed app): the client retries a second later
    // and keeps its session, with the same successor.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let retried = refresh(&r1);
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.body["refresh_token"].as_str(), Some(r2.as_str()));
    let fresh = rotated.body["access_token"].as_str().unwrap();
    assert_eq!(t.hello(Some(&format!("Bearer {fresh}"))).status, 200);
    let revoke = |token: &str| {
        http(
            "POST",
            &format!("{}/revoke", t.base),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(&format!("token={token}")),
        )
    };
    for token in [r2.as_str(), r2.as_str(), "unknown-token"] {
        let r = revoke(token);
        assert_eq!(r.status, 200, "{token}: {}", r.body);
    }
    for token in [r1.as_str(), r2.as_str()] {
        let r = refresh(token);
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
}

/// The origin allowed by the local stacks' `AllowedOrigins` (the first, which the REST API's own
/// answers name), another one it lists, and one it does not.
const ORIGIN: &str = "http://127.0.0.1:8000";
const SECOND_ORIGIN: &str = "https://app.example.com";
const EVIL_ORIGIN: &str = "https://evil.example";
const ALLOWED_ORIGINS: &str = "http://127.0.0.1:8000,https://app.example.com";

/// A CORS preflight for `method` with request `headers` on `path`, from `origin`.
fn preflight(t: &Target, path: &str, origin: &str, method: &str, headers: &str) -> Reply {
    http(
        "OPTIONS",
        &format!("{}{path}", t.base),
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", method),
            ("Access-Control-Request-Headers", headers),
        ],
        None,
    )
}

fn allow_origin(r: &Reply) -> Option<&str> {
    r.headers
        .get("access-control-allow-origin")
        .map(String::as_str)
}

/// What a browser on `origin` (the stack's first allowed origin) sees, on either API: preflight
/// answered by the gateway without the authorizer, and `Access-Control-Allow-Origin` on every
/// answer a page must read (200, 400, 401); nothing for another origin, and nothing new for a
/// request without `Origin`. `calls` counts authorizer invocations, when known (local mode).
fn cors_checks(t: &Target, origin: &str, calls: Option<&dyn Fn() -> u64>) {
    let before = calls.map(|c| c());
    let expected_preflight = match t.api {
        Flavour::Rest => 200,
        Flavour::Http => 204,
    };
    for (path, method, headers) in [
        ("/token", "POST", "content-type"),
        ("/hello", "GET", "authorization"),
    ] {
        let ok = preflight(t, path, origin, method, headers);
        assert_eq!(
            ok.status, expected_preflight,
            "preflight {path}: {}",
            ok.body
        );
        assert_eq!(allow_origin(&ok), Some(origin), "preflight {path}");
        let methods = &ok.headers["access-control-allow-methods"];
        assert!(
            methods.split(',').any(|m| m.trim() == method),
            "{path}: {methods}"
        );
        let allowed = ok.headers["access-control-allow-headers"].to_ascii_lowercase();
        assert!(
            allowed.split(',').any(|h| h.trim() == headers),
            "{path}: {allowed}"
        );
        assert!(ok.headers.contains_key("access-control-max-age"), "{path}");

        // Another origin is never allowed: the HTTP API gives it no CORS headers at all; the
        // REST API's static answer names the stack's origin, which the browser then refuses.
        let evil = preflight(t, path, EVIL_ORIGIN, method, headers);
        assert_eq!(evil.status, expected_preflight, "{path}");
        match t.api {
            Flavour::Http => {
                assert_eq!(allow_origin(&evil), None, "{path}");
                assert!(!evil.headers.contains_key("access-control-allow-methods"));
            }
            Flavour::Rest => assert_eq!(allow_origin(&evil), Some(origin), "{path}"),
        }
        // An unexpected method or header is not allowed either.
        for (m, h) in [("DELETE", headers), (method, "x-evil")] {
            let odd = preflight(t, path, origin, m, h);
            let methods = odd.headers.get("access-control-allow-methods");
            let allowed = odd.headers.get("access-control-allow-headers");
            assert!(
                !methods.is_some_and(|v| v.contains(m) && m == "DELETE")
                    && !allowed.is_some_and(|v| v.contains("x-evil")),
                "{path}: {m} {h}: {:?}",
                odd.headers
            );
        }
    }
    if let (Some(calls), Some(before)) = (calls, before) {
        assert_eq!(calls(), before, "preflight reached the authorizer");
    }

    let from = |o: &str| [("Origin", o.to_owned())];
    let token_url = format!("{}/token", t.base);
    let sign_in = |o: &str, body: &str| {
        let headers = [("Origin", o), ("Content-Type", "application/json")];
        http("POST", &token_url, &headers, Some(body))
    };
    let good = json!({"email": t.email, "password": t.password}).to_string();
    let wrong = json!({"email": t.email, "password": "not it"}).to_string();
    let token = {
        let r = sign_in(origin, &good);
        assert_eq!(
            (r.status, allow_origin(&r)),
            (200, Some(origin)),
            "{}",
            r.body
        );
        assert!(
            r.headers
                .get("vary")
                .is_some_and(|v| v.to_ascii_lowercase().contains("origin")),
            "{:?}",
            r.headers
        );
        r.body["access_token"].as_str().unwrap().to_owned()
    };
    for (body, status) in [(wrong.as_str(), 401), ("{\"email\": ", 400)] {
        let r = sign_in(origin, body);
        assert_eq!(
            (r.status, allow_origin(&r)),
            (status, Some(origin)),
            "{}",
            r.body
        );
        let evil = sign_in(EVIL_ORIGIN, body);
        assert_eq!((evil.status, allow_origin(&evil)), (status, None));
    }
    let bearer = format!("Bearer {token}");
    let hello = |o: &str, authorization: Option<&str>| {
        let [(k, v)] = from(o);
        let mut headers = vec![(k, v.as_str())];
        headers.extend(authorization.map(|a| ("Authorization", a)));
        http("GET", &format!("{}/hello", t.base), &headers, None)
    };
    let ok = hello(origin, Some(&bearer));
    assert_eq!((ok.status, allow_origin(&ok)), (200, Some(origin)));
    // The gateway's own 401 (no token, and a bad one): readable, so that a page can ask the
    // person to sign in again.
    for authorization in [None, Some("Bearer a.b.c")] {
        let r = hello(origin, authorization);
        assert_eq!(
            (r.status, allow_origin(&r)),
            (401, Some(origin)),
            "{authorization:?}"
        );
    }
    let evil = hello(EVIL_ORIGIN, Some(&bearer));
    assert_eq!(evil.status, 200);
    match t.api {
        Flavour::Http => assert_eq!(allow_origin(&evil), None),
        Flavour::Rest => assert_eq!(
            allow_origin(&evil),
            None,
            "hello echoes allowed origins only"
        ),
    }
    // Without Origin, a request as before: no CORS header from the functions or the HTTP API.
    // The REST API's own answers carry their static header whatever the request.
    let plain = t.hello(Some(&bearer));
    assert_eq!((plain.status, allow_origin(&plain)), (200, None));
    let gateway_401 = t.hello(None);
    let expected = match t.api {
        Flavour::Rest => Some(origin),
        Flavour::Http => None,
    };
    assert_eq!(
        (gateway_401.status, allow_origin(&gateway_401)),
        (401, expected)
    );
}

/// With `ReauthorizeEvery` at 2 s: the authorizer is called once per token within the TTL and
/// again after it, and never for the `unidentified` headers (refused at the gateway). Returns
/// the token used.
fn cache_checks(
    gateway: &Gateway,
    target: &Target,
    unidentified: &[Option<&str>],
    what: &str,
) -> String {
    let token = target.token();
    let bearer = format!("Bearer {token}");
    let before = gateway.authorizer_calls();
    assert_eq!(target.hello(Some(&bearer)).status, 200, "{what}");
    assert_eq!(target.hello(Some(&bearer)).status, 200, "{what}");
    assert_eq!(
        gateway.authorizer_calls(),
        before + 1,
        "{what}: the second request within the TTL must hit the cache"
    );
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(target.hello(Some(&bearer)).status, 200, "{what}");
    assert_eq!(
        gateway.authorizer_calls(),
        before + 2,
        "{what}: after the TTL the authorizer is called again"
    );
    let calls = gateway.authorizer_calls();
    for header in unidentified {
        assert_eq!(target.hello(*header).status, 401, "{what}: {header:?}");
    }
    assert_eq!(
        gateway.authorizer_calls(),
        calls,
        "{what}: refused before the authorizer"
    );
    token
}

#[test]
fn the_local_stack_behaves_like_api_gateway() {
    let (moto, secret, password) = common::moto_with_reader("local@example.com");
    let (gateway, base) = start_gateway(
        &moto.endpoint(),
        &secret,
        &[
            ("AuthorizerCacheTtlSeconds", "2"),
            ("AllowedOrigins", ALLOWED_ORIGINS),
        ],
        &[],
    );
    let target = Target::local(
        Flavour::Rest,
        &base,
        "local@example.com",
        &password,
        &secret,
    );
    black_box_checks(&target);
    route_checks(&target, Flavour::Rest);
    admin_checks(&admin(&moto.endpoint(), &target));
    cors_checks(&target, ORIGIN, Some(&|| gateway.authorizer_calls()));
    // The REST API's own answers name one origin; the functions echo any allowed one.
    let second = preflight(&target, "/token", SECOND_ORIGIN, "POST", "content-type");
    assert_eq!(allow_origin(&second), Some(ORIGIN));
    let r = http(
        "POST",
        &format!("{base}/token"),
        &[
            ("Origin", SECOND_ORIGIN),
            ("Content-Type", "application/json"),
        ],
        Some("{}"),
    );
    assert_eq!((r.status, allow_origin(&r)), (400, Some(SECOND_ORIGIN)));
    // Routes the template does not define: the gateway's DEFAULT_4XX carries the origin too.
    let missing = http("GET", &format!("{base}/nope"), &[("Origin", ORIGIN)], None);
    assert_eq!(
        (missing.status, allow_origin(&missing)),
        (403, Some(ORIGIN))
    );

    // Routes the template does not define are API Gateway's 403.
    let missing = http("GET", &format!("{base}/nope"), &[], None);
    assert_eq!(
        (missing.status, &missing.body),
        (403, &json!({"message": "Missing Authentication Token"}))
    );
    assert_eq!(http("GET", &format!("{base}/token"), &[], None).status, 403);

    // A missing header, or one the validation expression refuses, never reaches the authorizer.
    let token = cache_checks(&gateway, &target, &[None, Some("garbage")], "REST");

    // No token, password or secret in any function's logs.
    for function in [
        "CheckTokenFunction",
        "AuthenticateFunction",
        "HelloFunction",
    ] {
        let logs = gateway.function_logs(function);
        assert!(
            !logs.contains(&token) && !logs.contains(&password) && !logs.contains(&secret),
            "{function} logged a secret"
        );
    }
    assert!(
        gateway
            .function_logs("CheckTokenFunction")
            .contains("authorizer decision")
    );
}

#[test]
fn a_policy_that_denies_is_a_403() {
    let (moto, secret, password) = common::moto_with_reader("reader@example.com");
    let (_, base) = start_gateway(
        &moto.endpoint(),
        &secret,
        &[("AllowedOrigins", ALLOWED_ORIGINS)],
        // The reader may call no route: the policy denies everything.
        &[(
            "CheckTokenFunction",
            "ROUTE_RULES",
            "GET /hello admin; GET /admin admin",
        )],
    );
    let target = Target {
        api: Flavour::Rest,
        base,
        email: "reader@example.com".into(),
        password,
        secret: None,
    };
    let denied = target.hello(Some(&format!("Bearer {}", target.token())));
    assert_eq!(
        (denied.status, &denied.body),
        (403, &forbidden(Flavour::Rest))
    );
    // The gateway's static header, with or without Origin.
    assert_eq!(allow_origin(&denied), Some(ORIGIN));
    let bearer = format!("Bearer {}", target.token());
    let from_page = http(
        "GET",
        &format!("{}/hello", target.base),
        &[("Origin", ORIGIN), ("Authorization", &bearer)],
        None,
    );
    assert_eq!(
        (from_page.status, allow_origin(&from_page)),
        (403, Some(ORIGIN))
    );
}

#[test]
fn a_5xx_carries_the_cors_headers_on_both_apis() {
    // No DynamoDB where the functions look: /token answers 503, which a page must read.
    let secret = authcore::generate_secret().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for api in [Flavour::Rest, Flavour::Http] {
        let (_, base) = common::serve(
            &root.join("template.yaml"),
            api,
            "http://127.0.0.1:9",
            &secret,
            &[("AllowedOrigins", ALLOWED_ORIGINS)],
            &[],
        );
        let r = http(
            "POST",
            &format!("{base}/token"),
            &[("Origin", ORIGIN), ("Content-Type", "application/json")],
            Some(&json!({"email": "a@example.com", "password": "whatever it is"}).to_string()),
        );
        assert_eq!(
            (r.status, allow_origin(&r)),
            (503, Some(ORIGIN)),
            "{api:?}: {}",
            r.body
        );
        assert_eq!(r.body["error"], "temporarily_unavailable", "{api:?}");
    }
}

#[test]
#[ignore = "runs against a deployed stack: set API_URL, EMAIL and PASSWORD of a user who is no admin (optionally JWT_SECRET, API=http for the HTTP API, ADMIN_EMAIL and ADMIN_PASSWORD for an admin, DENIED_EMAIL and DENIED_PASSWORD for a user whose roles no rule names), ORIGIN for a stack deployed with AllowedOrigins (its first origin), then `make test-deployed`"]
fn a_deployed_stack_behaves_the_same() {
    let need = |k: &str| {
        std::env::var(k)
            .unwrap_or_else(|_| panic!("{k} is not set: see the ignore reason of this test"))
    };
    let api = match std::env::var("API").as_deref() {
        Ok("http") => Flavour::Http,
        Ok("rest") | Err(_) => Flavour::Rest,
        Ok(other) => panic!("API={other}: use rest or http"),
    };
    let target = Target {
        api,
        base: need("API_URL").trim_end_matches('/').to_owned(),
        email: need("EMAIL"),
        password: need("PASSWORD"),
        secret: std::env::var("JWT_SECRET").ok(),
    };
    black_box_checks(&target);
    // A stack deployed with AllowedOrigins: ORIGIN is its first origin.
    if let Ok(origin) = std::env::var("ORIGIN") {
        cors_checks(&target, &origin, None);
    }
    // Per route, under the authorizer's cache: a reader may call /hello and not /admin, in either
    // order, with one token (ADMIN_EMAIL and ADMIN_PASSWORD: a user with the role admin, who may
    // call both).
    route_checks(&target, api);
    if let (Ok(email), Ok(password)) = (
        std::env::var("ADMIN_EMAIL"),
        std::env::var("ADMIN_PASSWORD"),
    ) {
        let admin = Target {
            email,
            password,
            ..target_clone(&target)
        };
        admin_checks(&admin);
    }
    // A genuine token that the authorizer denies everywhere (a user whose roles no rule names).
    if let (Ok(email), Ok(password)) = (
        std::env::var("DENIED_EMAIL"),
        std::env::var("DENIED_PASSWORD"),
    ) {
        let denied = Target {
            email,
            password,
            ..target
        };
        let r = denied.hello(Some(&format!("Bearer {}", denied.token())));
        assert_eq!((r.status, &r.body), (403, &forbidden(api)));
    }
}

/// An admin on the local stack of `t`: added to its users table, signing in where `t` does.
fn admin(endpoint: &str, t: &Target) -> Target {
    let password = authcore::generate_secret().unwrap()[..20].to_owned();
    let email = "admin@example.com";
    common::add_user(
        endpoint,
        "UsersTable",
        email,
        "Local Admin",
        &["admin"],
        &password,
    );
    Target {
        email: email.into(),
        password,
        ..target_clone(t)
    }
}

/// A copy of `t`.
fn target_clone(t: &Target) -> Target {
    Target {
        api: t.api,
        base: t.base.clone(),
        email: t.email.clone(),
        password: t.password.clone(),
        secret: t.secret.clone(),
    }
}

/// `GET path` with `token`.
fn get(t: &Target, path: &str, token: &str) -> Reply {
    let bearer = format!("Bearer {token}");
    http(
        "GET",
        &format!("{}{path}", t.base),
        &[("Authorization", &bearer)],
        None,
    )
}

/// A reader's token (`t` signs in as one) may call /hello and not /admin, whichever it calls
/// first: the cached answer for one route never decides another.
fn route_checks(t: &Target, api: Flavour) {
    for order in [
        ["/hello", "/admin", "/hello"],
        ["/admin", "/hello", "/admin"],
    ] {
        let token = t.token();
        for path in order {
            let r = get(t, path, &token);
            match path {
                "/hello" => assert_eq!(r.status, 200, "{path} after {order:?}: {}", r.body),
                _ => {
                    assert_eq!(
                        (r.status, &r.body),
                        (403, &not_allowed(api)),
                        "{path} after {order:?}"
                    );
                    // RFC 6750 §3.1, from the REST API's ACCESS_DENIED gateway response.
                    if api == Flavour::Rest {
                        assert_eq!(
                            r.headers.get("www-authenticate").map(String::as_str),
                            Some(r#"Bearer error="insufficient_scope""#),
                            "{path}"
                        );
                    }
                }
            }
        }
    }
}

/// An admin's token may call /admin and /hello, whichever it calls first.
fn admin_checks(t: &Target) {
    for order in [["/admin", "/hello"], ["/hello", "/admin"]] {
        let token = t.token();
        for path in order {
            let r = get(t, path, &token);
            assert_eq!(r.status, 200, "{path} after {order:?}: {}", r.body);
            assert!(r.body["message"].as_str().is_some(), "{}", r.body);
        }
    }
}

/// The body of the 403 API Gateway gives for a route the policy does not allow.
fn not_allowed(api: Flavour) -> Value {
    match api {
        Flavour::Rest => json!({"Message": "User is not authorized to access this resource"}),
        Flavour::Http => json!({"message": "Forbidden"}),
    }
}

/// The body of the 403 API Gateway gives for an authorizer's Deny.
fn forbidden(api: Flavour) -> Value {
    match api {
        Flavour::Rest => {
            json!({"Message": "User is not authorized to access this resource with an explicit deny"})
        }
        Flavour::Http => json!({"message": "Forbidden"}),
    }
}

/// The project's template with its HTTP API authorizer set to `payload` and simple responses
/// on or off (the function's setting follows), written to a file of its own.
fn http_template(dir: &Path, payload: &str, simple: bool) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let flag = if simple { "true" } else { "false" };
    let edited = text
        .replace(
            "AuthorizerPayloadFormatVersion: \"2.0\"",
            &format!("AuthorizerPayloadFormatVersion: \"{payload}\""),
        )
        .replace(
            "EnableSimpleResponses: true",
            &format!("EnableSimpleResponses: {flag}"),
        )
        .replace(
            "ENABLE_SIMPLE_RESPONSES: \"true\"",
            &format!("ENABLE_SIMPLE_RESPONSES: \"{flag}\""),
        );
    assert!(
        payload == "2.0" && simple || edited != text,
        "the template's authorizer moved"
    );
    let path = dir.join(format!("template-{payload}-{flag}.yaml"));
    std::fs::write(&path, edited).unwrap();
    path
}

#[test]
fn the_local_http_api_behaves_like_api_gateway_for_each_authorizer_format() {
    let (moto, secret, password) = common::moto_with_reader("http@example.com");
    let admin_password = authcore::generate_secret().unwrap()[..20].to_owned();
    let admin = "admin@example.com";
    common::add_user(
        &moto.endpoint(),
        "UsersTable",
        admin,
        "Admin",
        &["admin"],
        &admin_password,
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("http-api-templates");
    std::fs::create_dir_all(&dir).unwrap();
    for (payload, simple) in [("2.0", true), ("2.0", false), ("1.0", false)] {
        let what = format!("payload {payload}, simple responses {simple}");
        let template = http_template(&dir, payload, simple);
        let (gateway, base) = common::serve(
            &template,
            Flavour::Http,
            &moto.endpoint(),
            &secret,
            &[
                ("AuthorizerCacheTtlSeconds", "2"),
                ("AllowedOrigins", ALLOWED_ORIGINS),
            ],
            &[],
        );
        let target = Target::local(Flavour::Http, &base, "http@example.com", &password, &secret);
        black_box_checks(&target);
        route_checks(&target, Flavour::Http);
        admin_checks(&Target {
            email: "admin@example.com".into(),
            password: admin_password.clone(),
            ..target_clone(&target)
        });
        cors_checks(&target, ORIGIN, Some(&|| gateway.authorizer_calls()));
        // The HTTP API allows each listed origin, on its own answers too.
        let second = preflight(&target, "/hello", SECOND_ORIGIN, "GET", "authorization");
        assert_eq!(allow_origin(&second), Some(SECOND_ORIGIN));
        let missing = http(
            "GET",
            &format!("{base}/nope"),
            &[("Origin", SECOND_ORIGIN)],
            None,
        );
        assert_eq!(
            (missing.status, allow_origin(&missing)),
            (404, Some(SECOND_ORIGIN))
        );

        // HTTP API route keys: no route is a 404, not REST's 403.
        let missing = http("GET", &format!("{base}/nope"), &[], None);
        assert_eq!(
            (missing.status, &missing.body),
            (404, &json!({"message": "Not Found"})),
            "{what}"
        );
        assert_eq!(http("GET", &format!("{base}/token"), &[], None).status, 404);

        // Cached by the identity source's value for ReauthorizeEvery; no identity, no call.
        cache_checks(&gateway, &target, &[None, Some("")], &what);
        assert!(
            gateway
                .function_logs("CheckTokenFunction")
                .contains(if payload == "2.0" {
                    "http_v2"
                } else {
                    "http_v1"
                }),
            "{what}: the log names the event kind"
        );

        // A genuine token the authorizer denies is a 403.
        let (_, denying) = common::serve(
            &template,
            Flavour::Http,
            &moto.endpoint(),
            &secret,
            &[("AllowedOrigins", ALLOWED_ORIGINS)],
            &[(
                "CheckTokenFunction",
                "ROUTE_RULES",
                "GET /hello admin; GET /admin admin",
            )],
        );
        let denied = Target {
            base: denying,
            ..target
        };
        let bearer = format!("Bearer {}", denied.token());
        let r = http(
            "GET",
            &format!("{}/hello", denied.base),
            &[("Origin", ORIGIN), ("Authorization", &bearer)],
            None,
        );
        assert_eq!(
            (r.status, &r.body, allow_origin(&r)),
            (403, &forbidden(Flavour::Http), Some(ORIGIN)),
            "{what}"
        );
    }
}
