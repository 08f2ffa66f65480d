//! The core of the authentication pair: everything that does not talk to AWS.
//!
//! - [`token`]: HS256 JWT issuing and verification with `jsonwebtoken` (algorithm pinned, claims checked).
//! - [`keys`]: signing keys, at least 256 bits.
//! - [`header`]: reading the `Authorization` header API Gateway hands to the authorizer.
//! - [`policy`]: `methodArn` parsing and API Gateway authorizer responses (IAM policies).
//! - [`password`]: argon2id password hashing, verification and rehash decisions.
//! - [`config`]: configuration read once from the environment.
//!
//! No AWS SDK lives here, so the authorizer stays small and every rule is testable
//! without a network.

pub mod config;
pub mod cors;
pub mod header;
pub mod identity;
pub mod keys;
pub mod password;
pub mod policy;
pub mod token;

pub use config::{Config, ConfigError, KeySource};
pub use cors::{AllowedOrigins, CorsError};
pub use header::{HeaderError, bearer_token};
pub use identity::{IdentityError, new_user_id, normalize_email};
pub use keys::{KeyError, KeyRing, KeyedHash, NamedKey, SigningKey, generate_secret};
pub use password::{PasswordError, PasswordHasher, Verification};
pub use policy::{
    AuthorizerContext, AuthorizerResponse, ContextValue, HttpAuthorizerResponse, MethodArn,
    PolicyBuilder,
};
pub use token::{Claims, IssuedToken, Subject, TokenError, TokenIssuer, TokenVerifier};
