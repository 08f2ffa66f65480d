//! `local-gateway`: serve template.yaml's API on loopback with the real function binaries.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use local_gateway::{Gateway, Options};

#[derive(Parser)]
#[command(
    version,
    about = "A local API Gateway for template.yaml: its REST API (TOKEN authorizer) or its HTTP API (Lambda authorizer)"
)]
struct Cli {
    /// Which API of the template to serve: rest or http.
    #[arg(long, default_value = "rest")]
    api: local_gateway::Flavour,
    /// The SAM template.
    #[arg(long, default_value = "template.yaml")]
    template: PathBuf,
    /// Where the built binaries are.
    #[arg(long, default_value = "target/debug")]
    bin_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Who guards the HTTP API's protected routes: `lambda` (the template's Lambda authorizer)
    /// or `jwt` (API Gateway's JWT authorizer, as the nested jwt-api.yaml declares it).
    #[arg(long, default_value = "lambda")]
    authorizer: local_gateway::AuthorizerMode,
    /// Template parameter overrides, `Name=Value` (repeatable).
    #[arg(long = "parameter-overrides", value_parser = parse_pair)]
    parameters: Vec<(String, String)>,
    /// Extra environment per function, in `sam local`'s --env-vars JSON format.
    #[arg(long)]
    env_vars: Option<PathBuf>,
    /// The most instances of one function running at once (Lambda starts more as requests
    /// overlap).
    #[arg(long, default_value_t = local_runtime::pool::DEFAULT_MAX_INSTANCES)]
    max_instances: usize,
    /// Print a summary of the functions' metrics (their CloudWatch EMF lines) every this many
    /// seconds, when it changed; 0, never.
    #[arg(long, default_value_t = 0)]
    metrics_summary: u64,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not Name=Value"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = match options(&cli) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let listener = match TcpListener::bind((cli.host.as_str(), cli.port)) {
        Ok(l) => l,
        Err(e) => return fail(&format!("cannot listen on {}:{}: {e}", cli.host, cli.port)),
    };
    let gateway = match Gateway::start(&options) {
        Ok(g) => g,
        Err(e) => return fail(&e),
    };
    let base = format!("http://{}:{}", cli.host, cli.port);
    eprintln!(
        "local-gateway: the {:?} API of {}",
        gateway.api(),
        cli.template.display()
    );
    for line in route_lines(&gateway) {
        let authorizer = line
            .authorizer
            .map(|a| format!(" (authorizer {a})"))
            .unwrap_or_default();
        eprintln!(
            "  {:6} {base}{}  -> {}{authorizer}",
            line.method, line.path, line.function
        );
    }
    eprintln!("local-gateway: listening on {base}");
    match std::sync::Arc::new(gateway).serve(listener) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("local-gateway: {e}");
    ExitCode::FAILURE
}

/// The gateway's options from the command line and, for what Lambda would set (region,
/// credentials, endpoints) and the local keys, this tool's own environment: the one place it
/// reads it.
fn options(cli: &Cli) -> Result<Options, local_gateway::GatewayError> {
    let mut options = Options::new(&cli.template, &cli.bin_dir);
    options.api = cli.api;
    options.authorizer = cli.authorizer;
    options.parameters = cli.parameters.iter().cloned().collect::<HashMap<_, _>>();
    options.echo_logs = true;
    options.max_instances = cli.max_instances;
    options.metrics_summary =
        (cli.metrics_summary > 0).then(|| std::time::Duration::from_secs(cli.metrics_summary));
    let host = |name: &str| std::env::var(name).ok().map(|v| (name.to_owned(), v));
    let local_keys = local_gateway::LOCAL_SECRETS
        .iter()
        .flat_map(|(_, keys)| keys.iter());
    options.env = local_gateway::PASSTHROUGH
        .iter()
        .chain(local_keys)
        .filter_map(|name| host(name))
        .collect();
    if let Some((_, region)) = host("AWS_REGION") {
        options.region = region;
    }
    if let Some(path) = &cli.env_vars {
        let text = std::fs::read_to_string(path).map_err(|e| {
            local_gateway::GatewayError::EnvVars(format!("{}: {e}", path.display()))
        })?;
        options.env_vars = Options::read_env_vars(&text)?;
    }
    Ok(options)
}

/// One line of the route listing printed at start-up.
struct RouteLine<'a> {
    method: &'a str,
    path: &'a str,
    function: &'a str,
    authorizer: Option<&'a String>,
}

/// The routes of the API being served, as listed at start-up.
fn route_lines(gateway: &Gateway) -> Vec<RouteLine<'_>> {
    let stack = gateway.stack();
    match gateway.api() {
        local_gateway::Flavour::Rest => stack
            .routes
            .iter()
            .map(|r| RouteLine {
                method: &r.method,
                path: &r.path,
                function: &r.function,
                authorizer: r.authorizer.as_ref(),
            })
            .collect(),
        local_gateway::Flavour::Http => stack
            .http_api
            .iter()
            .flat_map(|api| &api.routes)
            .map(|r| {
                let (method, path) = r.method_and_path().unwrap_or(("", "$default"));
                RouteLine {
                    method,
                    path,
                    function: &r.function,
                    authorizer: r.authorizer.as_ref(),
                }
            })
            .collect(),
    }
}
