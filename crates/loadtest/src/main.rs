//! `load` (`make load`): the whole flow under concurrent load, through the local gateway.
//!
//! Virtual users (goose) sign in, call `/hello`, refresh (and now and then retry the refresh
//! as a client that lost the answer would), call `/hello` with the new token, sign out, and
//! try the revoked refresh token once more, for a fixed time, against the template's API
//! served by the local gateway with several instances per function. It prints each step's
//! throughput and p50/p99, then audits: no 5xx, no session lost (every session a user still
//! holds refreshes), none forked (at most one unused token per family, from the sessions
//! table), and no refresh token accepted after its sign-out. Any finding exits with 1.

mod audit;
mod flow;
mod report;
mod stack;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use local_gateway::Flavour;

/// The command line.
#[derive(Parser, Debug)]
#[command(
    version,
    about = "Load-test the sign-in, /hello, refresh and sign-out flow through the local gateway"
)]
struct Cli {
    /// Which API of the template: rest or http.
    #[arg(long, default_value = "rest")]
    api: Flavour,
    /// Virtual users, each with an account of its own.
    #[arg(long, default_value_t = 16)]
    users: usize,
    /// How long the load lasts, in seconds.
    #[arg(long, default_value_t = 30)]
    seconds: usize,
    /// The most instances of each function (Lambda's concurrency, locally).
    #[arg(long, default_value_t = 4)]
    instances: usize,
    /// Where the built function binaries are (default: where cargo builds them, debug).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// A setting of one function, `FunctionLogicalId:NAME=VALUE` (repeatable), such as
    /// `AuthenticateFunction:REFRESH_RETRY_SECONDS=0`: the load under other settings.
    #[arg(long = "set", value_parser = parse_setting)]
    settings: Vec<stack::Setting>,
}

fn parse_setting(s: &str) -> Result<stack::Setting, String> {
    let (function, pair) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not FunctionLogicalId:NAME=VALUE"))?;
    let (name, value) = pair
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not FunctionLogicalId:NAME=VALUE"))?;
    Ok(stack::Setting {
        function: function.to_owned(),
        name: name.to_owned(),
        value: value.to_owned(),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start a runtime: {e}")),
    };
    match runtime.block_on(run(&cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("load: {message}");
    ExitCode::from(2)
}

/// Runs the load and the audit; `Ok(false)` when the audit found something.
async fn run(cli: &Cli) -> Result<bool, String> {
    let stack = stack::Stack::start(&stack::Plan {
        api: cli.api,
        accounts: cli.users,
        instances: cli.instances,
        bin_dir: cli.bin_dir.clone(),
        settings: cli.settings.clone(),
    })
    .await?;
    println!(
        "load: the {:?} API on {}, {} virtual users for {} s, at most {} instances per function",
        cli.api, stack.base, cli.users, cli.seconds, cli.instances
    );
    let ledger = flow::Ledger::shared();
    let metrics = flow::attack(
        &stack,
        ledger.clone(),
        cli.users,
        Duration::from_secs(cli.seconds as u64),
    )
    .await?;
    let steps = report::steps(&metrics);
    print!("{}", report::table(&steps, metrics.duration));
    let findings = audit::run(&stack, &ledger, &steps).await?;
    print!("{}", audit::summary(&findings, &ledger));
    Ok(findings.is_empty())
}
