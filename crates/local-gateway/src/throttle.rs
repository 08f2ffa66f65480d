//! API Gateway's throttling, locally: one token bucket per method (REST) or route (HTTP API),
//! with the template's limits, shared by every caller, as API Gateway's own are. A request the
//! bucket refuses is a 429 before the authorizer or the function runs.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::template::Limit;

/// The token buckets of one API's stage, by method or route.
#[derive(Debug, Default)]
pub struct Buckets {
    by_route: Mutex<HashMap<String, Arc<DefaultDirectRateLimiter>>>,
}

impl Buckets {
    /// Whether a request to `route` (`METHOD /path` as declared) may pass under `limit`,
    /// taking one token from its bucket; without a limit, always.
    pub fn admit(&self, route: &str, limit: Option<Limit>) -> bool {
        let Some(limit) = limit else {
            return true;
        };
        let bucket = {
            let mut buckets = self.by_route.lock().unwrap_or_else(|e| e.into_inner());
            buckets
                .entry(route.to_owned())
                .or_insert_with(|| Arc::new(RateLimiter::direct(quota(limit))))
                .clone()
        };
        bucket.check().is_ok()
    }
}

/// The quota of `limit`: a token every 1/rate seconds, at most `burst` held.
fn quota(limit: Limit) -> Quota {
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    let period = Duration::from_secs_f64(1.0 / limit.rate.max(1e-6));
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_lets_its_burst_through_then_refuses() {
        let buckets = Buckets::default();
        let limit = Some(Limit {
            rate: 0.5,
            burst: 3,
        });
        let passed = (0..10)
            .filter(|_| buckets.admit("POST /token", limit))
            .count();
        assert_eq!(passed, 3);
    }

    #[test]
    fn each_route_has_its_own_bucket_and_no_limit_means_no_bucket() {
        let buckets = Buckets::default();
        let limit = Some(Limit {
            rate: 0.5,
            burst: 1,
        });
        assert!(buckets.admit("POST /token", limit));
        assert!(!buckets.admit("POST /token", limit));
        assert!(buckets.admit("GET /hello", limit));
        assert!((0..100).all(|_| buckets.admit("GET /open", None)));
    }

    #[test]
    fn tokens_come_back_at_the_rate() {
        let buckets = Buckets::default();
        let limit = Some(Limit {
            rate: 20.0,
            burst: 1,
        });
        assert!(buckets.admit("GET /hello", limit));
        assert!(!buckets.admit("GET /hello", limit));
        std::thread::sleep(Duration::from_millis(120));
        assert!(buckets.admit("GET /hello", limit));
    }
}
