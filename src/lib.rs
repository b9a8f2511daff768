//! tickbench: a trading signal engine and the performance suite that measures it.
//!
//! - [`engine`]: market ticks → streaming indicators → rules → signals, stored and journaled.
//! - [`baseline`]: Criterion's saved files, tickbench's stored baselines, statistics, compare.
//! - [`history`]: per-machine history of recorded runs and the change points in it.
//! - [`report`]: output formats for summaries and comparisons, and the HTML report.
//! - [`load`]: the open-loop load harness with its SLA verdict.
//! - [`fsio`]: the one atomic write for every file tickbench produces, and file locks.
//! - [`bench`]: `tickbench bench`, which runs the suite, compares and confirms regressions.
//! - [`policy`]: per-benchmark thresholds, advisory flags and directions (`tickbench.toml`).
//! - [`timestamp`]: the one RFC 3339 formatter for every timestamp tickbench writes.

pub mod baseline;
pub mod bench;
pub mod counts;
pub mod engine;
pub mod fsio;
pub mod history;
pub mod load;
pub mod policy;
pub mod report;
pub mod timestamp;
