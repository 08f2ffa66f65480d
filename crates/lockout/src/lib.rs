//! Smart lockout: failed sign-ins slow down whoever fails, not the account's owner.
//!
//! [`policy`] holds the numbers, [`source`] says where an attempt comes from, [`guard`]
//! reserves and settles attempts over the attempts table (`userstore::attempts`), naming its
//! counters with keyed hashes under a key of its own ([`LOCKOUT_KEY`]): rotating the signing key
//! keeps every counter and hold; rotating the lockout key starts every counter again.
//!
//! Counters live in the attempts table under keyed hashes, never on the user item, so that an
//! email with no account is counted, held and answered exactly like a real one.
//!
//! | counter | key | holds | when |
//! |---|---|---|---|
//! | account and source | email, source address | that source, for that account | from the `threshold`-th attempt: 1 s, doubling, up to `max_hold` |
//! | source | source address | that source, for every account (password spraying) | from `source_threshold` failures |
//! | account | email | every source not known to the account | from `account_ceiling` failures |
//!
//! Every counter forgets after `quiet` seconds without a failure (after its hold ends), and no
//! hold lasts longer than `max_hold`. A source that signed in to the account successfully in
//! the last [`KNOWN_SOURCE_DAYS`] days is not held by the account-wide ceiling.
//!
//! The attempt is reserved before argon2 runs, with one conditional write on the account and
//! source counter (compare-and-set on its version): however many guesses arrive at once, at
//! most `threshold` passwords are checked before the hold starts. Then [`Guard::settle`]
//! clears the counter after a success, or counts the failure against the source and the
//! account.

pub mod guard;
pub mod policy;
pub mod source;

use authcore::{KeyVars, KeyedHash, SigningKey};

pub use guard::{Guard, GuardError, HeldBy, KNOWN_SOURCE_DAYS, Reservation};
pub use policy::LockoutPolicy;
pub use source::Source;

/// The variables of the lockout's own key: the Secrets Manager secret (deployed), or the key
/// itself (local use). Never the signing key.
pub const LOCKOUT_KEY: KeyVars = KeyVars {
    arn: "LOCKOUT_KEY_ARN",
    inline: "LOCKOUT_KEY",
    previous: None,
    next: None,
    key_pair_allowed: false,
    hint: "set LOCKOUT_KEY_ARN to a Secrets Manager secret (the template's LockoutKey), or \
           LOCKOUT_KEY to a random value of at least 32 bytes for local use",
};

/// The purpose the attempts table's keyed hashes are derived for.
const ATTEMPTS_PURPOSE: &str = "lambda-auth attempts v1";

/// The keyed hash naming the attempts table's counters, derived from the lockout key.
pub fn counter_hash(key: &SigningKey) -> KeyedHash {
    KeyedHash::derive(key, ATTEMPTS_PURPOSE)
}
