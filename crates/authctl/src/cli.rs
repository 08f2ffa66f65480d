//! The command line: every command and flag.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    version,
    about = "Manage the users table and mint or check tokens for testing"
)]
pub struct Cli {
    /// The DynamoDB users table (default: USERS_TABLE, else `users`).
    #[arg(long, global = true)]
    pub table: Option<String>,
    /// The DynamoDB table of failed sign-ins, the smart lockout's counters (default:
    /// ATTEMPTS_TABLE, else `attempts`).
    #[arg(long, global = true)]
    pub attempts_table: Option<String>,
    /// The DynamoDB sessions table, refresh tokens (default: SESSIONS_TABLE, else `sessions`).
    #[arg(long, global = true)]
    pub sessions_table: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// The users table.
    #[command(subcommand)]
    Table(TableCommand),
    /// Users.
    #[command(subcommand)]
    User(UserCommand),
    /// Tokens, signed with JWT_SECRET (local use).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Signing secrets.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Signing keys: generate one, or write one into the stack's signing-key secret.
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
}

/// A signing algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Algorithm {
    /// A random 384-bit shared secret.
    #[value(name = "HS256", alias = "hs256")]
    Hs256,
    /// A P-256 key pair, the private key in PEM (PKCS#8).
    #[value(name = "ES256", alias = "es256")]
    Es256,
}

#[derive(Subcommand)]
pub enum SigningKeyCommand {
    /// Print a new signing key for local use (JWT_SECRET): an ES256 private key in PEM, or an
    /// HS256 secret.
    Generate {
        /// The algorithm.
        #[arg(long, value_enum, default_value = "ES256")]
        algorithm: Algorithm,
    },
    /// Make a new key the current one in the secret (the stack's SigningKey): once after the
    /// first deploy with SigningAlgorithm=ES256. Tokens signed before keep verifying until the
    /// next rotation. The key never leaves this process except into the secret.
    Init {
        /// The secret's ARN or name (the stack's SigningKeyArn output).
        #[arg(long)]
        secret_arn: String,
        /// The algorithm.
        #[arg(long, value_enum, default_value = "ES256")]
        algorithm: Algorithm,
    },
    /// Publish a new next key (the AWSPENDING version): it verifies and is in the key set at
    /// once, and signs only after `promote`.
    Next {
        /// The secret's ARN or name.
        #[arg(long)]
        secret_arn: String,
        /// The algorithm.
        #[arg(long, value_enum, default_value = "ES256")]
        algorithm: Algorithm,
    },
    /// Make the next key the current one; the current key becomes the previous one and still
    /// verifies. Run it once caches of the key set have seen the next key (README).
    Promote {
        /// The secret's ARN or name.
        #[arg(long)]
        secret_arn: String,
    },
}

#[derive(Subcommand)]
pub enum SecretCommand {
    /// Print a new random signing secret (384 bits, base64url), e.g. for JWT_SECRET.
    Generate,
}

#[derive(Subcommand)]
pub enum TableCommand {
    /// Create the users, attempts and sessions tables (on-demand billing), for local use.
    /// Succeeds if they exist already.
    Create,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user, with a new random id; the password is read from standard input or a
    /// prompt and must follow the password policy. Never overwrites.
    Add {
        /// Email address (stored NFKC-normalised and lowercased).
        email: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// A role (repeat for several).
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// List users (no password hashes).
    List,
    /// Set a user's password, read from standard input or a prompt; ends their sessions.
    Passwd {
        /// Email address.
        email: String,
    },
    /// Refuse sign-in for a user, and end their sessions.
    Disable {
        /// Email address.
        email: String,
    },
    /// Allow sign-in again.
    Enable {
        /// Email address.
        email: String,
    },
    /// Clear a user's failed sign-in counters from every source, ending any hold (needs the
    /// lockout's key: LOCKOUT_KEY, or LOCKOUT_KEY_ARN with AWS credentials).
    Unlock {
        /// Email address.
        email: String,
    },
    /// List a user's sessions (no token material): started, last used, end, revoked.
    Sessions {
        /// Email address.
        email: String,
    },
    /// End every session of a user: their refresh tokens stop working.
    Revoke {
        /// Email address.
        email: String,
    },
    /// Give every user from before ids an immutable random id (the `sub` of their tokens).
    /// Users with an id keep it: safe to run twice.
    AssignIds,
    /// Remove a user.
    Remove {
        /// Email address.
        email: String,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Print a fresh token for testing (JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, TOKEN_TTL_SECONDS).
    Mint {
        /// Subject.
        #[arg(long, default_value = "demo@example.com")]
        sub: String,
        /// Email claim.
        #[arg(long)]
        email: Option<String>,
        /// Name claim.
        #[arg(long)]
        name: Option<String>,
        /// A role (repeat for several).
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Verify a token (argument, or standard input) and print its claims as JSON.
    Verify {
        /// The token; read from standard input when absent.
        token: Option<String>,
    },
}
