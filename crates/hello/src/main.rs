//! Wiring only.

use authcore::AllowedOrigins;
use lambda_http::{Error, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let cors = AllowedOrigins::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
    let cors = &cors;
    lambda_http::run(service_fn(move |request| hello::handler(cors, request))).await
}
