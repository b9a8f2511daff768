//! The engine: the market generator, the indicators, the signal engine and the tokio pipeline
//! around it. One topic: `cargo test --test engine pipeline_`.
//!
//! The zero-allocation, heap-growth and flamegraph tests need a process of their own (a global
//! allocator, a process-wide profiler) and stay separate files under `tests/`.

mod indicators;
mod pipeline_overload;
mod pipeline_results;
mod signal;
mod tick;
