//! The signal store (SQLite) and the journal: their operations and the errors for bad input
//! and damaged files. One topic: `cargo test --test store journal::`.
//!
//! The SIGKILL crash tests re-run their own binary as a child and stay in `tests/crash_kill.rs`.

mod api;
mod errors;
mod journal;
