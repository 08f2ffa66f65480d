//! What both APIs read alike: a function's API events, a route's authorizer, an authorizer's
//! function and its cache TTL, and how a path template matches a request path.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_norway::Value;

use super::error::{TemplateError, unsupported};
use super::intrinsics::{Resolver, entries, get, intrinsic};

/// The logical id of an authorizer's function, from its `FunctionArn: !GetAtt F.Arn`.
pub(super) fn authorizer_function(name: &str, spec: &Value) -> Result<String, TemplateError> {
    match spec.get("FunctionArn").and_then(intrinsic) {
        Some((f, Value::Sequence(args))) if f == "GetAtt" => {
            args.first().and_then(Value::as_str).map(str::to_owned)
        }
        Some((f, Value::String(s))) if f == "GetAtt" => s.split('.').next().map(str::to_owned),
        _ => None,
    }
    .ok_or_else(|| {
        unsupported(format!(
            "authorizer {name}: FunctionArn must be !GetAtt Function.Arn"
        ))
    })
}

/// A cache TTL in seconds (`ReauthorizeEvery`), `default` when absent.
pub(super) fn ttl(
    r: &Resolver,
    identity: Option<&Value>,
    default: u64,
) -> Result<Duration, TemplateError> {
    let seconds = match identity.and_then(|i| i.get("ReauthorizeEvery")) {
        Some(v) => r
            .text(v, "ReauthorizeEvery")?
            .parse()
            .map_err(|_| unsupported("ReauthorizeEvery is not a number"))?,
        None => default,
    };
    Ok(Duration::from_secs(seconds))
}

/// The `Properties` of function `res`'s events of type `kind` (`Api`, `HttpApi`) that belong to
/// the API `api_id`, named by `id_key` (`RestApiId`, `ApiId`); an event naming no API belongs
/// to it, as SAM's implicit API.
pub(super) fn api_events<'a>(
    res: &'a Value,
    kind: &'a str,
    id_key: &'a str,
    api_id: &'a str,
) -> impl Iterator<Item = &'a Value> {
    entries(res, &["Properties", "Events"])
        .filter(move |(_, event)| event.get("Type").and_then(Value::as_str) == Some(kind))
        .map(|(_, event)| event.get("Properties").unwrap_or(&Value::Null))
        .filter(move |p| {
            p.get(id_key)
                .and_then(intrinsic)
                .is_none_or(|(_, target)| target.as_str() == Some(api_id))
        })
}

/// The authorizer of a route's event properties `p`: its own, none (`NONE`), or the API's default.
pub(super) fn route_authorizer(p: &Value, default_authorizer: Option<&str>) -> Option<String> {
    match get(p, &["Auth", "Authorizer"]).and_then(Value::as_str) {
        Some("NONE") => None,
        Some(name) => Some(name.to_owned()),
        None => default_authorizer.map(str::to_owned),
    }
}

/// Matches `/a/{id}/c` (and a greedy `{proxy+}`) against a request path.
pub(super) fn match_path(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    let want = template.trim_matches('/').split('/');
    let mut got = path.trim_matches('/').split('/');
    for w in want {
        if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix("+}")) {
            let rest: Vec<&str> = got.by_ref().collect();
            if rest.is_empty() || rest == [""] {
                return None;
            }
            params.insert(name.to_owned(), rest.join("/"));
            return Some(params);
        }
        let g = got.next()?;
        if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            if g.is_empty() {
                return None;
            }
            params.insert(name.to_owned(), g.to_owned());
        } else if w != g {
            return None;
        }
    }
    got.next().is_none().then_some(params)
}
