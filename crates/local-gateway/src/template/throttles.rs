//! The stages' throttles, as the template sets them: the REST API's `MethodSettings` (`/*` and
//! `*` for every method, or one resource path and method) and the HTTP API's
//! `DefaultRouteSettings` and `RouteSettings` (by route key).
//!
//! API Gateway applies them per method or route: each gets a token bucket of its own with its
//! setting, or the stage's default ("Throttle requests to your REST APIs", "Throttling requests
//! to your HTTP API").

use serde_norway::Value;

use super::error::{TemplateError, unsupported};
use super::intrinsics::{Resolver, entries};

/// One token bucket's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Steady-state requests per second.
    pub rate: f64,
    /// The bucket's size: requests that may come at once.
    pub burst: u32,
}

/// A stage's throttles: a default for every method or route, and settings of their own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Throttles {
    /// For every method or route without a setting of its own.
    pub default: Option<Limit>,
    /// By method and path template (`POST`, `/token`).
    pub routes: Vec<(String, String, Limit)>,
}

impl Throttles {
    /// The limit of the route declared as `method path`; `None`, not throttled.
    pub fn limit(&self, method: &str, path: &str) -> Option<Limit> {
        self.routes
            .iter()
            .find(|(m, p, _)| (m == "*" || m.eq_ignore_ascii_case(method)) && p == path)
            .map(|(_, _, limit)| *limit)
            .or(self.default)
    }
}

/// The limit of a settings object, if it sets one.
fn limit_of(r: &Resolver, settings: &Value, what: &str) -> Result<Option<Limit>, TemplateError> {
    let (Some(rate), Some(burst)) = (
        settings.get("ThrottlingRateLimit"),
        settings.get("ThrottlingBurstLimit"),
    ) else {
        return Ok(None);
    };
    let bad = |field: &str| unsupported(format!("{what}: {field} is not a number"));
    let rate: f64 = r
        .text(rate, "ThrottlingRateLimit")?
        .parse()
        .map_err(|_| bad("ThrottlingRateLimit"))?;
    let burst: u32 = r
        .text(burst, "ThrottlingBurstLimit")?
        .parse()
        .map_err(|_| bad("ThrottlingBurstLimit"))?;
    if !(rate > 0.0 && burst > 0) {
        return Err(unsupported(format!(
            "{what}: a throttle of rate 0 or burst 0 refuses everything; leave it out instead"
        )));
    }
    Ok(Some(Limit { rate, burst }))
}

/// The REST API's `MethodSettings`. A resource path is one JSON-pointer token after a `/`:
/// `/~1token` is `/token`, `/~1items~1{id}` is `/items/{id}`; `/*` with `*` is every method.
pub(super) fn rest_throttles(r: &Resolver, props: &Value) -> Result<Throttles, TemplateError> {
    let mut throttles = Throttles::default();
    let settings = props
        .get("MethodSettings")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten();
    for setting in settings {
        let text = |key: &str| -> Result<String, TemplateError> {
            let v = setting
                .get(key)
                .ok_or_else(|| unsupported(format!("MethodSettings: no {key}")))?;
            r.text(v, key)
        };
        let (path, method) = (text("ResourcePath")?, text("HttpMethod")?);
        let Some(limit) = limit_of(r, setting, &format!("MethodSettings {method} {path}"))? else {
            continue;
        };
        if path == "/*" && method == "*" {
            throttles.default = Some(limit);
        } else {
            let escaped = path.strip_prefix('/').unwrap_or(&path);
            let path = escaped.replace("~1", "/").replace("~0", "~");
            throttles.routes.push((method, path, limit));
        }
    }
    Ok(throttles)
}

/// The HTTP API's `DefaultRouteSettings` and `RouteSettings`.
pub(super) fn http_throttles(r: &Resolver, props: &Value) -> Result<Throttles, TemplateError> {
    let mut throttles = Throttles::default();
    if let Some(default) = props.get("DefaultRouteSettings") {
        throttles.default = limit_of(r, default, "DefaultRouteSettings")?;
    }
    for (key, settings) in entries(props, &["RouteSettings"]) {
        let key = key.as_str().unwrap_or_default();
        let Some((method, path)) = key.split_once(' ') else {
            return Err(unsupported(format!(
                "RouteSettings: {key:?} is not a route key"
            )));
        };
        if let Some(limit) = limit_of(r, settings, &format!("RouteSettings {key}"))? {
            throttles
                .routes
                .push((method.to_owned(), path.to_owned(), limit));
        }
    }
    Ok(throttles)
}
