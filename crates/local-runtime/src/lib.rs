//! A local [Lambda Runtime API](https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
//! it starts a function's real binary with `AWS_LAMBDA_RUNTIME_API` pointing at a loopback
//! server, hands it invocations through `/next`, and collects its `/response` or `/error`.
//!
//! The Runtime API is served by hyper on a small tokio runtime of its own, so callers keep a
//! plain blocking API: [`Function::invoke`] waits for the answer.

pub mod pool;

pub use pool::Pool;

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::sync::{Notify, oneshot};

const API_PREFIX: &str = "/2018-06-01/runtime";

/// What went wrong driving a function.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The binary does not exist or could not be started.
    #[error("cannot start {path}: {source} (build it first: `cargo build --workspace --bins`)")]
    Spawn {
        /// The binary's path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The local Runtime API could not listen on loopback.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(std::io::Error),
    /// The function reported an initialization error, or exited.
    #[error("the function failed to start or exited: {detail}\n--- its output ---\n{logs}")]
    Died {
        /// The init error or exit status.
        detail: String,
        /// What the function printed.
        logs: String,
    },
    /// No answer within the timeout.
    #[error("the function did not answer within {0:?}")]
    Timeout(Duration),
}

/// The result of one invocation, as the function posted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Posted to `/invocation/{id}/response`: the payload.
    Response(Vec<u8>),
    /// Posted to `/invocation/{id}/error`: `errorType` and `errorMessage`.
    Error {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        error_message: String,
    },
}

impl Outcome {
    /// The response payload as JSON, or `None` for an error.
    pub fn json(&self) -> Option<serde_json::Value> {
        match self {
            Self::Response(body) => serde_json::from_slice(body).ok(),
            Self::Error { .. } => None,
        }
    }
}

struct Pending {
    id: String,
    trace_id: String,
    payload: Vec<u8>,
    deadline_ms: u128,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Pending>,
    waiting: HashMap<String, Sender<Outcome>>,
    init_error: Option<String>,
    shutdown: bool,
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    /// Signalled when an invocation is queued or the function is stopping.
    ready: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How to start a function.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`).
    pub name: String,
    /// The built binary (what Lambda calls `bootstrap`).
    pub binary: PathBuf,
    /// Environment variables for the function. The parent's environment is not passed on,
    /// except `PATH`, `HOME` and `RUST_BACKTRACE`.
    pub env: Vec<(String, String)>,
    /// Copy the function's output to this process's standard error as well as capturing it.
    pub echo_logs: bool,
    /// Called with each line the function prints, as it prints it.
    pub observer: Option<LineObserver>,
}

/// Something that reads a function's output line by line (the local gateway's metrics tally).
#[derive(Clone)]
pub struct LineObserver(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for LineObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LineObserver")
    }
}

impl FunctionSpec {
    /// A spec for `binary` named `name`, with no extra environment.
    pub fn new(name: impl Into<String>, binary: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            binary: binary.into(),
            env: Vec::new(),
            echo_logs: false,
            observer: None,
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// A running function process behind its own local Runtime API. Dropping it stops the process.
pub struct Function {
    name: String,
    child: Mutex<Child>,
    pid: u32,
    shared: Arc<Shared>,
    logs: Arc<Mutex<Vec<u8>>>,
    next_id: AtomicU64,
    /// Stops the Runtime API's server when the function is dropped.
    _stop: oneshot::Sender<()>,
}

impl Function {
    /// Starts the function and its Runtime API.
    pub fn start(spec: FunctionSpec) -> Result<Self, RuntimeError> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(RuntimeError::Listen)?;
        let addr = listener.local_addr().map_err(RuntimeError::Listen)?;
        listener
            .set_nonblocking(true)
            .map_err(RuntimeError::Listen)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(RuntimeError::Listen)?;
        let shared = Arc::new(Shared::default());
        let (stop, stopped) = oneshot::channel();
        {
            let shared = shared.clone();
            thread::spawn(move || runtime.block_on(serve(listener, shared, stopped)));
        }

        let mut cmd = Command::new(&spec.binary);
        cmd.env_clear();
        for key in ["PATH", "HOME", "RUST_BACKTRACE"] {
            if let Ok(v) = std::env::var(key) {
                cmd.env(key, v);
            }
        }
        cmd.env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", spec.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|source| RuntimeError::Spawn {
            path: spec.binary.clone(),
            source,
        })?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        if let Some(out) = child.stdout.take() {
            collect(out, logs.clone(), spec.echo_logs, spec.observer.clone());
        }
        if let Some(err) = child.stderr.take() {
            collect(err, logs.clone(), spec.echo_logs, spec.observer.clone());
        }
        Ok(Self {
            name: spec.name,
            pid: child.id(),
            child: Mutex::new(child),
            shared,
            logs,
            next_id: AtomicU64::new(1),
            _stop: stop,
        })
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Everything the function has printed so far (stdout and stderr, interleaved by line).
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Everything the process has printed, once `done` holds for it or `timeout` has passed.
    /// The function writes its logs on its own: the last lines can arrive just after its answer.
    pub fn logs_until(&self, done: impl Fn(&str) -> bool, timeout: Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let logs = self.logs();
            if done(&logs) || std::time::Instant::now() >= deadline {
                return logs;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The process's peak resident memory in KiB (`VmHWM`), where /proc is available.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// CPU time the process's live threads have used so far, in nanoseconds from the
    /// scheduler (`/proc/PID/task/*/schedstat`), where /proc is available. Threads that have
    /// already exited are not counted.
    pub fn cpu_time(&self) -> Option<Duration> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid)).ok()?;
        let mut total = 0u64;
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(Duration::from_nanos(total))
    }

    /// Invokes the function with `payload` and waits up to `timeout` for its answer.
    pub fn invoke(&self, payload: &[u8], timeout: Duration) -> Result<Outcome, RuntimeError> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:08x}-local-{n:012}", std::process::id());
        let (tx, rx): (Sender<Outcome>, Receiver<Outcome>) = mpsc::channel();
        {
            let mut inner = self.shared.lock();
            if let Some(e) = &inner.init_error {
                return Err(self.died(e.clone()));
            }
            inner.waiting.insert(id.clone(), tx);
            inner.queue.push_back(Pending {
                trace_id: trace_id(std::process::id(), n),
                id: id.clone(),
                payload: payload.to_vec(),
                deadline_ms: epoch_ms() + timeout.as_millis(),
            });
        }
        self.shared.ready.notify_one();

        let started = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(outcome) => return Ok(outcome),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let e = self.shared.lock().init_error.clone().unwrap_or_default();
                    return Err(self.died(e));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if let Some(e) = self.shared.lock().init_error.clone() {
                return Err(self.died(e));
            }
            if let Ok(Some(status)) = self
                .child
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_wait()
            {
                return Err(self.died(format!("exited with {status}")));
            }
            if started.elapsed() >= timeout {
                self.shared.lock().waiting.remove(&id);
                return Err(RuntimeError::Timeout(timeout));
            }
        }
    }

    /// Waits until the process exits (for start-up failures), up to `timeout`.
    pub fn wait_exit(&self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self
                .child
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_wait()
            {
                // Give the output readers a moment to drain.
                thread::sleep(Duration::from_millis(50));
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn died(&self, detail: String) -> RuntimeError {
        thread::sleep(Duration::from_millis(50));
        RuntimeError::Died {
            detail,
            logs: self.logs(),
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.ready.notify_one();
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn collect(
    stream: impl Read + Send + 'static,
    sink: Arc<Mutex<Vec<u8>>>,
    echo: bool,
    observer: Option<LineObserver>,
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        while reader
            .read_until(b'\n', &mut line)
            .map(|n| n > 0)
            .unwrap_or(false)
        {
            if echo {
                let _ = std::io::stderr().write_all(&line);
            }
            if let Some(observe) = &observer {
                (observe.0)(String::from_utf8_lossy(&line).trim_end());
            }
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(&line);
            line.clear();
        }
    });
}

/// Serves the Runtime API on `listener` until `stopped` fires.
async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stopped: oneshot::Receiver<()>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        // Small request/response exchanges: no Nagle delay, as on Lambda's own Runtime API.
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let service = hyper::service::service_fn(move |req| handle(req, shared.clone()));
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service),
        );
    }
}

fn reply(status: StatusCode, body: &'static [u8]) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body)));
    *response.status_mut() = status;
    response
}

/// One Runtime API request: `/next`, `/response`, `/error` or `/init/error`.
async fn handle(
    req: http::Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let path = path.strip_prefix(API_PREFIX).unwrap_or(&path);
    let accepted = || reply(StatusCode::ACCEPTED, br#"{"status":"OK"}"#);
    let not_found = || reply(StatusCode::NOT_FOUND, b"{}");
    if method == Method::GET && path == "/invocation/next" {
        return Ok(next_invocation(&shared)
            .await
            .map_or_else(|| reply(StatusCode::GONE, b"{}"), invocation_response));
    }
    if method != Method::POST {
        return Ok(not_found());
    }
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(reply(StatusCode::BAD_REQUEST, b"{}")),
    };
    if path == "/init/error" {
        shared.lock().init_error = Some(String::from_utf8_lossy(&body).into_owned());
        return Ok(accepted());
    }
    let Some((id, kind)) = path
        .strip_prefix("/invocation/")
        .and_then(|rest| rest.split_once('/'))
    else {
        return Ok(not_found());
    };
    let outcome = match kind {
        "response" => Outcome::Response(body.to_vec()),
        "error" => error_outcome(&body),
        _ => return Ok(not_found()),
    };
    if let Some(tx) = shared.lock().waiting.remove(id) {
        let _ = tx.send(outcome);
    }
    Ok(accepted())
}

/// An `/error` post: Lambda's `{"errorType", "errorMessage"}`.
fn error_outcome(body: &[u8]) -> Outcome {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |k: &str| {
        v.get(k)
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Outcome::Error {
        error_type: field("errorType"),
        error_message: field("errorMessage"),
    }
}

/// The `/next` answer: the payload, with the headers Lambda sends.
/// The X-Ray trace header of invocation `n` of process `pid` (request id
/// `{pid:08x}-local-{n:012}`), as Lambda sends it to a function whose tracing is PassThrough.
pub fn trace_id(pid: u32, n: u64) -> String {
    format!("Root=1-{pid:08x}-{n:024x};Sampled=0")
}

fn invocation_response(next: Pending) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(next.payload)));
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("lambda-runtime-aws-request-id", next.id),
        ("lambda-runtime-deadline-ms", next.deadline_ms.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:local".to_owned(),
        ),
        ("lambda-runtime-trace-id", next.trace_id),
    ];
    for (name, value) in headers {
        if let Ok(value) = http::HeaderValue::try_from(value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Waits for the next queued invocation; `None` once the function is stopping.
async fn next_invocation(shared: &Shared) -> Option<Pending> {
    loop {
        {
            let mut inner = shared.lock();
            if inner.shutdown {
                return None;
            }
            if let Some(next) = inner.queue.pop_front() {
                return Some(next);
            }
        }
        // notify_one keeps a permit when nobody waits, so a wake-up between the check and
        // here is not lost.
        shared.ready.notified().await;
    }
}
