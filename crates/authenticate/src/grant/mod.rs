//! The grants `/token` accepts, and the sessions they start.

pub mod password;
pub mod refresh;
