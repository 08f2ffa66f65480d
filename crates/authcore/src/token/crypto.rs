//! The one algorithm jsonwebtoken may use here: HS256, over ring's HMAC.
//!
//! jsonwebtoken takes its cryptography from a [`CryptoProvider`]. Its built-in providers carry
//! every JWT algorithm (RSA, ECDSA, EdDSA) and pull a second crypto library into each function;
//! this one signs and verifies HS256 only, with `ring` (the TLS stack's own library), and
//! refuses any other algorithm at the crypto layer too, whatever a token's header says.

use std::sync::Once;

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use ring::hmac;

/// HS256 with `key`.
struct Hs256(hmac::Key);

impl Hs256 {
    fn new(algorithm: &Algorithm, family: AlgorithmFamily, key: Result<&[u8]>) -> Result<Self> {
        if *algorithm != Algorithm::HS256 || family != AlgorithmFamily::Hmac {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, key?)))
    }
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        Ok(hmac::sign(&self.0, message).as_ref().to_vec())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    /// Constant-time comparison, by ring.
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        hmac::verify(&self.0, message, tag).map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

/// The provider: HS256 and nothing else; no JWK support.
static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: |algorithm, key| {
        Ok(Box::new(Hs256::new(
            algorithm,
            key.family(),
            Ok(key.as_bytes()),
        )?))
    },
    verifier_factory: |algorithm, key| {
        Ok(Box::new(Hs256::new(
            algorithm,
            key.family(),
            key.try_get_as_bytes(),
        )?))
    },
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes the HS256-only provider jsonwebtoken's provider for this process. Every issuer and
/// verifier calls it when built; code that calls jsonwebtoken directly calls it first. Calls
/// after the first do nothing.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err: another provider was installed first. Then that one serves; nothing in this
        // workspace installs one, and the tests below check that HS256_ONLY is the one in use.
        let _ = HS256_ONLY.install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, EncodingKey};

    #[test]
    fn signs_and_verifies_hs256_only() {
        install();
        let key = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        let sig = jsonwebtoken::crypto::sign(b"a.b", &key, Algorithm::HS256).unwrap();
        let dkey = DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        assert!(jsonwebtoken::crypto::verify(&sig, b"a.b", &dkey, Algorithm::HS256).unwrap());
        assert!(!jsonwebtoken::crypto::verify(&sig, b"a.c", &dkey, Algorithm::HS256).unwrap());
        for other in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::ES256,
        ] {
            let err = jsonwebtoken::crypto::sign(b"a.b", &key, other).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::InvalidAlgorithm, "{other:?}");
            assert!(
                jsonwebtoken::crypto::verify(&sig, b"a.b", &dkey, other).is_err(),
                "{other:?}"
            );
        }
    }
}
