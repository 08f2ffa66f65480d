//! `make dev`'s script, driven as a person would: start it, run the curl commands it prints,
//! stop it with Ctrl-C (SIGINT), and start it again.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

mod common;

struct Dev {
    child: Child,
    lines: mpsc::Receiver<String>,
}

/// Runs `scripts/dev.sh` serving `api` (`rest` or `http`) on `port`, signing with `signing`
/// (`HS256` or `ES256`).
fn start(port: u16, web_port: u16, env_file: &Path, api: &str, signing: &str) -> Dev {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = common::bin_dir();
    let mut child = Command::new("bash")
        .arg(root.join("scripts/dev.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DEV_PORT", port.to_string())
        .env("DEV_WEB_PORT", web_port.to_string())
        .env("DEV_ENV_FILE", env_file)
        .env("DEV_BIN_DIR", &bin_dir)
        .env("DEV_WEB_DIR", common::web_copy(env_file.parent().unwrap()))
        .env("API", api)
        .env("SIGNING", signing)
        .env("DEV_METRICS_SUMMARY", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    Dev { child, lines }
}

impl Dev {
    /// Lines up to and including the first one containing `needle`.
    fn until(&self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    let done = line.contains(needle);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!("no line with {needle:?}; saw:\n{}", seen.join("\n")),
            }
        }
    }

    fn interrupt(mut self) {
        Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        let Some(status) = testkit::process::wait_child(&mut self.child, Duration::from_secs(30))
        else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!("make dev did not stop within 30 s of Ctrl-C (SIGINT)");
        };
        assert!(
            !status.success() || status.code() == Some(130) || status.code().is_none(),
            "{status:?}"
        );
    }
}

/// Runs the printed commands the way a person pastes them into a shell.
/// Runs the printed commands: the demo user's `/hello`, `/hello` without a token, and the demo
/// user's `/admin`.
fn run_printed(lines: &[String]) -> (String, String, String) {
    let commands: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("TOKEN=") || l.starts_with("curl "))
        .take(4)
        .collect();
    assert_eq!(commands.len(), 4, "{lines:?}");
    let script = format!(
        "{}\necho; {}\necho; echo ---; {}\necho; echo ---; {}",
        commands[0], commands[1], commands[2], commands[3]
    );
    let out = Command::new("bash").arg("-c").arg(script).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let parts: Vec<&str> = text.split("---").map(str::trim).collect();
    assert_eq!(parts.len(), 3, "{text}");
    (
        parts[0].to_owned(),
        parts[1].to_owned(),
        parts[2].to_owned(),
    )
}

/// The printed admin signs in and may call `/admin` and `/hello`.
fn admin_checks(printed: &[String], port: u16) {
    let value = |prefix: &str| {
        printed
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{prefix} is printed: {printed:?}"))
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let (email, password) = (value("Admin user:"), value("Admin password:"));
    let url = format!("http://127.0.0.1:{port}");
    let body = format!(r#"{{"email":"{email}","password":"{password}"}}"#);
    let script = format!(
        "TOKEN=$(curl -s -X POST {url}/token -H 'content-type: application/json' -d '{body}' | \
         sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/'); \
         for p in admin hello; do curl -s -o /dev/null -w '%{{http_code}} ' {url}/$p -H \"Authorization: Bearer $TOKEN\"; done"
    );
    let out = Command::new("bash").arg("-c").arg(script).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "200 200");
}

/// The printed page URL serves the sign-in page, and the gateway allows its origin.
fn page_checks(printed: &[String], port: u16, web_port: u16) {
    let origin = format!("http://127.0.0.1:{web_port}");
    let page = format!("{origin}/");
    assert!(
        printed.iter().any(|l| l.trim().ends_with(&page)),
        "the page URL is printed: {printed:?}"
    );
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-s", "-i"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_ascii_lowercase()
    };
    let mut html = String::new();
    for _ in 0..50 {
        html = curl(&[&page]);
        if html.starts_with("http/1.0 200") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(html.contains("<title>lambda-auth"), "{html}");
    // The page's configuration names this API, and its policy lets it connect there only.
    assert!(
        html.contains(&format!("connect-src 'self' http://127.0.0.1:{port};")),
        "{html}"
    );
    let config = curl(&[&format!("{origin}/config.json")]);
    assert!(
        config.contains(&format!("{{\"api\": \"http://127.0.0.1:{port}\"}}")),
        "{config}"
    );
    let preflight = curl(&[
        "-X",
        "OPTIONS",
        &format!("http://127.0.0.1:{port}/token"),
        "-H",
        &format!("Origin: {origin}"),
        "-H",
        "Access-Control-Request-Method: POST",
        "-H",
        "Access-Control-Request-Headers: content-type",
    ]);
    assert!(
        preflight.contains(&format!("access-control-allow-origin: {origin}")),
        "{preflight}"
    );
}

#[test]
fn make_dev_runs_the_flow_as_printed_and_starts_again_after_ctrl_c() {
    let dir = std::env::temp_dir().join(format!("dev-script-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env_file = dir.join(".env");
    let port = common::free_port();
    let web_port = common::free_port();

    let dev = start(port, web_port, &env_file, "rest", "HS256");
    let printed = dev.until("listening on");
    let (hello, unauthenticated, admin) = run_printed(&printed);
    assert!(
        hello.contains("\"email\":\"demo@example.com\"") && hello.contains("\"principalId\":\"u_"),
        "{hello}"
    );
    assert!(
        admin.starts_with("HTTP/1.1 403"),
        "the reader may not call /admin: {admin}"
    );
    admin_checks(&printed, port);
    assert!(hello.contains("Hello, Demo User!"), "{hello}");
    assert!(
        unauthenticated.starts_with("HTTP/1.1 401"),
        "{unauthenticated}"
    );
    let secret = std::fs::read_to_string(&env_file).unwrap();
    let value = |name: &str| {
        secret
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_default()
            .to_owned()
    };
    let keys = ["JWT_SECRET", "LOCKOUT_KEY", "REFRESH_KEY"].map(value);
    assert!(
        keys.iter().all(|k| k.len() > 60)
            && keys[0] != keys[1]
            && keys[1] != keys[2]
            && keys[0] != keys[2],
        "three generated keys in .env"
    );
    page_checks(&printed, port, web_port);
    // What an operator would see: the functions' metrics, summed by the gateway every second.
    let summary = dev.until("check-token Decisions{Outcome=allow,Reason=valid}");
    assert!(
        summary
            .iter()
            .any(|l| l.contains("the functions' metrics so far")),
        "{summary:?}"
    );

    // Log hygiene over every line the whole stack printed after start-up: gateway request lines
    // and every function's logs. A wrong password and a garbage token first, so that failure
    // paths log too.
    let password = printed
        .iter()
        .find_map(|l| l.strip_prefix("Password:"))
        .unwrap()
        .trim()
        .to_owned();
    let url = format!("http://127.0.0.1:{port}");
    Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            &format!("{url}/token"),
            "-H",
            "content-type: application/json",
        ])
        .args([
            "-d",
            r#"{"email":"demo@example.com","password":"wrong-password-123"}"#,
        ])
        .output()
        .unwrap();
    Command::new("curl")
        .args([
            "-s",
            &format!("{url}/hello"),
            "-H",
            "Authorization: Bearer aaa.bbb.ccc",
        ])
        .output()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let logs: Vec<String> = dev.lines.try_iter().collect();
    let all = logs.join("\n");
    assert!(
        all.contains("token request") && all.contains("authorizer decision"),
        "function logs are captured: {all}"
    );
    assert!(
        all.contains("GET /hello 401"),
        "gateway lines are captured: {all}"
    );
    for (what, needle) in [
        ("password", password.as_str()),
        ("wrong password", "wrong-password-123"),
        ("secret", keys[0].as_str()),
        ("lockout key", keys[1].as_str()),
        ("refresh key", keys[2].as_str()),
        ("a JWT", "eyJ"),
        ("a private key", "PRIVATE KEY"),
    ] {
        assert!(!all.contains(needle), "{what} reached the logs");
    }
    dev.interrupt();

    // Everything it started has stopped: the port is free again and a second run works.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the gateway still holds the port"
    );
    assert!(
        TcpListener::bind(("127.0.0.1", web_port)).is_ok(),
        "the page's server still holds its port"
    );
    // The second run serves the HTTP API with ES256 tokens: the printed flow works there too,
    // and so do the printed discovery commands.
    let again = start(port, web_port, &env_file, "http", "ES256");
    let printed = again.until("listening on");
    assert!(
        printed.iter().any(|l| l.contains("the Http API")),
        "{printed:?}"
    );
    let discovery: Vec<&str> = printed
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("curl ") && l.contains("/.well-known/"))
        .collect();
    assert_eq!(discovery.len(), 2, "{printed:?}");
    for command in discovery {
        let out = Command::new("bash")
            .arg("-c")
            .arg(command)
            .output()
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{command}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
        let expected = format!("http://127.0.0.1:{port}");
        assert!(
            body["issuer"] == expected.as_str() || body["keys"][0]["alg"] == "ES256",
            "{command}: {body}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&env_file).unwrap(),
        secret,
        "the secret is kept across runs"
    );
    let (hello, unauthenticated, admin) = run_printed(&printed);
    page_checks(&printed, port, web_port);
    assert!(admin.starts_with("HTTP/1.1 403"), "{admin}");
    assert!(hello.contains("demo@example.com"), "{hello}");
    assert!(
        unauthenticated.starts_with("HTTP/1.1 401"),
        "{unauthenticated}"
    );
    again.interrupt();
    let _ = std::fs::remove_dir_all(&dir);
}
