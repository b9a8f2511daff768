//! The harness against the real system under test: the tokio pipeline and the signal engine.

use std::time::{Duration, Instant};

use tickbench::engine::pipeline::SignalSink;
use tickbench::engine::signal::Signal;
use tickbench::engine::tick::Tick;
use tickbench::load::target::{pipeline_config, tick_pool, PipelineTarget, RecorderSink};
use tickbench::load::{run_load, LoadProfile, RunOptions};

fn profile() -> LoadProfile {
    LoadProfile {
        name: "pipeline-test".to_owned(),
        rate: 20_000.0,
        duration_s: 0.5,
        warmup_s: 0.1,
        burst_size: 50,
        burst_interval_ms: 100.0,
        producers: 2,
        symbols: 16,
        shards: 2,
        release_interval_us: 20.0,
    }
}

#[test]
fn every_planned_tick_reaches_the_engine_and_is_measured() {
    let p = profile();
    let report = tickbench::load::target::run_pipeline(&p, &RunOptions::default()).unwrap();
    let m = &report.metrics;
    // 0.5 s at 20 000/s plus bursts of 50 at 100..500 ms (the warm-up ends at 100 ms).
    assert_eq!(m.planned, 10_000 + 5 * 50, "{m:?}");
    assert_eq!((m.sent, m.completed), (m.planned, m.planned), "{m:?}");
    assert_eq!(m.failures(), 0, "{m:?}");
    assert!(m.signals > 0, "the engine ran and emitted signals: {m:?}");
    assert!(m.latency_total.p50_us > 0.0 && m.latency_total.max_us >= m.latency_total.p99_us);
    assert!(report.monitor.samples >= 3, "{:?}", report.monitor);
}

/// Wraps the recorder and blocks shard 0's task once, for `stall`, when a tick planned after
/// `at` arrives: an engine that stops responding.
#[derive(Clone)]
struct StallingSink {
    inner: RecorderSink,
    at_ns: u64,
    stall: Duration,
    stalled: bool,
}

impl SignalSink for StallingSink {
    fn on_batch(&mut self, shard: usize, ticks: &[Tick], signals: &[Signal], dequeued: Instant) {
        if shard == 0 && !self.stalled && ticks.iter().any(|t| t.ts_ns >= self.at_ns) {
            self.stalled = true;
            std::thread::sleep(self.stall);
        }
        self.inner.on_batch(shard, ticks, signals, dequeued);
    }
}

#[test]
fn a_stalled_engine_fails_the_sla() {
    let p = LoadProfile {
        producers: 1,
        shards: 1,
        ..profile()
    };
    let report = run_load(&p, &RunOptions::default(), tick_pool(&p), |recorder| {
        let sink = StallingSink {
            inner: RecorderSink(recorder),
            at_ns: 200_000_000,
            stall: Duration::from_millis(300),
            stalled: false,
        };
        PipelineTarget::start(pipeline_config(&p), 1, sink)
    })
    .unwrap();
    let m = &report.metrics;
    assert!(m.latency_total.p95_us > 100_000.0, "{m:?}");
    assert!(!report.verdict.passed, "{:?}", report.verdict);
    assert!(report.verdict.breaches.iter().any(|b| b.check == "p95_ms"));
    assert_eq!(m.failures(), 0, "stalled, not lossy: {m:?}");
}
