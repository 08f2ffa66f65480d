//! The route rules in template.yaml match the routes they protect, and the policies check-token
//! builds from any rules allow a request exactly when a rule lets the token's roles call the
//! route API Gateway sends it to (evaluated with the local gateway's policy evaluator).

use std::collections::HashMap;
use std::path::Path;

use authcore::token::now_seconds;
use authcore::{Config, Subject, TokenIssuer};
use check_token::{AuthorizerInput, State, authorize, response::iam_policy};
use local_gateway::policy::{Decision, evaluate};
use local_gateway::template::Stack;
use proptest::prelude::*;
use routerules::{Route, Rules};

fn stack() -> Stack {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    Stack::load(&template, &HashMap::new()).unwrap()
}

/// The rules the template gives check-token.
fn template_rules(stack: &Stack) -> Rules {
    let text = &stack.functions["CheckTokenFunction"].env["ROUTE_RULES"];
    Rules::parse(text).unwrap_or_else(|e| panic!("template.yaml ROUTE_RULES: {e}"))
}

/// The REST API's routes behind the authorizer.
fn rest_protected(stack: &Stack) -> Vec<Route> {
    stack
        .routes
        .iter()
        .filter(|r| r.authorizer.is_some())
        .map(|r| Route::new(&r.method, &r.path).unwrap())
        .collect()
}

/// The HTTP API's routes behind the authorizer.
fn http_protected(stack: &Stack) -> Vec<Route> {
    let api = stack.http_api.as_ref().unwrap();
    api.routes
        .iter()
        .filter(|r| r.authorizer.is_some())
        .map(|r| {
            let (method, path) = r.method_and_path().expect("no $default route behind it");
            Route::new(method, path).unwrap()
        })
        .collect()
}

#[test]
fn every_route_behind_the_authorizer_has_a_rule_and_every_rule_a_route_on_both_apis() {
    let stack = stack();
    for (api, protected) in [
        ("REST", rest_protected(&stack)),
        ("HTTP", http_protected(&stack)),
    ] {
        assert!(!protected.is_empty(), "{api}");
        assert_eq!(
            template_rules(&stack).check_against(&protected),
            Vec::<String>::new(),
            "{api}"
        );
    }
}

#[test]
fn a_rule_for_a_route_the_template_lacks_or_a_route_without_a_rule_is_named() {
    let rules = Rules::parse("GET /hello *; GET /gone admin").unwrap();
    let problems = rules.check_against(&rest_protected(&stack()));
    assert!(
        problems.iter().any(|p| p.contains("GET /gone")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("GET /admin")),
        "{problems:?}"
    );
}

const SECRET: &str = "route-rules-test-secret-0123456789abcdef";
const BASE: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod";

/// A route template over a small alphabet, so that random rules overlap often: `depth`
/// segments, and a greedy last one when `greedy`.
fn route_strategy(
    depth: std::ops::Range<usize>,
    greedy: bool,
) -> impl Strategy<Value = (String, String)> {
    let segment = prop_oneof![Just("a"), Just("b"), Just("{p}")];
    let method = prop_oneof![Just("GET"), Just("POST"), Just("ANY")];
    (
        method,
        proptest::collection::vec(segment, depth),
        any::<bool>(),
    )
        .prop_map(move |(m, segs, last)| {
            let mut path: Vec<String> = segs.iter().map(|s| s.to_string()).collect();
            if greedy && last {
                path.push("{rest+}".into());
            }
            (m.to_owned(), format!("/{}", path.join("/")))
        })
}

/// Rules text from routes, each for one of a few roles or anyone.
fn rules_text(routes: &[((String, String), u8)]) -> String {
    let mut seen = Vec::new();
    let mut entries = Vec::new();
    for ((method, path), who) in routes {
        let key = (method.clone(), path.clone());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let who = ["*", "r1", "r2", "r1,r2"][usize::from(*who % 4)];
        entries.push(format!("{method} {path} {who}"));
    }
    entries.join("; ")
}

fn token(roles: &[String]) -> String {
    let config = Config::with_secret(SECRET).unwrap();
    let subject = Subject {
        sub: "u".into(),
        roles: roles.to_vec(),
        ..Default::default()
    };
    TokenIssuer::new(config.inline_key().unwrap(), &config)
        .issue_at(subject, now_seconds())
        .unwrap()
        .token
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Whichever request came first, the cached policy never allows a request that API Gateway
    /// sends to a route the roles may not call, and allows every request to a route they may
    /// call unless an explicit Deny of a route they may not call covers it too (IAM's `*` spans
    /// `/`: README, "Who may call which route"); it never just forgets a granted route.
    #[test]
    fn policies_never_allow_what_the_rules_refuse_nor_forget_what_they_grant(
        routes in proptest::collection::vec((route_strategy(0..4, true), any::<u8>()), 1..6),
        roles in proptest::sample::subsequence(vec!["r1".to_string(), "r2".to_string()], 0..=2),
        first in request_strategy(),
        requests in proptest::collection::vec(request_strategy(), 1..12),
    ) {
        let text = rules_text(&routes);
        let rules = Rules::parse(&text).unwrap();
        let policy = cached_policy(&rules, &roles, &first);
        for request in &requests {
            let path = format!("/{}", request.1.join("/"));
            // A request no route takes never reaches a policy (REST: 403 Missing
            // Authentication Token; HTTP API: 404); every route has a rule (the tests above).
            let Some(route) = rules.route_of(request.0, &path) else { continue };
            let decision = evaluate(&policy["policyDocument"], &arn(request));
            if rules.allows(route, &roles) {
                prop_assert_ne!(decision, Decision::ImplicitDeny, "rules {} roles {:?} {} {}", text, roles, request.0, path);
            } else {
                prop_assert_ne!(decision, Decision::Allow, "rules {} roles {:?} {} {}", text, roles, request.0, path);
            }
        }
    }
}

/// The cases the README names: a parameter route and a route nested under it, a greedy route,
/// the root, every verb. Every answer is exact, whichever request came first.
#[test]
fn overlapping_routes_get_exactly_what_the_rules_grant_whichever_comes_first() {
    let rules = Rules::parse(
        "GET /items/{id} reader; GET /items/{id}/secret admin; DELETE /items/{id} admin; \
         POST /items reader; ANY /files/{proxy+} reader; GET / *; PUT /admin admin",
    )
    .unwrap();
    let requests: Vec<Request> = [
        ("GET", "items/7"),
        ("GET", "items/7/secret"),
        ("DELETE", "items/7"),
        ("POST", "items"),
        ("GET", "files/a/b/c"),
        ("DELETE", "files/a"),
        ("GET", ""),
        ("PUT", "admin"),
        ("GET", "admin"),
    ]
    .into_iter()
    .map(|(m, p)| (m, p.split('/').filter(|s| !s.is_empty()).collect()))
    .collect();
    for roles in [
        vec![],
        vec!["reader".to_string()],
        vec!["admin".to_string()],
    ] {
        for first in &requests {
            let policy = cached_policy(&rules, &roles, first);
            for request in &requests {
                let path = format!("/{}", request.1.join("/"));
                let granted = rules
                    .route_of(request.0, &path)
                    .is_some_and(|r| rules.allows(r, &roles));
                let allowed = evaluate(&policy["policyDocument"], &arn(request)) == Decision::Allow;
                assert_eq!(
                    allowed, granted,
                    "{roles:?}: {} {path} after {first:?}",
                    request.0
                );
            }
        }
    }
}

type Request = (&'static str, Vec<&'static str>);

fn request_strategy() -> impl Strategy<Value = Request> {
    let method = prop_oneof![Just("GET"), Just("POST")];
    let segments = proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("x")], 0..5);
    (method, segments)
}

fn arn((method, segments): &Request) -> String {
    format!("{BASE}/{method}/{}", segments.join("/"))
}

/// The policy check-token answers the REST TOKEN event for `first` with.
fn cached_policy(rules: &Rules, roles: &[String], first: &Request) -> serde_json::Value {
    let config = Config::with_secret(SECRET).unwrap();
    let state = State::new(config.inline_key().unwrap(), &config).with_rules(rules.clone());
    let event = serde_json::json!({
        "type": "TOKEN",
        "authorizationToken": format!("Bearer {}", token(roles)),
        "methodArn": arn(first),
    });
    let input = AuthorizerInput::parse(&event.to_string());
    serde_json::to_value(iam_policy(authorize(&state, &input, now_seconds()).verdict).unwrap())
        .unwrap()
}
