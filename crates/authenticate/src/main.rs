//! Wiring only: read the settings and build the state once, then serve requests with it,
//! writing the metrics after each.
//!
//! `lambda_http::run` would turn each event into a request itself, and panic on a base64 body
//! that does not decode; so the runtime gets `lambda_http`'s own adapter, after the body check.

use std::time::Instant;

use authenticate::{State, handle, metric, settings};
use awsenv::http_events::drop_undecodable_body;
use awsenv::metrics::Metrics;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Error, LambdaEvent, Service, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let started = Instant::now();
    let settings = settings::from_process()?;
    let metrics = Metrics::install(&settings.aws, "authenticate", &metric::COUNTERS);
    let state = State::start(&settings).await.inspect_err(|e| {
        tracing::error!(error = %e, "start-up failed");
        metrics.flush();
    })?;
    metrics.cold_start(started.elapsed());
    let state = &state;
    lambda_runtime::run(service_fn(
        move |mut event: LambdaEvent<LambdaRequest>| async move {
            let undecodable = drop_undecodable_body(&mut event.payload);
            let answer = Adapter::from(service_fn(move |request| {
                handle(state, request, undecodable)
            }))
            .call(event)
            .await;
            metrics.flush();
            answer
        },
    ))
    .await
}
