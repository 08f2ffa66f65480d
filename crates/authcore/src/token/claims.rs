//! What a token says: the claims this project issues and reads back.

use serde::Serialize;

/// The claims of a token this project issues, and of a verified token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience (the configured one, once verified).
    pub aud: String,
    /// Subject: the user's stable identifier.
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Not before, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Unique token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The user's email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The user's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's roles (those the client asked for, when it asked for fewer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The OAuth scopes (RFC 8693 §4.2: space-separated): the roles that are scope tokens
    /// ([`crate::scope`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Who a token is for: the user-specific part of the claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// `sub`.
    pub sub: String,
    /// `email`.
    pub email: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `roles`.
    pub roles: Vec<String>,
}
