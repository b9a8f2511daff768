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
//! behind a mutex that only that shard's task and, once a second, the live status thread take,
//! merged at the end. Ticks planned inside the warm-up are counted but not recorded.
//!
//! # Per-second series
//!
//! Total latency is also recorded per second of the measured window, by *completion* time:
//! second `k` holds the ticks completed in `[t0 + warmup + k s, t0 + warmup + (k + 1) s)`, so a
//! stall shows in the second it ends, with its length as that second's max (and the ticks that
//! waited behind it in its p99). Each shard fills one histogram (2 significant digits: 1 %)
//! for the second it is in and sets it aside when a batch completes in a later second; the live
//! thread collects the pieces once a second ([`Recorder::collect_seconds`]), merges them and
//! summarises a second once the next one is over too, so memory stays at a few histograms
//! however long the run. A piece arriving after its second was summarised (a shard that stalled
//! for over a second between its clock read and its recording) adds to that second's count and
//! max only.
//!
//! The recorder also notes the system under test's longest gap between two completed batches of
//! a shard ([`super::monitor::Gaps`]), which the monitor reads at every sample.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::monitor::Gaps;
use crate::engine::tick::Tick;

/// Largest latency a histogram tracks: one hour, in ns. Larger values are clamped to it.
pub const MAX_TRACKABLE_NS: u64 = 3_600_000_000_000;
/// Significant digits kept by every histogram.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// Significant digits of the per-second histograms: 1 % is plenty to see a spike, and a
/// histogram is 37 KiB instead of 270 KiB.
pub const SECOND_SIGNIFICANT_DIGITS: u8 = 2;

/// A new, empty latency histogram (1 ns .. 1 h, 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid")
}

fn new_second_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, SECOND_SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid")
}

const NS_PER_S: u64 = 1_000_000_000;

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
    /// The completion second being filled and its total latencies.
    second: Option<(u64, Histogram<u64>)>,
    /// Earlier seconds' pieces, waiting for [`Recorder::collect_seconds`].
    done: Vec<(u64, Histogram<u64>)>,
    /// When the shard's last batch completed, ns after `t0` (0: none yet).
    last_done_ns: u64,
    /// Ticks processed whose planned time fell in the warm-up.
    warmup_completed: u64,
}

/// The per-second series being assembled.
#[derive(Default)]
struct Series {
    /// Seconds with pieces merged but not yet summarised.
    open: BTreeMap<u64, Histogram<u64>>,
    /// Summarised seconds, in order.
    closed: Vec<SecondSummary>,
}

impl Series {
    fn add(&mut self, second: u64, piece: &Histogram<u64>) {
        match self.closed.binary_search_by_key(&second, |s| s.second) {
            Ok(i) => {
                let s = &mut self.closed[i];
                s.count += piece.len();
                s.max_us = s.max_us.max(piece.max() as f64 / 1000.0);
            }
            Err(_) => {
                self.open
                    .entry(second)
                    .or_insert_with(new_second_histogram)
                    .add(piece)
                    .expect("same bounds");
            }
        }
    }

    /// Summarises every open second before `before`.
    fn close_before(&mut self, before: u64) {
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() >= before {
                break;
            }
            let (second, h) = entry.remove_entry();
            self.closed.push(SecondSummary::new(second, &h));
        }
        self.closed.sort_by_key(|s| s.second);
    }
}

struct Shared {
    t0: Instant,
    warmup_ns: u64,
    shards: Vec<Mutex<ShardState>>,
    signals: AtomicU64,
    series: Mutex<Series>,
    gaps: Gaps,
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
                    second: None,
                    done: Vec::new(),
                    last_done_ns: 0,
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
                series: Mutex::default(),
                gaps: Gaps::default(),
            }),
        }
    }

    /// The run's time origin: a tick's planned send time is `t0 + ts_ns`.
    pub fn t0(&self) -> Instant {
        self.shared.t0
    }

    /// Where the recorder notes the system under test's gaps (share it with the monitor).
    pub fn gaps(&self) -> Gaps {
        self.shared.gaps.clone()
    }

    /// The second of the measured window that `t_ns` (ns after `t0`) falls in; `None` during
    /// the warm-up.
    fn second_of(&self, t_ns: u64) -> Option<u64> {
        t_ns.checked_sub(self.shared.warmup_ns)
            .map(|d| d / NS_PER_S)
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
        self.record_batch_at(shard, ticks, signals, dequeued, Instant::now());
    }

    fn record_batch_at(
        &self,
        shard: usize,
        ticks: &[Tick],
        signals: usize,
        dequeued: Instant,
        now: Instant,
    ) {
        let now_ns = nanos_since(self.shared.t0, now);
        let dequeued_ns = nanos_since(self.shared.t0, dequeued).min(now_ns);
        if signals > 0 {
            self.shared
                .signals
                .fetch_add(signals as u64, Ordering::Relaxed);
        }
        let warmup_ns = self.shared.warmup_ns;
        let second = self.second_of(now_ns);
        let mut state = self.shard(shard);
        if state.last_done_ns > 0 {
            self.shared
                .gaps
                .sut(now_ns.saturating_sub(state.last_done_ns));
        }
        state.last_done_ns = state.last_done_ns.max(now_ns);
        let state = &mut *state;
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
        }
        if measured > 0 {
            state
                .latency
                .service
                .saturating_record_n(now_ns - dequeued_ns, measured);
            // A measured tick completes at or after its planned time, so after the warm-up.
            let second = second.unwrap_or(0);
            let piece = match &mut state.second {
                Some((s, h)) if *s == second => h,
                slot => {
                    if let Some(old) = slot.replace((second, new_second_histogram())) {
                        state.done.push(old);
                    }
                    &mut slot.as_mut().expect("just set").1
                }
            };
            for tick in ticks.iter().filter(|t| t.ts_ns >= warmup_ns) {
                piece.saturating_record(now_ns.saturating_sub(tick.ts_ns));
            }
        }
    }

    /// Signals reported so far.
    pub fn signals(&self) -> u64 {
        self.shared.signals.load(Ordering::Relaxed)
    }

    /// Collects the shards' per-second pieces completed before `now`, summarises every second
    /// that ended over a second before `now`, and returns the newest second that has ended (as
    /// far as collected: for a live view). `None` before the first measured second has ended.
    pub fn collect_seconds(&self, now: Instant) -> Option<SecondSummary> {
        let current = self.second_of(nanos_since(self.shared.t0, now))?;
        let mut series = self.gather(Some(current));
        series.close_before(current.saturating_sub(1));
        let last = current.checked_sub(1)?;
        series
            .open
            .get(&last)
            .map(|h| SecondSummary::new(last, h))
            .or_else(|| {
                series
                    .closed
                    .iter()
                    .rev()
                    .find(|s| s.second == last)
                    .cloned()
            })
    }

    /// The whole per-second series, every piece collected and every second summarised: call it
    /// once the system under test has shut down. Seconds without a completion are left out.
    pub fn seconds(&self) -> Vec<SecondSummary> {
        let mut series = self.gather(None);
        series.close_before(u64::MAX);
        series.closed.clone()
    }

    /// Moves the shards' finished pieces (and, for seconds before `before` or with `None`,
    /// the pieces being filled) into the series.
    fn gather(&self, before: Option<u64>) -> MutexGuard<'_, Series> {
        let mut pieces = Vec::new();
        for shard in 0..self.shared.shards.len() {
            let mut state = self.shard(shard);
            pieces.append(&mut state.done);
            let finished = match (&state.second, before) {
                (Some((s, _)), Some(b)) => *s < b,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if finished {
                pieces.extend(state.second.take());
            }
        }
        // Merged outside the shards' locks: a shard never waits for a merge.
        let mut series = self.shared.series.lock().unwrap_or_else(|e| e.into_inner());
        for (second, piece) in &pieces {
            series.add(*second, piece);
        }
        series
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

/// Total latency of the ticks completed in one second of the measured window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecondSummary {
    /// Second of the measured window (0 = the first second after the warm-up), by completion
    /// time.
    pub second: u64,
    /// Ticks completed in it.
    pub count: u64,
    /// Median, µs (1 % precision).
    pub p50_us: f64,
    /// 99th percentile, µs (1 % precision).
    pub p99_us: f64,
    /// Largest value, µs.
    pub max_us: f64,
}

impl SecondSummary {
    fn new(second: u64, h: &Histogram<u64>) -> Self {
        let us = |ns: u64| ns as f64 / 1000.0;
        SecondSummary {
            second,
            count: h.len(),
            p50_us: us(h.value_at_quantile(0.50)),
            p99_us: us(h.value_at_quantile(0.99)),
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
    /// Total latency per second of the measured window, by completion time (see the module
    /// docs); seconds without a completion are left out.
    pub latency_per_second: Vec<SecondSummary>,
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
    }

    fn tick_at(ms: u64) -> Tick {
        Tick {
            ts_ns: ms * 1_000_000,
            price: 1.0,
            symbol: 0,
            size: 1,
        }
    }

    #[test]
    fn seconds_are_by_completion_and_a_stall_shows_in_the_second_it_ends() {
        // Warm-up 500 ms. Shard 0 completes a tick each 100 ms; a tick planned at 2 300 ms is
        // held until 2 650 ms (a 350 ms stall) while shard 1 completes on time.
        let t0 = Instant::now();
        let at = |ms: u64| t0 + std::time::Duration::from_millis(ms);
        let rec = Recorder::new(t0, 500_000_000, 2);
        for ms in (600..4_000).step_by(100) {
            if !(2_300..2_650).contains(&ms) {
                rec.record_batch_at(0, &[tick_at(ms - 1)], 0, at(ms), at(ms));
            }
            rec.record_batch_at(1, &[tick_at(ms - 1)], 0, at(ms), at(ms));
        }
        rec.record_batch_at(0, &[tick_at(2_300)], 0, at(2_650), at(2_650));
        // Live: at 2 800 ms (second 2 of the window), second 1 is the newest that has ended.
        let live = rec.collect_seconds(at(2_800)).unwrap();
        assert_eq!((live.second, live.count), (1, 18));
        assert!(
            rec.collect_seconds(at(700)).is_none(),
            "no second has ended"
        );
        let seconds = rec.seconds();
        let got: Vec<(u64, u64)> = seconds.iter().map(|s| (s.second, s.count)).collect();
        // Completions at 600..1 400 → second 0 (9 per shard), 1 500..2 400 → 1 (10 per shard,
        // but shard 0 misses 2 300 and 2 400), 2 500..3 400 → 2 (shard 0 misses 2 500 and
        // 2 600 and adds the stalled tick at 2 650), 3 500..3 900 → 3.
        assert_eq!(got, [(0, 18), (1, 18), (2, 19), (3, 10)]);
        let stalled = &seconds[2];
        assert!((stalled.max_us - 350_000.0).abs() < 3_500.0, "{stalled:?}");
        assert!(seconds[1].max_us < 2_000.0 && seconds[3].max_us < 2_000.0);
        // The merged series agrees with the whole-run histogram.
        let total: u64 = seconds.iter().map(|s| s.count).sum();
        assert_eq!(total, rec.merged().0.total.len());
    }

    #[test]
    fn a_late_piece_of_a_summarised_second_adds_to_its_count_and_max() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + std::time::Duration::from_millis(ms);
        let rec = Recorder::new(t0, 0, 1);
        rec.record_batch_at(0, &[tick_at(100)], 0, at(200), at(200));
        // Collected and summarised at 3 s (seconds before 2 are closed)...
        rec.collect_seconds(at(3_000));
        // ... then a piece of second 0 turns up (its clock was read before the boundary).
        rec.record_batch_at(0, &[tick_at(0)], 0, at(900), at(900));
        let seconds = rec.seconds();
        assert_eq!(seconds.len(), 1);
        assert_eq!(seconds[0].count, 2);
        assert!(
            (seconds[0].max_us - 900_000.0).abs() < 9_000.0,
            "{seconds:?}"
        );
    }

    #[test]
    fn the_longest_gap_between_completions_is_noted() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + std::time::Duration::from_millis(ms);
        let rec = Recorder::new(t0, 0, 2);
        let gaps = rec.gaps();
        rec.record_batch_at(0, &[tick_at(0)], 0, at(1), at(1));
        rec.record_batch_at(1, &[tick_at(0)], 0, at(1), at(1));
        rec.record_batch_at(0, &[tick_at(10)], 0, at(11), at(11));
        rec.record_batch_at(1, &[tick_at(300)], 0, at(301), at(301));
        assert_eq!(gaps.take(), (300_000_000, 0));
        assert_eq!(gaps.take(), (0, 0), "taking resets");
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
