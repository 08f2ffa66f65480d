//! The alarms of `monitoring.yaml` watch metrics the functions really write: every alarm on the
//! stack's namespace names a metric and dimension values the code records (its constants and
//! outcome words), so that renaming one in the code cannot leave an alarm that never fires.

use std::path::Path;

use authcore::TokenError;
use authenticate::EndpointError;
use authenticate::error::{RefreshRefusal, Refusal};
use authenticate::metric;
use check_token::Outcome;
use serde_norway::Value;

fn monitoring() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring.yaml");
    serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Every metric in the stack's namespace an alarm reads: name and dimensions.
fn watched(doc: &Value) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let resources = doc["Resources"].as_mapping().unwrap();
    for (_, r) in resources {
        if r["Type"].as_str() != Some("AWS::CloudWatch::Alarm") {
            continue;
        }
        let p = &r["Properties"];
        let mut metrics = vec![p.clone()];
        if let Some(list) = p["Metrics"].as_sequence() {
            metrics.extend(list.iter().map(|m| m["MetricStat"]["Metric"].clone()));
        }
        for m in metrics {
            let in_ours = matches!(&m["Namespace"], Value::Tagged(t) if t.value.as_str() == Some("Namespace"));
            if !in_ours {
                if let Some(ns) = m["Namespace"].as_str() {
                    let name = m["MetricName"].as_str().unwrap();
                    out.push((format!("{ns}:{name}"), Vec::new()));
                }
                continue;
            }
            let dims = m["Dimensions"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|d| {
                    let text = |k: &str| d[k].as_str().unwrap().to_owned();
                    (text("Name"), text("Value"))
                })
                .collect();
            out.push((m["MetricName"].as_str().unwrap().to_owned(), dims));
        }
    }
    out
}

#[test]
fn every_alarm_on_the_functions_metrics_watches_what_they_record() {
    let reused = EndpointError::BadRefreshToken(RefreshRefusal::Reused);
    let bad = EndpointError::InvalidGrant(Refusal::WrongPassword);
    let known: Vec<(&str, &str, &str)> = vec![
        (metric::SIGN_INS, "Outcome", metric::sign_in(Err(&bad))),
        (metric::REFRESHES, "Outcome", metric::refresh(Err(&reused))),
        (
            check_token::decision::DECISIONS,
            "Outcome",
            Outcome::Unauthorized.as_str(),
        ),
        (
            check_token::decision::DECISIONS,
            "Reason",
            TokenError::UnknownKey.reason(),
        ),
        (
            check_token::decision::DECISIONS,
            "Reason",
            TokenError::WrongIssuer.reason(),
        ),
        (
            awsenv::metrics::DEPENDENCY_FAILURES,
            "Service",
            awsenv::metrics::Service::DynamoDb.as_str(),
        ),
    ];
    let functions = ["check-token", "authenticate", "hello"];
    // What AWS publishes for Lambda functions and for REST (5XXError) and HTTP (5xx) APIs.
    let aws = [
        "AWS/Lambda:Errors",
        "AWS/Lambda:Throttles",
        "AWS/ApiGateway:5XXError",
        "AWS/ApiGateway:5xx",
    ];
    let (published, ours): (Vec<_>, Vec<_>) = watched(&monitoring())
        .into_iter()
        .partition(|(name, _)| name.starts_with("AWS/"));
    for (name, _) in &published {
        assert!(
            aws.contains(&name.as_str()),
            "an alarm watches {name}, which AWS does not publish"
        );
    }
    assert!(
        published.len() >= 8 && ours.len() >= 5,
        "{published:?} {ours:?}"
    );
    for (name, dims) in &ours {
        for (k, v) in dims {
            let ok = match k.as_str() {
                "Function" => functions.contains(&v.as_str()),
                _ => known.iter().any(|(m, d, w)| m == name && d == k && w == v),
            };
            assert!(
                ok,
                "an alarm watches {name} {k}={v}, which no function records"
            );
        }
        assert!(
            dims.iter().any(|(k, _)| k == "Function"),
            "{name}: no Function dimension"
        );
    }
}
