//! After the load: every promise checked once more, from outside and from the sessions table.
//!
//! - No 5xx and no request without an answer (goose's counts and the users' own).
//! - No session lost: every refresh token a user still holds refreshes now, unless its
//!   sign-out went through and only the answer was cut off by the end of the run.
//! - No session forked: in the sessions table, no family has two unused tokens, and every
//!   family that is not revoked has one.
//! - No refresh token accepted after its sign-out (the users' own checks).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use authcore::token::refresh::hash;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use userstore::sessions::{SessionKey, attr};

use crate::flow::{Finding, Ledger, step};
use crate::report::Step;
use crate::stack::Stack;

/// What the audit found: each finding, how often, and an example.
pub type Findings = Vec<(Finding, usize, String)>;

/// One family as the table holds it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct FamilyState {
    revoked: bool,
    unused_tokens: usize,
}

/// Runs every check; the findings (none: the load passed).
pub async fn run(
    stack: &Stack,
    ledger: &Mutex<Ledger>,
    steps: &[Step],
) -> Result<Findings, String> {
    let (mut found, held) = {
        let ledger = ledger.lock().unwrap_or_else(|e| e.into_inner());
        (ledger.findings.clone(), ledger.held.clone())
    };
    // goose's counts: a 5xx the users' own checks missed still fails the run.
    let server_errors: usize = steps.iter().map(Step::server_errors).sum();
    if server_errors > 0 && !found.contains_key(&Finding::ServerError) {
        found.insert(
            Finding::ServerError,
            (server_errors, "goose's status counts".into()),
        );
    }
    let mut add = |finding: Finding, detail: String| {
        found.entry(finding).or_insert((0, detail)).0 += 1;
    };
    let before = families(stack).await?;
    for token in held.values() {
        if !still_signed_in(stack, &before, token).await? {
            add(
                Finding::LostSession,
                "a held session no longer refreshes".into(),
            );
        }
    }
    // Read again: the held sessions were refreshed once more just now.
    for (id, family) in families(stack).await? {
        if family.unused_tokens > 1 {
            add(
                Finding::Forked,
                format!("family {id}: {} unused tokens", family.unused_tokens),
            );
        } else if family.unused_tokens == 0 && !family.revoked {
            add(
                Finding::LostSession,
                format!("family {id}: live, no unused token"),
            );
        }
    }
    Ok(found.into_iter().map(|(f, (n, d))| (f, n, d)).collect())
}

/// Whether the session of `token` still refreshes, or was signed out (its sign-out's answer
/// was what the end of the run cut off).
async fn still_signed_in(
    stack: &Stack,
    families: &HashMap<String, FamilyState>,
    token: &str,
) -> Result<bool, String> {
    let record = match hash(token) {
        Some(h) => stack.sessions.token(&h).await.map_err(|e| e.to_string())?,
        None => None,
    };
    let Some(record) = record else {
        return Ok(false);
    };
    if families.get(&record.family).is_some_and(|f| f.revoked) {
        return Ok(true);
    }
    let grant = json!({"grant_type": "refresh_token", "refresh_token": token});
    let answer = stack
        .http
        .post(format!("{}/refresh", stack.base))
        .json(&grant)
        .send()
        .await
        .map_err(|e| format!("{}: {e}", step::REFRESH))?;
    Ok(answer.status().as_u16() == 200)
}

/// Every family in the sessions table: revoked or not, and how many unused, unexpired tokens.
async fn families(stack: &Stack) -> Result<HashMap<String, FamilyState>, String> {
    let items = stack
        .dynamodb
        .scan()
        .table_name(stack.sessions.table())
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| format!("scanning the sessions table: {e}"))?;
    let now = authcore::token::now_seconds();
    let mut families: HashMap<String, FamilyState> = HashMap::new();
    for item in &items {
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(v)) => v.as_str(),
            _ => "",
        };
        let flag = |name: &str| matches!(item.get(name), Some(AttributeValue::Bool(true)));
        let expires_at = match item.get(attr::EXPIRES_AT) {
            Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
            _ => 0,
        };
        match SessionKey::parse(text(attr::PK)) {
            Some(SessionKey::Family(id)) => {
                families.entry(id.to_owned()).or_default().revoked = flag(attr::REVOKED);
            }
            Some(SessionKey::Token(_)) if !flag(attr::USED) && expires_at > now => {
                families
                    .entry(text(attr::FAMILY).to_owned())
                    .or_default()
                    .unused_tokens += 1;
            }
            _ => {}
        }
    }
    Ok(families)
}

/// The audit's verdict, for the end of the output.
pub fn summary(findings: &Findings, ledger: &Mutex<Ledger>) -> String {
    let ledger = ledger.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = format!(
        "\n{} passes from sign-in to a refused refresh after sign-out; {} refreshes retried \
         after a lost answer kept their session; {} sessions still held at the end\n",
        ledger.passes,
        ledger.retries_kept,
        ledger.held.len()
    );
    if findings.is_empty() {
        out.push_str(
            "load: passed: no 5xx, no session lost or forked, no token accepted after sign-out\n",
        );
    }
    for (finding, count, example) in findings {
        let _ = writeln!(
            out,
            "load: FAILED: {count} × {} (first: {example})",
            finding.meaning()
        );
    }
    out
}
