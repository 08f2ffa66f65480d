//! Shared by the end-to-end tests. Each test binary uses part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use local_gateway::{Flavour, Gateway, Options};
use local_runtime::moto::MotoServer;
use local_runtime::{built_binary, local_aws_env};

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
        // Locally, the template's attempts table is named after its logical id too.
        let attempts = [
            ("ATTEMPTS_TABLE", "AttemptsTable"),
            ("SESSIONS_TABLE", "SessionsTable"),
        ];
        let out = testkit::authctl(&authctl, endpoint, table, &args, &stdin, &attempts);
        assert!(out.status.success(), "authctl {args:?}: {out:?}");
    }
}

/// Starts a gateway serving the `api` of `template` on a free port.
pub fn serve(
    template: &Path,
    api: Flavour,
    endpoint: &str,
    secret: &str,
    parameters: &[(&str, &str)],
    env_vars: &[(&str, &str, &str)],
) -> (Arc<Gateway>, String) {
    let bin_dir = built_binary("check-token")
        .unwrap_or_else(|e| panic!("{e}"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut options = Options::new(template, bin_dir);
    options.api = api;
    options.parameters = parameters
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    options.env = local_aws_env(endpoint)
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    options.env.push(("JWT_SECRET".into(), secret.into()));
    for (function, k, v) in env_vars {
        options
            .env_vars
            .entry(function.to_string())
            .or_default()
            .insert(k.to_string(), v.to_string());
    }
    let gateway = Arc::new(Gateway::start(&options).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let serving = gateway.clone();
    std::thread::spawn(move || serving.serve(listener));
    (gateway, base)
}

/// A local DynamoDB holding one reader, `email`; with a fresh signing secret and the password.
pub fn moto_with_reader(email: &str) -> (MotoServer, String, String) {
    let moto = MotoServer::start();
    let secret = authcore::generate_secret().unwrap();
    let password = authcore::generate_secret().unwrap()[..20].to_owned();
    add_user(
        &moto.endpoint(),
        "UsersTable",
        email,
        "Local Demo",
        &["reader"],
        &password,
    );
    (moto, secret, password)
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
