//! ES256 keys: a P-256 private key (PKCS#8, PEM-armoured where it is stored), its public JWK,
//! and its key id, the RFC 7638 thumbprint of that JWK.

use std::fmt;

use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject as _;

use super::KeyError;
use crate::token::crypto;

/// The PEM label of a PKCS#8 private key: what marks a stored key as an ES256 one.
pub const PEM_LABEL: &str = "-----BEGIN PRIVATE KEY-----";

/// A P-256 private key for ES256, with its public JWK and key id.
///
/// Its `Debug` output shows the key id only.
#[derive(Clone)]
pub struct EcKey(std::sync::Arc<Parts>);

/// What an [`EcKey`] holds, shared by its clones.
struct Parts {
    pkcs8: Box<[u8]>,
    public: Jwk,
    verifying: jsonwebtoken::DecodingKey,
}

impl EcKey {
    /// A new random P-256 key, from the OS's random source.
    pub fn generate() -> Result<Self, KeyError> {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|e| KeyError::Random(e.to_string()))?;
        Self::from_pkcs8_der(pkcs8.as_ref())
    }

    /// The key in a PEM `PRIVATE KEY` block (PKCS#8), as `openssl genpkey` and
    /// `authctl signing-key generate` write it.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).map_err(|_| KeyError::NotP256)?;
        Self::from_pkcs8_der(der.secret_pkcs8_der())
    }

    /// The key from PKCS#8 DER; it must be a P-256 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        crypto::install();
        let encoding = jsonwebtoken::EncodingKey::from_ec_der(der);
        let mut public = Jwk::from_encoding_key(&encoding, jsonwebtoken::Algorithm::ES256)
            .map_err(|_| KeyError::NotP256)?;
        let kid = public
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| KeyError::NotP256)?;
        public.common.key_id = Some(kid);
        public.common.public_key_use = Some(PublicKeyUse::Signature);
        public.common.key_algorithm = Some(KeyAlgorithm::ES256);
        let verifying =
            jsonwebtoken::DecodingKey::from_jwk(&public).map_err(|_| KeyError::NotP256)?;
        Ok(Self(std::sync::Arc::new(Parts {
            pkcs8: der.into(),
            public,
            verifying,
        })))
    }

    /// The key id: the RFC 7638 SHA-256 thumbprint of the public key, base64url.
    pub fn kid(&self) -> &str {
        self.0.public.common.key_id.as_deref().unwrap_or_default()
    }

    /// The public key as a JWK (`kty`, `crv`, `x`, `y`, `kid`, `alg`, `use`): no private part.
    pub fn public_jwk(&self) -> &Jwk {
        &self.0.public
    }

    /// The key for signing with jsonwebtoken.
    pub(crate) fn encoding_key(&self) -> jsonwebtoken::EncodingKey {
        jsonwebtoken::EncodingKey::from_ec_der(&self.0.pkcs8)
    }

    /// The public key for verifying with jsonwebtoken.
    pub(crate) fn decoding_key(&self) -> jsonwebtoken::DecodingKey {
        self.0.verifying.clone()
    }

    /// The private key as a PEM `PRIVATE KEY` block, for storing it (a secret's value).
    pub fn to_pem(&self) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(&self.0.pkcs8);
        let mut pem = String::from(PEM_LABEL);
        pem.push('\n');
        for line in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        pem
    }
}

impl PartialEq for EcKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.public == other.0.public
    }
}

impl fmt::Debug for EcKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcKey")
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_round_trips_through_pem() {
        let key = EcKey::generate().unwrap();
        let pem = key.to_pem();
        assert!(pem.starts_with(PEM_LABEL));
        let again = EcKey::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(again, key);
        assert_eq!(again.kid(), key.kid());
    }

    #[test]
    fn the_kid_is_the_rfc7638_thumbprint() {
        // RFC 7638 §3.1 hashes {"crv","kty","x","y"} in that order, without spaces.
        let key = EcKey::generate().unwrap();
        let json = serde_json::to_value(key.public_jwk()).unwrap();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            json["x"].as_str().unwrap(),
            json["y"].as_str().unwrap()
        );
        use sha2::Digest as _;
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(canonical.as_bytes()));
        assert_eq!(key.kid(), expected);
        assert_eq!(key.kid().len(), 43);
    }

    #[test]
    fn the_public_jwk_has_no_private_part() {
        let key = EcKey::generate().unwrap();
        let json = serde_json::to_value(key.public_jwk()).unwrap();
        let mut names: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
        assert_eq!(
            (&json["kty"], &json["crv"], &json["alg"], &json["use"]),
            (
                &"EC".into(),
                &"P-256".into(),
                &"ES256".into(),
                &"sig".into()
            )
        );
    }

    #[test]
    fn other_pem_and_garbage_are_refused_with_a_clear_error() {
        for bad in [
            &b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"[..],
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            b"not pem at all",
        ] {
            let err = EcKey::from_pem(bad).unwrap_err();
            assert_eq!(err, KeyError::NotP256);
            assert!(err.to_string().contains("P-256"), "{err}");
        }
    }

    #[test]
    fn debug_shows_the_kid_only() {
        let key = EcKey::generate().unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains(key.kid()), "{shown}");
        let pem = key.to_pem();
        let body: String = pem.lines().nth(1).unwrap().chars().take(20).collect();
        assert!(!shown.contains(&body), "{shown}");
    }
}
