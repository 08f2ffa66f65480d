//! AWS WAF's rate-based rules on the REST API, locally: each source address's requests that a
//! rule's scope matches are counted over its window; past its limit, the rule blocks them
//! with its answer, before API Gateway's throttle or authorizer.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::template::{RateRule, Waf};

/// The recent requests of each source, per rule.
#[derive(Debug, Default)]
pub struct Sources {
    recent: Mutex<HashMap<(usize, IpAddr), VecDeque<Instant>>>,
}

impl Sources {
    /// Counts a request for `path` from `source` and returns the first rule of `waf` that
    /// blocks it, if any.
    pub fn check<'w>(&self, waf: &'w Waf, path: &str, source: IpAddr) -> Option<&'w RateRule> {
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let mut blocked = None;
        for (i, rule) in waf.rules.iter().enumerate() {
            if !rule.paths.is_empty() && !rule.paths.iter().any(|p| p.matches(path)) {
                continue;
            }
            let window = Duration::from_secs(rule.window_seconds);
            let times = recent.entry((i, source)).or_default();
            times.push_back(now);
            // Only the newest limit + 1 matter: the request breaks the limit when all of them
            // are within the window.
            while times.len() as u64 > rule.limit + 1 {
                times.pop_front();
            }
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                times.pop_front();
            }
            if blocked.is_none() && times.len() as u64 > rule.limit {
                blocked = Some(rule);
            }
        }
        blocked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::PathMatch;

    fn waf(limit: u64, window_seconds: u64) -> Waf {
        Waf {
            rules: vec![RateRule {
                name: "sign-in".into(),
                limit,
                window_seconds,
                paths: vec![PathMatch::EndsWith("/token".into())],
                status: 429,
                body: "{}".into(),
            }],
        }
    }

    #[test]
    fn a_source_past_the_limit_is_blocked_and_another_is_not() {
        let (waf, sources) = (waf(3, 60), Sources::default());
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap());
        let blocked = (0..10)
            .filter(|_| sources.check(&waf, "/prod/token", a).is_some())
            .count();
        assert_eq!(blocked, 7);
        assert!(sources.check(&waf, "/prod/token", b).is_none());
    }

    #[test]
    fn paths_outside_the_scope_are_not_counted() {
        let (waf, sources) = (waf(1, 60), Sources::default());
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        assert!((0..10).all(|_| sources.check(&waf, "/hello", a).is_none()));
        assert!(sources.check(&waf, "/TOKEN", a).is_none());
        assert!(sources.check(&waf, "/token", a).is_some());
    }

    #[test]
    fn the_window_forgets_old_requests() {
        let (waf, sources) = (waf(1, 1), Sources::default());
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(sources.check(&waf, "/token", a).is_none());
        assert!(sources.check(&waf, "/token", a).is_some());
        std::thread::sleep(Duration::from_millis(1100));
        assert!(sources.check(&waf, "/token", a).is_none());
    }
}
