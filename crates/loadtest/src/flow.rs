//! What each virtual user does, again and again until the time is up, and what it saw.
//!
//! One pass: sign in, `/hello`, refresh, on every fourth pass the same refresh again (a client
//! whose answer was lost: it must get the same successor), `/hello` with the new token, sign
//! out, and the signed-out refresh token once more (it must be refused). Every answer that
//! breaks a promise is a [`Finding`] in the [`Ledger`], as are the sessions a user still holds,
//! which the audit refreshes once more.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use goose::config::GooseConfiguration;
use goose::prelude::*;
use serde_json::{Value, json};

use crate::stack::Stack;

/// The steps, as their requests are named in the metrics, in the order a user takes them.
pub mod step {
    /// `POST /token` with the account's password.
    pub const SIGN_IN: &str = "sign in";
    /// `GET /hello` with the access token of the sign-in.
    pub const HELLO: &str = "hello";
    /// `POST /refresh` with the refresh token of the sign-in.
    pub const REFRESH: &str = "refresh";
    /// The same refresh again, as after a lost answer.
    pub const RETRY: &str = "refresh retried";
    /// `GET /hello` with the refreshed access token.
    pub const HELLO_AGAIN: &str = "hello, refreshed";
    /// `POST /revoke` with the current refresh token.
    pub const SIGN_OUT: &str = "sign out";
    /// `POST /refresh` with the token just revoked: must be refused.
    pub const AFTER_SIGN_OUT: &str = "refresh after sign-out";
    /// Every step, in order.
    pub const ALL: [&str; 7] = [
        SIGN_IN,
        HELLO,
        REFRESH,
        RETRY,
        HELLO_AGAIN,
        SIGN_OUT,
        AFTER_SIGN_OUT,
    ];
}

/// A broken promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Finding {
    /// A 5xx answer.
    ServerError,
    /// No answer at all (connection refused or reset, a timeout).
    NoAnswer,
    /// A refresh of a live session was refused: the user would have been signed out.
    LostSession,
    /// A retried refresh got another successor than the first: the family branched.
    Forked,
    /// A refresh token was accepted after its sign-out.
    AcceptedAfterSignOut,
    /// Any other answer a step did not expect (a 4xx where 2xx was due, say).
    Unexpected,
}

impl Finding {
    /// What it means, for the summary.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::ServerError => "a 5xx answer",
            Self::NoAnswer => "no answer (connection refused, reset or timed out)",
            Self::LostSession => "a live session's refresh was refused (a user signed out)",
            Self::Forked => "a session with two live refresh tokens (a forked family)",
            Self::AcceptedAfterSignOut => "a refresh token accepted after its sign-out",
            Self::Unexpected => "another answer than the step expects",
        }
    }
}

/// What the virtual users saw.
#[derive(Debug, Default)]
pub struct Ledger {
    /// How often each finding occurred, and the first example.
    pub findings: BTreeMap<Finding, (usize, String)>,
    /// The refresh token each user holds now, while signed in.
    pub held: HashMap<usize, String>,
    /// Passes completed (signed out and checked).
    pub passes: usize,
    /// Refreshes retried after a "lost" answer that got the same successor.
    pub retries_kept: usize,
}

impl Ledger {
    /// An empty ledger the users share.
    pub fn shared() -> Arc<Mutex<Self>> {
        Arc::new(Mutex::new(Self::default()))
    }

    /// Records `finding` at `step`.
    pub fn found(&mut self, finding: Finding, step: &str, detail: &str) {
        let entry = self
            .findings
            .entry(finding)
            .or_insert_with(|| (0, format!("{step}: {detail}")));
        entry.0 += 1;
    }
}

/// Everything the transactions share: goose's transactions are plain functions.
struct Shared {
    ledger: Arc<Mutex<Ledger>>,
    accounts: Vec<String>,
    password: String,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

fn shared() -> Result<&'static Shared, Box<TransactionError>> {
    SHARED
        .get()
        .ok_or_else(|| Box::new(TransactionError::Custom("the load is not set up".into())))
}

fn note(finding: Finding, step: &str, detail: &str) {
    if let Some(s) = SHARED.get() {
        s.ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .found(finding, step, detail);
    }
}

/// A user's session between steps.
#[derive(Debug, Default, Clone)]
struct Session {
    access: Option<String>,
    refresh: Option<String>,
    /// The refresh token exchanged last, for the retry.
    exchanged: Option<String>,
    pass: usize,
}

/// Runs `users` virtual users against `stack` for `time`; the ledger fills as they go.
pub async fn attack(
    stack: &Stack,
    ledger: Arc<Mutex<Ledger>>,
    users: usize,
    time: Duration,
) -> Result<GooseMetrics, String> {
    let first = SHARED
        .set(Shared {
            ledger,
            accounts: stack.accounts.clone(),
            password: stack.password.clone(),
        })
        .is_ok();
    if !first {
        return Err("one load per process".into());
    }
    let pass = scenario!("sign-in to sign-out")
        .register_transaction(transaction!(sign_in).set_name(step::SIGN_IN))
        .register_transaction(transaction!(hello).set_name(step::HELLO))
        .register_transaction(transaction!(refresh).set_name(step::REFRESH))
        .register_transaction(transaction!(hello_again).set_name(step::HELLO_AGAIN))
        .register_transaction(transaction!(sign_out).set_name(step::SIGN_OUT));
    let set = |e: GooseError| e.to_string();
    GooseAttack::initialize_with_config(GooseConfiguration::default())
        .map_err(set)?
        .register_scenario(pass)
        .set_default(GooseDefault::Host, stack.base.as_str())
        .map_err(set)?
        .set_default(GooseDefault::Users, users)
        .map_err(set)?
        .set_default(GooseDefault::IncreaseRate, "100")
        .map_err(set)?
        .set_default(GooseDefault::RunTime, time.as_secs() as usize)
        .map_err(set)?
        .set_default(GooseDefault::NoResetMetrics, true)
        .map_err(set)?
        .set_default(GooseDefault::NoPrintMetrics, true)
        .map_err(set)?
        .set_default(GooseDefault::Quiet, 1)
        .map_err(set)?
        .execute()
        .await
        .map_err(set)
}

/// A `POST path` with `body` as JSON, named `name`, expecting `status`.
async fn post(
    user: &mut GooseUser,
    path: &str,
    name: &str,
    body: &Value,
    status: u16,
) -> Result<(u16, Value), Box<TransactionError>> {
    let builder = user
        .get_request_builder(&GooseMethod::Post, path)?
        .json(body);
    let request = GooseRequest::builder()
        .name(name)
        .set_request_builder(builder)
        .expect_status_code(status)
        .build();
    send(user, name, request).await
}

/// A `GET /hello` with `token`, named `name`.
async fn get_hello(user: &mut GooseUser, name: &str, token: &str) -> TransactionResult {
    let builder = user
        .get_request_builder(&GooseMethod::Get, "/hello")?
        .bearer_auth(token);
    let request = GooseRequest::builder()
        .name(name)
        .set_request_builder(builder)
        .build();
    let (status, _) = send(user, name, request).await?;
    if (400..500).contains(&status) {
        note(Finding::Unexpected, name, &format!("status {status}"));
    }
    Ok(())
}

/// Sends `request` as step `name`: the status and the JSON body (`Null` if none); 0 when
/// nothing came back. A 5xx and no answer are findings here; the steps judge the rest.
async fn send(
    user: &mut GooseUser,
    name: &str,
    request: GooseRequest<'_>,
) -> Result<(u16, Value), Box<TransactionError>> {
    let answer = user.request(request).await?;
    let response = match answer.response {
        Ok(r) => r,
        Err(e) => {
            note(Finding::NoAnswer, name, &e.to_string());
            return Ok((0, Value::Null));
        }
    };
    let got = response.status().as_u16();
    if got >= 500 {
        note(Finding::ServerError, name, &format!("status {got}"));
    }
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    Ok((got, body))
}

fn text(body: &Value, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn session(user: &mut GooseUser) -> &mut Session {
    if user.get_session_data::<Session>().is_none() {
        user.set_session_data(Session::default());
    }
    user.get_session_data_unchecked_mut::<Session>()
}

fn hold(user: &GooseUser, refresh: Option<&String>) {
    if let Some(s) = SHARED.get() {
        let mut ledger = s.ledger.lock().unwrap_or_else(|e| e.into_inner());
        match refresh {
            Some(token) => ledger.held.insert(user.weighted_users_index, token.clone()),
            None => ledger.held.remove(&user.weighted_users_index),
        };
    }
}

async fn sign_in(user: &mut GooseUser) -> TransactionResult {
    let s = shared()?;
    let email = &s.accounts[user.weighted_users_index % s.accounts.len()];
    let body = json!({"email": email, "password": s.password});
    let (status, answer) = post(user, "/token", step::SIGN_IN, &body, 200).await?;
    let (access, refresh) = (
        text(&answer, "access_token"),
        text(&answer, "refresh_token"),
    );
    if status == 200 && (access.is_none() || refresh.is_none()) {
        note(
            Finding::Unexpected,
            step::SIGN_IN,
            "200 without both tokens",
        );
    } else if (400..500).contains(&status) {
        note(
            Finding::Unexpected,
            step::SIGN_IN,
            &format!("status {status}"),
        );
    }
    hold(user, refresh.as_ref());
    let session = session(user);
    session.pass += 1;
    session.access = access;
    session.refresh = refresh;
    session.exchanged = None;
    Ok(())
}

async fn hello(user: &mut GooseUser) -> TransactionResult {
    let Some(token) = session(user).access.clone() else {
        return Ok(());
    };
    get_hello(user, step::HELLO, &token).await
}

async fn hello_again(user: &mut GooseUser) -> TransactionResult {
    if session(user).exchanged.is_none() {
        return Ok(());
    }
    let Some(token) = session(user).access.clone() else {
        return Ok(());
    };
    get_hello(user, step::HELLO_AGAIN, &token).await
}

/// Exchanges the held refresh token; on every fourth pass presents it once more and expects
/// the same successor.
async fn refresh(user: &mut GooseUser) -> TransactionResult {
    let Some(old) = session(user).refresh.clone() else {
        return Ok(());
    };
    let grant = json!({"grant_type": "refresh_token", "refresh_token": old});
    let (status, answer) = post(user, "/refresh", step::REFRESH, &grant, 200).await?;
    let Some(next) = exchanged(status, &answer, step::REFRESH) else {
        return Ok(());
    };
    if session(user).pass.is_multiple_of(4) {
        let (status, again) = post(user, "/refresh", step::RETRY, &grant, 200).await?;
        match exchanged(status, &again, step::RETRY) {
            Some(same) if same == next => {
                if let Some(s) = SHARED.get() {
                    s.ledger
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .retries_kept += 1;
                }
            }
            Some(_) => note(Finding::Forked, step::RETRY, "another successor"),
            None => {}
        }
    }
    hold(user, Some(&next));
    let session = session(user);
    session.access = text(&answer, "access_token");
    session.refresh = Some(next);
    session.exchanged = Some(old);
    Ok(())
}

/// The new refresh token of a refresh answer; anything else is a finding.
fn exchanged(status: u16, answer: &Value, step: &str) -> Option<String> {
    match (status, text(answer, "refresh_token")) {
        (200, Some(next)) => Some(next),
        (400 | 401, _) => {
            let error = text(answer, "error").unwrap_or_default();
            note(Finding::LostSession, step, &format!("{status} {error}"));
            None
        }
        (0 | 500.., _) => None,
        (other, _) => {
            note(Finding::Unexpected, step, &format!("status {other}"));
            None
        }
    }
}

/// Revokes the session, then presents its refresh token once more: it must be refused.
async fn sign_out(user: &mut GooseUser) -> TransactionResult {
    let Some(token) = session(user).refresh.take() else {
        return Ok(());
    };
    let (status, _) = post(
        user,
        "/revoke",
        step::SIGN_OUT,
        &json!({"token": token}),
        200,
    )
    .await?;
    if status != 200 {
        if (400..500).contains(&status) {
            note(
                Finding::Unexpected,
                step::SIGN_OUT,
                &format!("status {status}"),
            );
        }
        // Not signed out: the session stays held, and the audit refreshes it.
        return Ok(());
    }
    hold(user, None);
    let grant = json!({"grant_type": "refresh_token", "refresh_token": token});
    let (status, _) = post(user, "/refresh", step::AFTER_SIGN_OUT, &grant, 400).await?;
    match status {
        200 => note(Finding::AcceptedAfterSignOut, step::AFTER_SIGN_OUT, "200"),
        400 => {
            if let Some(s) = SHARED.get() {
                s.ledger.lock().unwrap_or_else(|e| e.into_inner()).passes += 1;
            }
        }
        0 | 500.. => {}
        other => note(
            Finding::Unexpected,
            step::AFTER_SIGN_OUT,
            &format!("status {other}"),
        ),
    }
    Ok(())
}
