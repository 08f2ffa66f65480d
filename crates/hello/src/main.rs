//! Wiring only: read the settings once, then serve requests, writing the metrics after each. A
//! base64 body that does not decode is dropped before `lambda_http`'s adapter turns the event
//! into a request (it would panic); the route reads no body.

use std::time::Instant;

use awsenv::metrics::Metrics;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Error, LambdaEvent, Service, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let started = Instant::now();
    let settings = hello::settings::from_process()?;
    let metrics = Metrics::install(&settings.aws, "hello", &[]);
    metrics.cold_start(started.elapsed());
    let cors = &settings.cors;
    lambda_runtime::run(service_fn(
        move |mut event: LambdaEvent<LambdaRequest>| async move {
            awsenv::http_events::drop_undecodable_body(&mut event.payload);
            let answer = Adapter::from(service_fn(move |request| hello::handler(cors, request)))
                .call(event)
                .await;
            metrics.flush();
            answer
        },
    ))
    .await
}
