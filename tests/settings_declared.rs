//! Every variable a function's settings read is declared for that function in template.yaml,
//! so that `sam local` (which passes only declared variables from `--env-vars`) and the local
//! gateway can set it. The variables Lambda itself sets are the exception.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use authcore::Vars;
use local_gateway::template::Stack;

/// Set by Lambda (region, credentials, the log settings of `LoggingConfig`), read only to warn
/// (`AWS_ENDPOINT_URL_SECRETSMANAGER`) or to debug (`RUST_LOG`, the fallback
/// `AWS_ENDPOINT_URL`), or set by an operator who needs a CA bundle of their own
/// (`SSL_CERT_FILE`: declared empty, it would reach every process of the function, extensions
/// too), or read only to refuse it (`REQUIRED_ROLE`, which `ROUTE_RULES` replaced): not
/// declared.
const LAMBDA_SETS: [&str; 12] = [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_LOG_FORMAT",
    "RUST_LOG",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETSMANAGER",
    "SSL_CERT_FILE",
    "REQUIRED_ROLE",
];

/// Values under which every setting is read (the local keys set, so that both key variables
/// and the previous key are looked up).
fn values() -> HashMap<&'static str, &'static str> {
    HashMap::from([
        ("JWT_SECRET", "settings-test-key-0123456789abcdef-0123"),
        ("LOCKOUT_KEY", "settings-test-lockout-0123456789abcdef"),
        ("REFRESH_KEY", "settings-test-refresh-0123456789abcdef"),
        ("USERS_TABLE", "users"),
        ("ATTEMPTS_TABLE", "attempts"),
        ("SESSIONS_TABLE", "sessions"),
        ("ROUTE_RULES", "GET /hello *"),
    ])
}

/// The variables `read` looks up, when it succeeds.
fn looked_up<T, E: std::fmt::Debug>(read: impl Fn(&Vars<'_>) -> Result<T, E>) -> BTreeSet<String> {
    let values = values();
    let seen = RefCell::new(BTreeSet::new());
    let lookup = |name: &str| {
        seen.borrow_mut().insert(name.to_owned());
        values.get(name).map(|v| v.to_string())
    };
    read(&Vars::new(&lookup)).expect("the settings read");
    seen.into_inner()
}

fn undeclared(function: &str, read: BTreeSet<String>) -> Vec<String> {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    let stack = Stack::load(&template, &HashMap::new()).unwrap();
    let def = &stack.functions[function];
    read.into_iter()
        .filter(|name| !LAMBDA_SETS.contains(&name.as_str()))
        .filter(|name| !def.env.contains_key(name) && !def.secret_vars.contains(name))
        .collect()
}

#[test]
fn check_token_reads_only_what_its_template_entry_declares() {
    let read = looked_up(check_token::Settings::read);
    assert!(read.contains("ROUTE_RULES"), "{read:?}");
    assert_eq!(undeclared("CheckTokenFunction", read), Vec::<String>::new());
}

#[test]
fn authenticate_reads_only_what_its_template_entry_declares() {
    let read = looked_up(authenticate::Settings::read);
    assert!(
        read.contains("LOCKOUT_KEY_ARN") && read.contains("DYNAMODB_TIMEOUT_MS"),
        "{read:?}"
    );
    assert_eq!(
        undeclared("AuthenticateFunction", read),
        Vec::<String>::new()
    );
}

#[test]
fn hello_reads_only_what_its_template_entry_declares() {
    let read = looked_up(hello::settings::Settings::read);
    assert!(read.contains("ALLOWED_ORIGINS"), "{read:?}");
    assert_eq!(undeclared("HelloFunction", read), Vec::<String>::new());
}

#[test]
fn the_shipped_env_json_sets_only_declared_variables_and_no_usable_key() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("events/env.json")).unwrap();
    let env = local_gateway::Options::read_env_vars(&text).unwrap();
    for (function, vars) in &env {
        let names = vars.keys().cloned().collect();
        assert_eq!(
            undeclared(function, names),
            Vec::<String>::new(),
            "{function}"
        );
        for key in ["JWT_SECRET", "LOCKOUT_KEY", "REFRESH_KEY"] {
            // A placeholder too short to be a key: start-up says so until one is pasted in.
            let lookup = |name: &str| (name == key).then(|| vars.get(key).cloned()).flatten();
            if let Some(value) = lookup(key) {
                assert!(
                    authcore::SigningKey::new(value.into_bytes()).is_err(),
                    "{function}: {key}"
                );
            }
        }
    }
}
