//! The machine's latency floor: the harness's own schedule and hand-over, with nothing to do
//! at the other end.
//!
//! [`FloorTarget`] takes the place of the pipeline: the same producer thread on the same
//! release schedule hands its batches over the same way — `Handle::block_on` from the producer
//! thread, a tokio channel, a task on a runtime built exactly like the pipeline's (one worker
//! thread, [`super::target::runtime`]) — to one consumer task that only takes each batch off
//! the channel and records it, timed like the pipeline's batches (from each tick's planned
//! time). What that costs — the release grid, the producer's wake-ups, the consumer's wake-up,
//! and whatever the machine and the hypervisor take meanwhile — is the least latency any
//! system under test could show on this machine at this moment. A run's p99 well above the
//! floor's is the pipeline's doing; a p99 the floor matches is the machine's.
//!
//! [`measure`] runs it before a load run (`tickbench loadtest` does by default, for up to 5 s)
//! or alone (`tickbench loadtest --calibrate`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::{self, UnboundedSender};

use super::generator::{SubmitError, Submitter, Target, TargetStats};
use super::metrics::{PerformanceMetrics, Recorder};
use super::monitor::MonitorReport;
use super::profile::LoadProfile;
use super::run::{run_once, RunOptions};
use crate::engine::tick::Tick;

/// Default measured length of the floor run before a load run, seconds.
pub const DEFAULT_FLOOR_S: f64 = 5.0;
/// Longest warm-up of a floor run before a load run, seconds.
const FLOOR_WARMUP_S: f64 = 1.0;
/// Most empty batch vectors kept for reuse.
const POOL_MAX: usize = 64;

type Buffers = Arc<Mutex<Vec<Vec<Tick>>>>;

/// The floor's stand-in for the system under test: one consumer task that records batches.
pub struct FloorTarget {
    runtime: tokio::runtime::Runtime,
    tx: UnboundedSender<Vec<Tick>>,
    consumer: tokio::task::JoinHandle<u64>,
    buffers: Buffers,
}

/// A producer's handle on [`FloorTarget`].
pub struct FloorSubmitter {
    handle: tokio::runtime::Handle,
    tx: UnboundedSender<Vec<Tick>>,
    buffers: Buffers,
}

impl FloorTarget {
    /// Starts the runtime and the consumer task, which reports every batch to `recorder`.
    pub fn start(recorder: Recorder) -> anyhow::Result<Self> {
        let runtime = super::target::runtime(1, "load-floor")?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<Tick>>();
        let buffers = Buffers::default();
        let returned = Arc::clone(&buffers);
        let consumer = runtime.spawn(async move {
            let mut received = 0u64;
            while let Some(mut batch) = rx.recv().await {
                let dequeued = Instant::now();
                recorder.record_batch(0, &batch, 0, dequeued);
                received += batch.len() as u64;
                batch.clear();
                let mut pool = returned.lock().unwrap_or_else(|e| e.into_inner());
                if pool.len() < POOL_MAX {
                    pool.push(batch);
                }
            }
            received
        });
        Ok(FloorTarget {
            runtime,
            tx,
            consumer,
            buffers,
        })
    }
}

impl Submitter for FloorSubmitter {
    fn submit(&mut self, ticks: &[Tick]) -> Result<(), SubmitError> {
        let reused = self.buffers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut batch = reused.unwrap_or_else(|| Vec::with_capacity(ticks.len()));
        batch.extend_from_slice(ticks);
        let tx = &self.tx;
        // Entered like the pipeline's `send_batch`, so the hand-over costs the same.
        self.handle
            .block_on(async { tx.send(batch) })
            .map_err(|_| SubmitError("the floor's consumer has stopped".to_owned()))
    }
}

impl Target for FloorTarget {
    type Submitter = FloorSubmitter;

    fn submitter(&self) -> FloorSubmitter {
        FloorSubmitter {
            handle: self.runtime.handle().clone(),
            tx: self.tx.clone(),
            buffers: Arc::clone(&self.buffers),
        }
    }

    fn shutdown(self) -> TargetStats {
        drop(self.tx);
        // The consumer ends when every sender (the producers' too) is gone; a panic in it
        // would already have shown as missing completions.
        let processed = self.runtime.block_on(self.consumer).unwrap_or(0);
        TargetStats {
            received: processed,
            processed,
            dropped: 0,
        }
    }
}

/// A floor run: what the harness and the machine alone cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FloorReport {
    /// The profile the floor ran: the run's schedule, with a shorter warm-up and window.
    pub profile: LoadProfile,
    /// Latency, rate and losses of the floor run (`latency_total` is the floor).
    pub metrics: PerformanceMetrics,
    /// CPU, steal, switches and gaps during the floor run.
    pub monitor: MonitorReport,
    /// The run's p99 over the floor's (`null` in a calibration, or when the floor's p99 is 0).
    pub run_p99_over_floor: Option<f64>,
    /// How much of the run's p99 the floor explains: `100 × floor p99 / run p99`, at most 100
    /// (`null` in a calibration, or when the run's p99 is 0).
    pub p99_explained_pct: Option<f64>,
}

impl FloorReport {
    /// Compares the floor with a run's metrics.
    pub fn compared_with(mut self, run: &PerformanceMetrics) -> Self {
        let (floor, p99) = (self.metrics.latency_total.p99_us, run.latency_total.p99_us);
        self.run_p99_over_floor = (floor > 0.0).then(|| p99 / floor);
        self.p99_explained_pct = (p99 > 0.0).then(|| (floor / p99 * 100.0).min(100.0));
        self
    }
}

/// The floor's profile for a run of `profile`: the same schedule (rate, bursts, release grid,
/// producers), one consumer, a measured window of at most `seconds` and a warm-up of at most
/// 1 s.
pub fn floor_profile(profile: &LoadProfile, seconds: f64) -> LoadProfile {
    LoadProfile {
        duration_s: profile.duration_s.min(seconds),
        warmup_s: profile.warmup_s.min(FLOOR_WARMUP_S),
        ..calibration_profile(profile)
    }
}

/// The floor's profile for a calibration on `profile`: the same schedule, its whole warm-up
/// and window, one consumer.
pub fn calibration_profile(profile: &LoadProfile) -> LoadProfile {
    LoadProfile {
        name: format!("{} floor", profile.name),
        shards: 1,
        ..profile.clone()
    }
}

/// Runs the floor on `profile` as given (no shortening) with `pool`'s ticks.
pub fn measure(
    profile: &LoadProfile,
    options: &RunOptions,
    pool: Vec<Tick>,
) -> anyhow::Result<FloorReport> {
    let report = run_once(profile, options, pool, FloorTarget::start)?;
    Ok(FloorReport {
        profile: report.profile,
        metrics: report.metrics,
        monitor: report.monitor,
        run_p99_over_floor: None,
        p99_explained_pct: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_floor_keeps_the_schedule_and_shortens_the_run() {
        let full = LoadProfile::full();
        let f = floor_profile(&full, DEFAULT_FLOOR_S);
        assert_eq!((f.duration_s, f.warmup_s, f.shards), (5.0, 1.0, 1));
        assert_eq!(
            (f.rate, f.burst_size, f.release_interval_us, f.producers),
            (
                full.rate,
                full.burst_size,
                full.release_interval_us,
                full.producers
            )
        );
        assert_eq!(f.name, "full floor");
        let short = LoadProfile {
            duration_s: 0.3,
            warmup_s: 0.1,
            ..LoadProfile::quick()
        };
        assert_eq!(
            floor_profile(&short, 5.0).total(),
            Duration::from_millis(400)
        );
        let c = calibration_profile(&LoadProfile {
            shards: 4,
            ..LoadProfile::full()
        });
        assert_eq!((c.duration_s, c.warmup_s, c.shards), (600.0, 30.0, 1));
        assert_eq!(c.name, "full floor");
    }

    #[test]
    fn a_short_floor_run_measures_every_tick() {
        let p = LoadProfile {
            rate: 20_000.0,
            duration_s: 0.3,
            warmup_s: 0.1,
            ..LoadProfile::quick()
        };
        let pool = super::super::target::tick_pool(&p);
        let floor = measure(&p, &RunOptions::default(), pool).unwrap();
        let m = &floor.metrics;
        // 0.3 s at 20 000/s plus bursts of 50 at 100, 200 and 300 ms (the warm-up ends at
        // 100 ms, the run at 400 ms).
        assert_eq!(m.planned, 6_000 + 3 * 50, "{m:?}");
        assert_eq!((m.completed, m.failures()), (m.planned, 0), "{m:?}");
        assert!(m.latency_total.p50_us > 0.0);
        assert_eq!(floor.run_p99_over_floor, None);
    }

    #[test]
    fn the_comparison_says_how_much_of_the_p99_the_floor_explains() {
        let p = LoadProfile {
            rate: 5_000.0,
            duration_s: 0.2,
            warmup_s: 0.0,
            ..LoadProfile::quick()
        };
        let pool = super::super::target::tick_pool(&p);
        let mut floor = measure(&p, &RunOptions::default(), pool).unwrap();
        floor.metrics.latency_total.p99_us = 40.0;
        let mut run = floor.metrics.clone();
        run.latency_total.p99_us = 100.0;
        let c = floor.clone().compared_with(&run);
        assert_eq!(c.run_p99_over_floor, Some(2.5));
        assert_eq!(c.p99_explained_pct, Some(40.0));
        // A run faster than its floor (noise): the floor explains all of it, not more.
        run.latency_total.p99_us = 20.0;
        assert_eq!(floor.compared_with(&run).p99_explained_pct, Some(100.0));
    }
}
