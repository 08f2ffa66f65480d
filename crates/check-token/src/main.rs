//! Wiring only: read the settings and build the state once, then serve invocations with it,
//! writing the metrics after each.

use std::time::Instant;

use awsenv::metrics::Metrics;
use check_token::{State, handler, settings};
use lambda_runtime::{Error, service_fn};

// One invocation at a time: the single-threaded runtime measured faster (see README, "Performance").
#[cfg_attr(not(feature = "multi-thread"), tokio::main(flavor = "current_thread"))]
#[cfg_attr(feature = "multi-thread", tokio::main(flavor = "multi_thread"))]
async fn main() -> Result<(), Error> {
    let started = Instant::now();
    let settings = settings::from_process()?;
    let counters = [
        check_token::decision::DECISIONS,
        check_token::KEY_RING_RELOADS,
    ];
    let metrics = Metrics::install(&settings.aws, "check-token", &counters);
    let state = State::start(&settings).await.inspect_err(|e| {
        tracing::error!(error = %e, "start-up failed");
        metrics.flush();
    })?;
    metrics.cold_start(started.elapsed());
    let state = &state;
    lambda_runtime::run(service_fn(move |event| async move {
        let answer = handler(state, event).await;
        metrics.flush();
        answer
    }))
    .await
}
