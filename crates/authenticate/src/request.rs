//! Reading a `/token` or `/revoke` request: method, size, content type, grant and fields.

use std::collections::BTreeSet;

use authcore::password::MAX_PASSWORD_BYTES;
use lambda_http::http::Method;
use serde::Deserialize;

use crate::error::EndpointError;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// What every endpoint knows of the call besides its body: for parsing and the log line.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The `Content-Type` header, if readable.
    pub content_type: Option<&'a str>,
    /// The event's base64 body did not decode (a 400).
    pub undecodable_body: bool,
    /// The Lambda request id.
    pub request_id: &'a str,
    /// The log word for the `Origin`: `-` (none), `allowed` or `refused`.
    pub cors: &'a str,
}

/// Email and password, however they were sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The email (or OAuth `username`) as sent.
    pub email: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A `/token` request: the grant, and the scopes the client asked for (`None`: every scope
/// the grant allows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The grant.
    pub grant: Grant,
    /// The `scope` parameter, parsed (RFC 6749 §3.3).
    pub scope: Option<BTreeSet<String>>,
}

/// What a `/token` request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// `grant_type=password` (or a JSON body without `grant_type`): email and password.
    Password(Credentials),
    /// `grant_type=refresh_token`: a refresh token to exchange.
    Refresh(String),
}

/// The fields of either body, before they are checked.
#[derive(Deserialize, Default)]
struct Fields {
    email: Option<String>,
    username: Option<String>,
    password: Option<String>,
    grant_type: Option<String>,
    refresh_token: Option<String>,
    token: Option<String>,
    token_type_hint: Option<String>,
    scope: Option<String>,
}

/// Reads the credentials of a password grant: the body must be one (tests, benchmarks).
pub fn parse_request(
    method: &Method,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Credentials, EndpointError> {
    match parse_grant(method, content_type, body)?.grant {
        Grant::Password(credentials) => Ok(credentials),
        Grant::Refresh(_) => Err(EndpointError::UnsupportedGrantType),
    }
}

/// Reads a `/token` request: method, content type, size, grant, fields, scope.
pub fn parse_grant(
    method: &Method,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<TokenRequest, EndpointError> {
    let mut fields = fields(method, content_type, body, true)?;
    let scope = authcore::scope::parse(fields.scope.take().as_deref())
        .map_err(EndpointError::InvalidScope)?;
    let grant = match fields.grant_type.as_deref() {
        Some("refresh_token") => fields
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(Grant::Refresh)
            .ok_or(EndpointError::MissingField("refresh_token is required")),
        _ => credentials(fields).map(Grant::Password),
    }?;
    Ok(TokenRequest { grant, scope })
}

/// Reads a `/revoke` request (RFC 7009): the `token`, and an optional `token_type_hint`.
pub fn parse_revoke(
    method: &Method,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<String, EndpointError> {
    let fields = fields(method, content_type, body, false)?;
    let _hint = fields.token_type_hint; // only refresh tokens can be revoked; any hint is fine
    fields
        .token
        .filter(|t| !t.is_empty())
        .ok_or(EndpointError::MissingField("token is required"))
}

fn fields(
    method: &Method,
    content_type: Option<&str>,
    body: &[u8],
    needs_grant: bool,
) -> Result<Fields, EndpointError> {
    if method != Method::POST {
        return Err(EndpointError::WrongMethod);
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(EndpointError::BodyTooLarge(MAX_BODY_BYTES));
    }
    let media_type = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match media_type.as_str() {
        "application/json" => {
            serde_json::from_slice(body).map_err(|_| EndpointError::MalformedJson)
        }
        "application/x-www-form-urlencoded" => {
            let fields = form_fields(body)?;
            if needs_grant && fields.grant_type.is_none() {
                return Err(EndpointError::MissingField(
                    "grant_type is required: use grant_type=password or grant_type=refresh_token",
                ));
            }
            Ok(fields)
        }
        _ => Err(EndpointError::WrongContentType),
    }
}

/// The OAuth form's fields; each may be sent once (RFC 6749 §3.2).
fn form_fields(body: &[u8]) -> Result<Fields, EndpointError> {
    let mut fields = Fields::default();
    for (key, value) in form_urlencoded::parse(body) {
        let (name, slot) = match key.as_ref() {
            "grant_type" => ("grant_type", &mut fields.grant_type),
            "username" => ("username", &mut fields.username),
            "password" => ("password", &mut fields.password),
            "email" => ("email", &mut fields.email),
            "refresh_token" => ("refresh_token", &mut fields.refresh_token),
            "token" => ("token", &mut fields.token),
            "token_type_hint" => ("token_type_hint", &mut fields.token_type_hint),
            "scope" => ("scope", &mut fields.scope),
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(EndpointError::RepeatedParameter(name));
        }
    }
    // The OAuth form names the account `username`; `email` is the fallback.
    fields.email = fields.username.take().or(fields.email);
    Ok(fields)
}

fn credentials(fields: Fields) -> Result<Credentials, EndpointError> {
    if fields.grant_type.is_some_and(|g| g != "password") {
        return Err(EndpointError::UnsupportedGrantType);
    }
    let email = fields
        .email
        .or(fields.username)
        .filter(|e| !e.trim().is_empty())
        .ok_or(EndpointError::MissingField(
            "email (or username) is required",
        ))?;
    let password = fields
        .password
        .filter(|p| !p.is_empty())
        .ok_or(EndpointError::MissingField("password is required"))?;
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(EndpointError::PasswordTooLong);
    }
    Ok(Credentials { email, password })
}
