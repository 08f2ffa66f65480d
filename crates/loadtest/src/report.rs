//! Each step's figures from goose's metrics, and the table `make load` prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use goose::prelude::GooseMetrics;

use crate::flow::step;

/// One step's figures over the whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The step's name.
    pub name: &'static str,
    /// Requests sent.
    pub requests: usize,
    /// Median time to the answer, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile, in milliseconds.
    pub p99_ms: f64,
    /// Slowest, in milliseconds.
    pub max_ms: f64,
    /// How many answers had each status (0: no answer).
    pub statuses: BTreeMap<u16, usize>,
}

impl Step {
    /// Answers with a 5xx status.
    pub fn server_errors(&self) -> usize {
        self.statuses
            .iter()
            .filter(|&(&status, _)| status >= 500)
            .map(|(_, n)| n)
            .sum()
    }
}

/// The figures of every step that ran, in the order users take them.
pub fn steps(metrics: &GooseMetrics) -> Vec<Step> {
    step::ALL
        .iter()
        .filter_map(|&name| {
            let aggregate = metrics.requests.values().find(|a| a.path == name)?;
            let times = &aggregate.raw_data;
            let ms = |us: u64| us as f64 / 1000.0;
            Some(Step {
                name,
                requests: times.counter,
                p50_ms: ms(times.percentile_us(0.50)),
                p99_ms: ms(times.percentile_us(0.99)),
                max_ms: ms(times.maximum_time_us),
                statuses: aggregate
                    .status_code_counts
                    .iter()
                    .map(|(&k, &v)| (k, v))
                    .collect(),
            })
        })
        .collect()
}

/// The table: each step's requests, requests per second over `seconds`, p50, p99, slowest and
/// statuses.
pub fn table(steps: &[Step], seconds: usize) -> String {
    let seconds = seconds.max(1) as f64;
    let mut out = format!(
        "\n{:<24} {:>8} {:>8} {:>9} {:>9} {:>9}  statuses\n",
        "step", "requests", "per s", "p50 ms", "p99 ms", "max ms"
    );
    for s in steps {
        let statuses: Vec<String> = s.statuses.iter().map(|(k, v)| format!("{k}×{v}")).collect();
        let _ = writeln!(
            out,
            "{:<24} {:>8} {:>8.1} {:>9.1} {:>9.1} {:>9.1}  {}",
            s.name,
            s.requests,
            s.requests as f64 / seconds,
            s.p50_ms,
            s.p99_ms,
            s.max_ms,
            statuses.join(" ")
        );
    }
    let total: usize = steps.iter().map(|s| s.requests).sum();
    let _ = writeln!(
        out,
        "{:<24} {:>8} {:>8.1}   (over {seconds:.0} s)",
        "all",
        total,
        total as f64 / seconds
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(statuses: &[(u16, usize)]) -> Step {
        Step {
            name: step::HELLO,
            requests: statuses.iter().map(|(_, n)| n).sum(),
            p50_ms: 1.0,
            p99_ms: 2.0,
            max_ms: 3.0,
            statuses: statuses.iter().copied().collect(),
        }
    }

    #[test]
    fn server_errors_count_every_5xx_status() {
        assert_eq!(step(&[(200, 9), (502, 2), (503, 1)]).server_errors(), 3);
        assert_eq!(step(&[(200, 9), (429, 4), (0, 1)]).server_errors(), 0);
    }

    #[test]
    fn the_table_gives_requests_per_second_over_the_run() {
        let table = table(&[step(&[(200, 90)])], 30);
        let row = table.lines().find(|l| l.starts_with("hello")).unwrap();
        assert!(row.contains(" 90 "), "{row}");
        assert!(row.contains(" 3.0 "), "{row}");
        assert!(row.contains("200×90"), "{row}");
    }
}
