//! The functions' log subscriber: `lambda_runtime`'s default (JSON when `AWS_LAMBDA_LOG_FORMAT`
//! is `JSON`, the level from `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO), with the
//! libraries' verbose targets capped at INFO whatever level is asked for.
//!
//! At DEBUG and TRACE the runtime logs each raw event (a password, a token) and the AWS SDK
//! each response body (an argon2 hash, the signing key). Those targets stop at INFO: no level,
//! however verbose, makes a function log a secret. The project's own crates log at the level
//! asked for, and never a password, token, hash, key or body.

use tracing_subscriber::filter::{EnvFilter, FilterExt, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use crate::AwsEnv;

/// Targets (prefixes of module paths) that never log below INFO: the Lambda runtime, the AWS
/// SDK and its HTTP stack.
pub const CAPPED_TARGETS: [&str; 10] = [
    "lambda_runtime",
    "lambda_http",
    "aws_smithy",
    "aws_sdk",
    "aws_runtime",
    "aws_sigv4",
    "aws_config",
    "hyper",
    "h2",
    "rustls",
];

/// The level asked for: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` (when it is a plain level),
/// else INFO, as `lambda_runtime` reads it.
fn level(env: &AwsEnv) -> LevelFilter {
    env.get("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| env.get("RUST_LOG"))
        .and_then(|l| l.parse().ok())
        .unwrap_or(LevelFilter::INFO)
}

/// The cap: TRACE for everything but [`CAPPED_TARGETS`], which stop at INFO.
pub fn cap() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(CAPPED_TARGETS.map(|t| (t, LevelFilter::INFO)))
}

/// Installs the subscriber, writing to standard output, as `env` says (the function's
/// settings). Call once, first thing in `main`.
pub fn init(env: &AwsEnv) {
    let asked = EnvFilter::builder()
        .with_default_directive(level(env).into())
        .parse_lossy(env.get("RUST_LOG").unwrap_or_default());
    let filter = asked.and(cap());
    let layer = fmt::layer().with_target(false).without_time();
    let json = env
        .get("AWS_LAMBDA_LOG_FORMAT")
        .is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry();
    // A subscriber already installed (a test harness) is kept.
    let _ = if json {
        registry.with(layer.json().with_filter(filter)).try_init()
    } else {
        registry.with(layer.with_filter(filter)).try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn verbose_library_targets_stop_at_info_and_ours_do_not() {
        let cap = cap();
        let enabled = |target: &str, level: Level| cap.would_enable(target, &level);
        for target in [
            "lambda_runtime::layers::api_response",
            "lambda_http::request",
            "aws_smithy_runtime::client::orchestrator",
            "aws_sdk_dynamodb::operation",
            "hyper_util::client",
            "rustls::client",
        ] {
            assert!(!enabled(target, Level::DEBUG), "{target}");
            assert!(!enabled(target, Level::TRACE), "{target}");
            assert!(enabled(target, Level::INFO), "{target}");
        }
        for ours in ["authenticate::lockout", "check_token", "userstore", "hello"] {
            assert!(enabled(ours, Level::TRACE), "{ours}");
        }
    }
}
