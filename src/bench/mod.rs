//! `tickbench bench`: runs the suite with `cargo bench`, saves the run, compares it with this
//! machine's stored baseline and confirms regressions with a second run.
//!
//! The stages, in the order the data flows:
//!
//! - [`runner`]: the `cargo bench` command lines (bench files, canaries, filters, baseline
//!   name) and running them with their output streamed line by line;
//! - [`progress`]: Criterion's progress lines read as they come, shown as `[n/N] <id> — ETA`
//!   with benchmarks weighted by their duration in the stored baseline;
//! - [`confirm`]: the rule that a regression must reproduce in a second run;
//! - [`cli`]: the arguments and the flow: run → compare with `baselines/<machine-id>.json`
//!   (or summarise and say how to store one) → re-run the flagged benchmarks → exit code.

pub mod cli;
pub mod confirm;
pub mod counts;
pub mod progress;
pub mod runner;
