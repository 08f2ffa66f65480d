//! Reading settings: every function (and `authctl`) reads its variables once, at start-up, in
//! its own `settings` module, through a [`Vars`] lookup: the process environment
//! ([`Vars::process`]) when deployed, a map in tests. A value that cannot be used is a
//! [`SettingsError`] naming the variable, the value and what is accepted; none falls back to a
//! default silently.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::keys::KeyError;

/// What is wrong with a setting; each names the variable to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A required variable is unset or blank.
    #[error("{name} is not set: {hint}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What to set it to.
        hint: &'static str,
    },
    /// A text variable is set but blank, where blank has no meaning.
    #[error("{0} is set but empty: unset it to use the default, or give it a value")]
    Empty(&'static str),
    /// A number that does not parse or lies outside its range.
    #[error("{name}={value:?} is not valid: expected a whole number from {min} to {max}")]
    OutOfRange {
        /// The variable.
        name: &'static str,
        /// What it was set to.
        value: String,
        /// The smallest accepted.
        min: u64,
        /// The largest accepted.
        max: u64,
    },
    /// A value of the wrong shape.
    #[error("{name}={value:?} is not valid: {expected}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What it was set to.
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// A key that cannot be used; its value is never repeated.
    #[error("{name} is unusable: {source}")]
    BadKey {
        /// The variable.
        name: &'static str,
        /// What is wrong with the key.
        #[source]
        source: KeyError,
    },
}

/// A variable lookup: name to value, `None` when unset.
pub struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

/// The process environment, as a lookup: the one place a setting is read from it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl<'a> Vars<'a> {
    /// Variables read through `lookup`.
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self(lookup)
    }

    /// The process environment.
    pub fn process() -> Vars<'static> {
        Vars(&process_env)
    }

    /// The raw value of `name`, untrimmed; `None` when unset.
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }

    /// The trimmed value of `name`; `None` when unset or blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.raw(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The trimmed value of `name`, which must be set; `hint` says what to set it to.
    pub fn required(
        &self,
        name: &'static str,
        hint: &'static str,
    ) -> Result<String, SettingsError> {
        self.optional(name)
            .ok_or(SettingsError::Missing { name, hint })
    }

    /// The trimmed value of `name`, or `default` when unset; blank is an error.
    pub fn text(&self, name: &'static str, default: &str) -> Result<String, SettingsError> {
        match self.raw(name) {
            None => Ok(default.to_owned()),
            Some(v) if v.trim().is_empty() => Err(SettingsError::Empty(name)),
            Some(v) => Ok(v.trim().to_owned()),
        }
    }

    /// The whole number `name` within `range`, or `default` when unset.
    pub fn number(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<u64, SettingsError> {
        let Some(value) = self.raw(name) else {
            return Ok(default);
        };
        match value.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(SettingsError::OutOfRange {
                name,
                value,
                min: *range.start(),
                max: *range.end(),
            }),
        }
    }

    /// [`Vars::number`] as whole seconds.
    pub fn seconds(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, SettingsError> {
        self.number(name, default, range).map(Duration::from_secs)
    }

    /// `name` read by `parse` (which says what it expects when it fails), or `None` when unset.
    pub fn parsed<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, SettingsError> {
        let Some(value) = self.raw(name) else {
            return Ok(None);
        };
        parse(value.trim())
            .map(Some)
            .map_err(|expected| SettingsError::Invalid {
                name,
                value,
                expected,
            })
    }

    /// `true` or `false` (any case), or `default` when unset.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, SettingsError> {
        let value = self.parsed(name, |v| match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("expected true or false".to_owned()),
        })?;
        Ok(value.unwrap_or(default))
    }
}

/// A lookup over fixed pairs: for tests, benchmarks and tools that build settings by hand.
pub fn from_pairs(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_numbers_take_their_default() {
        let lookup = from_pairs(&[]);
        assert_eq!(Vars::new(&lookup).number("N", 7, 1..=9), Ok(7));
    }

    #[test]
    fn numbers_outside_their_range_name_the_variable_the_value_and_the_range() {
        for bad in ["0", "10", "-1", "ten", ""] {
            let lookup = from_pairs(&[("N", bad)]);
            let err = Vars::new(&lookup).number("N", 7, 1..=9).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("N={bad:?} is not valid: expected a whole number from 1 to 9")
            );
        }
    }

    #[test]
    fn numbers_are_trimmed() {
        let lookup = from_pairs(&[("N", " 9 ")]);
        assert_eq!(Vars::new(&lookup).number("N", 7, 1..=9), Ok(9));
    }

    #[test]
    fn blank_text_is_an_error_and_blank_optional_is_unset() {
        let lookup = from_pairs(&[("T", "  ")]);
        let vars = Vars::new(&lookup);
        assert_eq!(vars.text("T", "d"), Err(SettingsError::Empty("T")));
        assert_eq!(vars.optional("T"), None);
        assert_eq!(vars.text("U", "d"), Ok("d".to_owned()));
    }

    #[test]
    fn required_names_the_variable_and_the_hint() {
        let lookup = from_pairs(&[]);
        let err = Vars::new(&lookup)
            .required("T", "name the table")
            .unwrap_err();
        assert_eq!(err.to_string(), "T is not set: name the table");
    }

    #[test]
    fn flags_are_true_or_false_and_nothing_else() {
        let lookup = from_pairs(&[("A", "TRUE"), ("B", "false"), ("C", "yes")]);
        let vars = Vars::new(&lookup);
        assert_eq!(vars.flag("A", false), Ok(true));
        assert_eq!(vars.flag("B", true), Ok(false));
        assert_eq!(vars.flag("D", true), Ok(true));
        assert!(
            vars.flag("C", true)
                .unwrap_err()
                .to_string()
                .starts_with("C=\"yes\"")
        );
    }
}
