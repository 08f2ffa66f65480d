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
    for name in [
        "deployed.postman_environment.json",
        "local.postman_environment.json",
    ] {
        let env = load(name);
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
            if v["key"] == "password" || v["key"] == "token" {
                assert_eq!(v["value"], "", "{name}: {} must be empty", v["key"]);
            }
        }
    }
}
