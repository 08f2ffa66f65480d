//! The stack under load: a local DynamoDB (moto) with the tables and one account per virtual
//! user, and the local gateway serving the template's API with the real function binaries.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use authcore::password::PasswordHasher;
use authcore::{generate_secret, new_user_id};
use local_gateway::{Flavour, Gateway, Options};
use testkit::moto::{MotoServer, local_aws_env};
use userstore::attempts::AttemptStore;
use userstore::sessions::SessionStore;
use userstore::{User, UserStore};

/// The template's throttles, raised out of the way: the load measures the functions, and a
/// throttled request would only measure the bucket (the throttle tests do that).
const UNTHROTTLED: [(&str, &str); 6] = [
    ("ThrottlingRateLimit", "100000"),
    ("ThrottlingBurstLimit", "100000"),
    ("TokenThrottlingRateLimit", "100000"),
    ("TokenThrottlingBurstLimit", "100000"),
    ("RefreshThrottlingRateLimit", "100000"),
    ("RefreshThrottlingBurstLimit", "100000"),
];

/// What to start.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Which API of the template.
    pub api: Flavour,
    /// How many accounts to create.
    pub accounts: usize,
    /// The most instances per function.
    pub instances: usize,
    /// Where the function binaries are; `None`, where cargo builds them.
    pub bin_dir: Option<PathBuf>,
    /// Settings of single functions, over the template's.
    pub settings: Vec<Setting>,
}

/// One function's setting (an environment variable), over the template's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The function's logical id.
    pub function: String,
    /// The variable.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// The running stack. Dropping it stops the functions and moto.
pub struct Stack {
    /// The gateway's base URL.
    pub base: String,
    /// The accounts' emails, one per virtual user.
    pub accounts: Vec<String>,
    /// Every account's password.
    pub password: String,
    /// The sessions table, for the audit.
    pub sessions: SessionStore,
    /// The local DynamoDB's client, for the audit's scan.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// An HTTP client for the audit's own requests.
    pub http: reqwest::Client,
    /// The gateway (kept for its lifetime).
    _gateway: Arc<Gateway>,
    /// The local DynamoDB (kept for its lifetime).
    _moto: MotoServer,
}

impl Stack {
    /// Starts moto, creates the tables and the accounts, and serves the API.
    pub async fn start(plan: &Plan) -> Result<Self, String> {
        let moto = MotoServer::start();
        let endpoint = moto.endpoint();
        let client = userstore::client(&moto.sdk_config(), std::time::Duration::from_secs(5));
        let users = UserStore::new(client.clone(), "UsersTable");
        let sessions = SessionStore::new(client.clone(), "SessionsTable");
        let attempts = AttemptStore::new(client.clone(), "AttemptsTable");
        let failed = |e: userstore::StoreError| format!("creating the tables: {e}");
        users.create_table().await.map_err(failed)?;
        sessions.create_table().await.map_err(failed)?;
        attempts.create_table().await.map_err(failed)?;
        let password = secret()?[..24].to_owned();
        let accounts = create_accounts(&users, plan.accounts, &password).await?;
        let gateway =
            Arc::new(Gateway::start(&options(plan, &endpoint)?).map_err(|e| e.to_string())?);
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let base = format!(
            "http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        let serving = gateway.clone();
        std::thread::spawn(move || serving.serve(listener));
        Ok(Self {
            base,
            accounts,
            password,
            sessions,
            dynamodb: client,
            http: reqwest::Client::new(),
            _gateway: gateway,
            _moto: moto,
        })
    }
}

fn secret() -> Result<String, String> {
    generate_secret().map_err(|e| e.to_string())
}

/// `count` readers, `load-N@example.com`, all with `password` (hashed once: argon2 is the
/// functions' cost, not the set-up's).
async fn create_accounts(
    users: &UserStore,
    count: usize,
    password: &str,
) -> Result<Vec<String>, String> {
    let hash = PasswordHasher::default()
        .hash(password)
        .map_err(|e| e.to_string())?;
    let mut accounts = Vec::with_capacity(count);
    for n in 0..count {
        let email = format!("load-{n}@example.com");
        let user = User {
            id: Some(new_user_id().map_err(|e| e.to_string())?),
            roles: vec!["reader".to_owned()],
            ..User::new(email.clone(), hash.clone())
        };
        users
            .create(&user)
            .await
            .map_err(|e| format!("adding {email}: {e}"))?;
        accounts.push(email);
    }
    Ok(accounts)
}

/// The gateway's options: the template at the workspace's root, fresh keys, no throttles.
fn options(plan: &Plan, endpoint: &str) -> Result<Options, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin_dir = match &plan.bin_dir {
        Some(dir) => dir.clone(),
        None => testkit::process::built_binary("check-token")
            .map_err(|e| e.to_string())?
            .parent()
            .map(Path::to_path_buf)
            .ok_or("no binary directory")?,
    };
    let mut options = Options::new(root.join("template.yaml"), bin_dir);
    options.api = plan.api;
    options.max_instances = plan.instances;
    // Thousands of requests: the figures are the report, not a line each.
    options.access_log = false;
    options.parameters = UNTHROTTLED
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    options.env = local_aws_env(endpoint)
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    for key in ["JWT_SECRET", "LOCKOUT_KEY", "REFRESH_KEY"] {
        options.env.push((key.to_owned(), secret()?));
    }
    for s in &plan.settings {
        options
            .env_vars
            .entry(s.function.clone())
            .or_default()
            .insert(s.name.clone(), s.value.clone());
    }
    Ok(options)
}
