//! `make load`'s tool, briefly: a short load through the local gateway passes its audit, and
//! the audit fails a load whose sessions are lost (refresh retries turned off, so that the
//! virtual users' retried refreshes revoke their families).

use std::process::Command;

use testkit::process::built_binary;

/// Runs the built `load` for a few seconds with `args`; its exit code and output.
fn load(args: &[&str]) -> (Option<i32>, String) {
    let binary = built_binary("load").unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(binary)
        .args(["--seconds", "6", "--users", "4", "--instances", "2"])
        .args(args)
        .output()
        .expect("load runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[test]
fn a_short_load_passes_its_audit_and_prints_every_step() {
    let (code, out) = load(&["--api", "http"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("load: passed"), "{out}");
    for step in [
        "sign in",
        "hello",
        "refresh",
        "refresh retried",
        "sign out",
        "refresh after sign-out",
    ] {
        let row = out
            .lines()
            .find(|l| l.starts_with(step) && l.contains('×'))
            .unwrap_or_else(|| panic!("no row for {step}: {out}"));
        assert!(!row.contains(" 0 "), "{step} ran no request: {row}");
    }
}

#[test]
fn the_audit_fails_a_load_that_loses_sessions() {
    let (code, out) = load(&["--set", "AuthenticateFunction:REFRESH_RETRY_SECONDS=0"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAILED") && out.contains("a live session's refresh was refused"),
        "{out}"
    );
}
