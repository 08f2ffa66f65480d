//! Property tests of the `/token` body parser: arbitrary bodies and content types never panic,
//! and only a well-formed password grant ever yields credentials.

use authenticate::parse_request;
use lambda_http::http::Method;
use proptest::prelude::*;

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_owned())),
        Just(Some("application/x-www-form-urlencoded".to_owned())),
        Just(Some("APPLICATION/JSON; charset=utf-8".to_owned())),
        ".{0,40}".prop_map(Some),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        r#"\{("(email|password|username|grant_type)":("[^"]{0,20}"|[0-9]{1,4}|null|\[\]),?){0,5}\}"#.prop_map(String::into_bytes),
        "((grant_type|username|password|email)=[^&]{0,20}&?){0,5}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_never_panic_and_only_plausible_ones_pass(ct in content_type(), body in body(), post in any::<bool>()) {
        let method = if post { Method::POST } else { Method::GET };
        match parse_request(&method, ct.as_deref(), &body) {
            Ok(credentials) => {
                prop_assert!(post);
                prop_assert!(!credentials.email.trim().is_empty());
                prop_assert!(!credentials.password.is_empty() && credentials.password.len() <= 1024);
                prop_assert!(body.len() <= authenticate::MAX_BODY_BYTES);
            }
            Err(e) => {
                prop_assert!(e.status().is_client_error(), "{:?}", e.status());
                prop_assert!(!e.description().is_empty());
            }
        }
    }
}

/// A sample event of either API, mutated: any body, flagged base64 or not, any method, any
/// content type, sometimes without a request context.
fn event() -> impl Strategy<Value = String> {
    let samples = [
        include_str!("../../../events/authenticate-json.json"),
        include_str!("../../../events/authenticate-http-api.json"),
        include_str!("../../../events/authenticate-form.json"),
    ];
    (
        0..samples.len(),
        any::<bool>(),
        prop_oneof![
            ".{0,200}",
            "[A-Za-z0-9+/=]{0,64}",
            Just(String::new()),
            Just(r#"{"email":"a@example.com","password":"pw-123456"}"#.to_owned()),
            Just("eyJlbWFpbCI6ImFAZXhhbXBsZS5jb20iLCJwYXNzd29yZCI6InB3In0=".to_owned()),
        ],
        prop_oneof![
            Just("POST".to_owned()),
            Just("GET".to_owned()),
            "[A-Z]{1,8}"
        ],
        content_type(),
        any::<bool>(),
    )
        .prop_map(move |(i, base64, body, method, ct, drop_context)| {
            let mut v: serde_json::Value = serde_json::from_str(samples[i]).unwrap();
            v["isBase64Encoded"] = base64.into();
            v["body"] = body.into();
            if v.get("httpMethod").is_some() {
                v["httpMethod"] = method.into();
            } else {
                v["requestContext"]["http"]["method"] = method.into();
            }
            match ct {
                Some(ct) => v["headers"]["content-type"] = ct.into(),
                None => {
                    v["headers"]
                        .as_object_mut()
                        .map(|h| h.remove("content-type"));
                }
            }
            if drop_context {
                v["requestContext"]["identity"] = serde_json::json!({});
            }
            v.to_string()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whole events through the handler, as the function's main runs them: never a panic, always
    /// an answer in the OAuth shape (the table is unreachable: a request that gets that far is a 503).
    #[test]
    fn arbitrary_events_get_an_answer_never_a_panic(json in event()) {
        use lambda_http::request::LambdaRequest;
        let Ok(mut payload) = serde_json::from_str::<LambdaRequest>(&json) else {
            return Ok(()); // the runtime reports it as an invocation error; nothing runs
        };
        let undecodable = awsenv::http_events::drop_undecodable_body(&mut payload);
        let request = lambda_http::Request::from(payload);
        let state = unreachable_state();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let response = rt.block_on(authenticate::handle(state, request, undecodable)).unwrap();
        let status = response.status();
        prop_assert!(status.is_client_error() || status == 503, "{status}");
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        prop_assert!(body["error"].is_string() && body["error_description"].is_string(), "{body}");
    }
}

/// A state whose tables cannot be reached.
fn unreachable_state() -> &'static authenticate::State {
    static STATE: std::sync::OnceLock<authenticate::State> = std::sync::OnceLock::new();
    STATE.get_or_init(|| {
        let client =
            aws_sdk_dynamodb::Client::new(&testkit::moto::local_sdk_config("http://127.0.0.1:1"));
        let config =
            authcore::Config::with_secret("property-secret-0123456789abcdef-0123").unwrap();
        authenticate::State::new(
            config.inline_key().unwrap(),
            &config,
            userstore::UserStore::new(client.clone(), "users"),
            authenticate::Guard::for_key(
                userstore::attempts::AttemptStore::new(client, "attempts"),
                authenticate::LockoutPolicy::default(),
                &testkit::lockout_key(),
            ),
        )
    })
}
