//! Who a user is: the email they sign in with, normalised one way everywhere, and the stable
//! random id that tokens carry as `sub`.
//!
//! Emails are compared after Unicode NFKC and lower-casing, so that fullwidth or otherwise
//! compatibility-equivalent spellings (`ａｄａ@ｅｘａｍｐｌｅ.com`) are one account, not two.

use unicode_normalization::UnicodeNormalization;

/// The longest email address accepted (RFC 5321's path limit), in bytes after normalisation.
pub const MAX_EMAIL_BYTES: usize = 254;

/// Why an email cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// After normalisation it is not `local@domain` without spaces or control characters, or
    /// it is too long.
    #[error("{0:?} is not an email address (local@domain, at most {MAX_EMAIL_BYTES} bytes)")]
    BadEmail(String),
    /// The system random source failed.
    #[error("no randomness for a user id: {0}")]
    Random(String),
}

/// `raw` as stored and compared: trimmed, NFKC-normalised and lower-cased; refused when the
/// result is not a plausible address (or normalising it again would change it).
pub fn normalize_email(raw: &str) -> Result<String, IdentityError> {
    let email: String = raw.trim().nfkc().collect::<String>().to_lowercase();
    let stable = email.nfkc().eq(email.chars());
    let plausible = email.len() <= MAX_EMAIL_BYTES
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if stable && plausible {
        Ok(email)
    } else {
        Err(IdentityError::BadEmail(raw.chars().take(64).collect()))
    }
}

/// A new user id: 128 random bits as `u_` and 32 hex digits. Given once, at creation, and never
/// changed: a user removed and added again gets a new one.
pub fn new_user_id() -> Result<String, IdentityError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| IdentityError::Random(e.to_string()))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("u_{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_spellings_are_one_email() {
        assert_eq!(
            normalize_email("  Ada.Lovelace@Example.COM \n").unwrap(),
            "ada.lovelace@example.com"
        );
        // Fullwidth letters and the compatibility ligature fold to the same address.
        assert_eq!(
            normalize_email("ＡＤＡ@ｅｘａｍｐｌｅ.com").unwrap(),
            "ada@example.com"
        );
        assert_eq!(normalize_email("ﬁ@example.com").unwrap(), "fi@example.com");
        // Composed and decomposed accents are one address.
        assert_eq!(
            normalize_email("jose\u{301}@example.com"),
            normalize_email("jos\u{e9}@example.com")
        );
    }

    #[test]
    fn what_is_not_an_address_is_refused() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b@c",
            "a b@example.com",
            "a@exa\u{0}mple.com",
            // A fullwidth space is a space once normalised.
            "a\u{3000}b@example.com",
        ] {
            assert!(
                matches!(normalize_email(bad), Err(IdentityError::BadEmail(_))),
                "{bad:?}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(normalize_email(&long).is_err());
    }

    #[test]
    fn user_ids_are_random_and_well_formed() {
        let (a, b) = (new_user_id().unwrap(), new_user_id().unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with("u_") && a.len() == 34, "{a}");
        assert!(a[2..].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
