//! Timing parity: a cheaper path takes as long as the one it must not be told from (every
//! refused sign-in as long as a wrong password; a refresh token's lookup that finds nothing as
//! long as one that finds it).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Makes a cheaper path take as long as a reference path typically does.
///
/// The paths already do the same work (for sign-in: unknown emails and disabled accounts cost
/// one argon2 verification and one DynamoDB update, like a wrong password); what remains is
/// the store's own latency, which differs for items that exist. The pad remembers how long
/// the reference path took recently and makes the other wait up to the median, waking as much
/// earlier as its recent sleeps overslept.
#[derive(Debug, Default)]
pub struct RefusalPad {
    recent: Samples,
    overslept: Samples,
}

/// The last [`RefusalPad::SAMPLES`] durations.
#[derive(Debug, Default)]
struct Samples(Mutex<VecDeque<Duration>>);

impl Samples {
    fn push(&self, d: Duration) {
        let mut recent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == RefusalPad::SAMPLES {
            recent.pop_front();
        }
        recent.push_back(d);
    }

    fn median(&self) -> Option<Duration> {
        let recent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut sorted: Vec<_> = recent.iter().copied().collect();
        sorted.sort_unstable();
        sorted.get(sorted.len() / 2).copied()
    }
}

impl RefusalPad {
    /// How many recent durations are kept.
    pub const SAMPLES: usize = 16;

    /// Records how long the reference path took.
    pub fn record(&self, took: Duration) {
        self.recent.push(took);
    }

    /// The median of the recorded durations, if any.
    pub fn target(&self) -> Option<Duration> {
        self.recent.median()
    }

    /// Waits until `started` is as far back as the reference path typically takes.
    pub fn wait_from(&self, started: Instant) {
        let Some(target) = self.target() else {
            return;
        };
        let early = self.overslept.median().unwrap_or_default();
        if let Some(rest) = target.checked_sub(started.elapsed() + early) {
            // A thread sleep, not tokio's: its timer rounds up to whole milliseconds, which is
            // itself a tell. Lambda runs one invocation at a time per instance, so this blocks
            // nothing else.
            let slept = Instant::now();
            std::thread::sleep(rest);
            self.overslept.push(slept.elapsed().saturating_sub(rest));
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

    #[test]
    fn the_pad_wakes_as_much_earlier_as_its_sleeps_overslept() {
        let pad = RefusalPad::default();
        pad.record(Duration::from_millis(300));
        for _ in 0..RefusalPad::SAMPLES {
            pad.overslept.push(Duration::from_millis(200));
        }
        let started = Instant::now();
        pad.wait_from(started);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(100) && took < Duration::from_millis(250),
            "{took:?}: 300 ms less the 200 ms its sleeps overslept"
        );
    }

    #[test]
    fn the_pad_learns_how_much_its_sleeps_oversleep() {
        let pad = RefusalPad::default();
        pad.record(Duration::from_millis(2));
        pad.wait_from(Instant::now());
        assert!(pad.overslept.median().is_some(), "one sleep, one sample");
    }
}
