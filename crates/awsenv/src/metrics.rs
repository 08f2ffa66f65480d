//! The functions' metrics: CloudWatch Embedded Metric Format (EMF) documents on standard
//! output, beside the log lines, which CloudWatch Logs turns into metrics. No API call, and
//! nothing added to a request's latency but writing a line after the answer.
//!
//! Metrics are recorded through the `metrics` facade where each outcome is decided; this module
//! installs the recorder (`metrics_cloudwatch_embedded`), writes what was counted after each
//! invocation, and counts what every function shares: cold starts and failed AWS calls.
//! Every metric has the dimension `Function`; the others are few and bounded (an outcome, a
//! reason, a service), never a user, an email, an address or a token: each value of a
//! dimension is a metric CloudWatch bills.

use std::time::Duration;

use metrics_cloudwatch_embedded::{Builder, Collector};

use crate::AwsEnv;

/// The variable naming the CloudWatch namespace (the template sets the stack's name).
pub const NAMESPACE_VAR: &str = "METRICS_NAMESPACE";

/// The namespace when [`NAMESPACE_VAR`] is unset: local runs.
pub const DEFAULT_NAMESPACE: &str = "lambda-auth";

/// The dimension naming the function, on every metric.
pub const FUNCTION: &str = "Function";

/// Cold starts: one per instance, at its first invocation's flush.
pub const COLD_STARTS: &str = "ColdStarts";

/// Milliseconds from the process's start to serving (settings, keys, SDK clients).
pub const INIT_DURATION: &str = "InitDuration";

/// Calls to an AWS service that failed or timed out, by `Service`.
pub const DEPENDENCY_FAILURES: &str = "DependencyFailures";

/// The AWS services the functions call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// DynamoDB (users, attempts, sessions).
    DynamoDb,
    /// Secrets Manager (keys, at start-up and at a key ring reload).
    SecretsManager,
}

impl Service {
    /// The value of the `Service` dimension.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DynamoDb => "dynamodb",
            Self::SecretsManager => "secretsmanager",
        }
    }
}

/// Counts a call to `service` that failed or timed out.
pub fn dependency_failure(service: Service) {
    metrics::counter!(DEPENDENCY_FAILURES, "Service" => service.as_str()).increment(1);
}

/// The recorder of one function, written out after each invocation.
#[derive(Clone, Copy)]
pub struct Metrics {
    collector: Option<&'static Collector>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("on", &self.collector.is_some())
            .finish()
    }
}

impl Metrics {
    /// Installs the recorder for `function`, in the namespace `env` names, with `counters`
    /// (the function's own counts) declared in the unit `Count`. When another recorder is
    /// installed already (a test process), nothing is recorded and the reason is logged.
    pub fn install(env: &AwsEnv, function: &'static str, counters: &[&'static str]) -> Self {
        let namespace = env
            .get(NAMESPACE_VAR)
            .filter(|n| !n.is_empty())
            .unwrap_or(DEFAULT_NAMESPACE)
            .to_owned();
        let collector = Builder::new()
            .cloudwatch_namespace(namespace)
            .with_dimension(FUNCTION, function)
            .init()
            .inspect_err(|e| tracing::warn!(error = %e, "metrics are off"))
            .ok();
        metrics::describe_histogram!(INIT_DURATION, metrics::Unit::Milliseconds, "start-up time");
        for counter in [COLD_STARTS, DEPENDENCY_FAILURES].iter().chain(counters) {
            metrics::describe_counter!(*counter, metrics::Unit::Count, "a count");
        }
        Self { collector }
    }

    /// Counts this instance's cold start, and how long start-up took.
    pub fn cold_start(&self, took: Duration) {
        metrics::counter!(COLD_STARTS).increment(1);
        metrics::histogram!(INIT_DURATION).record(took.as_secs_f64() * 1000.0);
    }

    /// Writes what was recorded since the last flush to standard output: one line per set of
    /// dimensions that changed. A failed write is logged; the invocation's answer stands.
    pub fn flush(&self) {
        use std::io::Write as _;
        let Some(collector) = self.collector else {
            return;
        };
        // Serialized into memory first, then written at once: serde_json writes a document in
        // many small pieces, which standard output's line buffer would scan one by one.
        let mut lines = Vec::with_capacity(1024);
        let written = collector
            .flush(&mut lines)
            .and_then(|()| std::io::stdout().lock().write_all(&lines));
        if let Err(e) = written {
            tracing::warn!(error = %e, "metrics not written");
        }
    }
}
