//! Shared by the end-to-end tests.

use std::io::Write;
use std::process::{Command, Stdio};

use local_runtime::{built_binary, local_aws_env};

/// Creates `table` (if it does not exist) on the local server at `endpoint` and adds a user,
/// with the built `authctl`, the way a person would: the password on standard input.
pub fn add_user(
    endpoint: &str,
    table: &str,
    email: &str,
    name: &str,
    roles: &[&str],
    password: &str,
) {
    let authctl = built_binary("authctl").unwrap_or_else(|e| panic!("{e}"));
    let mut add = vec!["user", "add", email, "--name", name];
    for role in roles {
        add.extend(["--role", role]);
    }
    for (args, stdin) in [
        (vec!["table", "create"], String::new()),
        (add, format!("{password}\n")),
    ] {
        let mut child = Command::new(&authctl)
            .args(&args)
            .env_clear()
            .envs(local_aws_env(endpoint))
            .env("USERS_TABLE", table)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "authctl {args:?}");
    }
}
