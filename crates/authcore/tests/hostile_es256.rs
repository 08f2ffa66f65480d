//! The hostile-token corpus against an ES256 verifier, and the attacks particular to ES256.
//!
//! The corpus cases whose trouble lies in the header or the claims are signed again with the
//! ES256 key and must get the same refusal; the cases signed with the HMAC secret must be
//! refused as HMACs against an EC key (`wrong_algorithm`); the rest (structure, algorithm
//! names, size) must get the same refusal as before. The key is generated for each run.

mod corpus;

use authcore::{Config, EcKey, KeyRing, Subject, TokenError, TokenIssuer, TokenVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use corpus::{NOW, SECRET};

/// Reasons that come from the header or the claims, not the signature: signed again with ES256,
/// such a token must still be refused for them.
const CLAIM_REASONS: [&str; 6] = [
    "expired",
    "not_yet_valid",
    "wrong_issuer",
    "wrong_audience",
    "missing_claim",
    "lifetime_too_long",
];

/// Corpus cases refused as `malformed` for what their claims or header say.
const CLAIM_MALFORMED: [&str; 9] = [
    "crit extension",
    "empty sub",
    "exp as a string",
    "negative exp",
    "roles not a list",
    "duplicate sub claim",
    "claims not JSON",
    "claims an array",
    "alg not a string",
];

/// Corpus cases about the HMAC itself (its key, its bytes, its encoding).
const SIGNATURE_CASES: [&str; 9] = [
    "signed with another key",
    "payload tampered",
    "one signature char flipped",
    "empty signature",
    "truncated signature",
    "padded signature",
    "standard base64 alphabet",
    "non-canonical signature",
    "claims not base64",
];

/// The corpus's settings; the keys come from each test's ring.
fn config() -> Config {
    corpus::config(SECRET)
}

fn verifier(key: &EcKey) -> TokenVerifier {
    TokenVerifier::from_ring(&KeyRing::local(key.clone(), None), &config())
}

/// `header` and `claims` (JSON text) signed with `key`, as jsonwebtoken signs.
fn signed(header: &str, claims_b64: &str, key: &EcKey) -> String {
    let message = format!("{}.{claims_b64}", B64.encode(header));
    let encoding = jsonwebtoken::EncodingKey::from_ec_der(&pkcs8(key));
    authcore::token::install_crypto();
    let sig = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &encoding,
        jsonwebtoken::Algorithm::ES256,
    )
    .unwrap();
    format!("{message}.{sig}")
}

fn pkcs8(key: &EcKey) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject as _;
    rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(key.to_pem().as_bytes())
        .unwrap()
        .secret_pkcs8_der()
        .to_vec()
}

fn good_token(key: &EcKey) -> String {
    let subject = Subject {
        sub: "user-1".into(),
        roles: vec!["reader".into()],
        ..Default::default()
    };
    TokenIssuer::from_ring(&KeyRing::local(key.clone(), None), &config())
        .issue_at(subject, NOW - 10)
        .unwrap()
        .token
}

fn parts(token: &str) -> (String, String, Vec<u8>) {
    let mut it = token.split('.');
    let header = String::from_utf8(B64.decode(it.next().unwrap()).unwrap()).unwrap();
    let claims = it.next().unwrap().to_owned();
    let sig = B64.decode(it.next().unwrap()).unwrap();
    (header, claims, sig)
}

fn with_signature(token: &str, sig: &[u8]) -> String {
    let cut = token.rfind('.').unwrap();
    format!("{}.{}", &token[..cut], B64.encode(sig))
}

fn refusal(v: &TokenVerifier, token: &str) -> &'static str {
    match v.verify_at(token, NOW) {
        Ok(_) => "accepted",
        Err(e) => e.reason(),
    }
}

#[test]
fn the_whole_corpus_is_refused_by_an_es256_verifier() {
    let key = EcKey::generate().unwrap();
    let v = verifier(&key);
    let mut resigned = 0;
    for case in corpus::cases() {
        let header = case
            .token
            .split('.')
            .next()
            .and_then(|h| B64.decode(h).ok())
            .map(|h| String::from_utf8_lossy(&h).into_owned())
            .unwrap_or_default();
        let hmac_signed = header.contains("\"HS256\"") && case.token.split('.').count() == 3;
        let claim_case = CLAIM_REASONS.contains(&case.reason.as_str())
            || CLAIM_MALFORMED.contains(&case.name.as_str());
        let (token, expected) = if hmac_signed && claim_case {
            resigned += 1;
            let claims = case.token.split('.').nth(1).unwrap();
            let token = signed(&header.replace("\"HS256\"", "\"ES256\""), claims, &key);
            (token, case.reason.as_str())
        } else if hmac_signed && SIGNATURE_CASES.contains(&case.name.as_str()) {
            // An HMAC is never checked against an EC key, however it was tampered with.
            (case.token.clone(), "wrong_algorithm")
        } else if case.name == "header tampered" {
            // A `kid` added after signing: no key of the ring has that id.
            (case.token.clone(), "unknown_key")
        } else if case.reason == "wrong_algorithm" {
            // An HMAC under the ES256 name: against an EC key its 32 bytes are no signature.
            (case.token.clone(), "bad_signature")
        } else {
            (case.token.clone(), case.reason.as_str())
        };
        assert_eq!(refusal(&v, &token), expected, "{}", case.name);
    }
    assert!(resigned >= 20, "only {resigned} cases were signed again");
}

#[test]
fn an_hmac_keyed_with_the_public_key_is_refused() {
    // The classic confusion: a verifier that lets the token pick the algorithm would check an
    // HS256 token with the public key's bytes as the HMAC secret.
    let key = EcKey::generate().unwrap();
    let v = verifier(&key);
    let (header, claims, _) = parts(&good_token(&key));
    let jwk = serde_json::to_string(key.public_jwk()).unwrap();
    let hs_header = header.replace("\"ES256\"", "\"HS256\"");
    for secret in [jwk.as_bytes(), key.kid().as_bytes()] {
        let message = format!("{}.{claims}", B64.encode(&hs_header));
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret),
            message.as_bytes(),
        );
        let token = format!("{message}.{}", B64.encode(tag.as_ref()));
        assert_eq!(refusal(&v, &token), "wrong_algorithm");
        // Without a kid it is refused the same way: no key of the ring is an HMAC key.
        let no_kid = serde_json::json!({"alg": "HS256", "typ": "at+jwt"}).to_string();
        let message = format!("{}.{claims}", B64.encode(&no_kid));
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret),
            message.as_bytes(),
        );
        let token = format!("{message}.{}", B64.encode(tag.as_ref()));
        assert_eq!(refusal(&v, &token), "wrong_algorithm");
    }
}

#[test]
fn alg_none_with_our_kid_is_refused() {
    let key = EcKey::generate().unwrap();
    let (header, claims, _) = parts(&good_token(&key));
    let none = header.replace("\"ES256\"", "\"none\"");
    let token = format!("{}.{claims}.", B64.encode(none));
    assert_eq!(refusal(&verifier(&key), &token), "unsupported_algorithm");
}

#[test]
fn another_issuers_key_and_unknown_kids_are_refused() {
    let ours = EcKey::generate().unwrap();
    let theirs = EcKey::generate().unwrap();
    let v = verifier(&ours);
    // Their token, under their kid: a key we do not hold.
    assert_eq!(refusal(&v, &good_token(&theirs)), "unknown_key");
    // Their signature under our kid.
    let (header, claims, _) = parts(&good_token(&ours));
    assert_eq!(
        refusal(&v, &signed(&header, &claims, &theirs)),
        "bad_signature"
    );
    // A kid in no set at all.
    let unknown = header.replace(ours.kid(), "no-such-key");
    assert_eq!(
        refusal(&v, &signed(&unknown, &claims, &ours)),
        "unknown_key"
    );
}

/// `n - s` for the P-256 order `n`, big-endian.
fn negate_s(s: &[u8]) -> Vec<u8> {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

#[test]
fn the_twin_signature_r_n_minus_s_is_refused() {
    let key = EcKey::generate().unwrap();
    let v = verifier(&key);
    let token = good_token(&key);
    assert_eq!(refusal(&v, &token), "accepted");
    let (_, _, sig) = parts(&token);
    let mut twin = sig[..32].to_vec();
    twin.extend(negate_s(&sig[32..]));
    // The twin is a valid ECDSA signature of the same message: ring accepts it.
    let (h, c, _) = parts(&token);
    let message = format!("{}.{c}", B64.encode(h));
    let point = {
        let jwk = serde_json::to_value(key.public_jwk()).unwrap();
        let mut p = vec![4u8];
        p.extend(B64.decode(jwk["x"].as_str().unwrap()).unwrap());
        p.extend(B64.decode(jwk["y"].as_str().unwrap()).unwrap());
        p
    };
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &point)
        .verify(message.as_bytes(), &twin)
        .expect("the twin verifies in plain ECDSA");
    // It is still refused here: one token, one spelling.
    assert_eq!(refusal(&v, &with_signature(&token, &twin)), "bad_signature");
}

#[test]
fn zero_der_and_odd_length_signatures_are_refused() {
    let key = EcKey::generate().unwrap();
    let v = verifier(&key);
    let token = good_token(&key);
    let (_, _, sig) = parts(&token);
    // r = s = 0 (CVE-2022-21449, "psychic signatures").
    assert_eq!(
        refusal(&v, &with_signature(&token, &[0u8; 64])),
        "bad_signature"
    );
    // The same r and s in ASN.1 DER, as some libraries write them: not a JWS signature.
    let mut der = vec![0x30, 68, 0x02, 32];
    der.extend(&sig[..32]);
    der.extend([0x02, 32]);
    der.extend(&sig[32..]);
    assert_eq!(refusal(&v, &with_signature(&token, &der)), "bad_signature");
    for len in [0, 32, 63, 65, 96] {
        let odd: Vec<u8> = sig.iter().copied().cycle().take(len).collect();
        assert_eq!(
            refusal(&v, &with_signature(&token, &odd)),
            "bad_signature",
            "{len}"
        );
    }
}

#[test]
fn a_token_living_ten_years_is_refused_even_with_the_real_key() {
    let key = EcKey::generate().unwrap();
    let (header, claims, _) = parts(&good_token(&key));
    let mut body: serde_json::Value =
        serde_json::from_slice(&B64.decode(&claims).unwrap()).unwrap();
    for exp in [NOW + 10 * 365 * 86_400, 1u64 << 63] {
        body["exp"] = exp.into();
        let token = signed(&header, &B64.encode(body.to_string()), &key);
        assert_eq!(
            verifier(&key).verify_at(&token, NOW),
            Err(TokenError::TooLongLived)
        );
    }
}
