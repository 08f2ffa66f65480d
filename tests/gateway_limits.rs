//! The local gateway refuses what API Gateway refuses. Alone in its test binary: it counts the
//! process's threads, which other tests running beside it would change.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use local_gateway::Gateway;

mod common;
use common::http;

#[test]
fn the_local_gateway_refuses_what_api_gateway_refuses() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let (moto, secret, _) = common::moto_with_reader("limits@example.com");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = common::bin_dir();
    let mut options = local_gateway::Options::new(root.join("template.yaml"), bin_dir);
    options.env = testkit::moto::local_aws_env(&moto.endpoint())
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    options.env.push(("JWT_SECRET".into(), secret));
    options
        .env
        .push(("LOCKOUT_KEY".into(), testkit::LOCKOUT_KEY.into()));
    options
        .env
        .push(("REFRESH_KEY".into(), testkit::REFRESH_KEY.into()));
    options.header_timeout = Duration::from_secs(1);
    let gateway = Arc::new(Gateway::start(&options).unwrap());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = gateway.clone();
    std::thread::spawn(move || serving.serve(listener));
    let raw = |request: &[u8]| {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(request);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    // Headers over API Gateway's 10 KiB: 431, whatever follows.
    let big = format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(12 * 1024)
    );
    let answer = raw(big.as_bytes());
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "a 12 KiB head: {answer:?}"
    );
    // A malformed request is a 400, not a 413.
    assert!(raw(b"GARBAGE\r\n\r\n").starts_with("HTTP/1.1 400"));
    let bad_chunks =
        b"POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n\r\n";
    assert!(
        raw(bad_chunks).starts_with("HTTP/1.1 400"),
        "{}",
        raw(bad_chunks)
    );
    // A body over 10 MB is a 413.
    let body = "x".repeat(10 * 1024 * 1024 + 1);
    let r = http(
        "POST",
        &format!("http://{addr}/token"),
        &[("Content-Type", "application/json"), ("Expect", "")],
        Some(&body),
    );
    assert_eq!(r.status, 413);
    // A client that never finishes its head is disconnected after the header timeout.
    let started = std::time::Instant::now();
    let slow = raw(b"GET /hello HTTP/1.1\r\nHost: x\r\n");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "kept {:?}",
        started.elapsed()
    );
    assert!(!slow.contains("200"), "{slow}");
    // Hundreds of stalled connections cost tasks, not threads.
    let threads = || {
        std::fs::read_dir("/proc/self/task")
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let before = threads();
    let stalled: Vec<TcpStream> = (0..300)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /hello HTTP/1.1\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let during = threads();
    assert!(
        during < before + 20,
        "{before} threads before, {during} with 300 stalled connections"
    );
    drop(stalled);
    // And it still serves.
    let ok = http("GET", &format!("http://{addr}/hello"), &[], None);
    assert_eq!(ok.status, 401);
}
