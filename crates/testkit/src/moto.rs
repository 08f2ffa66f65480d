//! A real DynamoDB- and Secrets Manager-compatible server for tests: `moto_server`, from the
//! project's virtualenv (`make venv`), on a free loopback port.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use crate::process::{http_ready, wait_child};

/// A running `moto_server`. Dropping it stops the server, and so does the end of this process:
/// a server kept in a `static` is never dropped, and must not outlive the tests.
pub struct MotoServer {
    child: Child,
    /// The watchdog's lifeline: when it closes, the watchdog stops moto.
    lifeline: Option<ChildStdin>,
    port: u16,
}

/// Runs `"$0" "$@"` in the background and kills it when standard input closes: that is,
/// when the process holding the other end exits, however it exits. SIGKILL, not SIGTERM: moto
/// keeps nothing worth saving, and a SIGTERM leaves the exit to Python (moto's handler, the
/// interpreter's shutdown with its server threads, or a SIGTERM ignored before moto's handler
/// is in place), which can wait without end.
const WATCHDOG: &str = r#""$0" "$@" </dev/null >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null; exit 0"#;

/// How long a stopped server's watchdog may take to exit before it is killed itself.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// Runs moto's own server (`moto.server.main`, with its arguments) handling one request at a
/// time. DynamoDB applies each write atomically; moto's threaded server does not lock an item
/// while it updates it, so concurrent `ADD`s to one item could lose updates there (seen: 48 of
/// 50 under load) and tests of concurrency would test moto instead of this project.
const SERIAL_MOTO: &str = r#"
import sys, threading
import moto.server as server
lock = threading.Lock()
run_simple = server.run_simple
def serial_run_simple(host, port, app, **options):
    def serial(environ, start_response):
        with lock:
            return list(app(environ, start_response))
    run_simple(host, port, serial, **options)
server.run_simple = serial_run_simple
server.main(sys.argv[1:])
"#;

/// The Python interpreter of the `moto_server` script at `path`, or `python3`: its `#!` line, or,
/// when that is a shell, the interpreter of pip's trampoline. pip writes one when the
/// interpreter's path is too long for a `#!` line (a virtualenv in a deep directory):
/// `#!/bin/sh`, then `'''exec' /that/long/path/python "$0" "$@"`.
fn interpreter(path: &std::path::Path) -> PathBuf {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines();
    let program = lines
        .next()
        .and_then(|line| line.strip_prefix("#!"))
        .and_then(|line| line.split_whitespace().next());
    let program = match program {
        Some(shell) if shell.ends_with("/sh") => lines
            .next()
            .and_then(|line| line.strip_prefix("'''exec' "))
            .and_then(|rest| match rest.strip_prefix('"') {
                Some(quoted) => quoted.split('"').next(),
                None => rest.split_whitespace().next(),
            }),
        other => other,
    };
    program
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// Where `moto_server` is: `$MOTO_SERVER`, the workspace's `.venv/bin/moto_server`, or `PATH`.
pub fn moto_server_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("MOTO_SERVER") {
        return Some(PathBuf::from(p));
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = workspace.join(".venv/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("moto_server"))
            .find(|p| p.is_file())
    })
}

impl MotoServer {
    /// Starts a fresh server. Panics with install instructions when moto is missing:
    /// a missing tool is a failure, never a skipped test.
    pub fn start() -> Self {
        let path = moto_server_path().unwrap_or_else(|| {
            panic!(
                "moto_server not found: run `make venv` (installs moto[server] into .venv), \
                 or set MOTO_SERVER to its path"
            )
        });
        // A port picked this way can be taken again before moto binds it (by any outgoing
        // connection's ephemeral port): a server that does not answer is started again on
        // another port.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free loopback port");
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(WATCHDOG)
                .arg(interpreter(&path))
                .args([
                    "-c",
                    SERIAL_MOTO,
                    "-H",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {} (through sh): {e}", path.display()));
            let lifeline = child.stdin.take();
            let server = Self {
                child,
                lifeline,
                port,
            };
            if http_ready(port, Duration::from_secs(15)) {
                return server;
            }
            drop(server);
        }
        panic!("moto_server did not answer on three ports in a row")
    }

    /// The endpoint URL, for `AWS_ENDPOINT_URL` or an SDK config.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The environment that points an AWS SDK at a local `endpoint` (moto, DynamoDB Local) with
/// dummy credentials and no instance-metadata lookups: never a real AWS endpoint.
pub fn local_aws_env(endpoint: &str) -> [(&'static str, String); 7] {
    [
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        // moto is a Python server on a machine busy with tests: give its calls 5 s, not the
        // one second that suits DynamoDB.
        ("DYNAMODB_TIMEOUT_MS", "5000".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
    ]
}

/// An AWS SDK configuration for a local server at `endpoint`: a fixed region, dummy
/// credentials, never a real AWS endpoint.
pub fn local_sdk_config(endpoint: &str) -> aws_types::SdkConfig {
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::SharedCredentialsProvider;
    aws_types::SdkConfig::builder()
        .region(aws_types::region::Region::new("us-east-1"))
        .http_client(awsenv::http_client(&awsenv::Roots::Amazon))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "local",
        )))
        .endpoint_url(endpoint)
        .build()
}

impl MotoServer {
    /// An AWS SDK configuration for this server.
    pub fn sdk_config(&self) -> aws_types::SdkConfig {
        local_sdk_config(&self.endpoint())
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Closing the lifeline makes the watchdog kill moto and exit. Should the watchdog itself
        // not exit, it is killed: a test never waits on a server it has finished with.
        drop(self.lifeline.take());
        if wait_child(&mut self.child, STOP_WAIT).is_some() {
            return;
        }
        eprintln!(
            "moto's watchdog (pid {}) did not exit within {STOP_WAIT:?}: killing it",
            self.child.id()
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::answers_http;

    #[test]
    fn the_interpreter_comes_from_the_shebang_or_pips_trampoline() {
        let dir = std::env::temp_dir().join(format!("moto-shebang-{}", std::process::id()));
        // A #! line cannot hold a space; pip's trampoline quotes a path that has one.
        let (python, spaced) = (dir.join("bin/python"), dir.join("a dir/python"));
        for p in [&python, &spaced] {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let script = dir.join("moto_server");
        let (py, sp) = (python.display(), spaced.display());
        let cases = [
            (format!("#!{py} -E\nimport moto\n"), python.clone()),
            (
                format!("#!/bin/sh\n'''exec' \"{sp}\" \"$0\" \"$@\"\n' '''\nimport moto\n"),
                spaced.clone(),
            ),
            (
                format!("#!/bin/sh\n'''exec' {py} \"$0\" \"$@\"\n' '''\nimport moto\n"),
                python.clone(),
            ),
            (
                "#!/bin/sh -e\nexit 0\n".to_owned(),
                PathBuf::from("python3"),
            ),
            ("#!/nowhere/python\n".to_owned(), PathBuf::from("python3")),
            ("no shebang\n".to_owned(), PathBuf::from("python3")),
        ];
        for (text, expected) in cases {
            std::fs::write(&script, &text).unwrap();
            assert_eq!(interpreter(&script), expected, "{text}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_server_stops_when_its_owner_goes_away() {
        let server = MotoServer::start();
        let port = server.port;
        assert!(answers_http(port));
        // Had the watchdog not killed moto (and been killed itself), moto would answer still.
        drop(server);
        assert!(!answers_http(port), "moto still answers after drop");
    }
}
