//! A fault-injecting proxy for tests, between a function's DynamoDB client and the local server
//! (moto): every call is forwarded, except the one a test names, which gets the fault it
//! names. Faults are what DynamoDB and the network do to a real call: a throttling error, a
//! 500, no answer at all, or the call carried out and its answer lost (a connection reset
//! after the request was sent).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// What the named call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `ProvisionedThroughputExceededException` (400), which the SDK retries.
    Throttle,
    /// `InternalServerError` (500).
    ServerError,
    /// No answer for 30 s: the client's timeout ends it.
    Hang,
    /// The call is forwarded and carried out, then the connection is closed without an answer.
    ResetAfterSend,
}

impl Fault {
    /// Every fault.
    pub const ALL: [Fault; 4] = [
        Fault::Throttle,
        Fault::ServerError,
        Fault::Hang,
        Fault::ResetAfterSend,
    ];
}

#[derive(Debug, Default)]
struct Plan {
    calls: usize,
    fault: Option<(usize, Fault)>,
}

/// The proxy, listening on loopback; it stops with the test process.
#[derive(Debug, Clone)]
pub struct FaultProxy {
    addr: SocketAddr,
    plan: Arc<Mutex<Plan>>,
}

impl FaultProxy {
    /// Starts a proxy forwarding to `upstream` (`http://127.0.0.1:port`).
    pub fn start(upstream: &str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("local address");
        let plan = Arc::new(Mutex::new(Plan::default()));
        let (upstream, shared) = (upstream.trim_end_matches('/').to_owned(), plan.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(serve(listener, upstream, shared));
        });
        Self { addr, plan }
    }

    /// The endpoint to give the client (`AWS_ENDPOINT_URL_DYNAMODB`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Calls forwarded or failed so far.
    pub fn calls(&self) -> usize {
        self.plan.lock().unwrap_or_else(|e| e.into_inner()).calls
    }

    /// The `n`-th call from now (1 is the next) gets `fault`; the others are forwarded.
    pub fn fail_call(&self, n: usize, fault: Fault) {
        let mut plan = self.plan.lock().unwrap_or_else(|e| e.into_inner());
        plan.fault = Some((plan.calls + n, fault));
    }

    /// No call gets a fault.
    pub fn clear(&self) {
        self.plan.lock().unwrap_or_else(|e| e.into_inner()).fault = None;
    }
}

async fn serve(listener: std::net::TcpListener, upstream: String, plan: Arc<Mutex<Plan>>) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (client, upstream, plan) = (client.clone(), upstream.clone(), plan.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                handle(req, client.clone(), upstream.clone(), plan.clone())
            });
            // A service error closes the connection without an answer: ResetAfterSend.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The injected answer's error: the connection is closed.
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected connection reset")
    }
}

impl std::error::Error for Reset {}

async fn handle(
    req: Request<Incoming>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: String,
    plan: Arc<Mutex<Plan>>,
) -> Result<Response<Full<Bytes>>, Reset> {
    let fault = {
        let mut plan = plan.lock().unwrap_or_else(|e| e.into_inner());
        plan.calls += 1;
        plan.fault
            .filter(|(at, _)| *at == plan.calls)
            .map(|(_, f)| f)
    };
    let error = |status: StatusCode, kind: &str| {
        let body = format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"injected by the test's proxy"}}"#
        );
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response.headers_mut().insert(
            "content-type",
            hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        Ok(response)
    };
    match fault {
        Some(Fault::Throttle) => {
            return error(
                StatusCode::BAD_REQUEST,
                "ProvisionedThroughputExceededException",
            );
        }
        Some(Fault::ServerError) => {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError");
        }
        Some(Fault::Hang) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return Err(Reset);
        }
        Some(Fault::ResetAfterSend) | None => {}
    }
    let forwarded = forward(req, &client, &upstream).await;
    match (fault, forwarded) {
        (Some(Fault::ResetAfterSend), _) | (_, None) => Err(Reset),
        (_, Some(response)) => Ok(response),
    }
}

/// `req` sent to `upstream`, and its whole answer; `None` when the upstream fails.
async fn forward(
    req: Request<Incoming>,
    client: &Client<HttpConnector, Full<Bytes>>,
    upstream: &str,
) -> Option<Response<Full<Bytes>>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.ok()?.to_bytes();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = Request::builder()
        .method(parts.method)
        .uri(format!("{upstream}{path}"))
        .body(Full::new(body))
        .ok()?;
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST {
            out.headers_mut().append(name, value.clone());
        }
    }
    let response = client.request(out).await.ok()?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.ok()?.to_bytes();
    Some(Response::from_parts(parts, Full::new(body)))
}
