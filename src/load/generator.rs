//! Open-loop load generation: the [`Schedule`] of planned send times and the [`LoadGenerator`]
//! that keeps to it.
//!
//! # Method
//!
//! Tick `i` of the steady stream is planned at `t0 + i / rate` and burst `j ≥ 1` releases
//! `burst_size` extra ticks planned together at `t0 + j · burst_interval`: an *absolute*
//! timeline, so a slow send or a late wake-up never shifts the ticks after it (relative sleeps
//! would, and the offered rate would silently sink below the target). Each producer thread owns
//! every `producers`-th tick of that timeline. On every wake-up it takes the clock once and
//! releases, as one batch, every tick whose planned time has passed (up to [`MAX_BATCH`]); if
//! nothing is due it waits for the next *release point*: the first point of the grid
//! `t0 + k · release_interval` (the profile's `release_interval_us`) at or after the next
//! planned time, or that planned time itself when the interval is 0. At 1 M ticks/s a producer
//! that released every tick at its own time would hand the pipeline a million one-tick batches a
//! second, each waking a shard; on the default 10 µs grid it hands over ~10-tick batches. Each
//! tick's latency still counts from its own planned time, so the wait for the release point is
//! measured, not hidden.
//!
//! # Sleeping, not spinning
//!
//! The producer *sleeps* until its release point (a timed sleep, with the thread's timer slack
//! cut to 1 µs), spinning only when less than [`SPIN_BELOW`] remains. A sleep ends some µs late
//! (5–10 µs on these VMs), which adds that much to the median; a spin would be exact. But a
//! producer that spins is a thread that never leaves its CPU, and on a 2-core machine the
//! pipeline's worker then has to share that CPU whenever anything else runs on the other one (a
//! compiler, another test, a daemon): the scheduler time-slices the two in millisecond slices,
//! and every tick waits for the producer's slice to end. That was the quick profile's p99 of
//! 2–5 ms with a service time of a few µs and the full rate achieved: in 45 alternating runs on
//! a 2-vCPU VM with one CPU taken by another process, the per-second p99 was 4.2 ms (median)
//! with a spinning producer, for the pipeline and for the floor alike, and 116 µs (floor 87 µs)
//! with a sleeping one; pinning the producer and the worker to separate CPUs (9.5 ms) or
//! keeping the worker awake by spinning before it parks (4.6 ms) did not help. A sleeping
//! producer leaves its CPU to the worker, and the scheduler wakes it promptly because it uses
//! little CPU.
//!
//! The system under test is reached through the small [`Target`] / [`Submitter`] traits, so the
//! same generator drives the tokio pipeline ([`super::target::PipelineTarget`]) and the
//! deliberately slow or stalled targets of the tests. A submit that blocks (a full queue under
//! the `Block` policy) delays the ticks behind it; they are then released late, counted as late
//! sends, and charged the delay in their latency — the achieved rate drops visibly rather than
//! silently.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::metrics::{nanos_since, new_histogram};
use super::monitor::{Gaps, HarnessThreads};
use super::profile::LoadProfile;
use crate::engine::tick::Tick;

/// Most ticks released in one submit: bounds the batch a late wake-up hands to the target.
pub const MAX_BATCH: usize = 4096;
/// A tick released more than this after its planned time counts as a late send.
pub const DEFAULT_LATE_THRESHOLD: Duration = Duration::from_millis(1);
/// Less time than this before a release point is spun rather than slept: a sleep costs a
/// system call and a timer wake-up, several µs in a VM. Anything longer is slept (see the
/// module docs for why not to spin).
pub const SPIN_BELOW: Duration = Duration::from_micros(2);

/// The system under test refused a submit (e.g. it was shut down).
#[derive(Debug, thiserror::Error)]
#[error("the system under test refused the ticks: {0}")]
pub struct SubmitError(pub String);

/// One producer's handle on the system under test.
pub trait Submitter: Send + 'static {
    /// Hands over a batch of ticks (each with its planned offset in `ts_ns`). May block while
    /// the target applies back-pressure.
    fn submit(&mut self, ticks: &[Tick]) -> Result<(), SubmitError>;
}

/// What the target reports when it shuts down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TargetStats {
    /// Ticks it accepted.
    pub received: u64,
    /// Ticks it processed.
    pub processed: u64,
    /// Ticks it dropped under its overload policy.
    pub dropped: u64,
}

/// The system under test: hands out one [`Submitter`] per producer and drains on shutdown.
///
/// Completions are reported by the target to the run's [`super::metrics::Recorder`], which the
/// target gets when it is built.
pub trait Target {
    /// The per-producer handle.
    type Submitter: Submitter;
    /// A new handle for one producer thread.
    fn submitter(&self) -> Self::Submitter;
    /// Processes everything accepted so far, stops, and reports its counts.
    fn shutdown(self) -> TargetStats;
}

/// The planned send times of one producer, in ns after `t0`, non-decreasing.
#[derive(Clone, Debug)]
pub struct Schedule {
    rate: f64,
    /// Next steady index (global, so `i * period` is exact for every producer).
    next_steady: u64,
    step: u64,
    burst_interval_ns: u64,
    /// Burst number `j` of the next burst (planned at `j * burst_interval_ns`).
    next_burst: u64,
    /// This producer's share of each burst.
    burst_share: u64,
    /// Burst ticks still to release at `next_burst`'s time.
    burst_left: u64,
    end_ns: u64,
}

impl Schedule {
    /// Producer `producer`'s share (of `profile.producers`) of the profile's timeline.
    pub fn new(profile: &LoadProfile, producer: u32) -> Self {
        let producers = u64::from(profile.producers.max(1));
        let producer = u64::from(producer) % producers;
        let (burst_interval_ns, burst_share) = if profile.has_bursts() {
            let size = u64::from(profile.burst_size);
            let share = size / producers + u64::from(producer < size % producers);
            (
                (profile.burst_interval_ms * 1e6).round().max(1.0) as u64,
                share,
            )
        } else {
            (u64::MAX, 0)
        };
        Schedule {
            rate: profile.rate,
            next_steady: producer,
            step: producers,
            burst_interval_ns,
            next_burst: 1,
            burst_share,
            burst_left: burst_share,
            end_ns: u64::try_from(profile.total().as_nanos()).unwrap_or(u64::MAX),
        }
    }

    fn steady_at(&self) -> u64 {
        // `i * 1e9 / rate` rather than `i * period`: exact whenever the true time is whole ns.
        (self.next_steady as f64 * 1e9 / self.rate) as u64
    }

    fn burst_at(&self) -> u64 {
        if self.burst_share == 0 {
            u64::MAX
        } else {
            self.next_burst.saturating_mul(self.burst_interval_ns)
        }
    }

    /// Planned time of the next tick, without taking it; `None` once past the end.
    pub fn peek(&self) -> Option<u64> {
        let at = self.steady_at().min(self.burst_at());
        (at < self.end_ns).then_some(at)
    }
}

impl Iterator for Schedule {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let steady = self.steady_at();
        let burst = self.burst_at();
        if burst <= steady {
            if burst >= self.end_ns {
                return None;
            }
            self.burst_left -= 1;
            if self.burst_left == 0 {
                self.next_burst += 1;
                self.burst_left = self.burst_share;
            }
            Some(burst)
        } else {
            if steady >= self.end_ns {
                return None;
            }
            self.next_steady += self.step;
            Some(steady)
        }
    }
}

/// Live counters the progress line reads while producers run.
#[derive(Debug, Default)]
pub struct SendCounters {
    /// Ticks submitted so far (warm-up included).
    pub sent: AtomicU64,
}

/// What one or more producers did, merged.
#[derive(Clone, Debug)]
pub struct SendReport {
    /// Ticks planned in the measured window.
    pub planned: u64,
    /// Ticks submitted successfully in the measured window.
    pub sent: u64,
    /// Measured ticks released later than the late threshold.
    pub late: u64,
    /// Submits refused, counted in ticks.
    pub errors: u64,
    /// Ticks submitted successfully over the whole run (warm-up included).
    pub sent_total: u64,
    /// Release lag (actual − planned) of every measured tick, ns.
    pub lag: Histogram<u64>,
    /// When the last tick was handed over, ns after `t0`.
    pub last_send_ns: u64,
}

impl SendReport {
    fn empty() -> Self {
        SendReport {
            planned: 0,
            sent: 0,
            late: 0,
            errors: 0,
            sent_total: 0,
            lag: new_histogram(),
            last_send_ns: 0,
        }
    }

    fn merge(&mut self, other: &SendReport) {
        self.planned += other.planned;
        self.sent += other.sent;
        self.late += other.late;
        self.errors += other.errors;
        self.sent_total += other.sent_total;
        self.lag.add(&other.lag).expect("same bounds");
        self.last_send_ns = self.last_send_ns.max(other.last_send_ns);
    }
}

/// Drives a [`Target`] on a profile's schedule from `profile.producers` threads.
pub struct LoadGenerator {
    profile: LoadProfile,
    pool: Arc<[Tick]>,
    late_threshold: Duration,
    counters: Arc<SendCounters>,
    harness: HarnessThreads,
    gaps: Gaps,
}

impl LoadGenerator {
    /// A generator sending copies of `pool`'s ticks in turn, cycling (each stamped with its
    /// planned time in `ts_ns`). `pool` must not be empty.
    pub fn new(profile: LoadProfile, pool: Vec<Tick>) -> Self {
        assert!(!pool.is_empty(), "the tick pool must not be empty");
        LoadGenerator {
            profile,
            pool: pool.into(),
            late_threshold: DEFAULT_LATE_THRESHOLD,
            counters: Arc::default(),
            harness: HarnessThreads::default(),
            gaps: Gaps::default(),
        }
    }

    /// Notes the producers' gaps (how late each wake-up came) in `gaps`, for the monitor.
    pub fn gaps(mut self, gaps: Gaps) -> Self {
        self.gaps = gaps;
        self
    }

    /// Registers the producer threads with `harness`, so the monitor can tell their CPU from
    /// the system under test's.
    pub fn harness(mut self, harness: HarnessThreads) -> Self {
        self.harness = harness;
        self
    }

    /// Sets the late-send threshold (default [`DEFAULT_LATE_THRESHOLD`]).
    pub fn late_threshold(mut self, threshold: Duration) -> Self {
        self.late_threshold = threshold;
        self
    }

    /// Counters that can be read while [`LoadGenerator::run`] runs.
    pub fn counters(&self) -> Arc<SendCounters> {
        Arc::clone(&self.counters)
    }

    /// Runs the whole schedule against `target` from `t0` (which should be now or just ahead)
    /// and returns once every producer has released its last tick. Does not shut the target
    /// down.
    pub fn run<T: Target>(&self, target: &T, t0: Instant) -> SendReport {
        let handles: Vec<_> = (0..self.profile.producers)
            .map(|producer| {
                let submitter = target.submitter();
                let job = ProducerJob {
                    schedule: Schedule::new(&self.profile, producer),
                    pool: Arc::clone(&self.pool),
                    pool_offset: producer as usize,
                    pool_step: self.profile.producers.max(1) as usize,
                    t0,
                    release_ns: self.profile.release_interval_ns(),
                    warmup_ns: u64::try_from(self.profile.warmup().as_nanos()).unwrap_or(u64::MAX),
                    late_ns: u64::try_from(self.late_threshold.as_nanos()).unwrap_or(u64::MAX),
                    counters: Arc::clone(&self.counters),
                    harness: self.harness.clone(),
                    gaps: self.gaps.clone(),
                };
                std::thread::Builder::new()
                    .name(format!("load-producer-{producer}"))
                    .spawn(move || job.run(submitter))
                    .expect("spawn a producer thread")
            })
            .collect();
        let mut report = SendReport::empty();
        for handle in handles {
            match handle.join() {
                Ok(one) => report.merge(&one),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        report
    }
}

struct ProducerJob {
    schedule: Schedule,
    pool: Arc<[Tick]>,
    /// Producer `k` of `n` sends pool entries `k, k + n, k + 2n, …`, so that together the
    /// producers replay the pool in order rather than each sending the same ticks.
    pool_offset: usize,
    pool_step: usize,
    t0: Instant,
    /// The release grid's step (0 = release each tick at its planned time).
    release_ns: u64,
    warmup_ns: u64,
    late_ns: u64,
    counters: Arc<SendCounters>,
    harness: HarnessThreads,
    gaps: Gaps,
}

impl ProducerJob {
    fn run<S: Submitter>(mut self, mut submitter: S) -> SendReport {
        let me = self.harness.register_current();
        cut_timer_slack();
        let mut report = SendReport::empty();
        let mut batch: Vec<Tick> = Vec::with_capacity(MAX_BATCH);
        let mut next_tick = self.pool_offset % self.pool.len();
        // When the producer was last ready to go on (its release point after a wait, the end of
        // its submit after a release): how late it then woke is its gap.
        let mut ready_ns = None;
        while let Some(next) = self.schedule.peek() {
            let now = Instant::now();
            let now_ns = nanos_since(self.t0, now);
            if let Some(ready) = ready_ns {
                self.gaps.harness(now_ns.saturating_sub(ready));
            }
            if next > now_ns {
                let release_at = match self.release_ns {
                    0 => next,
                    grid => next.div_ceil(grid).saturating_mul(grid),
                };
                wait_until(self.t0 + Duration::from_nanos(release_at));
                ready_ns = Some(release_at);
                continue;
            }
            let mut measured_in_batch = 0;
            while batch.len() < MAX_BATCH {
                match self.schedule.peek() {
                    Some(planned) if planned <= now_ns => {
                        self.schedule.next();
                        let mut tick = self.pool[next_tick];
                        next_tick = (next_tick + self.pool_step) % self.pool.len();
                        tick.ts_ns = planned;
                        batch.push(tick);
                        if planned >= self.warmup_ns {
                            measured_in_batch += 1;
                            let lag = now_ns - planned;
                            report.lag.saturating_record(lag);
                            if lag > self.late_ns {
                                report.late += 1;
                            }
                        }
                    }
                    _ => break,
                }
            }
            report.planned += measured_in_batch;
            match submitter.submit(&batch) {
                Ok(()) => {
                    report.sent += measured_in_batch;
                    report.sent_total += batch.len() as u64;
                    self.counters
                        .sent
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
                Err(_) => report.errors += batch.len() as u64,
            }
            report.last_send_ns = nanos_since(self.t0, Instant::now());
            ready_ns = Some(report.last_send_ns);
            batch.clear();
        }
        me.finish();
        report
    }
}

/// Waits until `deadline`: sleeps, or spins if less than [`SPIN_BELOW`] remains.
fn wait_until(deadline: Instant) {
    let now = Instant::now();
    if deadline <= now {
        return;
    }
    let left = deadline - now;
    if left >= SPIN_BELOW {
        // Sleeps at least `left`: it never returns before the deadline.
        std::thread::sleep(left);
        return;
    }
    while Instant::now() < deadline {
        std::hint::spin_loop();
    }
}

/// Cuts this thread's timer slack from Linux's default 50 µs to 1 µs, so that a sleep until a
/// release point ends when asked rather than up to 50 µs later. Only a hint: where it
/// fails or is unavailable, sleeps simply end later and the extra latency is measured.
fn cut_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and changes only this thread's
    // timer slack; the result is deliberately ignored.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(rate: f64, duration_s: f64, burst_size: u32, burst_interval_ms: f64) -> LoadProfile {
        LoadProfile {
            rate,
            duration_s,
            warmup_s: 0.0,
            burst_size,
            burst_interval_ms,
            ..LoadProfile::quick()
        }
    }

    /// Counts submits and ticks; shares the counts with the test.
    #[derive(Clone, Default)]
    struct Counting(Arc<(AtomicU64, AtomicU64)>);

    impl Submitter for Counting {
        fn submit(&mut self, ticks: &[Tick]) -> Result<(), SubmitError> {
            self.0 .0.fetch_add(1, Ordering::Relaxed);
            self.0 .1.fetch_add(ticks.len() as u64, Ordering::Relaxed);
            Ok(())
        }
    }

    impl Target for Counting {
        type Submitter = Counting;
        fn submitter(&self) -> Counting {
            self.clone()
        }
        fn shutdown(self) -> TargetStats {
            TargetStats::default()
        }
    }

    #[test]
    fn producers_release_on_the_grid_in_batches() {
        // 100 000 ticks/s for 50 ms on a 200 µs grid: 5 000 ticks in about 250 batches of 20.
        // Per-tick release would take one submit per tick.
        let p = LoadProfile {
            release_interval_us: 200.0,
            ..profile(100_000.0, 0.05, 0, 0.0)
        };
        let target = Counting::default();
        let pool =
            crate::engine::tick::MarketGenerator::new(crate::engine::tick::MarketConfig::new(1, 4))
                .take_vec(64);
        let report = LoadGenerator::new(p, pool).run(&target, Instant::now());
        let (submits, ticks) = (
            target.0 .0.load(Ordering::Relaxed),
            target.0 .1.load(Ordering::Relaxed),
        );
        assert_eq!(ticks, 5_000, "every planned tick is sent");
        assert_eq!(report.sent, 5_000);
        assert!(
            (100..=600).contains(&submits),
            "expected ~250 grid releases, got {submits} submits"
        );
        // Each tick waits at most one interval for its release point, plus the wake-up.
        assert!(
            report.lag.value_at_quantile(0.5) <= 200_000 + 100_000,
            "{:?}",
            report.lag.value_at_quantile(0.5)
        );
    }

    #[test]
    fn waiting_never_ends_before_the_deadline() {
        for wait in [Duration::from_nanos(500), Duration::from_micros(30)] {
            for _ in 0..50 {
                let deadline = Instant::now() + wait;
                wait_until(deadline);
                assert!(Instant::now() >= deadline, "{wait:?}");
            }
        }
    }

    #[test]
    fn a_waiting_producer_leaves_its_cpu_to_others() {
        // 100 000 ticks/s on a 10 µs grid: a release every 10 µs. A producer that spun between
        // them would use a whole core for the 300 ms; a sleeping one uses a fraction of it.
        let p = profile(100_000.0, 0.3, 0, 0.0);
        let harness = HarnessThreads::default();
        let target = Counting::default();
        let pool =
            crate::engine::tick::MarketGenerator::new(crate::engine::tick::MarketConfig::new(1, 4))
                .take_vec(64);
        let started = Instant::now();
        let report = LoadGenerator::new(p, pool)
            .harness(harness.clone())
            .run(&target, started);
        let wall = started.elapsed().as_nanos() as f64;
        assert_eq!(report.sent, 30_000);
        let share = harness.cpu_ns() as f64 / wall;
        assert!(
            share < 0.6,
            "the producer used {:.0} % of a core",
            share * 100.0
        );
    }

    #[test]
    fn steady_schedule_is_absolute() {
        let times: Vec<u64> = Schedule::new(&profile(1000.0, 0.005, 0, 0.0), 0).collect();
        assert_eq!(times, vec![0, 1_000_000, 2_000_000, 3_000_000, 4_000_000]);
        // A rate whose period is not a whole number of ns does not drift: tick 3000 is at 1 s.
        let times: Vec<u64> = Schedule::new(&profile(3000.0, 1.001, 0, 0.0), 0).collect();
        assert_eq!(times[3000], 1_000_000_000);
    }

    #[test]
    fn bursts_arrive_on_the_schedule_not_on_every_tick() {
        let times: Vec<u64> = Schedule::new(&profile(1000.0, 0.0025, 3, 1.0), 0).collect();
        // Steady ticks at 0, 1, 2 ms; bursts of 3 at 1 ms and 2 ms (none at t0).
        let ms = 1_000_000;
        assert_eq!(
            times,
            vec![0, ms, ms, ms, ms, 2 * ms, 2 * ms, 2 * ms, 2 * ms]
        );
    }

    #[test]
    fn producers_share_the_timeline_exactly() {
        let p = LoadProfile {
            producers: 3,
            ..profile(10_000.0, 0.1, 50, 10.0)
        };
        let mut all: Vec<u64> = (0..3).flat_map(|k| Schedule::new(&p, k)).collect();
        all.sort_unstable();
        let mut single: Vec<u64> = Schedule::new(
            &LoadProfile {
                producers: 1,
                ..p.clone()
            },
            0,
        )
        .collect();
        single.sort_unstable();
        assert_eq!(all, single);
        // 1000 steady ticks + 9 bursts (at 10..90 ms) of 50.
        assert_eq!(all.len(), 1000 + 9 * 50);
        for k in 0..3 {
            let s: Vec<u64> = Schedule::new(&p, k).collect();
            assert!(
                s.windows(2).all(|w| w[0] <= w[1]),
                "producer {k} not sorted"
            );
        }
    }
}
