//! `authctl`: manage the users table, and mint or check tokens for testing.
//!
//! Passwords are read from standard input (one line) or an interactive prompt, never from the
//! command line, where they would land in shell history and process listings.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use authcore::password::{PasswordHasher, PasswordPolicy};
use authcore::token::Subject;
use authcore::{Config, TokenIssuer, TokenVerifier, new_user_id, normalize_email};
use authenticate::{Guard, LockoutPolicy};
use clap::{Parser, Subcommand};
use userstore::attempts::AttemptStore;
use userstore::sessions::SessionStore;
use userstore::{User, UserStore};

#[derive(Parser)]
#[command(
    version,
    about = "Manage the users table and mint or check tokens for testing"
)]
struct Cli {
    /// The DynamoDB users table.
    #[arg(long, env = "USERS_TABLE", global = true, default_value = "users")]
    table: String,
    /// The DynamoDB table of failed sign-ins (the smart lockout's counters).
    #[arg(
        long,
        env = "ATTEMPTS_TABLE",
        global = true,
        default_value = "attempts"
    )]
    attempts_table: String,
    /// The DynamoDB sessions table (refresh tokens).
    #[arg(
        long,
        env = "SESSIONS_TABLE",
        global = true,
        default_value = "sessions"
    )]
    sessions_table: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Print a new random signing secret (384 bits, base64url), e.g. for JWT_SECRET.
    Generate,
}

#[derive(Subcommand)]
enum TableCommand {
    /// Create the users, attempts and sessions tables (on-demand billing), for local use.
    /// Succeeds if they exist already.
    Create,
}

#[derive(Subcommand)]
enum UserCommand {
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
    /// signing key: JWT_SECRET, or JWT_SECRET_ARN with AWS credentials).
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
enum TokenCommand {
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

type Failure = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authctl: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_password(prompt: &str, context: &[&str]) -> Result<String, Failure> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        let again = rpassword::prompt_password("Repeat: ")?;
        if first != again {
            return Err("the passwords differ".into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    PasswordPolicy::from_env()?.check(&password, context)?;
    Ok(password)
}

fn local_key_config() -> Result<(Config, authcore::KeyRing), Failure> {
    let config = Config::from_env()?;
    let authcore::KeySource::Inline(ring) = &config.key_source else {
        return Err("token commands use JWT_SECRET: unset JWT_SECRET_ARN".into());
    };
    let ring = ring.clone();
    Ok((config, ring))
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Token(cmd) => return token(cmd),
        Command::Secret(SecretCommand::Generate) => {
            println!("{}", authcore::generate_secret()?);
            return Ok(());
        }
        _ => {}
    }
    // Profiles, SSO and credential processes, as people run it; the functions' HTTPS client.
    let sdk = aws_config::from_env()
        .http_client(awsenv::http_client())
        .load()
        .await;
    let client = userstore::client(&sdk);
    let store = UserStore::new(client.clone(), cli.table);
    let sessions = SessionStore::new(client.clone(), cli.sessions_table);
    let attempts = AttemptStore::new(client, cli.attempts_table);
    match cli.command {
        Command::Table(TableCommand::Create) => {
            for (created, table) in [
                (store.create_table().await?, store.table()),
                (attempts.create_table().await?, attempts.table()),
                (sessions.create_table().await?, sessions.table()),
            ] {
                if created {
                    println!("created table {table}");
                } else {
                    println!("table {table} exists already");
                }
            }
        }
        Command::User(UserCommand::Unlock { email }) => {
            let email = normalize_email(&email)?;
            let config = Config::from_env()?;
            let (ring, _) = secrets::key_ring(&config).await?;
            let guard = Guard::new(
                attempts,
                LockoutPolicy::default(),
                authenticate::attempts_hash(&ring.current.key),
            );
            let removed = guard.unlock(&email).await?;
            println!("unlocked {email} ({removed} counters cleared)");
        }
        Command::User(cmd) => user(&store, &sessions, cmd).await?,
        Command::Token(_) | Command::Secret(_) => unreachable!("handled above"),
    }
    Ok(())
}

/// Ends every session of the user `email`; returns how many.
async fn end_sessions(
    store: &UserStore,
    sessions: &SessionStore,
    email: &str,
) -> Result<usize, Failure> {
    let user = store
        .get(email)
        .await?
        .ok_or_else(|| userstore::StoreError::NotFound(email.to_owned()))?;
    match &user.id {
        Some(id) => Ok(sessions.revoke_all(id).await?),
        None => Ok(0),
    }
}

async fn user(store: &UserStore, sessions: &SessionStore, cmd: UserCommand) -> Result<(), Failure> {
    let hasher = PasswordHasher::default();
    match cmd {
        UserCommand::Add { email, name, roles } => {
            let email = normalize_email(&email)?;
            // Fail fast on a duplicate before asking for a password.
            if store.get(&email).await?.is_some() {
                return Err(userstore::StoreError::AlreadyExists(email).into());
            }
            let context = [email.as_str(), name.as_deref().unwrap_or_default()];
            let password = read_password(&format!("Password for {email}: "), &context)?;
            let user = User {
                id: Some(new_user_id()?),
                name,
                roles,
                ..User::new(email.clone(), hasher.hash(&password)?)
            };
            store.create(&user).await?;
            println!("added {email}");
        }
        UserCommand::List => {
            let mut users = store.list().await?;
            users.sort_by(|a, b| a.email.cmp(&b.email));
            for u in users {
                let line = serde_json::json!({
                    "email": u.email, "id": u.id, "name": u.name, "roles": u.roles,
                    "disabled": u.disabled, "created_at": u.created_at, "updated_at": u.updated_at,
                });
                println!("{line}");
            }
        }
        UserCommand::Passwd { email } => {
            let email = normalize_email(&email)?;
            let Some(existing) = store.get(&email).await? else {
                return Err(userstore::StoreError::NotFound(email).into());
            };
            let context = [email.as_str(), existing.name.as_deref().unwrap_or_default()];
            let password = read_password(&format!("New password for {email}: "), &context)?;
            store
                .set_password_hash(&email, &hasher.hash(&password)?)
                .await?;
            let ended = end_sessions(store, sessions, &email).await?;
            println!("password changed for {email}; {ended} sessions ended");
        }
        UserCommand::Disable { email } => {
            let email = normalize_email(&email)?;
            store.set_disabled(&email, true).await?;
            let ended = end_sessions(store, sessions, &email).await?;
            println!("disabled {email}; {ended} sessions ended");
        }
        UserCommand::Enable { email } => {
            let email = normalize_email(&email)?;
            store.set_disabled(&email, false).await?;
            println!("enabled {email}");
        }
        UserCommand::Unlock { .. } => unreachable!("handled with the attempts table"),
        UserCommand::Sessions { email } => {
            let email = normalize_email(&email)?;
            let user = store
                .get(&email)
                .await?
                .ok_or_else(|| userstore::StoreError::NotFound(email.clone()))?;
            let now = authcore::token::now_seconds();
            let mut families = match &user.id {
                Some(id) => sessions.families_of(id).await?,
                None => Vec::new(),
            };
            families.sort_by_key(|f| f.created_at);
            for f in families {
                let line = serde_json::json!({
                    "started": userstore::rfc3339(f.created_at),
                    "last_used": userstore::rfc3339(f.last_used_at),
                    "ends": userstore::rfc3339(f.ends_at),
                    "revoked": f.revoked,
                    "active": !f.revoked && f.ends_at > now,
                });
                println!("{line}");
            }
        }
        UserCommand::Revoke { email } => {
            let email = normalize_email(&email)?;
            let ended = end_sessions(store, sessions, &email).await?;
            println!("ended {ended} sessions of {email}");
        }
        UserCommand::AssignIds => {
            let (mut given, mut kept) = (0, 0);
            for u in store.list().await? {
                if u.id.is_none()
                    && store
                        .assign_id_if_missing(&u.email, &new_user_id()?)
                        .await?
                {
                    given += 1;
                } else {
                    kept += 1;
                }
            }
            println!("gave {given} users an id; {kept} had one already");
        }
        UserCommand::Remove { email } => {
            let email = normalize_email(&email)?;
            store.delete(&email).await?;
            println!("removed {email}");
        }
    }
    Ok(())
}

fn token(cmd: TokenCommand) -> Result<(), Failure> {
    let (config, ring) = local_key_config()?;
    match cmd {
        TokenCommand::Mint {
            sub,
            email,
            name,
            roles,
        } => {
            let subject = Subject {
                email: email.or_else(|| sub.contains('@').then(|| sub.clone())),
                sub,
                name,
                roles,
            };
            println!(
                "{}",
                TokenIssuer::from_ring(&ring, &config).issue(subject)?.token
            );
        }
        TokenCommand::Verify { token } => {
            let token = match token {
                Some(t) => t,
                None => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim().to_owned()
                }
            };
            let token = authcore::bearer_token(&token)?;
            let claims = TokenVerifier::from_ring(&ring, &config).verify(token)?;
            println!("{}", serde_json::to_string_pretty(&claims)?);
        }
    }
    Ok(())
}
