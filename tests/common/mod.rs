//! Shared by the end-to-end tests. Each test binary uses part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use local_gateway::{AuthorizerMode, Flavour, Gateway, Options};
use serde_json::Value;
use testkit::moto::MotoServer;
use testkit::moto::local_aws_env;
use testkit::process::built_binary;

/// [`testkit::event`] as the bytes a function is invoked with.
pub fn event(name: &str, token: &str) -> Vec<u8> {
    testkit::event(name, token).into_bytes()
}

/// Function `binary` as the template runs it locally: the test keys, the template's route
/// rules and tables, and the AWS environment of the local server at `endpoint`.
pub fn function_spec(binary: &str, endpoint: &str, secret: &str) -> local_runtime::FunctionSpec {
    let path = built_binary(binary).unwrap_or_else(|e| panic!("{e}"));
    let mut spec = local_runtime::FunctionSpec::new(binary, path)
        .env("JWT_SECRET", secret)
        .env("LOCKOUT_KEY", testkit::LOCKOUT_KEY)
        .env("REFRESH_KEY", testkit::REFRESH_KEY)
        .env("ROUTE_RULES", testkit::ROUTE_RULES)
        .env("USERS_TABLE", "UsersTable")
        .env("ATTEMPTS_TABLE", "AttemptsTable")
        .env("SESSIONS_TABLE", "SessionsTable");
    for (k, v) in local_aws_env(endpoint) {
        spec = spec.env(k, v);
    }
    spec
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

/// Where cargo put the built binaries (the functions, the gateway, the tools).
pub fn bin_dir() -> std::path::PathBuf {
    built_binary("check-token")
        .unwrap_or_else(|e| panic!("{e}"))
        .parent()
        .expect("a binary is in a directory")
        .to_path_buf()
}

/// In a parameter's value given to [`serve`]: the gateway's own base URL (for `JwtIssuer`).
pub const BASE_URL: &str = "{base}";

/// Starts a gateway serving the `api` of `template` on a free port.
pub fn serve(
    template: &Path,
    api: Flavour,
    endpoint: &str,
    secret: &str,
    parameters: &[(&str, &str)],
    env_vars: &[(&str, &str, &str)],
) -> (Arc<Gateway>, String) {
    serve_guarded(
        template,
        api,
        AuthorizerMode::Lambda,
        endpoint,
        secret,
        parameters,
        env_vars,
    )
}

/// [`serve`], with the HTTP API's protected routes guarded by `authorizer`.
pub fn serve_guarded(
    template: &Path,
    api: Flavour,
    authorizer: AuthorizerMode,
    endpoint: &str,
    secret: &str,
    parameters: &[(&str, &str)],
    env_vars: &[(&str, &str, &str)],
) -> (Arc<Gateway>, String) {
    let bin_dir = bin_dir();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut options = Options::new(template, bin_dir);
    options.api = api;
    options.authorizer = authorizer;
    options.parameters = parameters
        .iter()
        .map(|(k, v)| (k.to_string(), v.replace(BASE_URL, &base)))
        .collect();
    options.env = local_aws_env(endpoint)
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    options.env.push(("JWT_SECRET".into(), secret.into()));
    options
        .env
        .push(("LOCKOUT_KEY".into(), testkit::LOCKOUT_KEY.into()));
    options
        .env
        .push(("REFRESH_KEY".into(), testkit::REFRESH_KEY.into()));
    for (function, k, v) in env_vars {
        options
            .env_vars
            .entry(function.to_string())
            .or_default()
            .insert(k.to_string(), v.to_string());
    }
    let gateway = Arc::new(Gateway::start(&options).unwrap());
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

/// An HTTP answer, as curl received it.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: HashMap<String, String>,
    /// The body as JSON, or as a JSON string when it is not JSON.
    pub body: Value,
}

/// One request with curl.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
    http_from(None, method, url, headers, body)
}

/// [`http`] from the local source address `from` (such as 127.0.0.2), when given.
pub fn http_from(
    from: Option<&str>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-i", "--max-time", "30", "-X", method, url]);
    if let Some(address) = from {
        cmd.args(["--interface", address]);
    }
    for (k, v) in headers {
        cmd.args(["-H", &format!("{k}: {v}")]);
    }
    if body.is_some() {
        cmd.args(["--data-binary", "@-"]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("curl: {e}: install it (apt-get install curl)"));
    let mut stdin = child.stdin.take().unwrap();
    if let Some(b) = body {
        stdin.write_all(b.as_bytes()).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response from {url}: {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())),
    }
}

/// Starts a gateway for the project's template on a free port; it lives as long as the tests.
pub fn start_gateway(
    endpoint: &str,
    secret: &str,
    parameters: &[(&str, &str)],
    env_vars: &[(&str, &str, &str)],
) -> (Arc<Gateway>, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    serve(
        &root.join("template.yaml"),
        Flavour::Rest,
        endpoint,
        secret,
        parameters,
        env_vars,
    )
}

/// A copy of the sign-in page (`web/`) in `dir`, for a test to serve with its own
/// `config.json`: tests never write into the repository's `web/`.
pub fn web_copy(dir: &Path) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let copy = dir.join("web");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name() != Some("config.json".as_ref()) {
            std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
        }
    }
    copy
}
