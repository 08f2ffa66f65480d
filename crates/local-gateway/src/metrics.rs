//! What the functions count, as an operator would see it: the Embedded Metric Format documents
//! among their output lines, summed per function, metric and dimensions, for a running summary
//! (`--metrics-summary`, which `make dev` turns on).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use local_runtime::LineObserver;
use serde_json::Value;

/// The counts so far: `Function Metric{Dimension=value,...}` to the sum of its values.
#[derive(Debug, Default)]
pub struct Tally {
    counts: Mutex<BTreeMap<String, f64>>,
}

impl Tally {
    /// An observer that adds each EMF line a function prints.
    pub fn observer(self: &Arc<Self>) -> LineObserver {
        let tally = self.clone();
        LineObserver(Arc::new(move |line| tally.add_line(line)))
    }

    /// Adds `line` when it is an EMF document: each of its metrics that holds a number (a
    /// count; distributions, such as `InitDuration`, are left to CloudWatch).
    pub fn add_line(&self, line: &str) {
        if !line.starts_with('{') || !line.contains("\"_aws\"") {
            return;
        }
        let Ok(doc) = serde_json::from_str::<Value>(line) else {
            return;
        };
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        let dims: Vec<String> = directive["Dimensions"][0]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|d| *d != "Function")
            .map(|d| format!("{d}={}", doc[d].as_str().unwrap_or("?")))
            .collect();
        let function = doc["Function"].as_str().unwrap_or("?");
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        for metric in directive["Metrics"].as_array().into_iter().flatten() {
            let Some(name) = metric["Name"].as_str() else {
                continue;
            };
            if let Some(n) = doc[name].as_f64() {
                let key = match dims.is_empty() {
                    true => format!("{function} {name}"),
                    false => format!("{function} {name}{{{}}}", dims.join(",")),
                };
                *counts.entry(key).or_default() += n;
            }
        }
    }

    /// The summary: a line per function, metric and dimensions with its count; `None` before
    /// anything was counted.
    pub fn summary(&self) -> Option<String> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.is_empty() {
            return None;
        }
        let mut out = String::from("local-gateway: the functions' metrics so far\n");
        for (key, n) in counts.iter() {
            let _ = writeln!(out, "  {key:<70} {n}");
        }
        Some(out)
    }

    /// Prints the summary to standard error every `every`, when it changed.
    pub fn print_every(self: &Arc<Self>, every: Duration) {
        let tally = self.clone();
        std::thread::spawn(move || {
            let mut last = None;
            loop {
                std::thread::sleep(every);
                let now = tally.summary();
                if now.is_some() && now != last {
                    eprint!("{}", now.as_deref().unwrap_or_default());
                    last = now;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECISION: &str = r#"{"Decisions":1,"Function":"check-token","Outcome":"allow","Reason":"valid","_aws":{"CloudWatchMetrics":[{"Dimensions":[["Function","Outcome","Reason"]],"Metrics":[{"Name":"Decisions"}],"Namespace":"lambda-auth"}],"Timestamp":1}}"#;
    const COLD: &str = r#"{"ColdStarts":1,"Function":"hello","InitDuration":[0.8],"_aws":{"CloudWatchMetrics":[{"Dimensions":[["Function"]],"Metrics":[{"Name":"ColdStarts","Unit":"Count"},{"Name":"InitDuration","Unit":"Milliseconds"}],"Namespace":"lambda-auth"}],"Timestamp":1}}"#;

    #[test]
    fn counts_add_up_per_function_metric_and_dimensions() {
        let tally = Tally::default();
        for line in [DECISION, DECISION, COLD] {
            tally.add_line(line);
        }
        let summary = tally.summary().unwrap();
        let row = |key: &str| {
            summary
                .lines()
                .find(|l| l.trim_start().starts_with(key))
                .map(|l| l.split_whitespace().last().unwrap().to_owned())
        };
        assert_eq!(
            row("check-token Decisions{Outcome=allow,Reason=valid}").as_deref(),
            Some("2")
        );
        assert_eq!(row("hello ColdStarts").as_deref(), Some("1"));
        assert_eq!(
            row("hello InitDuration"),
            None,
            "a distribution is not a count"
        );
    }

    #[test]
    fn log_lines_that_are_not_metrics_are_ignored() {
        let tally = Tally::default();
        tally.add_line(r#"{"level":"INFO","fields":{"message":"authorizer decision"}}"#);
        tally.add_line("not json at all");
        assert_eq!(tally.summary(), None);
    }
}
