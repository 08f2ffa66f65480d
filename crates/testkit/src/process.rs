//! Processes and servers in tests: finding a built binary, waiting for a child with a limit,
//! and telling when a local HTTP server answers.

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

/// Whether an HTTP server answers on loopback `port` within two seconds. A bare connect is not
/// enough: while nothing listens, Linux can connect a socket to itself when its ephemeral port
/// is the one dialled, and the "server" would be the client's own echo.
pub fn answers_http(port: u16) -> bool {
    use std::io::{Read, Write};
    let limit = Duration::from_secs(2);
    let Ok(mut stream) = TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), limit)
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(limit));
    let _ = stream.set_write_timeout(Some(limit));
    if stream
        .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

/// Whether an HTTP server answers on loopback `port` within `limit`, asked every 50 ms.
pub fn http_ready(port: u16, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if answers_http(port) {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Waits up to `limit` for `child` to exit: its status, or `None` when it has not exited (or
/// cannot be asked).
/// Tests never wait on a process without a limit: one that hangs would stall the whole suite.
pub fn wait_child(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if started.elapsed() < limit => thread::sleep(Duration::from_millis(20)),
            _ => return None,
        }
    }
}

/// Finds a workspace binary built next to the running test or tool (`target/<profile>/<name>`).
pub fn built_binary(name: &str) -> Result<PathBuf, std::io::Error> {
    let exe = std::env::current_exe()?;
    // target/debug/deps/test-binary -> target/debug
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is not built: run `make build-bins`", path.display()),
        ))
    }
}
