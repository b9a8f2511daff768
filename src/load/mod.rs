//! The open-loop load harness: offer a sustained, bursting tick rate to the pipeline, measure
//! every tick's latency from its *planned* send time, watch CPU and memory, and judge the run
//! against an SLA.
//!
//! The stages, in the order data flows:
//!
//! - [`profile`]: what load to offer ([`LoadProfile`], presets, files, validation);
//! - [`generator`]: the absolute schedule and the producers that keep to it ([`LoadGenerator`]),
//!   reaching the system under test through the [`Target`] trait;
//! - [`target`]: the real target, the tokio pipeline driving the signal engine;
//! - [`floor`]: the machine's floor — the same schedule and hand-over with nothing behind it;
//! - [`metrics`]: latency histograms, the per-second series and the run's figures
//!   ([`PerformanceMetrics`]);
//! - [`monitor`]: process CPU and RSS, steal, context switches and gaps sampled while the load
//!   runs ([`PerformanceMonitor`]), read through [`host`];
//! - [`live`]: the status line on stderr while a run goes;
//! - [`sla`]: thresholds and the verdict ([`Sla`]);
//! - [`run`]: one run end to end ([`run_load`]) and its [`LoadReport`];
//! - [`output`]: the report as a table or JSON (the JSON schema is documented there);
//! - [`cli`]: `tickbench loadtest`.

pub mod cli;
pub mod floor;
pub mod generator;
pub mod host;
pub mod live;
pub mod metrics;
pub mod monitor;
pub mod output;
pub mod profile;
pub mod run;
pub mod sla;
pub mod target;

pub use floor::FloorReport;
pub use generator::{LoadGenerator, Schedule, SubmitError, Submitter, Target, TargetStats};
pub use metrics::{LatencySummary, PerformanceMetrics, Recorder, SecondSummary};
pub use monitor::{MonitorReport, PerformanceMonitor};
pub use profile::{LoadProfile, ProfileError};
pub use run::{calibrate, run_load, CalibrationReport, LoadReport, RunOptions};
pub use sla::{Breach, Sla, Verdict};
