//! One load run from start to verdict: [`run_load`] wires the generator, the target, the
//! recorder, the monitor and the progress line together and returns a [`LoadReport`].

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::generator::{LoadGenerator, SendCounters, Target, DEFAULT_LATE_THRESHOLD};
use super::metrics::{LatencySummary, PerformanceMetrics, Recorder};
use super::monitor::{HarnessThreads, MonitorReport, PerformanceMonitor, DEFAULT_INTERVAL};
use super::profile::LoadProfile;
use super::sla::{Sla, Verdict};
use crate::engine::tick::Tick;

/// The `schema` field of every JSON load report.
pub const SCHEMA: &str = "tickbench.loadtest.v1";

/// Everything about one run: what was offered, what was measured, and the verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// When the run started, RFC 3339 UTC.
    pub timestamp: String,
    /// The profile that was run.
    pub profile: LoadProfile,
    /// The thresholds it was judged against.
    pub sla: Sla,
    /// Latency, rate and losses.
    pub metrics: PerformanceMetrics,
    /// CPU and memory.
    pub monitor: MonitorReport,
    /// Pass or fail, with every breach.
    pub verdict: Verdict,
}

/// How to run (everything that is not the offered load).
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Thresholds for the verdict.
    pub sla: Sla,
    /// Monitor sampling interval.
    pub monitor_interval: Duration,
    /// A tick released later than this after its planned time is a late send.
    pub late_threshold: Duration,
    /// Print a live progress line to stderr (once a second).
    pub progress: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            sla: Sla::default(),
            monitor_interval: DEFAULT_INTERVAL,
            late_threshold: DEFAULT_LATE_THRESHOLD,
            progress: false,
        }
    }
}

/// Time between building the target and the first planned send, so threads are up by then.
const START_DELAY: Duration = Duration::from_millis(20);

/// Runs `profile` against the target `build` makes (it gets the run's [`Recorder`] and must
/// report every processed batch to it), sending copies of `pool`'s ticks.
pub fn run_load<T: Target>(
    profile: &LoadProfile,
    options: &RunOptions,
    pool: Vec<Tick>,
    build: impl FnOnce(Recorder) -> anyhow::Result<T>,
) -> anyhow::Result<LoadReport> {
    profile.validate()?;
    anyhow::ensure!(!pool.is_empty(), "the tick pool is empty");
    let timestamp = crate::timestamp::now_rfc3339();
    let warmup_ns = duration_ns(profile.warmup());
    let t0 = Instant::now() + START_DELAY;
    let recorder = Recorder::new(t0, warmup_ns, profile.shards as usize);
    let target = build(recorder.clone())?;
    let harness = HarnessThreads::default();
    let generator = LoadGenerator::new(profile.clone(), pool)
        .late_threshold(options.late_threshold)
        .harness(harness.clone());
    let monitor = PerformanceMonitor::start(
        options.monitor_interval,
        t0,
        profile.warmup(),
        harness.clone(),
    )?;
    let progress = options.progress.then(|| {
        Progress::start(
            profile,
            t0,
            generator.counters(),
            recorder.clone(),
            harness.clone(),
        )
    });

    let sent = generator.run(&target, t0);
    // The monitor covers the load itself: stopped before the drain and the teardown, which
    // would otherwise show as CPU without load and as memory given back.
    let monitor = monitor.stop();
    let stats = target.shutdown();
    let drained_ns = super::metrics::nanos_since(t0, Instant::now());
    if let Some(progress) = progress {
        progress.stop();
    }

    let (latency, warmup_completed) = recorder.merged();
    let completed = latency.total.len();
    let window_ns = sent.last_send_ns.saturating_sub(warmup_ns).max(1);
    let achieved_rate = sent.sent as f64 * 1e9 / window_ns as f64;
    let scheduled_rate = sent.planned as f64 / profile.duration_s;
    let metrics = PerformanceMetrics {
        latency_total: LatencySummary::from_histogram(&latency.total),
        latency_queue: LatencySummary::from_histogram(&latency.queue),
        latency_service: LatencySummary::from_histogram(&latency.service),
        send_lag: LatencySummary::from_histogram(&sent.lag),
        target_rate: profile.offered_rate(),
        achieved_rate,
        achieved_ratio: if scheduled_rate > 0.0 {
            achieved_rate / scheduled_rate
        } else {
            0.0
        },
        planned: sent.planned,
        sent: sent.sent,
        completed,
        late_sends: sent.late,
        late_threshold_us: options.late_threshold.as_secs_f64() * 1e6,
        errors: sent.errors,
        dropped: stats.dropped,
        lost: sent
            .sent_total
            .saturating_sub(completed + warmup_completed + stats.dropped),
        signals: recorder.signals(),
        wall_s: drained_ns as f64 / 1e9,
    };
    let verdict = options.sla.judge(&metrics, &monitor);
    Ok(LoadReport {
        schema: SCHEMA.to_owned(),
        timestamp,
        profile: profile.clone(),
        sla: options.sla.clone(),
        metrics,
        monitor,
        verdict,
    })
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The live progress line: elapsed, send rate and p99 of the last second, on stderr.
struct Progress {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<()>,
}

impl Progress {
    fn start(
        profile: &LoadProfile,
        t0: Instant,
        counters: Arc<SendCounters>,
        recorder: Recorder,
        harness: HarnessThreads,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let name = profile.name.clone();
        let total = profile.total().as_secs_f64();
        let handle = std::thread::spawn(move || {
            let me = harness.register_current();
            let tty = std::io::stderr().is_terminal();
            let mut last_sent = 0;
            let mut last = Instant::now();
            let mut k = 1;
            while !flag.load(Ordering::Acquire) {
                std::thread::park_timeout(Duration::from_secs(1));
                let now = Instant::now();
                if now < last + Duration::from_secs(1) && !flag.load(Ordering::Acquire) {
                    continue;
                }
                let sent = counters.sent.load(Ordering::Relaxed);
                let rate = (sent - last_sent) as f64 / (now - last).as_secs_f64();
                let p99 = LatencySummary::from_histogram(&recorder.take_interval()).p99_us;
                let elapsed = now.saturating_duration_since(t0).as_secs_f64();
                let line = format!(
                    "[{name}] {elapsed:6.1}/{total:.0} s  sending {rate:>10.0}/s  p99 {p99:>10.1} µs  signals {}",
                    recorder.signals()
                );
                // Progress is best effort: a closed stderr must not stop the run.
                let mut err = std::io::stderr().lock();
                let _ = if tty {
                    write!(err, "\r{line}\x1b[K")
                } else if k % 10 == 0 {
                    writeln!(err, "{line}")
                } else {
                    Ok(())
                };
                k += 1;
                last_sent = sent;
                last = now;
            }
            if tty {
                let _ = writeln!(std::io::stderr());
            }
            me.finish();
        });
        Progress { stop, handle }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Release);
        self.handle.thread().unpark();
        let _ = self.handle.join();
    }
}
