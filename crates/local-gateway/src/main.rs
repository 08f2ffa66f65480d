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
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not Name=Value"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut options = Options::new(&cli.template, &cli.bin_dir);
    options.api = cli.api;
    options.parameters = cli.parameters.into_iter().collect::<HashMap<_, _>>();
    options.echo_logs = true;
    options.max_instances = cli.max_instances;
    if let Some(path) = &cli.env_vars {
        let read = std::fs::read_to_string(path)
            .map_err(|e| local_gateway::GatewayError::EnvVars(format!("{}: {e}", path.display())))
            .and_then(|text| Options::read_env_vars(&text));
        match read {
            Ok(vars) => options.env_vars = vars,
            Err(e) => {
                eprintln!("local-gateway: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let listener = match TcpListener::bind((cli.host.as_str(), cli.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "local-gateway: cannot listen on {}:{}: {e}",
                cli.host, cli.port
            );
            return ExitCode::FAILURE;
        }
    };
    let gateway = match Gateway::start(&options) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("local-gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    let routes: Vec<(String, String, &str, Option<&String>)> = match gateway.api() {
        local_gateway::Flavour::Rest => gateway
            .stack()
            .routes
            .iter()
            .map(|r| {
                (
                    r.method.clone(),
                    r.path.clone(),
                    r.function.as_str(),
                    r.authorizer.as_ref(),
                )
            })
            .collect(),
        local_gateway::Flavour::Http => gateway
            .stack()
            .http_api
            .iter()
            .flat_map(|api| &api.routes)
            .map(|r| {
                let (method, path) = r.method_and_path().unwrap_or(("", "$default"));
                (
                    method.to_owned(),
                    path.to_owned(),
                    r.function.as_str(),
                    r.authorizer.as_ref(),
                )
            })
            .collect(),
    };
    eprintln!(
        "local-gateway: the {:?} API of {}",
        gateway.api(),
        cli.template.display()
    );
    for (method, path, function, authorizer) in routes {
        eprintln!(
            "  {:6} http://{}:{}{}  -> {}{}",
            method,
            cli.host,
            cli.port,
            path,
            function,
            authorizer
                .map(|a| format!(" (authorizer {a})"))
                .unwrap_or_default()
        );
    }
    eprintln!(
        "local-gateway: listening on http://{}:{}",
        cli.host, cli.port
    );
    match std::sync::Arc::new(gateway).serve(listener) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}
