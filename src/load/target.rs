//! The real system under test: the tokio [`Pipeline`] driving one [`SignalEngine`] per shard,
//! behind the generator's [`Target`] trait.
//!
//! The pipeline runs on its own multi-thread runtime with one worker thread per shard; producer
//! threads are plain OS threads that enter it with `Handle::block_on(send_batch(..))`, so a
//! full queue (the `Block` policy) blocks the producer, which the generator then reports as late
//! sends. Completions are recorded by [`RecorderSink`] on each shard's task.
//!
//! [`SignalEngine`]: crate::engine::signal::SignalEngine

use std::time::Instant;

use anyhow::Context;

use super::generator::{SubmitError, Submitter, Target, TargetStats};
use super::metrics::Recorder;
use super::profile::LoadProfile;
use super::run::{calibrate, run_load, CalibrationReport, LoadReport, RunOptions};
use crate::engine::pipeline::{Pipeline, PipelineConfig, Producer, SignalSink};
use crate::engine::signal::Signal;
use crate::engine::tick::{MarketConfig, MarketGenerator, Tick};

/// Ticks in the pool the generator cycles through (1.5 MiB): enough that the sequence of one
/// symbol looks like a market, small enough to stay in cache.
pub const POOL_TICKS: usize = 1 << 16;

/// The pipeline sink that records every processed batch's latency.
#[derive(Clone)]
pub struct RecorderSink(pub Recorder);

impl SignalSink for RecorderSink {
    fn on_batch(&mut self, shard: usize, ticks: &[Tick], signals: &[Signal], dequeued: Instant) {
        self.0.record_batch(shard, ticks, signals.len(), dequeued);
    }
}

/// The pipeline on its own tokio runtime.
pub struct PipelineTarget {
    runtime: tokio::runtime::Runtime,
    pipeline: Pipeline,
}

/// A producer thread's handle on [`PipelineTarget`].
pub struct PipelineSubmitter {
    handle: tokio::runtime::Handle,
    producer: Producer,
}

impl PipelineTarget {
    /// Starts a runtime with `workers` threads and the pipeline on it, with `sink` per shard.
    pub fn start<S: SignalSink + Clone>(
        cfg: PipelineConfig,
        workers: usize,
        sink: S,
    ) -> anyhow::Result<Self> {
        let runtime = runtime(workers, "load-shard")?;
        let pipeline = {
            let _guard = runtime.enter();
            Pipeline::start(cfg, sink).context("cannot start the pipeline")?
        };
        Ok(PipelineTarget { runtime, pipeline })
    }
}

/// The multi-thread runtime the pipeline runs on, with `workers` worker threads named `name`.
/// The floor ([`super::floor`]) runs on one built here too, so both hand batches over alike.
pub fn runtime(workers: usize, name: &str) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .thread_name(name)
        .build()
        .with_context(|| format!("cannot start the tokio runtime for {name}"))
}

impl Submitter for PipelineSubmitter {
    fn submit(&mut self, ticks: &[Tick]) -> Result<(), SubmitError> {
        self.handle
            .block_on(self.producer.send_batch(ticks))
            .map_err(|e| SubmitError(e.to_string()))
    }
}

impl Target for PipelineTarget {
    type Submitter = PipelineSubmitter;

    fn submitter(&self) -> PipelineSubmitter {
        PipelineSubmitter {
            handle: self.runtime.handle().clone(),
            producer: self.pipeline.producer(),
        }
    }

    fn shutdown(self) -> TargetStats {
        let stats = self.runtime.block_on(self.pipeline.shutdown());
        TargetStats {
            received: stats.received,
            processed: stats.processed,
            dropped: stats.dropped,
        }
    }
}

/// The pipeline configuration for a profile: its shards and symbols, defaults otherwise
/// (`Block` policy, so nothing is dropped and overload shows as latency and late sends).
pub fn pipeline_config(profile: &LoadProfile) -> PipelineConfig {
    PipelineConfig {
        shards: profile.shards as usize,
        symbols: profile.symbols as usize,
        ..PipelineConfig::default()
    }
}

/// The seeded synthetic market the generator draws its ticks from.
pub fn tick_pool(profile: &LoadProfile) -> Vec<Tick> {
    MarketGenerator::new(MarketConfig {
        symbols: profile.symbols,
        ..MarketConfig::default()
    })
    .take_vec(POOL_TICKS)
}

/// Runs `profile` against the pipeline and the signal engine.
pub fn run_pipeline(profile: &LoadProfile, options: &RunOptions) -> anyhow::Result<LoadReport> {
    profile.validate()?;
    run_load(profile, options, tick_pool(profile), |recorder| {
        PipelineTarget::start(
            pipeline_config(profile),
            profile.shards as usize,
            RecorderSink(recorder),
        )
    })
}

/// Measures the machine's floor on `profile`'s schedule (no pipeline; see [`super::floor`]).
pub fn calibrate_floor(
    profile: &LoadProfile,
    options: &RunOptions,
) -> anyhow::Result<CalibrationReport> {
    calibrate(profile, options, tick_pool(profile))
}
