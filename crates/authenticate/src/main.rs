//! Wiring only: build the state once, then serve requests with it.

use authenticate::{State, handler};
use lambda_http::{Error, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = State::from_env()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
    let state = &state;
    lambda_http::run(service_fn(move |request| async move {
        handler(state, request).await
    }))
    .await
}
