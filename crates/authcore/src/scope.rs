//! OAuth scopes (RFC 6749 §3.3), derived from roles: each role whose name is a valid scope
//! token is the scope of the same name, so that the route rule `GET /admin admin` is the
//! authorization scope `admin` on that route for API Gateway's JWT authorizer.
//!
//! A client may ask for fewer scopes than the user's roles (the token request's `scope`
//! parameter); the token then carries those roles only, in `roles` and `scope` alike, so that
//! check-token's rules and the gateway's scopes agree. Asking for a scope the user does not
//! have is `invalid_scope`.

use std::collections::BTreeSet;

/// Why a requested scope cannot be granted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// The `scope` parameter is not scope tokens separated by single spaces.
    #[error(
        "scope must be scope names separated by spaces, each of the characters RFC 6749 §3.3 \
         allows (no quotes, backslashes or control characters)"
    )]
    Malformed,
    /// A requested scope is not one of the user's (or the session's).
    #[error("the scope {0:?} is not granted to this user: ask for fewer scopes, or none")]
    NotGranted(String),
}

/// The longest `scope` parameter read, in bytes.
pub const MAX_SCOPE_BYTES: usize = 1024;

/// Whether `token` is an RFC 6749 §3.3 scope-token: `%x21 / %x23-5B / %x5D-7E`, one or more.
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// The scopes a client asked for, parsed from the `scope` parameter: `None` when absent or
/// empty (every scope granted).
pub fn parse(text: Option<&str>) -> Result<Option<BTreeSet<String>>, ScopeError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.len() > MAX_SCOPE_BYTES {
        return Err(ScopeError::Malformed);
    }
    let mut scopes = BTreeSet::new();
    for token in text.split(' ') {
        if !is_scope_token(token) {
            return Err(ScopeError::Malformed);
        }
        scopes.insert(token.to_owned());
    }
    Ok(Some(scopes))
}

/// The roles a token may carry: `roles`, narrowed to `requested` when a client asked for fewer;
/// a requested scope that is not among them is refused.
pub fn grant(
    roles: &[String],
    requested: Option<&BTreeSet<String>>,
) -> Result<Vec<String>, ScopeError> {
    let Some(requested) = requested else {
        return Ok(roles.to_vec());
    };
    if let Some(missing) = requested.iter().find(|s| !roles.contains(s)) {
        return Err(ScopeError::NotGranted(missing.clone()));
    }
    Ok(roles
        .iter()
        .filter(|r| requested.contains(*r))
        .cloned()
        .collect())
}

/// The `scope` claim of a token for `roles`: those that are scope tokens, space-separated;
/// `None` when there are none.
pub fn claim(roles: &[String]) -> Option<String> {
    let scopes: Vec<&str> = roles
        .iter()
        .map(String::as_str)
        .filter(|r| is_scope_token(r))
        .collect();
    (!scopes.is_empty()).then(|| scopes.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scope_tokens_are_rfc_6749_characters() {
        for ok in ["admin", "orders:read", "a/b", "~!#[]"] {
            assert!(is_scope_token(ok), "{ok}");
        }
        for bad in ["", "a b", "quo\"te", "back\\slash", "tab\t", "é"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_request_parses_into_its_scopes() {
        assert_eq!(parse(None), Ok(None));
        assert_eq!(parse(Some("")), Ok(None));
        let got = parse(Some("reader admin reader")).unwrap().unwrap();
        assert_eq!(got.into_iter().collect::<Vec<_>>(), ["admin", "reader"]);
        for bad in ["a  b", " a", "a ", "a\"b", &"x".repeat(MAX_SCOPE_BYTES + 1)] {
            assert_eq!(parse(Some(bad)), Err(ScopeError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn fewer_scopes_narrow_the_roles_and_more_are_refused() {
        let user = roles(&["reader", "admin"]);
        assert_eq!(grant(&user, None).unwrap(), user);
        let fewer = parse(Some("reader")).unwrap();
        assert_eq!(grant(&user, fewer.as_ref()).unwrap(), roles(&["reader"]));
        let more = parse(Some("reader support")).unwrap();
        assert_eq!(
            grant(&user, more.as_ref()),
            Err(ScopeError::NotGranted("support".into()))
        );
    }

    #[test]
    fn the_claim_lists_the_roles_that_are_scope_tokens() {
        assert_eq!(
            claim(&roles(&["reader", "admin"])).as_deref(),
            Some("reader admin")
        );
        assert_eq!(claim(&roles(&["has space", "ok"])).as_deref(), Some("ok"));
        assert_eq!(claim(&[]), None);
    }
}
