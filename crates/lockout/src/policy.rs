//! The lockout's numbers: thresholds, holds and how long counters last.

use authcore::{SettingsError, Vars};

/// The lockout settings (environment variables, filled by the template's parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// `LOCKOUT_THRESHOLD`: attempts from one source on one account before holds start.
    pub threshold: u64,
    /// `LOCKOUT_MAX_SECONDS`: the longest hold.
    pub max_hold: u64,
    /// `LOCKOUT_RESET_SECONDS`: quiet seconds after which a counter starts again.
    pub quiet: u64,
    /// `SOURCE_FAILURE_THRESHOLD`: failures from one source, over all accounts, before it is held.
    pub source_threshold: u64,
    /// `ACCOUNT_FAILURE_CEILING`: failures on one account, from all sources, within one
    /// window, before sources that never signed in to it are held until the window ends.
    pub account_ceiling: u64,
    /// `ACCOUNT_CEILING_WINDOW_SECONDS`: the ceiling's window. Keeping new sources out takes
    /// `account_ceiling` failures in every window: 100 per 300 s is 20 a minute, sustained.
    pub account_window: u64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            threshold: 5,
            max_hold: 900,
            quiet: 900,
            source_threshold: 20,
            account_ceiling: 100,
            account_window: 300,
        }
    }
}

impl LockoutPolicy {
    /// The policy from `vars`; unset variables keep their defaults.
    pub fn read(vars: &Vars<'_>) -> Result<Self, SettingsError> {
        let d = Self::default();
        Ok(Self {
            threshold: vars.number("LOCKOUT_THRESHOLD", d.threshold, 1..=100)?,
            max_hold: vars.number("LOCKOUT_MAX_SECONDS", d.max_hold, 1..=86_400)?,
            quiet: vars.number("LOCKOUT_RESET_SECONDS", d.quiet, 60..=86_400)?,
            source_threshold: vars.number(
                "SOURCE_FAILURE_THRESHOLD",
                d.source_threshold,
                1..=100_000,
            )?,
            account_ceiling: vars.number(
                "ACCOUNT_FAILURE_CEILING",
                d.account_ceiling,
                1..=1_000_000,
            )?,
            account_window: vars.number(
                "ACCOUNT_CEILING_WINDOW_SECONDS",
                d.account_window,
                10..=86_400,
            )?,
        })
    }

    /// Seconds to hold after the `n`-th counted event of a counter whose limit is `limit`:
    /// none below it, then 1 s doubling with each one, up to `max_hold`.
    pub fn hold_seconds(&self, n: u64, limit: u64) -> u64 {
        match n.checked_sub(limit) {
            None => 0,
            Some(over) if over >= 63 => self.max_hold,
            Some(over) => (1u64 << over).min(self.max_hold),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authcore::settings::from_pairs;

    #[test]
    fn holds_start_at_the_limit_and_double_up_to_the_maximum() {
        let p = LockoutPolicy::default();
        let want = [
            (1, 0),
            (4, 0),
            (5, 1),
            (6, 2),
            (7, 4),
            (14, 512),
            (15, 900),
            (99, 900),
        ];
        for (n, secs) in want {
            assert_eq!(p.hold_seconds(n, 5), secs, "n={n}");
        }
        assert_eq!(p.hold_seconds(u64::MAX, 5), 900);
        assert_eq!(p.hold_seconds(20, 20), 1);
    }

    #[test]
    fn unset_settings_keep_the_defaults() {
        let lookup = from_pairs(&[]);
        assert_eq!(
            LockoutPolicy::read(&Vars::new(&lookup)),
            Ok(LockoutPolicy::default())
        );
    }

    #[test]
    fn settings_are_read() {
        let lookup = from_pairs(&[("LOCKOUT_THRESHOLD", "3"), ("LOCKOUT_MAX_SECONDS", "60")]);
        let p = LockoutPolicy::read(&Vars::new(&lookup)).unwrap();
        assert_eq!((p.threshold, p.max_hold), (3, 60));
    }

    #[test]
    fn settings_out_of_range_name_the_variable() {
        for (name, value) in [
            ("LOCKOUT_THRESHOLD", "0"),
            ("LOCKOUT_RESET_SECONDS", "5"),
            ("LOCKOUT_MAX_SECONDS", "x"),
        ] {
            let lookup = from_pairs(&[(name, value)]);
            let err = LockoutPolicy::read(&Vars::new(&lookup)).unwrap_err();
            assert!(
                matches!(err, SettingsError::OutOfRange { name: n, .. } if n == name),
                "{err}"
            );
        }
    }
}
