//! Passwords, only ever as argon2id PHC strings.
//!
//! Hashing uses OWASP's recommended minimum for argon2id (m = 19456 KiB, t = 2, p = 1) by
//! default. Verification reads the parameters back from the stored PHC string, so hashes made
//! with other parameters, or by other argon2 libraries, verify; [`Verification::Valid`] says
//! when a stored hash is weaker than the current parameters and should be replaced.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// The longest password accepted, in bytes: longer ones are refused before any hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The fewest characters a new password may have.
pub const MIN_NEW_PASSWORD_CHARS: usize = 8;
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
    /// A new password is shorter than [`MIN_NEW_PASSWORD_CHARS`].
    #[error("the password must have at least {MIN_NEW_PASSWORD_CHARS} characters")]
    TooShort,
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

    /// Hashes `password` into an argon2id PHC string with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, PasswordError> {
        check_length(password)?;
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| PasswordError::Random(e.to_string()))?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|e| PasswordError::Random(e.to_string()))?;
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::BadParams(e.to_string()))
    }

    /// Checks `password` against the stored PHC string `stored`, with the parameters it holds.
    pub fn verify(&self, password: &str, stored: &str) -> Result<Verification, PasswordError> {
        check_length(password)?;
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

/// The one policy for a password being set (by `authctl`, or anything else that sets one):
/// at least [`MIN_NEW_PASSWORD_CHARS`] characters and at most [`MAX_PASSWORD_BYTES`] bytes.
/// Sign-in checks only the upper bound, so that passwords set under older rules still work.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    check_length(password)?;
    if password.chars().count() < MIN_NEW_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    Ok(())
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

    #[test]
    fn new_passwords_follow_the_one_policy() {
        assert_eq!(check_new_password(""), Err(PasswordError::Empty));
        assert_eq!(check_new_password("seven77"), Err(PasswordError::TooShort));
        // Characters, not bytes: eight accented letters are enough.
        assert_eq!(check_new_password("éééééééé"), Ok(()));
        assert_eq!(
            check_new_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)),
            Err(PasswordError::TooLong)
        );
        assert!(
            PasswordError::TooShort.to_string().contains("at least 8"),
            "{}",
            PasswordError::TooShort
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
