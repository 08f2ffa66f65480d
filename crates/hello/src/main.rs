//! Wiring only: read the settings once, then serve requests. A base64 body that does not
//! decode is dropped before `lambda_http`'s adapter turns the event into a request (it would
//! panic); the route reads no body.

use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Error, LambdaEvent, Service, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let settings = hello::settings::from_process()?;
    let cors = &settings.cors;
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
