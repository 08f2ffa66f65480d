//! Wiring only. A base64 body that does not decode is dropped before `lambda_http`'s adapter
//! turns the event into a request (it would panic); the route reads no body.

use authcore::AllowedOrigins;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Error, LambdaEvent, Service, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    awsenv::logging::init();
    let cors = AllowedOrigins::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
    let cors = &cors;
    lambda_runtime::run(service_fn(
        move |mut event: LambdaEvent<LambdaRequest>| async move {
            awsenv::http_events::drop_undecodable_body(&mut event.payload);
            Adapter::from(service_fn(move |request| hello::handler(cors, request)))
                .call(event)
                .await
        },
    ))
    .await
}
