//! Cross-origin access for browsers: which origins may read the API's responses, and the CORS
//! headers a response carries for them. One piece of code for every function that answers a
//! browser (`authenticate`, `hello`), configured once by `ALLOWED_ORIGINS`.

use http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, HeaderMap, HeaderValue, VARY,
};

/// The setting: comma-separated exact origins (`https://app.example.com,http://127.0.0.1:8000`),
/// or `*` for any origin; empty or unset, no cross-origin access.
pub const ALLOWED_ORIGINS_VAR: &str = "ALLOWED_ORIGINS";

/// Response headers a page may read besides the simple ones: when to try again after a lockout
/// or throttling, and the scheme a 401 asks for.
pub const EXPOSED_HEADERS: &str = "Retry-After, WWW-Authenticate";

/// Why `ALLOWED_ORIGINS` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorsError {
    /// An entry is not an origin: scheme `http` or `https`, a host, an optional port, nothing else.
    #[error(
        "{ALLOWED_ORIGINS_VAR}: {0:?} is not an origin (scheme://host[:port], no path, such as https://app.example.com)"
    )]
    NotAnOrigin(String),
    /// `*` is listed with other origins: it already allows them all.
    #[error("{ALLOWED_ORIGINS_VAR}: `*` allows every origin and cannot be listed with others")]
    WildcardInList,
}

/// The origins allowed to read responses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AllowedOrigins {
    /// No cross-origin access: responses carry no CORS headers.
    #[default]
    None,
    /// Any origin (`*`). The API takes bearer tokens, not cookies, so no credentials are allowed.
    Any,
    /// Exactly these origins (lower-case scheme and host), each echoed back with `Vary: Origin`.
    List(Vec<String>),
}

impl AllowedOrigins {
    /// Reads the setting's value.
    pub fn parse(value: &str) -> Result<Self, CorsError> {
        let entries: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        match entries.as_slice() {
            [] => Ok(Self::None),
            ["*"] => Ok(Self::Any),
            _ if entries.contains(&"*") => Err(CorsError::WildcardInList),
            _ => entries
                .iter()
                .map(|e| normalize(e).ok_or_else(|| CorsError::NotAnOrigin((*e).to_owned())))
                .collect::<Result<_, _>>()
                .map(Self::List),
        }
    }

    /// Reads `ALLOWED_ORIGINS` from `vars`; unset, no cross-origin access.
    pub fn read(vars: &crate::Vars<'_>) -> Result<Self, crate::SettingsError> {
        let origins = vars.parsed(ALLOWED_ORIGINS_VAR, |v| {
            Self::parse(v).map_err(|e| e.to_string())
        })?;
        Ok(origins.unwrap_or_default())
    }

    /// Whether a request from `origin` (the `Origin` header's value) may read the response.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Self::None => false,
            Self::Any => true,
            Self::List(list) => normalize(origin).is_some_and(|o| list.contains(&o)),
        }
    }

    /// Adds the CORS headers for a request whose `Origin` header is `origin` to `headers`.
    /// Without `Origin` (not a cross-origin browser request) or from an origin not allowed,
    /// nothing is added: the browser then keeps the response from the page. Returns whether
    /// the origin was allowed.
    pub fn apply(&self, origin: Option<&HeaderValue>, headers: &mut HeaderMap) -> bool {
        let Some(origin) = origin.and_then(|o| o.to_str().ok()) else {
            return false;
        };
        if !self.allows(origin) {
            return false;
        }
        let allow = match self {
            Self::Any => HeaderValue::from_static("*"),
            _ => match HeaderValue::from_str(origin) {
                Ok(v) => v,
                Err(_) => return false,
            },
        };
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
        if matches!(self, Self::List(_)) {
            // The answer depends on the Origin: caches must keep one per origin.
            headers.append(VARY, HeaderValue::from_static("Origin"));
        }
        true
    }
}

/// `origin` as browsers send it (`scheme://host[:port]`, scheme and host lower-case), or
/// `None` when it is not an http(s) origin.
fn normalize(origin: &str) -> Option<String> {
    let uri: http::Uri = origin.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    let bare = uri.path_and_query().is_none_or(|p| p.as_str() == "/") && !origin.ends_with('/');
    let plain = !authority.as_str().contains('@') && !authority.host().is_empty();
    ((scheme == "http" || scheme == "https") && bare && plain).then(|| {
        let host = authority.host().to_ascii_lowercase();
        match authority.port_u16() {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(origins: &[&str]) -> AllowedOrigins {
        AllowedOrigins::List(origins.iter().map(|o| o.to_string()).collect())
    }

    #[test]
    fn reads_the_setting() {
        assert_eq!(AllowedOrigins::parse(""), Ok(AllowedOrigins::None));
        assert_eq!(AllowedOrigins::parse(" , "), Ok(AllowedOrigins::None));
        assert_eq!(AllowedOrigins::parse("*"), Ok(AllowedOrigins::Any));
        assert_eq!(
            AllowedOrigins::parse("https://App.Example.com, http://127.0.0.1:8000"),
            Ok(list(&["https://app.example.com", "http://127.0.0.1:8000"]))
        );
        assert_eq!(
            AllowedOrigins::parse("*,https://a.example"),
            Err(CorsError::WildcardInList)
        );
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://app.example.com?x=1",
            "ftp://app.example.com",
            "https://user@app.example.com",
            "null",
        ] {
            assert_eq!(
                AllowedOrigins::parse(bad),
                Err(CorsError::NotAnOrigin(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_allowed_origin_is_echoed_with_vary_and_others_get_nothing() {
        let cors = list(&["https://app.example.com"]);
        let mut h = HeaderMap::new();
        let origin = HeaderValue::from_static("https://app.example.com");
        assert!(cors.apply(Some(&origin), &mut h));
        assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.com");
        assert_eq!(h[VARY], "Origin");
        assert_eq!(h[ACCESS_CONTROL_EXPOSE_HEADERS], EXPOSED_HEADERS);
        for other in [
            "https://evil.example.com",
            "https://app.example.com.evil.example",
            "http://app.example.com",
            "null",
        ] {
            let mut h = HeaderMap::new();
            assert!(
                !cors.apply(Some(&HeaderValue::from_static(other)), &mut h),
                "{other}"
            );
            assert!(h.is_empty(), "{other}");
        }
        // No Origin: a request as today, untouched.
        let mut h = HeaderMap::new();
        assert!(!cors.apply(None, &mut h));
        assert!(h.is_empty());
        // Nothing allowed, nothing added.
        let mut h = HeaderMap::new();
        assert!(!AllowedOrigins::None.apply(Some(&origin), &mut h));
        assert!(h.is_empty());
    }

    #[test]
    fn any_origin_is_a_star_without_vary() {
        let mut h = HeaderMap::new();
        let origin = HeaderValue::from_static("https://whoever.example");
        assert!(AllowedOrigins::Any.apply(Some(&origin), &mut h));
        assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(h.get(VARY).is_none());
    }
}
