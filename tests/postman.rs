//! The Postman collection and environments agree: every `{{variable}}` a request uses is defined
//! in each environment, and the token request stores the token the protected request sends.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("postman")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn variables_used(text: &str) -> BTreeSet<String> {
    text.split("{{")
        .skip(1)
        .filter_map(|s| s.split_once("}}").map(|(v, _)| v.to_owned()))
        .collect()
}

#[test]
fn environments_define_every_variable_the_collection_uses() {
    let collection = load("lambda-auth.postman_collection.json");
    let text = collection.to_string();
    let used = variables_used(&text);
    assert!(
        used.contains("baseUrl") && used.contains("token"),
        "{used:?}"
    );
    assert!(
        text.contains("pm.environment.set('token', body.access_token)"),
        "the token request must store the token"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("postman");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".postman_environment.json"))
        .collect();
    names.sort();
    // One environment per API flavour, deployed and local.
    assert_eq!(
        names,
        [
            "deployed-http.postman_environment.json",
            "deployed.postman_environment.json",
            "local-http.postman_environment.json",
            "local.postman_environment.json",
        ]
    );
    for name in &names {
        let env = load(name);
        let base = env["values"][0]["value"].as_str().unwrap();
        // The HTTP API serves its $default stage at the root: no stage in the URL.
        if name.starts_with("deployed-http") {
            assert!(!base.ends_with("/prod"), "{name}: {base}");
        }
        let defined: BTreeSet<String> = env["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["key"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            used.is_subset(&defined),
            "{name} lacks {:?}",
            used.difference(&defined).collect::<Vec<_>>()
        );
        // No credential ships with the repository.
        for v in env["values"].as_array().unwrap() {
            if [
                "password",
                "token",
                "refreshToken",
                "previousRefreshToken",
                "adminPassword",
                "adminToken",
            ]
            .contains(&v["key"].as_str().unwrap_or_default())
            {
                assert_eq!(v["value"], "", "{name}: {} must be empty", v["key"]);
            }
        }
    }
}
