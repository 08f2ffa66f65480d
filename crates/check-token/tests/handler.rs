//! The handler over the sample events in `events/`, as `cargo lambda invoke` would send them.

use authcore::token::now_seconds;
use check_token::response::iam_policy;
use check_token::{
    AuthorizerInput, Kind, Outcome, Settings, State, UNAUTHORIZED, Unauthorized, V2Format,
    authorize, handler,
};
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{Value, json};

const SECRET: &str = "handler-test-secret-0123456789abcdef-xyz";
const STAGE_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*";
/// The sample events' route on the REST stage.
const HELLO_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/hello";
/// The same on the HTTP API's `$default` stage.
const HTTP_HELLO_ARN: &str =
    "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/$default/GET/hello";
/// The tests' rules: `/hello` for readers (the minted tokens are reader and writer), `/admin`
/// for admins.
const RULES: &str = "GET /hello reader; GET /admin admin";

/// The settings `pairs` give.
fn settings(pairs: &[(&str, &str)]) -> Result<Settings, authcore::SettingsError> {
    let lookup = authcore::settings::from_pairs(pairs);
    Settings::read(&authcore::Vars::new(&lookup))
}

/// A state whose settings hold `rules` (`ROUTE_RULES`).
fn ruled(rules: &str) -> State {
    let s = settings(&[("JWT_SECRET", SECRET), ("ROUTE_RULES", rules)]).unwrap();
    State::new(s.token.inline_key().unwrap(), &s.token).with_rules(s.rules)
}

fn state() -> State {
    ruled(RULES)
}

fn mint_with(secret: &str, sub: &str, now: u64) -> String {
    testkit::mint(secret, testkit::demo_subject(sub), now)
}

fn mint(sub: &str) -> String {
    mint_with(SECRET, sub, now_seconds())
}

use testkit::event;

/// Reads a payload the way lambda_runtime does: no check for trailing input.
fn input(raw: &str) -> AuthorizerInput {
    let mut de = serde_json::Deserializer::from_str(raw);
    serde::Deserialize::deserialize(&mut de).expect("AuthorizerInput never fails to deserialize")
}

async fn invoke(raw: &str) -> Result<Value, Unauthorized> {
    let state = state();
    let event = LambdaEvent::new(input(raw), Context::default());
    handler(&state, event)
        .await
        .map(|r| serde_json::to_value(r).unwrap())
}

#[tokio::test]
async fn a_valid_token_gets_the_routes_its_roles_may_call_with_the_users_context() {
    let response = invoke(&event("check-token.json", &mint("user-123")))
        .await
        .unwrap();
    assert_eq!(
        response,
        json!({
            "principalId": "user-123",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [HELLO_ARN]}]
            },
            "context": {"sub": "user-123", "email": "demo@example.com", "name": "Demo User", "roles": "reader,writer"}
        })
    );
}

#[tokio::test]
async fn sample_events_that_must_fail_are_unauthorized() {
    for name in ["check-token-no-bearer.json", "check-token-garbage.json"] {
        assert_eq!(
            invoke(&event(name, &mint("u"))).await,
            Err(Unauthorized),
            "{name}"
        );
    }
}

#[tokio::test]
async fn bad_tokens_and_bad_events_are_unauthorized_with_the_reason() {
    let now = now_seconds();
    let token_event = |token: &str| event("check-token.json", token);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            token_event(&mint_with(SECRET, "u", now - 3600)),
            "expired",
        ),
        (
            "other key",
            token_event(&mint_with("another-secret-0123456789abcdef-xyz", "u", now)),
            "bad_signature",
        ),
        ("not JSON", "this is not json".into(), "malformed_event"),
        (
            "truncated JSON",
            r#"{"type":"TOKEN","authorizationToken":"Bearer "#.into(),
            "malformed_event",
        ),
        ("JSON array", "[1,2]".into(), "malformed_event"),
        (
            "token is a number",
            r#"{"type":"TOKEN","authorizationToken":42,"methodArn":"x"}"#.into(),
            "malformed_event",
        ),
        (
            "no type",
            json!({"authorizationToken": format!("Bearer {}", mint("u"))}).to_string(),
            "wrong_event_type",
        ),
        (
            "no authorizationToken",
            r#"{"type":"TOKEN","methodArn":"x"}"#.into(),
            "missing_token",
        ),
        (
            "empty header",
            r#"{"type":"TOKEN","authorizationToken":""}"#.into(),
            "missing_token",
        ),
        (
            "Basic scheme",
            event("check-token-no-bearer.json", ""),
            "wrong_scheme",
        ),
        (
            "over 8 KiB",
            token_event(&"a".repeat(9000)),
            "header_too_large",
        ),
    ];
    let state = state();
    for (name, raw, reason) in cases {
        let decision = authorize(&state, &input(&raw), now);
        assert_eq!(
            (decision.outcome(), decision.reason.as_str()),
            (Outcome::Unauthorized, reason),
            "{name}"
        );
        assert_eq!(iam_policy(decision.verdict), Err(Unauthorized), "{name}");
    }
}

#[tokio::test]
async fn a_valid_token_with_an_unreadable_method_arn_is_denied() {
    let raw = json!({"type": "TOKEN", "authorizationToken": format!("Bearer {}", mint("u1")), "methodArn": "nonsense"});
    let decision = authorize(&state(), &input(&raw.to_string()), now_seconds());
    assert_eq!(
        (decision.outcome(), decision.reason.as_str()),
        (Outcome::Deny, "bad_method_arn")
    );
    let v = serde_json::to_value(iam_policy(decision.verdict).unwrap()).unwrap();
    assert_eq!(v["principalId"], "u1");
    assert_eq!(v["policyDocument"]["Statement"][0]["Effect"], "Deny");
}

#[tokio::test]
async fn a_route_the_roles_may_not_call_is_denied_and_the_policy_still_names_the_others() {
    let raw = event("check-token.json", &mint("u2")).replace("/GET/hello", "/GET/admin");
    let denied = authorize(&state(), &input(&raw), now_seconds());
    assert_eq!(
        (denied.outcome(), denied.reason.as_str()),
        (Outcome::Deny, "not_granted")
    );
    let v = serde_json::to_value(iam_policy(denied.verdict).unwrap()).unwrap();
    assert_eq!(v["principalId"], "u2");
    // Cached for the token, the policy must still let it call /hello, and never /admin.
    assert_eq!(
        v["policyDocument"]["Statement"],
        json!([{"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [HELLO_ARN]}])
    );
}

#[test]
fn one_instance_keeps_each_role_set_and_stage_to_its_own_policy() {
    // One warm instance, as Lambda reuses it: readers and admins in turn, on two stages.
    let state = state();
    let admin = |sub: &str| {
        let mut subject = testkit::demo_subject(sub);
        subject.roles = vec!["admin".into()];
        testkit::mint(SECRET, subject, now_seconds())
    };
    // The policy statements for `token` calling `GET /{route}` on `stage`.
    let statements = |token: &str, stage: &str, route: &str| {
        let arn = format!("abcdef1234/{stage}/GET/{route}");
        let raw = event("check-token.json", token).replace("abcdef1234/prod/GET/hello", &arn);
        let decision = authorize(&state, &input(&raw), now_seconds());
        serde_json::to_value(iam_policy(decision.verdict).unwrap()).unwrap()["policyDocument"]
            ["Statement"]
            .clone()
    };
    let allows = |stage: &str, route: &str| {
        let arn = HELLO_ARN.replace("prod/GET/hello", &format!("{stage}/GET/{route}"));
        json!([{"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [arn]}])
    };
    let (reader, admin) = (mint("r1"), admin("a1"));
    for _ in 0..2 {
        assert_eq!(
            statements(&reader, "prod", "hello"),
            allows("prod", "hello")
        );
        assert_eq!(statements(&admin, "prod", "hello"), allows("prod", "admin"));
        assert_eq!(
            statements(&reader, "test", "admin"),
            allows("test", "hello")
        );
    }
}

#[tokio::test]
async fn roles_that_may_call_nothing_get_a_policy_that_denies_everything() {
    let denied = authorize(
        &ruled("GET /hello admin"),
        &input(&event("check-token.json", &mint("u3"))),
        now_seconds(),
    );
    assert_eq!(denied.outcome(), Outcome::Deny);
    let v = serde_json::to_value(iam_policy(denied.verdict).unwrap()).unwrap();
    assert_eq!(
        v["policyDocument"]["Statement"],
        json!([{"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": ["*"]}])
    );
}

#[tokio::test]
async fn a_wildcard_that_would_reach_a_route_not_granted_comes_with_its_explicit_deny() {
    let state = ruled("GET /items/{id} reader; GET /items/{id}/secret admin");
    let raw = event("check-token.json", &mint("u4")).replace("/GET/hello", "/GET/items/7");
    let decision = authorize(&state, &input(&raw), now_seconds());
    assert_eq!(decision.outcome(), Outcome::Allow);
    let v = serde_json::to_value(iam_policy(decision.verdict).unwrap()).unwrap();
    let stage = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET";
    assert_eq!(
        v["policyDocument"]["Statement"],
        json!([
            {"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [format!("{stage}/items/?*")]},
            {"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": [format!("{stage}/items/?*/secret")]}
        ])
    );
}

#[test]
fn the_rules_are_required_and_a_malformed_one_is_named() {
    let missing = settings(&[("JWT_SECRET", SECRET)]).unwrap_err().to_string();
    assert!(missing.starts_with("ROUTE_RULES is not set"), "{missing}");
    let bad = settings(&[
        ("JWT_SECRET", SECRET),
        ("ROUTE_RULES", "GET /hello *; GET admin"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        bad.contains("ROUTE_RULES") && bad.contains("\"GET admin\""),
        "{bad}"
    );
}

#[test]
fn required_role_is_refused_with_what_replaces_it() {
    let pairs = [
        ("JWT_SECRET", SECRET),
        ("ROUTE_RULES", RULES),
        ("REQUIRED_ROLE", "admin"),
    ];
    let err = settings(&pairs).unwrap_err().to_string();
    assert!(
        err.contains("REQUIRED_ROLE") && err.contains("ROUTE_RULES replaces it"),
        "{err}"
    );
}

#[test]
fn the_lambda_error_message_is_exactly_unauthorized() {
    let d: Diagnostic = Unauthorized.into();
    assert_eq!(
        (d.error_type.as_str(), d.error_message.as_str()),
        (UNAUTHORIZED, "Unauthorized")
    );
    assert_eq!(Unauthorized.to_string(), "Unauthorized");
}

#[test]
fn start_up_refuses_a_short_secret_and_says_so() {
    let err = settings(&[("JWT_SECRET", "short")]).unwrap_err();
    assert!(err.to_string().contains("at least 32 bytes"), "{err}");
}

#[test]
fn every_hostile_token_in_the_corpus_is_unauthorized_with_its_reason() {
    let corpus: Value = serde_json::from_str(include_str!(
        "../../authcore/tests/data/hostile_tokens.json"
    ))
    .unwrap();
    let config = settings(&[
        ("JWT_SECRET", "unit-test-secret-0123456789abcdef-0123456789"),
        ("JWT_ISSUER", "https://issuer.example"),
        ("JWT_AUDIENCE", "orders-api"),
        ("ROUTE_RULES", RULES),
    ])
    .unwrap()
    .token;
    let state = State::new(config.inline_key().unwrap(), &config);
    let cases = corpus["cases"].as_array().unwrap();
    assert!(cases.len() >= 49);
    for case in cases {
        let header = format!("Bearer {}", case["token"].as_str().unwrap());
        let raw = json!({"type": "TOKEN", "authorizationToken": header, "methodArn": STAGE_ARN});
        let decision = authorize(&state, &input(&raw.to_string()), 1_800_000_000);
        // What the header itself refuses (empty, characters no JWT holds, over 8 KiB) never
        // reaches the verifier; the rest gets the corpus's reason.
        let want = match check_token::header::bearer_token(&header) {
            Err(e) => e.reason(),
            Ok(_) => case["reason"].as_str().unwrap(),
        };
        assert_eq!(
            (decision.outcome(), decision.reason.as_str()),
            (Outcome::Unauthorized, want),
            "{}",
            case["name"]
        );
    }
}

/// The sample event of each flavour (all of them for `GET /hello`), the state answering it,
/// and the resource its Allow names.
fn flavours() -> Vec<(&'static str, State, &'static str)> {
    vec![
        ("check-token.json", state(), HELLO_ARN),
        ("check-token-request-type.json", state(), HELLO_ARN),
        ("check-token-http-v1.json", state(), HTTP_HELLO_ARN),
        ("check-token-http-v2.json", state(), HTTP_HELLO_ARN),
        (
            "check-token-http-v2.json",
            state().with_v2_format(V2Format::IamPolicy),
            HTTP_HELLO_ARN,
        ),
    ]
}

fn demo_context(sub: &str) -> Value {
    json!({"sub": sub, "email": "demo@example.com", "name": "Demo User", "roles": "reader,writer"})
}

async fn answer(state: &State, raw: &str) -> Result<Value, Unauthorized> {
    let event = LambdaEvent::new(input(raw), Context::default());
    handler(state, event)
        .await
        .map(|r| serde_json::to_value(r).unwrap())
}

#[tokio::test]
async fn every_flavour_allows_a_valid_token_its_routes_in_its_own_format() {
    for (name, state, stage) in flavours() {
        let raw = event(name, &mint("user-9"));
        let kind = input(&raw).kind().unwrap();
        let got = answer(&state, &raw).await.unwrap();
        let want = match (kind, state.v2_format()) {
            (Kind::HttpV2, V2Format::Simple) => {
                json!({"isAuthorized": true, "context": demo_context("user-9")})
            }
            _ => json!({
                "principalId": "user-9",
                "policyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [stage]}
                ]},
                "context": demo_context("user-9"),
            }),
        };
        assert_eq!(got, want, "{name} ({kind:?}, {:?})", state.v2_format());
    }
}

#[tokio::test]
async fn every_flavour_denies_a_genuine_token_a_route_its_roles_may_not_call() {
    for (name, state, _) in flavours() {
        let format = state.v2_format();
        let state = ruled("GET /hello admin").with_v2_format(format);
        let raw = event(name, &mint("user-7"));
        let kind = input(&raw).kind().unwrap();
        let decision = authorize(&state, &input(&raw), now_seconds());
        assert_eq!(decision.reason.as_str(), "not_granted", "{name}");
        let got = answer(&state, &raw).await.unwrap();
        if kind == Kind::HttpV2 && format == V2Format::Simple {
            assert_eq!(got["isAuthorized"], false, "{name}");
            assert!(got.get("principalId").is_none(), "{name}");
        } else {
            let statement = &got["policyDocument"]["Statement"][0];
            assert_eq!(
                (
                    statement["Effect"].as_str(),
                    statement["Resource"][0].as_str()
                ),
                (Some("Deny"), Some("*")),
                "{name}"
            );
            assert_eq!(got["principalId"], "user-7", "{name}");
        }
    }
}

#[tokio::test]
async fn every_flavour_refuses_bad_tokens_with_unauthorized() {
    let now = now_seconds();
    let tokens = [
        ("expired", mint_with(SECRET, "u", now - 3600), "expired"),
        (
            "other key",
            mint_with("another-secret-0123456789abcdef-xyz", "u", now),
            "bad_signature",
        ),
        ("garbage", "not-a-jwt".to_owned(), "malformed"),
    ];
    for (name, state, _) in flavours() {
        for (what, token, reason) in &tokens {
            let raw = event(name, token);
            let decision = authorize(&state, &input(&raw), now);
            assert_eq!(
                (decision.outcome(), decision.reason.as_str()),
                (Outcome::Unauthorized, *reason),
                "{name}: {what}"
            );
            assert_eq!(
                answer(&state, &raw).await,
                Err(Unauthorized),
                "{name}: {what}"
            );
        }
    }
}

#[tokio::test]
async fn a_payload_two_event_with_a_malformed_route_arn_is_refused_in_its_format() {
    let mut raw: Value =
        serde_json::from_str(&event("check-token-http-v2.json", &mint("u3"))).unwrap();
    raw["routeArn"] = json!("arn:aws:execute-api:us-east-1:123456789012:abcdef1234");
    let raw = raw.to_string();
    let decision = authorize(&state(), &input(&raw), now_seconds());
    assert_eq!(decision.reason.as_str(), "bad_method_arn");
    assert_eq!(
        answer(&state(), &raw).await.unwrap(),
        json!({"isAuthorized": false, "context": {}})
    );
    let iam = state().with_v2_format(V2Format::IamPolicy);
    let v = answer(&iam, &raw).await.unwrap();
    assert_eq!(v["policyDocument"]["Statement"][0]["Effect"], "Deny");
}

#[tokio::test]
async fn every_flavour_gets_the_hostile_token_corpus_refused() {
    let corpus: Value = serde_json::from_str(include_str!(
        "../../authcore/tests/data/hostile_tokens.json"
    ))
    .unwrap();
    let state = state();
    for name in [
        "check-token-request-type.json",
        "check-token-http-v1.json",
        "check-token-http-v2.json",
    ] {
        for case in corpus["cases"].as_array().unwrap() {
            let token = case["token"].as_str().unwrap();
            // Values a JSON string cannot carry as they are would change the event, not the token.
            let mut raw: Value = serde_json::from_str(&event(name, "PLACEHOLDER")).unwrap();
            replace_strings(&mut raw, "PLACEHOLDER", token);
            let decision = authorize(&state, &input(&raw.to_string()), 1_800_000_000);
            assert_eq!(
                decision.outcome(),
                Outcome::Unauthorized,
                "{name}: {}",
                case["name"]
            );
        }
    }
}

fn replace_strings(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) => *s = s.replace(from, to),
        Value::Array(a) => a.iter_mut().for_each(|v| replace_strings(v, from, to)),
        Value::Object(o) => o.values_mut().for_each(|v| replace_strings(v, from, to)),
        _ => {}
    }
}

#[test]
fn the_simple_responses_setting_reads_true_false_or_nothing() {
    let read = |pairs: &[(&str, &str)]| {
        let mut all = vec![("JWT_SECRET", SECRET), ("ROUTE_RULES", RULES)];
        all.extend_from_slice(pairs);
        settings(&all).map(|s| s.v2_format)
    };
    assert_eq!(read(&[]), Ok(V2Format::Simple));
    assert_eq!(
        read(&[("ENABLE_SIMPLE_RESPONSES", "true")]),
        Ok(V2Format::Simple)
    );
    assert_eq!(
        read(&[("ENABLE_SIMPLE_RESPONSES", "FALSE")]),
        Ok(V2Format::IamPolicy)
    );
    let err = read(&[("ENABLE_SIMPLE_RESPONSES", "yes")]).unwrap_err();
    assert!(err.to_string().contains("ENABLE_SIMPLE_RESPONSES"), "{err}");
}

/// 50 rules, each its own `GET /resourceN/{id}` route, all granted to readers.
fn fifty_rules() -> String {
    (0..50)
        .map(|i| format!("GET /resource{i}/{{id}} reader"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn the_answer_for_fifty_granted_routes_stays_under_8_kb() {
    let state = ruled(&fifty_rules());
    let decision = authorize(
        &state,
        &input(&event("check-token.json", &mint("u5"))),
        now_seconds(),
    );
    let text = serde_json::to_string(&iam_policy(decision.verdict).unwrap()).unwrap();
    let allowed =
        serde_json::from_str::<Value>(&text).unwrap()["policyDocument"]["Statement"][0]["Resource"]
            .as_array()
            .unwrap()
            .len();
    assert_eq!(allowed, 50);
    assert!(text.len() < 8192, "{} bytes", text.len());
    println!("50 granted routes: {} bytes", text.len());
}

#[tokio::test]
async fn an_es256_authorizer_allows_its_tokens_and_refuses_es256_attacks_in_every_flavour() {
    use authcore::{EcKey, KeySource, Subject, TokenIssuer};
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let key = EcKey::generate().unwrap();
    let pem = key.to_pem();
    let s = settings(&[("JWT_SECRET", &pem), ("ROUTE_RULES", RULES)]).unwrap();
    let KeySource::Inline(ring) = &s.token.key_source else {
        panic!("an inline key")
    };
    let state = State::from_ring(ring, &s.token, None).with_rules(s.rules.clone());
    let now = now_seconds();
    let subject = |sub: &str| Subject {
        sub: sub.into(),
        roles: vec!["reader".into()],
        ..Default::default()
    };
    let valid = TokenIssuer::from_ring(ring, &s.token)
        .issue_at(subject("es-user"), now)
        .unwrap()
        .token;
    // An HMAC keyed with the public key, under our kid; alg none; another issuer's key.
    let (header, claims) = {
        let mut parts = valid.split('.');
        (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        )
    };
    let hs_header = b64(json!({"alg": "HS256", "typ": "at+jwt", "kid": key.kid()})
        .to_string()
        .as_bytes());
    let jwk = serde_json::to_string(key.public_jwk()).unwrap();
    let hmac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, jwk.as_bytes()),
        format!("{hs_header}.{claims}").as_bytes(),
    );
    let confused = format!("{hs_header}.{claims}.{}", b64(hmac.as_ref()));
    let none = format!(
        "{}.{claims}.",
        b64(json!({"alg": "none", "kid": key.kid()})
            .to_string()
            .as_bytes())
    );
    let theirs = EcKey::generate().unwrap();
    let foreign = TokenIssuer::from_ring(&authcore::KeyRing::local(theirs, None), &s.token)
        .issue_at(subject("es-user"), now)
        .unwrap()
        .token;
    let spliced = format!("{header}.{claims}.{}", foreign.rsplit('.').next().unwrap());
    for name in [
        "check-token.json",
        "check-token-request-type.json",
        "check-token-http-v1.json",
        "check-token-http-v2.json",
    ] {
        let decide = |token: &str| authorize(&state, &input(&event(name, token)), now).outcome();
        assert_eq!(decide(&valid), Outcome::Allow, "{name}");
        for (what, token) in [
            ("HS256 keyed with the public key", &confused),
            ("alg none", &none),
            ("another issuer's key", &foreign),
            ("another key's signature under our kid", &spliced),
        ] {
            assert_eq!(decide(token), Outcome::Unauthorized, "{name}: {what}");
        }
    }
}
