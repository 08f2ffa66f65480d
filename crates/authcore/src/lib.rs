//! The core of the authentication pair: everything that does not talk to AWS.
//!
//! - [`token`]: JWT issuing and verification (HS256 or ES256) with `jsonwebtoken` (algorithm pinned to the key, claims checked).
//! - [`keys`]: signing keys (HS256 secrets of at least 256 bits, ES256 key pairs), the key ring and its JWK set, and keyed hashes.
//! - [`scope`]: OAuth scopes from roles, and narrowing them to what a client asks for.
//! - [`password`]: argon2id password hashing, verification, rehash decisions and the policy.
//! - [`identity`]: email normalisation and user ids.
//! - [`cors`]: the origins whose pages may read the functions' answers.
//! - [`settings`]: reading bounded settings from a variable lookup, with one error type.
//! - [`config`]: the token settings shared by the issuer and the verifier.
//!
//! No AWS SDK and no Lambda event type lives here, so every rule is testable without a
//! network.

pub mod config;
pub mod cors;
pub mod identity;
pub mod keys;
pub mod password;
pub mod scope;
pub mod settings;
pub mod token;

pub use config::{Config, KeySource, KeyVars};
pub use cors::{AllowedOrigins, CorsError};
pub use identity::{IdentityError, new_user_id, normalize_email};
pub use keys::{EcKey, Key, KeyError, KeyRing, KeyedHash, NamedKey, SigningKey, generate_secret};
pub use password::{PasswordError, PasswordHasher, Verification};
pub use settings::{SettingsError, Vars};
pub use token::{Claims, IssuedToken, Subject, TokenError, TokenIssuer, TokenVerifier};
