//! One load run from start to verdict: [`run_load`] measures the machine's floor (if asked),
//! wires the generator, the target, the recorder, the monitor and the live status line
//! together, and returns a [`LoadReport`]; [`calibrate`] measures the floor alone.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::floor::{self, FloorReport};
use super::generator::{LoadGenerator, Target, DEFAULT_LATE_THRESHOLD};
use super::live::{Display, Live, Sources};
use super::metrics::{LatencySummary, PerformanceMetrics, Recorder};
use super::monitor::{HarnessThreads, MonitorReport, PerformanceMonitor, DEFAULT_INTERVAL};
use super::profile::LoadProfile;
use super::sla::{Sla, Verdict};
use crate::engine::tick::Tick;

/// The `schema` field of every JSON load report (the layout is documented in
/// [`super::output`]).
pub const SCHEMA: &str = "tickbench.loadtest.v2";

/// Everything about one run: what was offered, what was measured, the machine's floor, and the
/// verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Always `run`.
    pub kind: String,
    /// When the run started, RFC 3339 UTC.
    pub timestamp: String,
    /// The profile that was run.
    pub profile: LoadProfile,
    /// The thresholds it was judged against.
    pub sla: Sla,
    /// Latency, rate and losses.
    pub metrics: PerformanceMetrics,
    /// CPU, memory, steal, context switches and gaps.
    pub monitor: MonitorReport,
    /// The machine's floor measured just before the run (`null` if not measured).
    pub floor: Option<FloorReport>,
    /// Pass or fail, with every breach (the floor never changes it).
    pub verdict: Verdict,
}

/// The floor alone (`tickbench loadtest --calibrate`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Always `calibration`.
    pub kind: String,
    /// When the calibration started, RFC 3339 UTC.
    pub timestamp: String,
    /// The floor.
    pub floor: FloorReport,
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
    /// The live status line on stderr.
    pub display: Display,
    /// Seconds of the machine's floor to measure before the run (at most the run's own
    /// measured window); 0 = none.
    pub floor_s: f64,
}

impl Default for RunOptions {
    /// Default SLA and intervals, no display, no floor.
    fn default() -> Self {
        RunOptions {
            sla: Sla::default(),
            monitor_interval: DEFAULT_INTERVAL,
            late_threshold: DEFAULT_LATE_THRESHOLD,
            display: Display::Off,
            floor_s: 0.0,
        }
    }
}

/// Time between building the target and the first planned send, so threads are up by then.
const START_DELAY: Duration = Duration::from_millis(20);

/// Runs `profile` against the target `build` makes (it gets the run's [`Recorder`] and must
/// report every processed batch to it), sending copies of `pool`'s ticks. With
/// `options.floor_s > 0` the machine's floor is measured first, on the same schedule (see
/// [`super::floor`]), and reported beside the run.
pub fn run_load<T: Target>(
    profile: &LoadProfile,
    options: &RunOptions,
    pool: Vec<Tick>,
    build: impl FnOnce(Recorder) -> anyhow::Result<T>,
) -> anyhow::Result<LoadReport> {
    profile.validate()?;
    let floor = if options.floor_s > 0.0 {
        let floor_profile = floor::floor_profile(profile, options.floor_s);
        Some(floor::measure(&floor_profile, options, pool.clone())?)
    } else {
        None
    };
    let mut report = run_once(profile, options, pool, build)?;
    report.floor = floor.map(|f| f.compared_with(&report.metrics));
    Ok(report)
}

/// Measures the machine's floor on `profile` as given (its whole warm-up and window).
pub fn calibrate(
    profile: &LoadProfile,
    options: &RunOptions,
    pool: Vec<Tick>,
) -> anyhow::Result<CalibrationReport> {
    profile.validate()?;
    let timestamp = crate::timestamp::now_rfc3339();
    Ok(CalibrationReport {
        schema: SCHEMA.to_owned(),
        kind: "calibration".to_owned(),
        timestamp,
        floor: floor::measure(&floor::calibration_profile(profile), options, pool)?,
    })
}

/// One run of `profile` against the target `build` makes, without a floor.
pub fn run_once<T: Target>(
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
    let gaps = recorder.gaps();
    let generator = LoadGenerator::new(profile.clone(), pool)
        .late_threshold(options.late_threshold)
        .harness(harness.clone())
        .gaps(gaps.clone());
    let monitor = PerformanceMonitor::start(
        options.monitor_interval,
        t0,
        profile.warmup(),
        harness.clone(),
        gaps,
    )?;
    let live = Live::start(
        profile,
        t0,
        options.display,
        Sources {
            counters: generator.counters(),
            recorder: recorder.clone(),
            log: monitor.log(),
            harness,
        },
    )?;

    let sent = generator.run(&target, t0);
    // The monitor covers the load itself: stopped before the drain and the teardown, which
    // would otherwise show as CPU without load and as memory given back.
    live.stop();
    let monitor = monitor.stop();
    let stats = target.shutdown();
    let drained_ns = super::metrics::nanos_since(t0, Instant::now());

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
        latency_per_second: recorder.seconds(),
    };
    let verdict = options.sla.judge(&metrics, &monitor);
    Ok(LoadReport {
        schema: SCHEMA.to_owned(),
        kind: "run".to_owned(),
        timestamp,
        profile: profile.clone(),
        sla: options.sla.clone(),
        metrics,
        monitor,
        floor: None,
        verdict,
    })
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
