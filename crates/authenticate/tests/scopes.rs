//! The `scope` parameter (RFC 6749 §3.3, §6) against a real DynamoDB-compatible server (moto):
//! a client may ask for fewer scopes than the user's roles and gets a token with those only;
//! more is `invalid_scope`; a session started with fewer stays within them at every refresh.

mod support;

use std::collections::BTreeSet;

use authenticate::{SessionPolicy, State};
use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use support::{call, request, setup, verifier};
use userstore::sessions::SessionStore;

const PASSWORD: &str = "correct horse battery staple";

async fn with_sessions(test: &str) -> State {
    let sessions = SessionStore::new(
        support::client(&support::moto().endpoint()),
        format!("sessions-{test}"),
    );
    assert!(sessions.create_table().await.unwrap());
    setup(test)
        .await
        .with_sessions(sessions, SessionPolicy::default())
        .with_refresh_key(&testkit::refresh_key())
}

async fn form(state: &State, body: &str) -> (StatusCode, Value) {
    let (status, body, _) = call(
        state,
        request("application/x-www-form-urlencoded", body.to_owned()),
    )
    .await;
    (status, body)
}

fn granted(body: &Value) -> (Vec<String>, Option<String>) {
    let claims = verifier()
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    (claims.roles, claims.scope)
}

fn password_grant(scope: &str) -> String {
    format!("grant_type=password&username=ada@example.com&password={PASSWORD}&scope={scope}")
}

#[tokio::test]
async fn without_scope_every_role_is_a_scope() {
    let state = setup("scope-all").await;
    let (status, body) = form(&state, &password_grant("")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        granted(&body),
        (
            vec!["admin".to_owned(), "reader".to_owned()],
            Some("admin reader".to_owned())
        )
    );
}

#[tokio::test]
async fn fewer_scopes_narrow_the_token_in_form_and_json() {
    let state = setup("scope-fewer").await;
    let (status, body) = form(&state, &password_grant("reader")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        granted(&body),
        (vec!["reader".to_owned()], Some("reader".to_owned()))
    );
    let json = json!({"email": "ada@example.com", "password": PASSWORD, "scope": "admin"});
    let (status, body, _) = call(&state, request("application/json", json.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(granted(&body).0, ["admin"]);
}

#[tokio::test]
async fn a_scope_the_user_lacks_or_a_malformed_one_is_invalid_scope() {
    let state = setup("scope-more").await;
    for (scope, names) in [("reader%20support", "support"), ("a%22b", "scope must be")] {
        let (status, body) = form(&state, &password_grant(scope)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_scope")),
            "{scope}: {body}"
        );
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(names), "{description}");
    }
}

#[tokio::test]
async fn a_wrong_password_is_invalid_grant_whatever_the_scope() {
    // Which roles a user has is said only to whoever knows the password.
    let state = setup("scope-wrong-password").await;
    let body = "grant_type=password&username=ada@example.com&password=wrong-one-123&scope=support";
    let (status, body) = form(&state, body).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn a_narrowed_session_stays_narrow_at_every_refresh() {
    let state = with_sessions("scope-session").await;
    let (status, signed) = form(&state, &password_grant("reader")).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let refresh = |token: &str, scope: &str| {
        format!("grant_type=refresh_token&refresh_token={token}&scope={scope}")
    };
    let r1 = signed["refresh_token"].as_str().unwrap().to_owned();

    // More than the session was granted: refused, and the refresh token is not spent.
    let (status, body) = form(&state, &refresh(&r1, "admin")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope")),
        "{body}"
    );
    let (status, body) = form(&state, &refresh(&r1, "")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(granted(&body).0, ["reader"], "omitted: the session's scope");
    let stored = state
        .sessions
        .as_ref()
        .unwrap()
        .families_of(&support::stored(&state, "ada@example.com").await.id.unwrap())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].scope.iter().flatten().collect::<BTreeSet<_>>(),
        BTreeSet::from([&"reader".to_owned()])
    );

    // A full session may ask for fewer at a refresh, for that access token.
    let (_, full) = form(&state, &password_grant("")).await;
    let r = full["refresh_token"].as_str().unwrap();
    let (status, body) = form(&state, &refresh(r, "admin")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(granted(&body).0, ["admin"]);
}
