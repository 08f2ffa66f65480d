//! Reading the bearer token out of the `Authorization` header value.

/// The largest header value considered, in bytes. Larger values are refused before any parsing.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// Why a header value holds no usable bearer token.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
pub enum HeaderError {
    /// The value is empty, blank, or the scheme stands alone.
    #[error("no token: send `Authorization: Bearer <token>`")]
    Missing,
    /// The value is longer than [`MAX_HEADER_BYTES`].
    #[error("the Authorization header is over {MAX_HEADER_BYTES} bytes")]
    TooLarge,
    /// A scheme other than `Bearer`, such as `Basic`.
    #[error("unsupported authorization scheme: use `Bearer`")]
    WrongScheme,
    /// The token holds characters a compact JWT cannot hold, or more than one word follows the scheme.
    #[error("the token is not a compact JWT (only A-Z a-z 0-9 - _ . are allowed)")]
    BadCharacters,
}

impl HeaderError {
    /// A short, stable name for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing_token",
            Self::TooLarge => "header_too_large",
            Self::WrongScheme => "wrong_scheme",
            Self::BadCharacters => "malformed_header",
        }
    }
}

/// Returns the token from `Bearer <token>` (scheme in any case, surrounding whitespace allowed)
/// or from a bare token.
///
/// ```
/// # use check_token::header::{bearer_token, HeaderError};
/// assert_eq!(bearer_token("  bearer abc.def.ghi "), Ok("abc.def.ghi"));
/// assert_eq!(bearer_token("abc.def.ghi"), Ok("abc.def.ghi"));
/// assert_eq!(bearer_token("Basic dXNlcjpwdw=="), Err(HeaderError::WrongScheme));
/// ```
pub fn bearer_token(value: &str) -> Result<&str, HeaderError> {
    if value.len() > MAX_HEADER_BYTES {
        return Err(HeaderError::TooLarge);
    }
    let value = value.trim_ascii();
    if value.is_empty() {
        return Err(HeaderError::Missing);
    }
    // Only the first seven bytes decide the scheme: no scan of the whole value for it.
    let bytes = value.as_bytes();
    let has_scheme = bytes.len() >= 6
        && bytes[..6].eq_ignore_ascii_case(b"bearer")
        && bytes.get(6).is_none_or(u8::is_ascii_whitespace);
    let token = if has_scheme {
        // Index 6 follows six ASCII bytes, so it is a char boundary.
        value[6..].trim_ascii_start()
    } else {
        value
    };
    if token.is_empty() {
        return Err(HeaderError::Missing);
    }
    if !all_token_chars(token.as_bytes()) {
        // `Basic xyz`, `Token xyz`: a word, whitespace, more: another scheme.
        return if !has_scheme && token.bytes().any(|b| b.is_ascii_whitespace()) {
            Err(HeaderError::WrongScheme)
        } else {
            Err(HeaderError::BadCharacters)
        };
    }
    Ok(token)
}

/// Whether every byte is one of `A-Z a-z 0-9 - _ .`. A branch-free fold, which the compiler
/// vectorizes: this runs over every token the authorizer sees.
fn all_token_chars(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &b| {
        let alpha = (b | 0x20).wrapping_sub(b'a') < 26;
        let digit = b.wrapping_sub(b'0') < 10;
        ok & (alpha | digit | (b == b'-') | (b == b'_') | (b == b'.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln";

    #[test]
    fn accepts_bearer_in_any_case_and_bare_tokens() {
        for value in [
            format!("Bearer {T}"),
            format!("bearer {T}"),
            format!("BEARER {T}"),
            format!("bEaReR {T}"),
            format!("  Bearer   {T}  "),
            format!("\tBearer\t{T}\r\n"),
            T.to_string(),
            format!("  {T}  "),
        ] {
            assert_eq!(bearer_token(&value), Ok(T), "{value:?}");
        }
    }

    #[test]
    fn refuses_everything_else_with_the_exact_reason() {
        let big = format!("Bearer {}", "a".repeat(MAX_HEADER_BYTES));
        let cases: &[(&str, HeaderError)] = &[
            ("", HeaderError::Missing),
            ("   ", HeaderError::Missing),
            ("\t\r\n", HeaderError::Missing),
            ("Bearer", HeaderError::Missing),
            ("bearer   ", HeaderError::Missing),
            ("Basic dXNlcjpwYXNzd29yZA==", HeaderError::WrongScheme),
            ("Digest username=\"u\"", HeaderError::WrongScheme),
            ("Token abc.def.ghi", HeaderError::WrongScheme),
            ("Bearerabc def", HeaderError::WrongScheme),
            ("Bearer a.b.c extra", HeaderError::BadCharacters),
            ("Bearer a.b.c,Bearer d.e.f", HeaderError::BadCharacters),
            ("Bearer a.b.c=", HeaderError::BadCharacters),
            ("Bearer a+b/c.d.e", HeaderError::BadCharacters),
            ("Bearer \"a.b.c\"", HeaderError::BadCharacters),
            ("Bearer a.b.c\u{0}", HeaderError::BadCharacters),
            ("Bearer a.b.\u{e9}", HeaderError::BadCharacters),
            (&big, HeaderError::TooLarge),
        ];
        for (value, want) in cases {
            assert_eq!(bearer_token(value), Err(*want), "{value:?}");
        }
    }

    #[test]
    fn the_character_check_matches_its_definition_for_every_byte() {
        for b in 0..=255u8 {
            let want = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
            assert_eq!(all_token_chars(&[b]), want, "byte {b:#04x}");
            assert_eq!(
                all_token_chars(&[b'a', b, b'z']),
                want,
                "byte {b:#04x} inside"
            );
        }
    }

    #[test]
    fn size_limit_is_exact() {
        let at_limit = format!("Bearer {}", "a".repeat(MAX_HEADER_BYTES - 7));
        assert_eq!(at_limit.len(), MAX_HEADER_BYTES);
        assert!(bearer_token(&at_limit).is_ok());
        let over = format!("{at_limit}a");
        assert_eq!(bearer_token(&over), Err(HeaderError::TooLarge));
    }
}
