//! Latency recording and the figures of one run: [`Recorder`], [`LatencySummary`],
//! [`PerformanceMetrics`].
//!
//! # Method
//!
//! Every tick carries its *planned* send time in `ts_ns` (nanoseconds after the run's `t0`). When
//! the system under test hands a processed batch back (the pipeline's `SignalSink::on_batch`),
//! the recorder takes one clock reading `now` and, for every tick of the batch, records
//!
//! - **total** = `now − planned`: what a client would see, including any time the generator
//!   itself was late and all queueing;
//! - **queue delay** = `dequeued − planned`: time from the planned send until a shard took the
//!   batch off its queue;
//! - **service** = `now − dequeued`: time the shard spent on the batch.
//!
//! Measuring from the planned time (not from the actual send or from when a worker picked the
//! tick up) is what keeps the figures free of *coordinated omission* (Gil Tene, "How NOT to
//! Measure Latency", 2015): when the system stalls, the ticks that should have been sent during
//! the stall are still charged the stall. Because the timing is already open-loop, HdrHistogram's
//! `record_correct` must not be used on top (it would correct twice).
//!
//! Values go into [HdrHistogram](https://hdrhistogram.github.io/HdrHistogram/) histograms (ns,
//! 3 significant digits: every percentile is within 0.1 % of the true value) — one set per shard,
//! behind a mutex that only that shard's task and, once a second, the progress line take, merged
//! at the end. Ticks planned inside the warm-up are counted but not recorded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::engine::tick::Tick;

/// Largest latency a histogram tracks: one hour, in ns. Larger values are clamped to it.
pub const MAX_TRACKABLE_NS: u64 = 3_600_000_000_000;
/// Significant digits kept by every histogram.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// A new, empty latency histogram (1 ns .. 1 h, 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid")
}

/// The three latency histograms of one shard (or of a whole run, once merged).
#[derive(Clone, Debug)]
pub struct LatencyHistograms {
    /// Planned send → batch processed.
    pub total: Histogram<u64>,
    /// Planned send → batch taken off the shard's queue.
    pub queue: Histogram<u64>,
    /// Batch taken off the queue → batch processed.
    pub service: Histogram<u64>,
}

impl LatencyHistograms {
    /// Three empty histograms.
    pub fn new() -> Self {
        LatencyHistograms {
            total: new_histogram(),
            queue: new_histogram(),
            service: new_histogram(),
        }
    }

    /// Adds another set into this one.
    pub fn merge(&mut self, other: &LatencyHistograms) {
        // Same bounds everywhere, so `add` cannot fail.
        self.total.add(&other.total).expect("same bounds");
        self.queue.add(&other.queue).expect("same bounds");
        self.service.add(&other.service).expect("same bounds");
    }
}

impl Default for LatencyHistograms {
    fn default() -> Self {
        Self::new()
    }
}

struct ShardState {
    latency: LatencyHistograms,
    /// Total latency since the progress line last looked (reset by it).
    interval: Histogram<u64>,
    /// Ticks processed whose planned time fell in the warm-up.
    warmup_completed: u64,
}

struct Shared {
    t0: Instant,
    warmup_ns: u64,
    shards: Vec<Mutex<ShardState>>,
    signals: AtomicU64,
}

/// Records the latency of processed ticks; cheap to clone (one clone per pipeline shard).
///
/// Feed it with [`Recorder::record_batch`] from the system under test's completion callback.
#[derive(Clone)]
pub struct Recorder {
    shared: Arc<Shared>,
}

impl Recorder {
    /// A recorder for a run that started at `t0`, ignoring ticks planned in the first
    /// `warmup_ns`, with one histogram set per shard (`shards` ≥ 1).
    pub fn new(t0: Instant, warmup_ns: u64, shards: usize) -> Self {
        let shards = (0..shards.max(1))
            .map(|_| {
                Mutex::new(ShardState {
                    latency: LatencyHistograms::new(),
                    interval: new_histogram(),
                    warmup_completed: 0,
                })
            })
            .collect();
        Recorder {
            shared: Arc::new(Shared {
                t0,
                warmup_ns,
                shards,
                signals: AtomicU64::new(0),
            }),
        }
    }

    /// The run's time origin: a tick's planned send time is `t0 + ts_ns`.
    pub fn t0(&self) -> Instant {
        self.shared.t0
    }

    fn shard(&self, shard: usize) -> MutexGuard<'_, ShardState> {
        let shards = &self.shared.shards;
        // A panic while holding the lock leaves histograms that are still consistent.
        shards[shard % shards.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Records a processed batch: `ticks` (each with its planned offset in `ts_ns`) were taken
    /// off `shard`'s queue at `dequeued`, produced `signals` signals, and are done now.
    pub fn record_batch(&self, shard: usize, ticks: &[Tick], signals: usize, dequeued: Instant) {
        let now = Instant::now();
        let now_ns = nanos_since(self.shared.t0, now);
        let dequeued_ns = nanos_since(self.shared.t0, dequeued).min(now_ns);
        if signals > 0 {
            self.shared
                .signals
                .fetch_add(signals as u64, Ordering::Relaxed);
        }
        let warmup_ns = self.shared.warmup_ns;
        let mut state = self.shard(shard);
        let mut measured = 0;
        for tick in ticks {
            if tick.ts_ns < warmup_ns {
                state.warmup_completed += 1;
                continue;
            }
            measured += 1;
            let total = now_ns.saturating_sub(tick.ts_ns);
            state.latency.total.saturating_record(total);
            state
                .latency
                .queue
                .saturating_record(dequeued_ns.saturating_sub(tick.ts_ns));
            state.interval.saturating_record(total);
        }
        if measured > 0 {
            state
                .latency
                .service
                .saturating_record_n(now_ns - dequeued_ns, measured);
        }
    }

    /// Signals reported so far.
    pub fn signals(&self) -> u64 {
        self.shared.signals.load(Ordering::Relaxed)
    }

    /// Merges and resets every shard's interval histogram: the total latency of the ticks
    /// completed since the last call (for the progress line).
    pub fn take_interval(&self) -> Histogram<u64> {
        let mut merged = new_histogram();
        for shard in 0..self.shared.shards.len() {
            let mut state = self.shard(shard);
            merged.add(&state.interval).expect("same bounds");
            state.interval.reset();
        }
        merged
    }

    /// Merges every shard's histograms; also returns the count of warm-up ticks completed.
    pub fn merged(&self) -> (LatencyHistograms, u64) {
        let mut merged = LatencyHistograms::new();
        let mut warmup = 0;
        for shard in 0..self.shared.shards.len() {
            let state = self.shard(shard);
            merged.merge(&state.latency);
            warmup += state.warmup_completed;
        }
        (merged, warmup)
    }
}

/// Nanoseconds from `t0` to `t` (0 if `t` is earlier), saturating at `u64::MAX`.
pub fn nanos_since(t0: Instant, t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(t0).as_nanos()).unwrap_or(u64::MAX)
}

/// Percentiles of one latency distribution, in microseconds (float, for readable reports).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Number of values.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: f64,
    /// 95th percentile.
    pub p95_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest value.
    pub max_us: f64,
}

impl LatencySummary {
    /// Summarises a histogram of nanosecond values. An empty histogram gives all zeros.
    ///
    /// Percentiles are HdrHistogram's `value_at_quantile`: the highest value equivalent (within
    /// the 3-digit precision) to the smallest recorded value with at least that fraction of the
    /// values at or below it.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        let us = |ns: u64| ns as f64 / 1000.0;
        if h.is_empty() {
            return LatencySummary {
                count: 0,
                mean_us: 0.0,
                p50_us: 0.0,
                p95_us: 0.0,
                p99_us: 0.0,
                p999_us: 0.0,
                max_us: 0.0,
            };
        }
        LatencySummary {
            count: h.len(),
            mean_us: h.mean() / 1000.0,
            p50_us: us(h.value_at_quantile(0.50)),
            p95_us: us(h.value_at_quantile(0.95)),
            p99_us: us(h.value_at_quantile(0.99)),
            p999_us: us(h.value_at_quantile(0.999)),
            max_us: us(h.max()),
        }
    }
}

/// The figures of one run: latency, rate and losses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerformanceMetrics {
    /// Planned send → processed, for every measured tick.
    pub latency_total: LatencySummary,
    /// Planned send → taken off a shard's queue.
    pub latency_queue: LatencySummary,
    /// Taken off the queue → processed.
    pub latency_service: LatencySummary,
    /// How late the generator released ticks (actual − planned send time): its own share.
    pub send_lag: LatencySummary,
    /// Offered rate in the measured window, ticks/s (steady rate plus bursts).
    pub target_rate: f64,
    /// Ticks actually sent in the measured window per second of the window as it really lasted
    /// (from the end of the warm-up to the last send).
    pub achieved_rate: f64,
    /// `achieved_rate / target_rate`.
    pub achieved_ratio: f64,
    /// Ticks planned in the measured window.
    pub planned: u64,
    /// Ticks sent in the measured window.
    pub sent: u64,
    /// Measured ticks processed (recorded in `latency_total`).
    pub completed: u64,
    /// Measured ticks released later than the late threshold after their planned time.
    pub late_sends: u64,
    /// The late threshold, µs.
    pub late_threshold_us: f64,
    /// Sends the system under test refused (e.g. the pipeline was closed).
    pub errors: u64,
    /// Ticks the system under test dropped (overload policy), over the whole run.
    pub dropped: u64,
    /// Measured ticks sent but neither processed nor reported dropped.
    pub lost: u64,
    /// Signals the engine emitted over the whole run.
    pub signals: u64,
    /// Wall time from the start of sending to the end of the drain, seconds.
    pub wall_s: f64,
}

impl PerformanceMetrics {
    /// Errors, drops and lost ticks together: what the SLA's "failures" counts.
    pub fn failures(&self) -> u64 {
        self.errors + self.dropped + self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_ten_thousand() {
        // 1..=10_000 µs, uniform: the q-quantile is q * 10 ms, within HdrHistogram's 0.1 %.
        let mut h = new_histogram();
        for us in 1..=10_000u64 {
            h.record(us * 1000).unwrap();
        }
        let s = LatencySummary::from_histogram(&h);
        assert_eq!(s.count, 10_000);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 1e-9;
        assert!(close(s.p50_us, 5_000.0), "p50 {}", s.p50_us);
        assert!(close(s.p95_us, 9_500.0), "p95 {}", s.p95_us);
        assert!(close(s.p99_us, 9_900.0), "p99 {}", s.p99_us);
        assert!(close(s.p999_us, 9_990.0), "p99.9 {}", s.p999_us);
        assert!(close(s.max_us, 10_000.0), "max {}", s.max_us);
        assert!(close(s.mean_us, 5_000.5), "mean {}", s.mean_us);
    }

    #[test]
    fn a_rare_outlier_shows_in_the_tail_only() {
        // 990 values of 10 µs and 10 of 1 s: p50 and p95 stay at 10 µs, p99 jumps to 1 s.
        let mut h = new_histogram();
        h.record_n(10_000, 990).unwrap();
        h.record_n(1_000_000_000, 10).unwrap();
        let s = LatencySummary::from_histogram(&h);
        assert!((s.p50_us - 10.0).abs() < 0.01 && (s.p95_us - 10.0).abs() < 0.01);
        assert!(
            (s.p99_us - 10.0).abs() < 0.01,
            "p99 is the 990th value: {}",
            s.p99_us
        );
        assert!(
            (s.p999_us - 1_000_000.0).abs() < 1_000.0,
            "p99.9 {}",
            s.p999_us
        );
        assert!((s.max_us - 1_000_000.0).abs() < 1_000.0);
    }

    #[test]
    fn empty_histogram_summarises_to_zero() {
        let s = LatencySummary::from_histogram(&new_histogram());
        assert_eq!((s.count, s.p99_us, s.max_us), (0, 0.0, 0.0));
    }

    #[test]
    fn recorder_measures_from_planned_time_and_skips_warmup() {
        let t0 = Instant::now() - std::time::Duration::from_millis(50);
        let rec = Recorder::new(t0, 10_000_000, 2);
        let tick = |planned_ms: u64| Tick {
            ts_ns: planned_ms * 1_000_000,
            price: 1.0,
            symbol: 0,
            size: 1,
        };
        // Planned at 5 ms (warm-up) and at 20 ms; dequeued at 30 ms; done now (≥ 50 ms).
        let dequeued = t0 + std::time::Duration::from_millis(30);
        rec.record_batch(1, &[tick(5), tick(20)], 3, dequeued);
        let (h, warmup) = rec.merged();
        assert_eq!((h.total.len(), warmup, rec.signals()), (1, 1, 3));
        let ms = |ns: u64| ns as f64 / 1e6;
        assert!(
            ms(h.total.max()) >= 29.9,
            "total from planned: {}",
            ms(h.total.max())
        );
        assert!(
            (ms(h.queue.max()) - 10.0).abs() < 0.02,
            "queue {}",
            ms(h.queue.max())
        );
        assert!(
            ms(h.service.max()) >= 19.9,
            "service {}",
            ms(h.service.max())
        );
        assert_eq!(rec.take_interval().len(), 1);
        assert_eq!(rec.take_interval().len(), 0, "interval resets");
    }

    #[test]
    fn shards_merge() {
        let t0 = Instant::now();
        let rec = Recorder::new(t0, 0, 3);
        let ticks = [Tick {
            ts_ns: 0,
            price: 1.0,
            symbol: 0,
            size: 1,
        }];
        for shard in 0..5 {
            rec.record_batch(shard, &ticks, 0, t0);
        }
        assert_eq!(rec.merged().0.total.len(), 5);
        assert_eq!(rec.merged().0.service.len(), 5);
    }
}
