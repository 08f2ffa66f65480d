//! The grants `/token` accepts.

pub mod password;
