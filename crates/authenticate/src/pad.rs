//! Timing parity: every refused sign-in takes as long as a wrong password does.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Makes every refused sign-in take as long as a wrong password does.
///
/// Unknown emails and disabled accounts already cost one argon2 verification and one
/// DynamoDB update, like a wrong password; what remains is the store's own latency, which
/// differs for items that exist. The pad remembers how long recent wrong-password refusals
/// took and makes the other refusals wait up to their median.
#[derive(Debug, Default)]
pub struct RefusalPad {
    recent: Mutex<VecDeque<Duration>>,
}

impl RefusalPad {
    /// How many recent wrong-password durations are kept.
    pub const SAMPLES: usize = 16;

    /// Records how long a wrong-password refusal took.
    pub fn record(&self, took: Duration) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == Self::SAMPLES {
            recent.pop_front();
        }
        recent.push_back(took);
    }

    /// The median of the recorded durations, if any.
    pub fn target(&self) -> Option<Duration> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let mut sorted: Vec<_> = recent.iter().copied().collect();
        sorted.sort_unstable();
        sorted.get(sorted.len() / 2).copied()
    }

    /// Waits until `started` is as far back as a wrong-password refusal typically takes.
    pub fn wait_from(&self, started: Instant) {
        if let Some(rest) = self.target().and_then(|t| t.checked_sub(started.elapsed())) {
            // A thread sleep, not tokio's: its timer rounds up to whole milliseconds, which is
            // itself a tell. Lambda runs one invocation at a time per instance, so this blocks
            // nothing else.
            std::thread::sleep(rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pad_waits_up_to_the_median_wrong_password_time() {
        let pad = RefusalPad::default();
        assert_eq!(pad.target(), None);
        let started = Instant::now();
        pad.wait_from(started);
        assert!(
            started.elapsed() < Duration::from_millis(5),
            "no samples: no wait"
        );
        for ms in [30, 10, 20] {
            pad.record(Duration::from_millis(ms));
        }
        assert_eq!(pad.target(), Some(Duration::from_millis(20)));
        let started = Instant::now();
        pad.wait_from(started);
        assert!(started.elapsed() >= Duration::from_millis(20));
        // Only the latest samples count.
        for _ in 0..RefusalPad::SAMPLES {
            pad.record(Duration::from_millis(1));
        }
        assert_eq!(pad.target(), Some(Duration::from_millis(1)));
    }
}
