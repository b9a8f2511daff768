//! Instruction counts under callgrind: the deterministic metric of `tickbench bench --counts`.
//!
//! Identical code on identical inputs executes identical instructions on any x86-64 machine,
//! so one count run per side decides a 1 % change on any VM, where wall-clock time on these
//! machines moves 1–6 % (and up to ±60 % on a foreign suite) between identical runs.
//!
//! - the bench files define each workload once (`benches/common/harness.rs`); under
//!   `TICKBENCH_COUNTS` their `main` runs a count driver instead of Criterion, which brackets
//!   each benchmark with callgrind client requests (`session.rs` runs it);
//! - `callgrind.rs` reads the profiles, `inline.rs` resolves inlined frames from the debug
//!   info, `profile.rs` turns them into bounded stacks, inclusive counts per function and the
//!   folded text of a flamegraph; `flame.rs` draws the differential flamegraph;
//! - a count run is an ordinary [`crate::baseline::Run`] with `metric: instructions`, so
//!   `save`, `list`, `summary` and `compare` take it like any other; `compare` judges it with
//!   basis `exact` (`baseline::compare::exact`).

pub mod callgrind;
pub mod flame;
pub mod inline;
pub mod profile;
pub mod session;

pub use self::profile::{top_changes, Counted, FunctionChange, Profile};
