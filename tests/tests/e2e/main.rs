//! End-to-end tests: each drives the built `eddy` binary on a fresh data directory
//! (see `eddy_tests::Eddy`) and checks what it prints, what it refuses, and that a
//! refused request changed nothing.

mod bad_input;
mod call;
mod changes;
mod crash;
mod functions;
mod lab;
mod options;
mod serve;
mod serve_crash;
mod streams;
mod tables;
mod telemetry;
mod triggers;
mod triggers_cli;

use std::cmp::Ordering;

/// Compares two sequence numbers as the decimal numbers they are (they can be
/// longer than any integer type).
pub fn seq_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}
