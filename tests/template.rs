//! template.yaml keeps its deployment contract (least privilege, no secret values, authorizer
//! on every route but /token, ...): checked by tests/template_contract.py with cfn-lint's
//! YAML loader from the project's virtualenv.

use std::path::Path;
use std::process::Command;

#[test]
fn the_template_keeps_its_deployment_contract() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    let out = Command::new(&python)
        .arg(root.join("tests/template_contract.py"))
        .arg(root.join("template.yaml"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}: run `make venv` (installs cfn-lint)",
                python.display()
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("all checks passed"), "{text}");
}
