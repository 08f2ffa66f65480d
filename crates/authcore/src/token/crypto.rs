//! The two algorithms jsonwebtoken may use here: HS256 and ES256, over ring.
//!
//! jsonwebtoken takes its cryptography from a [`CryptoProvider`]. Its built-in providers carry
//! every JWT algorithm (RSA, EdDSA, P-384) and pull a second crypto library into each
//! function; this one signs and verifies HS256 (ring's HMAC) and ES256 (ring's ECDSA P-256,
//! the code the TLS stack already links), and refuses any other algorithm at the crypto layer
//! too, whatever a token's header says. Its key utilities give jsonwebtoken what it needs to
//! build a public JWK and its RFC 7638 thumbprint.
//!
//! ES256 signatures are accepted only in their low-S form (`s` at most half the group order),
//! and the signer only produces that form: an ECDSA signature `(r, s)` has a twin `(r, n - s)`
//! that verifies too, so without this rule one token would have two spellings.

use std::sync::Once;

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    UnparsedPublicKey,
};
use ring::{digest, hmac};

/// Half the order of the P-256 group, rounded down: the largest `s` of a low-S signature.
const P256_HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// The length of an ES256 signature: `r` and `s`, 32 bytes each (RFC 7518 §3.4).
pub(crate) const ES256_SIGNATURE_BYTES: usize = 64;

/// Whether `signature` is an ES256 signature of the right length in low-S form.
fn is_low_s(signature: &[u8]) -> bool {
    signature.len() == ES256_SIGNATURE_BYTES && signature[32..] <= P256_HALF_ORDER[..]
}

/// HS256 with a key.
struct Hs256(hmac::Key);

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

/// Signs ES256 with a P-256 private key.
struct Es256Signer(EcdsaKeyPair);

/// ECDSA signing is randomised: a high-S result is signed again, which succeeds half the time
/// each try. The chance that this many tries all come out high is 2^-64.
const LOW_S_TRIES: usize = 64;

impl Signer<Vec<u8>> for Es256Signer {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let rng = SystemRandom::new();
        for _ in 0..LOW_S_TRIES {
            let sig = self
                .0
                .sign(&rng, message)
                .map_err(|_| signature::Error::new())?;
            if is_low_s(sig.as_ref()) {
                return Ok(sig.as_ref().to_vec());
            }
        }
        Err(signature::Error::new())
    }
}

impl JwtSigner for Es256Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

/// Verifies ES256 with a P-256 public key (the uncompressed point, `04 || x || y`).
struct Es256Verifier(Vec<u8>);

impl Verifier<Vec<u8>> for Es256Verifier {
    fn verify(&self, message: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        if !is_low_s(sig) {
            return Err(signature::Error::new());
        }
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.0)
            .verify(message, sig)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Es256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

/// A P-256 key pair from PKCS#8 DER.
pub(crate) fn p256_key_pair(pkcs8: &[u8]) -> Result<EcdsaKeyPair> {
    EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8,
        &SystemRandom::new(),
    )
    .map_err(|_| ErrorKind::InvalidEcdsaKey.into())
}

fn new_signer(
    algorithm: &Algorithm,
    key: &jsonwebtoken::EncodingKey,
) -> Result<Box<dyn JwtSigner>> {
    match (algorithm, key.family()) {
        (Algorithm::HS256, AlgorithmFamily::Hmac) => Ok(Box::new(Hs256(hmac::Key::new(
            hmac::HMAC_SHA256,
            key.as_bytes(),
        )))),
        (Algorithm::ES256, AlgorithmFamily::Ec) => {
            Ok(Box::new(Es256Signer(p256_key_pair(key.as_bytes())?)))
        }
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn new_verifier(
    algorithm: &Algorithm,
    key: &jsonwebtoken::DecodingKey,
) -> Result<Box<dyn JwtVerifier>> {
    match (algorithm, key.family()) {
        (Algorithm::HS256, AlgorithmFamily::Hmac) => Ok(Box::new(Hs256(hmac::Key::new(
            hmac::HMAC_SHA256,
            key.try_get_as_bytes()?,
        )))),
        (Algorithm::ES256, AlgorithmFamily::Ec) => {
            Ok(Box::new(Es256Verifier(key.try_get_as_bytes()?.to_vec())))
        }
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

/// The public point of a P-256 private key, as (curve, x, y).
fn ec_public_components(
    pkcs8: &[u8],
    algorithm: Algorithm,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>)> {
    if algorithm != Algorithm::ES256 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let pair = p256_key_pair(pkcs8)?;
    // Uncompressed SEC1: 0x04, then x and y, 32 bytes each.
    let point = pair.public_key().as_ref();
    let (x, y) = point[1..].split_at(32);
    Ok((EllipticCurve::P256, x.to_vec(), y.to_vec()))
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(digest::digest(algorithm, data).as_ref().to_vec())
}

/// The provider: HS256 and ES256, and the JWK utilities for P-256 keys only.
static HS256_ES256: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: |_| Err(ErrorKind::InvalidKeyFormat.into()),
        rsa_pub_components_from_public_key: |_| Err(ErrorKind::InvalidKeyFormat.into()),
        ec_pub_components_from_private_key: ec_public_components,
        ed_pub_components_from_private_key: |_, _| Err(ErrorKind::InvalidEddsaKey.into()),
        compute_digest,
    },
};

/// Makes the HS256-and-ES256 provider jsonwebtoken's provider for this process. Every issuer,
/// verifier and key calls it when built; code that calls jsonwebtoken directly calls it first.
/// Calls after the first do nothing.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err: another provider was installed first. Then that one serves; nothing in this
        // workspace installs one, and the tests below check that this one is in use.
        let _ = HS256_ES256.install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, EncodingKey};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn p256_pkcs8() -> Vec<u8> {
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap()
            .as_ref()
            .to_vec()
    }

    fn p256_public(pkcs8: &[u8]) -> DecodingKey {
        install();
        let (_, x, y) = ec_public_components(pkcs8, Algorithm::ES256).unwrap();
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        DecodingKey::from_ec_components(&b64(&x), &b64(&y)).unwrap()
    }

    #[test]
    fn the_half_order_is_half_the_p256_order() {
        // n = FFFFFFFF 00000000 FFFFFFFF FFFFFFFF BCE6FAAD A7179E84 F3B9CAC2 FC632551 (SEC 2).
        const N: [u8; 32] = [
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2,
            0xfc, 0x63, 0x25, 0x51,
        ];
        // Doubling the half order (a left shift) and adding one gives n back: n is odd.
        let mut doubled = [0u8; 32];
        let mut carry = 1u16;
        for i in (0..32).rev() {
            let v = (u16::from(P256_HALF_ORDER[i]) << 1) + carry;
            doubled[i] = v as u8;
            carry = v >> 8;
        }
        assert_eq!((doubled, carry), (N, 0));
    }

    #[test]
    fn signs_and_verifies_hs256() {
        install();
        let key = EncodingKey::from_secret(SECRET);
        let sig = jsonwebtoken::crypto::sign(b"a.b", &key, Algorithm::HS256).unwrap();
        let dkey = DecodingKey::from_secret(SECRET);
        assert!(jsonwebtoken::crypto::verify(&sig, b"a.b", &dkey, Algorithm::HS256).unwrap());
        assert!(!jsonwebtoken::crypto::verify(&sig, b"a.c", &dkey, Algorithm::HS256).unwrap());
    }

    #[test]
    fn signs_and_verifies_es256_in_low_s_form_only() {
        install();
        let pkcs8 = p256_pkcs8();
        let key = EncodingKey::from_ec_der(&pkcs8);
        let public = p256_public(&pkcs8);
        for _ in 0..16 {
            let sig = jsonwebtoken::crypto::sign(b"a.b", &key, Algorithm::ES256).unwrap();
            use base64::Engine as _;
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&sig)
                .unwrap();
            assert!(is_low_s(&raw));
            assert!(jsonwebtoken::crypto::verify(&sig, b"a.b", &public, Algorithm::ES256).unwrap());
            assert!(
                !jsonwebtoken::crypto::verify(&sig, b"a.c", &public, Algorithm::ES256).unwrap()
            );
        }
    }

    #[test]
    fn refuses_every_other_algorithm_and_crossed_keys() {
        install();
        let hmac = EncodingKey::from_secret(SECRET);
        let ec = EncodingKey::from_ec_der(&p256_pkcs8());
        for other in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::ES384,
            Algorithm::EdDSA,
        ] {
            let err = jsonwebtoken::crypto::sign(b"a.b", &hmac, other).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::InvalidAlgorithm, "{other:?}");
        }
        // A key serves its own algorithm only: no HMAC over an EC key's bytes, nor the reverse.
        for (key, alg) in [(&hmac, Algorithm::ES256), (&ec, Algorithm::HS256)] {
            let err = jsonwebtoken::crypto::sign(b"a.b", key, alg).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::InvalidAlgorithm, "{alg:?}");
        }
        let sig = jsonwebtoken::crypto::sign(b"a.b", &hmac, Algorithm::HS256).unwrap();
        let secret_as_ec = DecodingKey::from_ec_der(SECRET);
        assert!(
            jsonwebtoken::crypto::verify(&sig, b"a.b", &secret_as_ec, Algorithm::HS256).is_err()
        );
    }
}
