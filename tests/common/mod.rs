//! Shared by the end-to-end tests. Each test binary uses part of it.
#![allow(dead_code)]

use local_runtime::built_binary;

/// [`testkit::event`] as the bytes a function is invoked with.
pub fn event(name: &str, token: &str) -> Vec<u8> {
    testkit::event(name, token).into_bytes()
}

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
        let out = testkit::authctl(&authctl, endpoint, table, &args, &stdin, &[]);
        assert!(out.status.success(), "authctl {args:?}: {out:?}");
    }
}
