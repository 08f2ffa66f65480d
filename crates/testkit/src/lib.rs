//! Helpers shared by several crates' tests, and the local moto server of tests and `make dev`.
//! Never linked into a function.

pub mod faults;
pub mod moto;
pub mod process;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use authcore::{Config, Subject, TokenIssuer};

/// The template's route rules (`ROUTE_RULES` of `CheckTokenFunction`): `/hello` for anyone
/// signed in, `/admin` for admins.
pub const ROUTE_RULES: &str = "GET /hello *; GET /admin admin";

/// The lockout's key (`LOCKOUT_KEY`) that tests run `authenticate` with: a fixture, never a
/// deployed key.
pub const LOCKOUT_KEY: &str = "test-lockout-key-0123456789abcdef-0123456789";

/// The key refresh tokens' successors are derived with (`REFRESH_KEY`) in tests: a fixture,
/// never a deployed key.
pub const REFRESH_KEY: &str = "test-refresh-key-0123456789abcdef-0123456789";

/// [`REFRESH_KEY`] as a key, for tests that build the state themselves.
pub fn refresh_key() -> authcore::SigningKey {
    authcore::SigningKey::new(REFRESH_KEY.as_bytes().to_vec()).expect("a 32-byte key")
}

/// [`LOCKOUT_KEY`] as a key, for tests that build a lockout guard themselves.
pub fn lockout_key() -> authcore::SigningKey {
    authcore::SigningKey::new(LOCKOUT_KEY.as_bytes().to_vec()).expect("a 32-byte key")
}

/// A sample event from the workspace's `events/`, with `REPLACE_WITH_TOKEN` swapped for `token`:
/// the files `cargo lambda invoke --data-file` and `sam local invoke -e` use.
pub fn event(name: &str, token: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("REPLACE_WITH_TOKEN", token)
}

/// The user the tests' tokens are for: `sub`, with the demo user's email, name and roles.
pub fn demo_subject(sub: &str) -> Subject {
    Subject {
        sub: sub.into(),
        email: Some("demo@example.com".into()),
        name: Some("Demo User".into()),
        roles: vec!["reader".into(), "writer".into()],
    }
}

/// A token for `subject` signed with `secret` (no `kid`), issued at `at` with the default
/// issuer, audience and lifetime.
pub fn mint(secret: &str, subject: Subject, at: u64) -> String {
    let config = Config::with_secret(secret).expect("a test secret of at least 32 bytes");
    let key = config.inline_key().expect("an inline key");
    TokenIssuer::new(key, &config)
        .issue_at(subject, at)
        .expect("signing")
        .token
}

/// Creates secret `name` holding `value` and returns its ARN.
pub async fn create_secret(
    client: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &str,
) -> String {
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create the secret")
        .arn
        .expect("an ARN")
}

/// [`create_secret`] on the local server at `endpoint`, for tests without a runtime.
pub fn create_secret_at(endpoint: &str, name: &str, value: &str) -> String {
    let client = aws_sdk_secretsmanager::Client::new(&moto::local_sdk_config(endpoint));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(create_secret(&client, name, value))
}

/// Runs the built `authctl` at `binary` against the local server at `endpoint` and `table`,
/// the way a person would: `stdin` (a password) on standard input, nothing else from this
/// process's environment but `env`.
pub fn authctl(
    binary: &Path,
    endpoint: &str,
    table: &str,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> Output {
    let mut child = Command::new(binary)
        .args(args)
        .env_clear()
        .envs(moto::local_aws_env(endpoint))
        .env("USERS_TABLE", table)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("authctl runs")
}
