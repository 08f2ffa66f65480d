//! The AWS WAF web ACL on the REST API's stage, when the template creates one (its condition
//! holds): its rate-based rules, as far as the local gateway emulates them (aggregated by
//! source address, scoped down to request paths, blocking with a custom response).

use serde_norway::Value;

use super::error::{TemplateError, unsupported};
use super::intrinsics::{Resolver, get, intrinsic};

/// How a rule's scope-down statement matches a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// `EXACTLY`.
    Exactly(String),
    /// `STARTS_WITH`.
    StartsWith(String),
    /// `ENDS_WITH`.
    EndsWith(String),
    /// `CONTAINS`.
    Contains(String),
}

impl PathMatch {
    /// Whether `path` (lower-cased, as the rules' `LOWERCASE` transformation does) matches.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.to_ascii_lowercase();
        match self {
            Self::Exactly(s) => path == *s,
            Self::StartsWith(s) => path.starts_with(s.as_str()),
            Self::EndsWith(s) => path.ends_with(s.as_str()),
            Self::Contains(s) => path.contains(s.as_str()),
        }
    }
}

/// A rate-based rule aggregated by source address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRule {
    /// Its name.
    pub name: String,
    /// Requests one source may send per window; past it, the rule blocks.
    pub limit: u64,
    /// The window, in seconds.
    pub window_seconds: u64,
    /// The paths it counts (any one matches); empty, every request.
    pub paths: Vec<PathMatch>,
    /// The status of its block answer.
    pub status: u16,
    /// The body of its block answer.
    pub body: String,
}

/// The web ACL's rules that the local gateway applies, in priority order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waf {
    /// Rate-based rules.
    pub rules: Vec<RateRule>,
}

/// The web ACL associated with the REST API's stage, if the template creates one.
pub(super) fn rest_waf(
    r: &Resolver,
    resources: &serde_norway::Mapping,
) -> Result<Waf, TemplateError> {
    let mut waf = Waf::default();
    for (_, res) in resources {
        if res.get("Type").and_then(Value::as_str) != Some("AWS::WAFv2::WebACLAssociation")
            || !created(r, res)?
        {
            continue;
        }
        let acl_id = get(res, &["Properties", "WebACLArn"])
            .and_then(intrinsic)
            .and_then(|(name, arg)| match (name.as_str(), arg) {
                ("GetAtt", Value::Sequence(parts)) => parts.first()?.as_str().map(str::to_owned),
                ("GetAtt", Value::String(s)) => s.split('.').next().map(str::to_owned),
                _ => None,
            })
            .ok_or_else(|| unsupported("WebACLAssociation: WebACLArn is not !GetAtt ACL.Arn"))?;
        let acl = resources
            .get(acl_id.as_str())
            .ok_or_else(|| unsupported(format!("WebACLAssociation: no resource {acl_id}")))?;
        waf.rules.extend(acl_rules(r, acl)?);
    }
    Ok(waf)
}

/// Whether a resource is created: it has no `Condition`, or its condition holds.
fn created(r: &Resolver, res: &Value) -> Result<bool, TemplateError> {
    match res.get("Condition").and_then(Value::as_str) {
        Some(name) => r.condition(name),
        None => Ok(true),
    }
}

/// The rate-based rules of web ACL `acl`.
fn acl_rules(r: &Resolver, acl: &Value) -> Result<Vec<RateRule>, TemplateError> {
    let props = acl.get("Properties").unwrap_or(&Value::Null);
    let mut rules = Vec::new();
    let listed = props
        .get("Rules")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten();
    for rule in listed {
        let name = rule
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or("rule")
            .to_owned();
        let not_emulated =
            |what: &str| unsupported(format!("WAF rule {name}: {what} is not emulated"));
        let rate = get(rule, &["Statement", "RateBasedStatement"])
            .ok_or_else(|| not_emulated("a statement other than RateBasedStatement"))?;
        if rate.get("AggregateKeyType").and_then(Value::as_str) != Some("IP") {
            return Err(not_emulated("an aggregate key other than IP"));
        }
        let number = |key: &str, default: Option<u64>| -> Result<u64, TemplateError> {
            match rate.get(key) {
                Some(v) => r.text(v, key)?.parse().map_err(|_| not_emulated(key)),
                None => default.ok_or_else(|| not_emulated(&format!("a rule without {key}"))),
            }
        };
        let block = get(rule, &["Action", "Block"])
            .ok_or_else(|| not_emulated("an action other than Block"))?;
        let status = match get(block, &["CustomResponse", "ResponseCode"]) {
            Some(v) => r
                .text(v, "ResponseCode")?
                .parse()
                .map_err(|_| not_emulated("ResponseCode"))?,
            None => 403,
        };
        let body = get(block, &["CustomResponse", "CustomResponseBodyKey"])
            .and_then(Value::as_str)
            .and_then(|key| get(props, &["CustomResponseBodies", key, "Content"]))
            .and_then(Value::as_str)
            .unwrap_or(r#"{"message":"Forbidden"}"#)
            .to_owned();
        rules.push(RateRule {
            name: name.clone(),
            limit: number("Limit", None)?,
            window_seconds: number("EvaluationWindowSec", Some(300))?,
            paths: match rate.get("ScopeDownStatement") {
                Some(s) => scope_down(s).ok_or_else(|| not_emulated("this ScopeDownStatement"))?,
                None => Vec::new(),
            },
            status,
            body,
        });
    }
    Ok(rules)
}

/// The path matches of a scope-down statement: a `ByteMatchStatement` on `UriPath`, or an
/// `OrStatement` of them; `None` for anything else.
fn scope_down(statement: &Value) -> Option<Vec<PathMatch>> {
    if let Some(or) = get(statement, &["OrStatement", "Statements"]).and_then(Value::as_sequence) {
        return or
            .iter()
            .map(scope_down)
            .try_fold(Vec::new(), |mut all, one| {
                all.extend(one?);
                Some(all)
            });
    }
    let byte = statement.get("ByteMatchStatement")?;
    get(byte, &["FieldToMatch", "UriPath"])?;
    // Paths are compared lower-cased: the one transformation emulated.
    let lowercase = |t: &Value| t.get("Type").and_then(Value::as_str) == Some("LOWERCASE");
    match byte.get("TextTransformations").and_then(Value::as_sequence) {
        Some(list) if list.len() == 1 && lowercase(&list[0]) => {}
        _ => return None,
    }
    let text = byte.get("SearchString")?.as_str()?.to_ascii_lowercase();
    let one = match byte.get("PositionalConstraint")?.as_str()? {
        "EXACTLY" => PathMatch::Exactly(text),
        "STARTS_WITH" => PathMatch::StartsWith(text),
        "ENDS_WITH" => PathMatch::EndsWith(text),
        "CONTAINS" => PathMatch::Contains(text),
        _ => return None,
    };
    Some(vec![one])
}
