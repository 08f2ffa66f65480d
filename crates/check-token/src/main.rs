//! Wiring only: read the settings and build the state once, then serve invocations with it.

use check_token::{State, handler, settings};
use lambda_runtime::{Error, service_fn};

// One invocation at a time: the single-threaded runtime measured faster (see README, "Performance").
#[cfg_attr(not(feature = "multi-thread"), tokio::main(flavor = "current_thread"))]
#[cfg_attr(feature = "multi-thread", tokio::main(flavor = "multi_thread"))]
async fn main() -> Result<(), Error> {
    let settings = settings::from_process()?;
    let state = State::start(&settings)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
    let state = &state;
    lambda_runtime::run(service_fn(move |event| async move {
        handler(state, event).await
    }))
    .await
}
