//! tickbench: a trading signal engine and the performance suite that measures it.
//!
//! - [`engine`]: market ticks → streaming indicators → rules → signals, stored and journaled.
//! - [`baseline`]: Criterion's saved files, tickbench's stored baselines, statistics, compare.
//! - [`report`]: output formats for summaries and comparisons.
//! - [`load`]: the open-loop load harness with its SLA verdict.
//! - [`bench`]: `tickbench bench`, which runs the suite, compares and confirms regressions.

pub mod baseline;
pub mod bench;
pub mod engine;
pub mod load;
pub mod report;
