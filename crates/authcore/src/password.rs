//! Passwords, only ever as argon2id PHC strings.
//!
//! Hashing uses OWASP's recommended minimum for argon2id (m = 19456 KiB, t = 2, p = 1) by
//! default. Verification reads the parameters back from the stored PHC string, so hashes made
//! with other parameters, or by other argon2 libraries, verify; [`Verification::Valid`] says
//! when a stored hash is weaker than the current parameters and should be replaced.
//!
//! Passwords are NFKC-normalised before hashing, so that the same password typed on another
//! keyboard or system (composed or decomposed accents, fullwidth forms) matches. Hashes made
//! before normalisation still verify: the password as typed is tried when the normalised one
//! does not match and differs from it.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use unicode_normalization::{UnicodeNormalization, is_nfkc};

/// The longest password accepted, in bytes: longer ones are refused before any hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The fewest characters a new password may have when it is the only factor (NIST SP
/// 800-63B-4, 3.1.1.2).
pub const MIN_NEW_PASSWORD_CHARS: usize = 15;
/// The lowest minimum an explicit setting (`MIN_PASSWORD_CHARS`) may choose, for passwords
/// used with a second factor.
pub const LOWEST_MIN_PASSWORD_CHARS: usize = 8;
/// The setting that lowers the minimum length of new passwords.
pub const MIN_PASSWORD_CHARS_VAR: &str = "MIN_PASSWORD_CHARS";
/// OWASP minimum memory cost for argon2id, in KiB.
pub const DEFAULT_M_COST: u32 = 19_456;
/// OWASP minimum time cost for argon2id.
pub const DEFAULT_T_COST: u32 = 2;
/// OWASP minimum parallelism for argon2id.
pub const DEFAULT_P_COST: u32 = 1;

/// An argon2id hash, with the default parameters, of a random password nobody knows. Unknown
/// or disabled accounts are checked against it so that they cost as much time as real ones.
/// Not a secret: it opens nothing.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$yuFxctShChURXtvWTDHONw$DWwKVKcMKw0zS77G2MREMiV8OEYU/6WqEfrWkhoFW6I";

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    /// The password is longer than [`MAX_PASSWORD_BYTES`].
    #[error("the password is over {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    /// The password is empty.
    #[error("the password is empty")]
    Empty,
    /// A new password is shorter than the policy's minimum.
    #[error(
        "the password must have at least {0} characters (a passphrase of a few words is easiest)"
    )]
    TooShort(usize),
    /// A new password is common, or guessable from the email or name.
    #[error("the password is too easy to guess{0}: choose another, such as a few unrelated words")]
    Common(String),
    /// The stored hash is not an argon2 PHC string.
    #[error("the stored password hash is not an argon2 PHC string: {0}")]
    BadHash(String),
    /// The parameters are out of argon2's range.
    #[error("invalid argon2 parameters: {0}")]
    BadParams(String),
    /// The system random source failed.
    #[error("no randomness for a salt: {0}")]
    Random(String),
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password matches.
    Valid {
        /// The stored hash uses weaker parameters (or an older algorithm) than the current ones.
        needs_rehash: bool,
    },
    /// The password does not match.
    Invalid,
}

/// Hashes and verifies passwords with fixed argon2id parameters. Build it once.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    params: Params,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new(DEFAULT_M_COST, DEFAULT_T_COST, DEFAULT_P_COST)
            .expect("the OWASP defaults are valid argon2 parameters")
    }
}

impl PasswordHasher {
    /// A hasher with memory cost `m_kib`, time cost `t` and parallelism `p`.
    pub fn new(m_kib: u32, t: u32, p: u32) -> Result<Self, PasswordError> {
        let params =
            Params::new(m_kib, t, p, None).map_err(|e| PasswordError::BadParams(e.to_string()))?;
        Ok(Self { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes `password`, NFKC-normalised, into an argon2id PHC string with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        check_length(password)?;
        let password = &nfkc(password);
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| PasswordError::Random(e.to_string()))?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|e| PasswordError::Random(e.to_string()))?;
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::BadParams(e.to_string()))
    }

    /// Checks `password` against the stored PHC string `stored`, with the parameters it holds:
    /// NFKC-normalised, then as typed if that differs (a hash made before normalisation; it is
    /// then due for a rehash).
    pub fn verify(&self, password: &str, stored: &str) -> Result<Verification, PasswordError> {
        check_length(password)?;
        let normalised = nfkc(password);
        match self.verify_exact(&normalised, stored)? {
            Verification::Invalid if normalised != password => {
                Ok(match self.verify_exact(password, stored)? {
                    Verification::Valid { .. } => Verification::Valid { needs_rehash: true },
                    Verification::Invalid => Verification::Invalid,
                })
            }
            outcome => Ok(outcome),
        }
    }

    fn verify_exact(&self, password: &str, stored: &str) -> Result<Verification, PasswordError> {
        let parsed =
            PasswordHash::new(stored).map_err(|e| PasswordError::BadHash(e.to_string()))?;
        if parsed.hash.is_none() || parsed.salt.is_none() {
            return Err(PasswordError::BadHash("no salt or hash output".into()));
        }
        let algorithm = Algorithm::try_from(parsed.algorithm)
            .map_err(|e| PasswordError::BadHash(e.to_string()))?;
        // Argon2::default() takes the algorithm, version and parameters from the hash itself.
        match Argon2::default().verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Ok(Verification::Valid {
                needs_rehash: self.is_weaker(algorithm, &parsed)?,
            }),
            Err(argon2::password_hash::Error::Password) => Ok(Verification::Invalid),
            Err(e) => Err(PasswordError::BadHash(e.to_string())),
        }
    }

    /// Spends one verification's time on a password that cannot match: for unknown or
    /// disabled accounts, so that timing does not tell which accounts exist.
    pub fn verify_dummy(&self, password: &str) {
        // Whatever the outcome, the answer is "no".
        let _ = self.verify(password, DUMMY_HASH);
    }

    fn is_weaker(
        &self,
        algorithm: Algorithm,
        stored: &PasswordHash<'_>,
    ) -> Result<bool, PasswordError> {
        let params = Params::try_from(stored).map_err(|e| PasswordError::BadHash(e.to_string()))?;
        let version = stored.version.unwrap_or(0x10);
        Ok(algorithm != Algorithm::Argon2id
            || version < u32::from(Version::V0x13)
            || params.m_cost() < self.params.m_cost()
            || params.t_cost() < self.params.t_cost()
            || params.p_cost() < self.params.p_cost())
    }
}

/// `password` in Unicode NFKC (borrowed when it already is, as ASCII always is).
fn nfkc(password: &str) -> std::borrow::Cow<'_, str> {
    if is_nfkc(password) {
        std::borrow::Cow::Borrowed(password)
    } else {
        std::borrow::Cow::Owned(password.nfkc().collect())
    }
}

/// The one policy for a password being set (by `authctl`, or anything else that sets one),
/// after NIST SP 800-63B-4: at least 15 characters (fewer, down to 8, only through
/// `MIN_PASSWORD_CHARS`), up to [`MAX_PASSWORD_BYTES`] bytes (far more than the 64 characters
/// the guideline asks to allow), no composition rules, and not a common or guessable password
/// (zxcvbn's lists of common passwords, words and names, and the user's own email and name).
/// Sign-in checks only the upper bound, so that passwords set under older rules still work.
#[cfg(feature = "password-policy")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// The fewest characters, counted after NFKC normalisation.
    pub min_chars: usize,
}

#[cfg(feature = "password-policy")]
impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: MIN_NEW_PASSWORD_CHARS,
        }
    }
}

#[cfg(feature = "password-policy")]
impl PasswordPolicy {
    /// The policy, with the minimum from `MIN_PASSWORD_CHARS` when set (8 to 15).
    pub fn read(vars: &crate::Vars<'_>) -> Result<Self, crate::SettingsError> {
        let range = LOWEST_MIN_PASSWORD_CHARS as u64..=MIN_NEW_PASSWORD_CHARS as u64;
        let min = vars.number(MIN_PASSWORD_CHARS_VAR, MIN_NEW_PASSWORD_CHARS as u64, range)?;
        Ok(Self {
            min_chars: usize::try_from(min).unwrap_or(MIN_NEW_PASSWORD_CHARS),
        })
    }

    /// Checks a new password for the user known by `context` (email, name).
    pub fn check(&self, password: &str, context: &[&str]) -> Result<(), PasswordError> {
        check_length(password)?;
        let normalised = nfkc(password);
        if normalised.chars().count() < self.min_chars {
            return Err(PasswordError::TooShort(self.min_chars));
        }
        // zxcvbn looks at the first 100 characters: anything longer is no common password.
        let probe: String = normalised.chars().take(100).collect();
        // The email and name, their parts, and the name without spaces.
        let mut inputs: Vec<String> = Vec::new();
        for c in context {
            inputs.push(c.to_lowercase());
            inputs.push(c.to_lowercase().replace(' ', ""));
            inputs.extend(c.to_lowercase().split(['@', '.', ' ']).map(str::to_owned));
        }
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(&probe, &inputs);
        if estimate.score() < zxcvbn::Score::Three {
            let why = estimate
                .feedback()
                .and_then(|f| f.warning())
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            return Err(PasswordError::Common(why));
        }
        Ok(())
    }
}

fn check_length(password: &str) -> Result<(), PasswordError> {
    if password.is_empty() {
        Err(PasswordError::Empty)
    } else if password.len() > MAX_PASSWORD_BYTES {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters so that the tests run fast; the defaults are tested once.
    fn fast() -> PasswordHasher {
        PasswordHasher::new(256, 1, 1).unwrap()
    }

    #[cfg(feature = "password-policy")]
    #[test]
    fn new_passwords_follow_the_one_policy() {
        let policy = PasswordPolicy::default();
        let check = |p: &str| policy.check(p, &["ada@example.com", "Ada Lovelace"]);
        assert_eq!(check(""), Err(PasswordError::Empty));
        assert_eq!(check("seven77"), Err(PasswordError::TooShort(15)));
        // Long but common, or built from the user's own email or name: refused.
        for common in [
            "passwordpassword",
            "password12345678",
            "adalovelace12345",
            "aaaaaaaaaaaaaaaa",
        ] {
            assert!(
                matches!(check(common), Err(PasswordError::Common(_))),
                "{common}"
            );
        }
        // A passphrase needs no digits or symbols; 64 characters and more are welcome.
        assert_eq!(check("correct horse battery staple"), Ok(()));
        assert_eq!(check(&"quilt marble fjord ".repeat(10)), Ok(()));
        // Characters, not bytes, after NFKC: fifteen accented letters are not enough bytes' worth.
        assert_eq!(check("éé"), Err(PasswordError::TooShort(15)));
        assert_eq!(
            check(&"x".repeat(MAX_PASSWORD_BYTES + 1)),
            Err(PasswordError::TooLong)
        );
        assert!(
            PasswordError::TooShort(15)
                .to_string()
                .contains("at least 15")
        );
        // A lower minimum only through the explicit setting, and never below 8.
        let lower = PasswordPolicy { min_chars: 8 };
        assert_eq!(lower.check("kX9#qv2!Lm", &[]), Ok(()));
    }

    #[test]
    fn unicode_passwords_are_normalised_and_old_hashes_still_verify() {
        let h = fast();
        // Typed composed on one system, decomposed on another: one password.
        let composed = "caf\u{e9} au lait, tr\u{e8}s chaud";
        let decomposed = "cafe\u{301} au lait, tre\u{300}s chaud";
        let phc = h.hash(composed).unwrap();
        assert_eq!(
            h.verify(decomposed, &phc),
            Ok(Verification::Valid {
                needs_rehash: false
            })
        );
        assert_eq!(
            h.verify(composed, &phc),
            Ok(Verification::Valid {
                needs_rehash: false
            })
        );
        // A hash made from the raw, unnormalised form (before this rule) verifies, and asks
        // to be replaced by the normalised one.
        let fullwidth = "ｐａｓｓｐｈｒａｓｅ";
        let legacy = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(256, 1, 1, None).unwrap(),
        )
        .hash_password(
            fullwidth.as_bytes(),
            &SaltString::encode_b64(&[7u8; 16]).unwrap(),
        )
        .unwrap()
        .to_string();
        assert_eq!(
            h.verify(fullwidth, &legacy),
            Ok(Verification::Valid { needs_rehash: true })
        );
        assert_eq!(h.verify("passphrase", &legacy), Ok(Verification::Invalid));
        assert_eq!(
            h.verify("ｐａｓｓｐｈｒａｓｅ!", &legacy),
            Ok(Verification::Invalid)
        );
    }

    #[test]
    fn default_hashes_are_argon2id_with_owasp_parameters() {
        let h = PasswordHasher::default();
        let phc = h.hash("hunter2-but-longer").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(
            h.verify("hunter2-but-longer", &phc),
            Ok(Verification::Valid {
                needs_rehash: false
            })
        );
        assert_eq!(
            h.verify("hunter3-but-longer", &phc),
            Ok(Verification::Invalid)
        );
        // A fresh salt every time.
        assert_ne!(h.hash("same").unwrap(), h.hash("same").unwrap());
    }

    #[test]
    fn a_hash_made_by_python_argon2_cffi_verifies() {
        // Made with argon2-cffi 25.1 (PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)).
        let phc = "$argon2id$v=19$m=19456,t=2,p=1$Qz2WwJqU1gjb2istjcGaiQ$DGGMexHCLnTzLRsGX8/nocgeaRywvu+jW5vcejZ/noE";
        let h = PasswordHasher::default();
        assert_eq!(
            h.verify("correct horse battery staple", phc),
            Ok(Verification::Valid {
                needs_rehash: false
            })
        );
        assert_eq!(
            h.verify("correct horse battery stapler", phc),
            Ok(Verification::Invalid)
        );
    }

    #[test]
    fn weaker_stored_parameters_ask_for_a_rehash() {
        let weak = fast().hash("pw").unwrap();
        let strong = PasswordHasher::new(512, 2, 1).unwrap();
        assert_eq!(
            strong.verify("pw", &weak),
            Ok(Verification::Valid { needs_rehash: true })
        );
        assert_eq!(strong.verify("nope", &weak), Ok(Verification::Invalid));
        // Stronger stored parameters are fine as they are.
        let stored = strong.hash("pw").unwrap();
        assert_eq!(
            fast().verify("pw", &stored),
            Ok(Verification::Valid {
                needs_rehash: false
            })
        );
        // Another argon2 variant is replaced by argon2id.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(512, 2, 1, None).unwrap(),
        )
        .hash_password(b"pw", &SaltString::encode_b64(&[1u8; 16]).unwrap())
        .unwrap()
        .to_string();
        assert_eq!(
            strong.verify("pw", &argon2i),
            Ok(Verification::Valid { needs_rehash: true })
        );
    }

    #[test]
    fn refuses_empty_oversized_and_unreadable_input() {
        let h = fast();
        assert_eq!(h.hash(""), Err(PasswordError::Empty));
        assert_eq!(
            h.hash(&"x".repeat(MAX_PASSWORD_BYTES + 1)),
            Err(PasswordError::TooLong)
        );
        assert!(h.hash(&"x".repeat(MAX_PASSWORD_BYTES)).is_ok());
        assert_eq!(
            h.verify(&"x".repeat(MAX_PASSWORD_BYTES + 1), DUMMY_HASH),
            Err(PasswordError::TooLong)
        );
        for stored in [
            "",
            "plaintext-password",
            "$2b$12$abcdefghijklmnopqrstuv",
            "$argon2id$v=19$m=19456",
        ] {
            assert!(
                matches!(h.verify("pw", stored), Err(PasswordError::BadHash(_))),
                "{stored:?}"
            );
        }
    }

    #[test]
    fn the_dummy_hash_uses_the_default_parameters_and_matches_nothing_guessable() {
        let h = PasswordHasher::default();
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        for guess in ["", "password", "dummy"] {
            assert!(matches!(
                h.verify(guess, DUMMY_HASH),
                Ok(Verification::Invalid) | Err(PasswordError::Empty)
            ));
        }
    }
}
