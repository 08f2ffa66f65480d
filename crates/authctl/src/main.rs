//! `authctl`: manage the users table, and mint or check tokens for testing.
//!
//! Passwords are read from standard input (one line) or an interactive prompt, never from the
//! command line, where they would land in shell history and process listings.

mod cli;
mod settings;
mod signing;
mod tokens;
mod users;

use std::process::ExitCode;

use clap::Parser;
use userstore::UserStore;
use userstore::attempts::AttemptStore;
use userstore::sessions::SessionStore;

use crate::cli::{Cli, Command, SecretCommand, TableCommand};
use crate::settings::Settings;

/// Any failure: its message is the one line `authctl` prints.
type Failure = Box<dyn std::error::Error>;

/// The three tables, reached through one client.
struct Stores {
    users: UserStore,
    attempts: AttemptStore,
    sessions: SessionStore,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match Settings::from_process() {
        Ok(settings) => run(cli, settings).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authctl: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, settings: Settings) -> Result<(), Failure> {
    let tables = cli.tables();
    match cli.command {
        Command::Token(cmd) => tokens::run(&settings, cmd),
        Command::Secret(SecretCommand::Generate) => {
            println!("{}", authcore::generate_secret()?);
            Ok(())
        }
        Command::SigningKey(cmd) => signing::run(&settings, cmd).await,
        Command::Table(TableCommand::Create) => {
            create_tables(&stores(&tables, &settings).await).await
        }
        Command::User(cmd) => {
            let stores = stores(&tables, &settings).await;
            users::run(&stores, &settings, cmd).await
        }
    }
}

/// The tables the flags name, where they name one.
struct Tables {
    users: Option<String>,
    attempts: Option<String>,
    sessions: Option<String>,
}

impl Cli {
    fn tables(&self) -> Tables {
        Tables {
            users: self.table.clone(),
            attempts: self.attempts_table.clone(),
            sessions: self.sessions_table.clone(),
        }
    }
}

/// The tables, named by the flags or else the settings, with profiles, SSO and credential
/// processes as people run it, and the functions' HTTPS client.
async fn stores(tables: &Tables, settings: &Settings) -> Stores {
    let sdk = sdk_config(settings).await;
    let client = userstore::client(&sdk, settings.dynamodb_timeout);
    let name = |flag: &Option<String>, setting: &String| flag.clone().unwrap_or(setting.clone());
    Stores {
        users: UserStore::new(client.clone(), name(&tables.users, &settings.users_table)),
        attempts: AttemptStore::new(
            client.clone(),
            name(&tables.attempts, &settings.attempts_table),
        ),
        sessions: SessionStore::new(client, name(&tables.sessions, &settings.sessions_table)),
    }
}

/// The AWS configuration as people run `authctl`: profiles, SSO, credential processes, with
/// the functions' HTTPS client.
async fn sdk_config(settings: &Settings) -> aws_config::SdkConfig {
    aws_config::from_env()
        .http_client(awsenv::http_client(&settings.aws.roots()))
        .load()
        .await
}

/// `table create`: every table, each said to be created or there already.
async fn create_tables(stores: &Stores) -> Result<(), Failure> {
    for (created, table) in [
        (stores.users.create_table().await?, stores.users.table()),
        (
            stores.attempts.create_table().await?,
            stores.attempts.table(),
        ),
        (
            stores.sessions.create_table().await?,
            stores.sessions.table(),
        ),
    ] {
        if created {
            println!("created table {table}");
        } else {
            println!("table {table} exists already");
        }
    }
    Ok(())
}
