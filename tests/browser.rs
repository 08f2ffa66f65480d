//! The sign-in page (web/) in a real headless Chromium against the local stack, on both APIs:
//! the page on its own origin, the API on another, CORS as the template configures it.
//! The browser is driven by tests/browser_page.py (selenium from the project's virtualenv, over
//! Debian's chromedriver).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use local_gateway::Flavour;

mod common;

/// The token lifetime of the stack under test: the template's minimum, so that the page sees a
/// token expire within the test.
const TTL_SECONDS: &str = "60";

/// Chromium and chromedriver, from `CHROMIUM`/`CHROMEDRIVER` or Debian's packages.
fn browser() -> (PathBuf, PathBuf) {
    let find = |var: &str, default: &str| {
        std::env::var(var)
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(default))
    };
    let chromium = find("CHROMIUM", "/usr/bin/chromium");
    let driver = find("CHROMEDRIVER", "/usr/bin/chromedriver");
    assert!(
        chromium.exists() && driver.exists(),
        "Chromium is missing ({} / {}): apt-get install chromium chromium-driver (make test does it when it can)",
        chromium.display(),
        driver.display()
    );
    (chromium, driver)
}

/// Serves web/ on its own origin with Python's http.server, until dropped.
struct Page {
    child: Child,
    origin: String,
}

impl Page {
    /// Serves a copy of the page whose `config.json` names `api`, as `make dev` does, on `port`.
    fn serve(python: &Path, root: &Path, port: u16, api: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("page-{port}"));
        let web = common::web_copy(&dir);
        std::fs::write(web.join("config.json"), format!(r#"{{"api": "{api}"}}"#)).unwrap();
        let child = Command::new(python)
            .arg(root.join("scripts/serve_page.py"))
            .arg(port.to_string())
            .arg(&web)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}: run `make venv`", python.display()));
        // Built first, so that a panic below stops the server.
        let page = Self {
            child,
            origin: format!("http://127.0.0.1:{port}"),
        };
        assert!(
            testkit::process::http_ready(port, Duration::from_secs(15)),
            "the page's server (scripts/serve_page.py) did not answer on port {port}"
        );
        page
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn the_page_works_in_a_browser(api: Flavour) {
    let (chromium, chromedriver) = browser();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    let page_port = common::free_port();
    let page_origin = format!("http://127.0.0.1:{page_port}");
    let email = format!("browser-{api:?}@example.com").to_ascii_lowercase();
    let (moto, secret, password) = common::moto_with_reader(&email);
    // No authorizer cache and no leeway: the token stops working the second it expires.
    let (_gateway, base) = common::serve(
        &root.join("template.yaml"),
        api,
        &moto.endpoint(),
        &secret,
        &[
            ("AllowedOrigins", page_origin.as_str()),
            ("TokenTtlSeconds", TTL_SECONDS),
            ("AuthorizerCacheTtlSeconds", "0"),
        ],
        &[("CheckTokenFunction", "JWT_LEEWAY_SECONDS", "0")],
    );
    let page = Page::serve(&python, root, page_port, &base);
    // Where a hostile link would send the password: it must never hear from the page.
    let hostile = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    hostile.set_nonblocking(true).unwrap();
    let hostile_url = format!("http://{}", hostile.local_addr().unwrap());
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser")
        .join(format!("signed-in-{api:?}.png").to_ascii_lowercase());
    let _ = std::fs::remove_file(&screenshot);
    let out = Command::new(&python)
        .arg(root.join("tests/browser_page.py"))
        .env("PAGE_URL", format!("{}/", page.origin))
        .env("API_URL", &base)
        .env("HOSTILE_URL", &hostile_url)
        .env("EMAIL", &email)
        .env("PASSWORD", &password)
        .env("NAME", "Local Demo")
        .env("SCREENSHOT", &screenshot)
        .env("CHROMIUM", &chromium)
        .env("CHROMEDRIVER", &chromedriver)
        .env("EXPIRY_SECONDS", TTL_SECONDS)
        // selenium must use the given chromedriver, never download one.
        .env("SE_OFFLINE", "true")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}: run `make venv`", python.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains(&password),
        "the password reached the test output"
    );
    assert!(out.status.success(), "{api:?}: {text}");
    assert!(
        hostile.accept().is_err(),
        "{api:?}: the page connected to the address of a hostile ?api="
    );
    assert!(text.contains("browser checks passed"), "{text}");
    let png = std::fs::read(&screenshot).expect("a screenshot of the signed-in page");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "the screenshot is a PNG of a rendered page ({} bytes)",
        png.len()
    );
}

#[test]
fn the_page_signs_in_and_out_against_the_rest_api_in_chromium() {
    the_page_works_in_a_browser(Flavour::Rest);
}

#[test]
fn the_page_signs_in_and_out_against_the_http_api_in_chromium() {
    the_page_works_in_a_browser(Flavour::Http);
}
