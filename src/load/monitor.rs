//! [`PerformanceMonitor`]: the process's CPU use and resident memory while a load runs, and
//! what the host and the kernel took from it.
//!
//! # Method
//!
//! A dedicated thread takes a sample on the grid `start + k · interval` (default every 100 ms):
//!
//! - the process's CPU time from `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)` (all threads, in ns —
//!   finer than the 10 ms clock ticks of `/proc/self/stat`, which would make a 100 ms sample
//!   ±10 %), and the CPU time of the harness's own threads (below);
//! - the resident set from `/proc/self/statm` (resident pages × page size);
//! - the machine's steal time and busy time from `/proc/stat` (see [`super::host`]): the busy
//!   time minus the process's own CPU is what *other* processes used;
//! - involuntary context switches of the process (`getrusage`) and of the harness's threads
//!   (`/proc/self/task/<tid>/status`), and the run-queue wait of the system under test's and of
//!   the harness's threads (`/proc/self/task/<tid>/schedstat`): how often and how long the
//!   guest's scheduler kept them from a CPU they wanted;
//! - the longest *gaps* seen since the previous sample ([`Gaps`]): for the system under test, the
//!   longest time between two batches completed by one shard; for the harness, the longest time
//!   a producer woke up after it should have (after its release point, or after its previous
//!   submit returned). A thread kept off its CPU — by the hypervisor, by other processes, or by
//!   the whole process being frozen — shows as a gap of that length. At 1 M ticks/s on a 10 µs
//!   release grid both are ~10 µs when nothing interferes; at low rates the SUT's gap also
//!   includes the idle time between releases.
//!
//! An interval's CPU % is CPU time over wall time; 100 % means every core busy (the count of
//! cores is `std::thread::available_parallelism`). Two things keep it honest:
//!
//! - **No catch-up samples.** A monitor that wakes late (the process was frozen, or its thread
//!   was not scheduled) takes one sample and goes on at the next grid point after now. It does
//!   not take the missed samples back to back: such an interval lasts microseconds, and the
//!   process CPU clock of threads running on *other* CPUs only advances at their scheduler ticks
//!   (up to a few ms late), so a microsecond interval could be charged milliseconds of CPU —
//!   after a 300 ms SIGSTOP that showed as `cpu_max_pct` far above 100 %.
//! - **Intervals shorter than half the sampling interval are merged** into their neighbour
//!   (the last sample, taken when the load stops, often comes soon after the one before), and
//!   the per-interval figure is capped at 100 %: whatever clock skew remains can never make a
//!   figure claim more CPU than the cores have.
//!
//! Figures:
//!
//! - mean CPU: CPU time over wall time from the end of the warm-up to the last sample;
//! - max CPU: the busiest interval after the warm-up;
//! - memory growth: RSS of the last sample (taken when the load stops) minus RSS of the first
//!   sample after the warm-up (the warm-up is where pools, queues and histograms reach their
//!   working size, so growth after it points at a leak or an unbounded queue);
//! - steal: the measured window's total (ms, summed over CPUs), its share of all CPUs' time, and
//!   the busiest interval's share;
//! - other processes' CPU: mean and busiest interval, % of all cores (`USER_HZ` resolution:
//!   10 ms per CPU, so ±5 % of a 2-core machine in one 100 ms interval, exact enough over a run);
//! - involuntary switches, run-queue waits and longest gaps, for the system under test and for
//!   the harness;
//! - [`MonitorReport::series`]: every interval after the warm-up with all of the above, so a
//!   latency spike in the per-second latency series can be matched to the steal, switches and
//!   gaps of the same moment.
//!
//! The process's CPU includes the harness itself: producer threads build and hand over every
//! batch and wake up ~100 000 times a second at 1 M ticks/s, and the live status line and the
//! monitor wake up now and then. Those
//! threads register with [`HarnessThreads`]; each sample also sums their CPU clocks
//! (`pthread_getcpuclockid`) and switches, and the report gives the system under test's share —
//! process minus harness — separately (`sut_*`), which is what the SLA judges.
//!
//! The monitor measures its own cost with `CLOCK_THREAD_CPUTIME_ID` on its thread and reports
//! it as a percentage of one core (a sample costs some tens of µs, so well under 1 % at 10 Hz).

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::host::{self, StatReader};

/// Default sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

/// One sample: counters so far at one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// When, in ns after the monitor's `t0`.
    pub at_ns: u64,
    /// Process CPU time so far, ns.
    pub cpu_ns: u64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    /// CPU time of the harness's registered threads so far, ns.
    pub harness_cpu_ns: u64,
    /// The machine's steal time so far, ns over all CPUs (`None`: unknown).
    pub steal_ns: Option<u64>,
    /// The machine's busy time so far (every process and the kernel), ns over all CPUs
    /// (`None`: unknown).
    pub machine_busy_ns: Option<u64>,
    /// Involuntary context switches of the whole process so far.
    pub switches: u64,
    /// Involuntary context switches of the harness's registered threads so far.
    pub harness_switches: u64,
    /// Run-queue wait so far of the threads alive now that are not the harness's, ns (`None`:
    /// unknown).
    pub sut_wait_ns: Option<u64>,
    /// Run-queue wait so far of the harness's registered threads, ns (`None`: unknown).
    pub harness_wait_ns: Option<u64>,
    /// Longest gap of the system under test since the previous sample, ns.
    pub sut_gap_ns: u64,
    /// Longest gap of the harness since the previous sample, ns.
    pub harness_gap_ns: u64,
}

/// The longest gaps since the monitor last looked, for the system under test and for the
/// harness (see the module docs). Cheap to clone; fed by the recorder and the producers, read
/// and reset by the monitor at every sample.
#[derive(Clone, Debug, Default)]
pub struct Gaps(Arc<[AtomicU64; 2]>);

const SUT: usize = 0;
const HARNESS: usize = 1;

impl Gaps {
    /// Notes a gap of the system under test, ns.
    pub fn sut(&self, ns: u64) {
        Self::note(&self.0[SUT], ns);
    }

    /// Notes a gap of the harness, ns.
    pub fn harness(&self, ns: u64) {
        Self::note(&self.0[HARNESS], ns);
    }

    fn note(cell: &AtomicU64, ns: u64) {
        // A plain load first: the hot paths call this per batch and almost never set a new max.
        if ns > cell.load(Ordering::Relaxed) {
            cell.fetch_max(ns, Ordering::Relaxed);
        }
    }

    /// The longest gaps (system under test, harness) since the last call, resetting both.
    pub fn take(&self) -> (u64, u64) {
        (
            self.0[SUT].swap(0, Ordering::Relaxed),
            self.0[HARNESS].swap(0, Ordering::Relaxed),
        )
    }
}

/// The harness's own threads (producers, live status line, monitor), whose CPU and context
/// switches are not the system's under test. Cheap to clone; threads register themselves.
#[derive(Clone, Debug, Default)]
pub struct HarnessThreads(Arc<Mutex<Vec<ThreadClock>>>);

#[derive(Debug)]
struct ThreadClock {
    clock: libc::clockid_t,
    tid: i32,
    /// Last CPU time read, or the final value once the thread finished.
    last_ns: u64,
    /// Last involuntary switch count read, or the final value once the thread finished.
    last_switches: u64,
    /// Last run-queue wait read (ns), or the final value once the thread finished.
    last_wait: Option<u64>,
    has_clock: bool,
    finished: bool,
}

/// Proof of registration; call [`HarnessThread::finish`] as the thread's last act.
#[derive(Debug)]
pub struct HarnessThread {
    threads: HarnessThreads,
    index: usize,
}

impl HarnessThreads {
    /// Registers the calling thread; its CPU and switches count as the harness's from now on.
    pub fn register_current(&self) -> HarnessThread {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: pthread_self is always valid for the calling thread; `clock` is writable.
        let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
        let tid = host::current_tid();
        let last_wait = host::read_thread_wait(tid, &mut String::new());
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        list.push(ThreadClock {
            clock,
            tid,
            last_ns: thread_cpu_ns(),
            last_switches: host::thread_involuntary_switches(),
            last_wait,
            // Without a clock the thread can only report its total when it finishes.
            has_clock: rc == 0,
            finished: false,
        });
        HarnessThread {
            threads: self.clone(),
            index: list.len() - 1,
        }
    }

    /// Total CPU of the registered threads so far, ns.
    pub fn cpu_ns(&self) -> u64 {
        self.read(None).cpu_ns
    }

    /// The kernel ids of every thread ever registered.
    pub fn tids(&self) -> Vec<i32> {
        let list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        list.iter().map(|t| t.tid).collect()
    }

    /// What the registered threads have used so far. Switches and run-queue waits are read
    /// from `/proc` only if `buf` (a buffer for it) is given; otherwise they are the last
    /// values read.
    pub fn read(&self, mut buf: Option<&mut String>) -> HarnessUse {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut sum = HarnessUse {
            wait_ns: Some(0),
            ..HarnessUse::default()
        };
        for t in list.iter_mut() {
            if !t.finished {
                if t.has_clock {
                    // A clock of an exited thread fails (reads 0): keep the last value then.
                    t.last_ns = t.last_ns.max(clock_ns(t.clock));
                }
                if let Some(buf) = buf.as_deref_mut() {
                    if let Some(n) = host::read_thread_switches(t.tid, buf) {
                        t.last_switches = t.last_switches.max(n);
                    }
                    if let Some(w) = host::read_thread_wait(t.tid, buf) {
                        t.last_wait = Some(t.last_wait.unwrap_or(0).max(w));
                    }
                }
            }
            sum.cpu_ns += t.last_ns;
            sum.switches += t.last_switches;
            sum.wait_ns = sum.wait_ns.zip(t.last_wait).map(|(a, b)| a + b);
        }
        sum
    }
}

/// What the harness's threads have used so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HarnessUse {
    /// CPU time, ns.
    pub cpu_ns: u64,
    /// Involuntary context switches.
    pub switches: u64,
    /// Run-queue wait, ns (`None`: unknown for some thread).
    pub wait_ns: Option<u64>,
}

/// Run-queue wait so far of this process's live threads that are not in `harness`, ns;
/// `None` if no thread's could be read.
fn others_wait_ns(harness: &[i32], buf: &mut String) -> Option<u64> {
    host::thread_ids()
        .into_iter()
        .filter(|tid| !harness.contains(tid))
        .filter_map(|tid| host::read_thread_wait(tid, buf))
        .reduce(|a, b| a + b)
}

impl HarnessThread {
    /// Records the thread's final CPU time and switches (its clock dies with it).
    pub fn finish(self) {
        let total = thread_cpu_ns();
        let switches = host::thread_involuntary_switches();
        let wait = host::read_thread_wait(host::current_tid(), &mut String::new());
        let mut list = self.threads.0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = &mut list[self.index];
        entry.last_ns = entry.last_ns.max(total);
        entry.last_switches = entry.last_switches.max(switches);
        if let Some(w) = wait {
            entry.last_wait = Some(entry.last_wait.unwrap_or(0).max(w));
        }
        entry.finished = true;
    }
}

/// One interval of the monitor's series (after the warm-up).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorInterval {
    /// End of the interval, seconds after the end of the warm-up (the start of the measured
    /// window; the per-second latency series counts from the same moment).
    pub end_s: f64,
    /// Length of the interval, ms (the sampling interval, or longer when the monitor woke late).
    pub wall_ms: f64,
    /// CPU of the process, % of all cores (capped at 100).
    pub cpu_pct: f64,
    /// CPU of the system under test, % of all cores.
    pub sut_cpu_pct: f64,
    /// CPU of the harness's threads, % of all cores.
    pub harness_cpu_pct: f64,
    /// RSS at the end of the interval, bytes.
    pub rss_bytes: u64,
    /// Steal during the interval, ms summed over all CPUs (`null`: unknown).
    pub steal_ms: Option<f64>,
    /// Steal as % of all CPUs' time in the interval (`null`: unknown).
    pub steal_pct: Option<f64>,
    /// CPU of other processes, % of all cores (`null`: unknown).
    pub others_cpu_pct: Option<f64>,
    /// Involuntary context switches of the system under test (process minus harness).
    pub sut_switches: u64,
    /// Involuntary context switches of the harness's threads.
    pub harness_switches: u64,
    /// Time the system under test's threads waited for a CPU, ms (`null`: unknown).
    pub sut_wait_ms: Option<f64>,
    /// Time the harness's threads waited for a CPU, ms (`null`: unknown).
    pub harness_wait_ms: Option<f64>,
    /// Longest gap of the system under test, µs (see the module docs).
    pub sut_max_gap_us: f64,
    /// Longest gap of the harness, µs.
    pub harness_max_gap_us: f64,
}

/// The monitor's figures for one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorReport {
    /// Sampling interval, ms.
    pub interval_ms: f64,
    /// Samples taken (warm-up included).
    pub samples: usize,
    /// Cores CPU % is relative to.
    pub cores: usize,
    /// Mean CPU after the warm-up, % of all cores.
    pub cpu_mean_pct: f64,
    /// Busiest sampling interval after the warm-up, % of all cores (never above 100).
    pub cpu_max_pct: f64,
    /// Mean CPU of the system under test (process minus harness threads), % of all cores.
    pub sut_cpu_mean_pct: f64,
    /// Busiest interval of the system under test, % of all cores.
    pub sut_cpu_max_pct: f64,
    /// Mean CPU of the harness's own threads (producers, live status, monitor), % of all cores.
    pub harness_cpu_mean_pct: f64,
    /// RSS at the first sample after the warm-up, bytes.
    pub rss_start_bytes: u64,
    /// RSS at the last sample, bytes.
    pub rss_end_bytes: u64,
    /// Largest RSS seen after the warm-up, bytes.
    pub rss_max_bytes: u64,
    /// `rss_end_bytes − rss_start_bytes` (negative if memory was returned).
    pub rss_growth_bytes: i64,
    /// CPU the monitor thread itself used, % of one core.
    pub self_cpu_pct: f64,
    /// Steal after the warm-up, ms summed over all CPUs (`null`: unknown on this machine).
    pub steal_ms: Option<f64>,
    /// Steal after the warm-up, % of all CPUs' time.
    pub steal_pct: Option<f64>,
    /// Steal of the interval with the most, % of all CPUs' time.
    pub steal_max_pct: Option<f64>,
    /// Mean CPU of other processes after the warm-up, % of all cores (`null`: unknown).
    pub others_cpu_mean_pct: Option<f64>,
    /// Busiest interval of other processes, % of all cores (`null`: unknown).
    pub others_cpu_max_pct: Option<f64>,
    /// Involuntary context switches of the system under test after the warm-up.
    pub sut_switches: u64,
    /// Involuntary context switches of the harness's threads after the warm-up.
    pub harness_switches: u64,
    /// Time the system under test's threads waited for a CPU after the warm-up, ms (`null`:
    /// unknown).
    pub sut_wait_ms: Option<f64>,
    /// Time the harness's threads waited for a CPU after the warm-up, ms (`null`: unknown).
    pub harness_wait_ms: Option<f64>,
    /// Longest gap of the system under test after the warm-up, µs.
    pub sut_max_gap_us: f64,
    /// Longest gap of the harness after the warm-up, µs.
    pub harness_max_gap_us: f64,
    /// Every interval after the warm-up, in order.
    pub series: Vec<MonitorInterval>,
}

/// Process CPU time so far, ns (all threads).
pub fn process_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// The calling thread's CPU time so far, ns.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock ids are supported by every Linux.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// Reads the resident set size from `/proc/self/statm`, reusing `buf`.
struct RssReader {
    buf: String,
    page_size: u64,
}

impl RssReader {
    fn new() -> Self {
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        RssReader {
            buf: String::with_capacity(128),
            page_size: if page > 0 { page as u64 } else { 4096 },
        }
    }

    fn read(&mut self) -> anyhow::Result<u64> {
        self.buf.clear();
        std::fs::File::open("/proc/self/statm")
            .and_then(|mut f| f.read_to_string(&mut self.buf))
            .context("cannot read /proc/self/statm")?;
        let pages = parse_statm_resident(&self.buf)
            .with_context(|| format!("unexpected /proc/self/statm: {:?}", self.buf))?;
        Ok(pages * self.page_size)
    }
}

/// The second field of `/proc/<pid>/statm`: resident pages.
pub fn parse_statm_resident(statm: &str) -> Option<u64> {
    statm.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// The samples taken so far, shared with the live status line while the monitor runs.
#[derive(Clone, Debug, Default)]
pub struct SampleLog(Arc<Mutex<Vec<Sample>>>);

impl SampleLog {
    fn push(&self, sample: Sample) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sample);
    }

    fn take(&self) -> Vec<Sample> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The newest sample and the newest one at least `span` older (or the oldest), if there
    /// are two samples.
    pub fn last_span(&self, span: Duration) -> Option<(Sample, Sample)> {
        let log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let last = *log.last()?;
        let span_ns = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
        let first = log
            .iter()
            .rev()
            .find(|s| last.at_ns.saturating_sub(s.at_ns) >= span_ns)
            .or_else(|| log.first())?;
        (first.at_ns < last.at_ns).then_some((*first, last))
    }
}

/// Samples the process's CPU and RSS, the machine's steal and the threads' switches and gaps on
/// its own thread until stopped.
pub struct PerformanceMonitor {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<u64>,
    log: SampleLog,
    interval: Duration,
    warmup_ns: u64,
    started: Instant,
}

impl PerformanceMonitor {
    /// Starts sampling every `interval`, with time counted from `t0`; samples before
    /// `t0 + warmup` are the warm-up. Fails if `/proc/self/statm` cannot be read.
    /// The CPU and switches of `harness` threads (and the monitor's own) are reported apart from
    /// the system under test's; `gaps` is read and reset at every sample.
    pub fn start(
        interval: Duration,
        t0: Instant,
        warmup: Duration,
        harness: HarnessThreads,
        gaps: Gaps,
    ) -> anyhow::Result<Self> {
        let mut rss = RssReader::new();
        rss.read()?;
        let interval = interval.max(Duration::from_millis(1));
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let log = SampleLog::default();
        let samples = log.clone();
        let started = Instant::now();
        let handle = std::thread::Builder::new()
            .name("load-monitor".to_owned())
            .spawn(move || {
                let me = harness.register_current();
                let cost_start = thread_cpu_ns();
                let mut stat = StatReader::new();
                let mut status = String::with_capacity(2048);
                loop {
                    let rss_bytes = rss.read().unwrap_or(0);
                    let times = stat.read();
                    let switches = host::process_involuntary_switches();
                    let used = harness.read(Some(&mut status));
                    let sut_wait_ns = others_wait_ns(&harness.tids(), &mut status);
                    let cpu_ns = process_cpu_ns();
                    let now = Instant::now();
                    let (sut_gap_ns, harness_gap_ns) = gaps.take();
                    samples.push(Sample {
                        at_ns: super::metrics::nanos_since(t0, now),
                        cpu_ns,
                        rss_bytes,
                        harness_cpu_ns: used.cpu_ns,
                        steal_ns: times.and_then(|t| t.steal_ns),
                        machine_busy_ns: times.map(|t| t.busy_ns),
                        switches,
                        harness_switches: used.switches,
                        sut_wait_ns,
                        harness_wait_ns: used.wait_ns,
                        sut_gap_ns,
                        harness_gap_ns,
                    });
                    if stop_flag.load(Ordering::Acquire) {
                        break;
                    }
                    let deadline = next_grid_point(started, interval, Instant::now());
                    while !stop_flag.load(Ordering::Acquire) {
                        let now = Instant::now();
                        if now >= deadline {
                            break;
                        }
                        std::thread::park_timeout(deadline - now);
                    }
                }
                let cost = thread_cpu_ns() - cost_start;
                me.finish();
                cost
            })
            .context("cannot spawn the monitor thread")?;
        Ok(PerformanceMonitor {
            stop,
            handle,
            log,
            interval,
            warmup_ns: super::metrics::nanos_since(t0, t0 + warmup),
            started,
        })
    }

    /// The samples so far, for a live view.
    pub fn log(&self) -> SampleLog {
        self.log.clone()
    }

    /// Takes a last sample, stops the thread and summarises.
    pub fn stop(self) -> MonitorReport {
        self.stop.store(true, Ordering::Release);
        self.handle.thread().unpark();
        let wall_ns = self.started.elapsed().as_nanos() as f64;
        let cost_ns = match self.handle.join() {
            Ok(cost) => cost,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let samples = self.log.take();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut report = summarise(&samples, self.warmup_ns, cores, self.interval);
        report.self_cpu_pct = if wall_ns > 0.0 {
            cost_ns as f64 / wall_ns * 100.0
        } else {
            0.0
        };
        report
    }
}

/// The first point of the grid `start + k · interval` (k ≥ 1) that is after `now`: a monitor
/// that woke late skips the points it missed instead of sampling them back to back.
pub fn next_grid_point(start: Instant, interval: Duration, now: Instant) -> Instant {
    let step = interval.as_nanos().max(1);
    let k = now.saturating_duration_since(start).as_nanos() / step + 1;
    start + Duration::from_nanos(u64::try_from(k * step).unwrap_or(u64::MAX))
}

/// The samples that bound the intervals reported: from the last sample at or before the end
/// of the warm-up (so the first interval after it is covered), each next sample at least
/// `min_ns` after the previous bound; the final sample always ends the last interval (replacing
/// the bound before it if that one is closer than `min_ns`).
fn bounds(samples: &[Sample], warmup_ns: u64, min_ns: u64) -> Vec<Sample> {
    let first = samples
        .iter()
        .rposition(|s| s.at_ns <= warmup_ns)
        .unwrap_or(0);
    let Some((&last, measured)) = samples.get(first..).and_then(|m| m.split_last()) else {
        return Vec::new();
    };
    let mut bounds: Vec<Sample> = Vec::with_capacity(measured.len() + 1);
    for s in measured {
        match bounds.last() {
            Some(b) if s.at_ns.saturating_sub(b.at_ns) < min_ns => {}
            _ => bounds.push(*s),
        }
    }
    if bounds.len() >= 2 && last.at_ns.saturating_sub(bounds[bounds.len() - 1].at_ns) < min_ns {
        bounds.pop();
    }
    bounds.push(last);
    bounds
}

/// Summarises samples (see the module docs); `self_cpu_pct` is left at 0.
pub fn summarise(
    samples: &[Sample],
    warmup_ns: u64,
    cores: usize,
    interval: Duration,
) -> MonitorReport {
    let cores = cores.max(1);
    let min_ns = u64::try_from(interval.as_nanos() / 2).unwrap_or(u64::MAX);
    let first = samples
        .iter()
        .rposition(|s| s.at_ns <= warmup_ns)
        .unwrap_or(0);
    let bounds = bounds(samples, warmup_ns, min_ns);
    let share = |part: u64, wall: u64| {
        if wall == 0 {
            0.0
        } else {
            (part as f64 / wall as f64 * 100.0 / cores as f64).min(100.0)
        }
    };
    let ms =
        |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(x, y)| y.saturating_sub(x) as f64 / 1e6);
    let steal_ms = |a: &Sample, b: &Sample| ms(a.steal_ns, b.steal_ns);
    // The machine's busy time has `USER_HZ` resolution and ours ns: the difference can dip
    // below zero in an interval, which reads as none.
    let others = |a: &Sample, b: &Sample, wall: u64| {
        let busy = b.machine_busy_ns?.saturating_sub(a.machine_busy_ns?);
        Some(share(
            busy.saturating_sub(b.cpu_ns.saturating_sub(a.cpu_ns)),
            wall,
        ))
    };
    let mut series = Vec::with_capacity(bounds.len().saturating_sub(1));
    // Gaps are per sample (the longest since the previous one), so an interval takes the
    // longest of every sample it absorbed.
    let mut absorbed = samples.get(first + 1..).unwrap_or(&[]).iter().peekable();
    for w in bounds.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (mut sut_gap, mut harness_gap) = (0, 0);
        while let Some(s) = absorbed.next_if(|s| s.at_ns <= b.at_ns) {
            sut_gap = sut_gap.max(s.sut_gap_ns);
            harness_gap = harness_gap.max(s.harness_gap_ns);
        }
        let wall = b.at_ns.saturating_sub(a.at_ns);
        let cpu = b.cpu_ns.saturating_sub(a.cpu_ns);
        let harness_cpu = b.harness_cpu_ns.saturating_sub(a.harness_cpu_ns);
        let switches = b.switches.saturating_sub(a.switches);
        let harness_switches = b.harness_switches.saturating_sub(a.harness_switches);
        let steal = steal_ms(a, b);
        series.push(MonitorInterval {
            end_s: (b.at_ns as f64 - warmup_ns as f64) / 1e9,
            wall_ms: wall as f64 / 1e6,
            cpu_pct: share(cpu, wall),
            sut_cpu_pct: share(cpu.saturating_sub(harness_cpu), wall),
            harness_cpu_pct: share(harness_cpu, wall),
            rss_bytes: b.rss_bytes,
            steal_ms: steal,
            steal_pct: steal.map(|ms| share((ms * 1e6) as u64, wall)),
            others_cpu_pct: others(a, b, wall),
            sut_switches: switches.saturating_sub(harness_switches),
            harness_switches,
            sut_wait_ms: ms(a.sut_wait_ns, b.sut_wait_ns),
            harness_wait_ms: ms(a.harness_wait_ns, b.harness_wait_ns),
            sut_max_gap_us: sut_gap as f64 / 1e3,
            harness_max_gap_us: harness_gap as f64 / 1e3,
        });
    }
    let (start, end) = (bounds.first(), bounds.last());
    let total = |f: &dyn Fn(&Sample) -> u64| match (start, end) {
        (Some(a), Some(b)) => f(b).saturating_sub(f(a)),
        _ => 0,
    };
    let wall = total(&|s| s.at_ns);
    let cpu = total(&|s| s.cpu_ns);
    let harness_cpu = total(&|s| s.harness_cpu_ns);
    let harness_switches = total(&|s| s.harness_switches);
    let steal = start.zip(end).and_then(|(a, b)| steal_ms(a, b));
    let wait = |f: fn(&Sample) -> Option<u64>| start.zip(end).and_then(|(a, b)| ms(f(a), f(b)));
    let max = |f: &dyn Fn(&MonitorInterval) -> f64| series.iter().map(f).fold(0.0f64, f64::max);
    let rss_start = start.map_or(0, |s| s.rss_bytes);
    let rss_end = end.map_or(0, |s| s.rss_bytes);
    MonitorReport {
        interval_ms: interval.as_secs_f64() * 1000.0,
        samples: samples.len(),
        cores,
        cpu_mean_pct: share(cpu, wall),
        cpu_max_pct: max(&|i| i.cpu_pct),
        sut_cpu_mean_pct: share(cpu.saturating_sub(harness_cpu), wall),
        sut_cpu_max_pct: max(&|i| i.sut_cpu_pct),
        harness_cpu_mean_pct: share(harness_cpu, wall),
        rss_start_bytes: rss_start,
        rss_end_bytes: rss_end,
        rss_max_bytes: samples
            .get(first..)
            .unwrap_or(&[])
            .iter()
            .map(|s| s.rss_bytes)
            .max()
            .unwrap_or(0),
        rss_growth_bytes: rss_end as i64 - rss_start as i64,
        self_cpu_pct: 0.0,
        steal_ms: steal,
        steal_pct: steal.map(|ms| share((ms * 1e6) as u64, wall)),
        steal_max_pct: steal.map(|_| max(&|i| i.steal_pct.unwrap_or(0.0))),
        others_cpu_mean_pct: start.zip(end).and_then(|(a, b)| others(a, b, wall)),
        others_cpu_max_pct: start
            .zip(end)
            .and_then(|(a, b)| others(a, b, wall))
            .map(|_| max(&|i| i.others_cpu_pct.unwrap_or(0.0))),
        sut_switches: total(&|s| s.switches).saturating_sub(harness_switches),
        harness_switches,
        sut_wait_ms: wait(|s| s.sut_wait_ns),
        harness_wait_ms: wait(|s| s.harness_wait_ns),
        sut_max_gap_us: max(&|i| i.sut_max_gap_us),
        harness_max_gap_us: max(&|i| i.harness_max_gap_us),
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn sample(at_ms: u64, cpu_ms: u64, rss_mb: u64) -> Sample {
        Sample {
            at_ns: at_ms * MS,
            cpu_ns: cpu_ms * MS,
            rss_bytes: rss_mb << 20,
            harness_cpu_ns: at_ms * MS / 4,
            steal_ns: Some(at_ms * MS / 10),
            machine_busy_ns: Some(cpu_ms * MS + at_ms * MS / 2),
            switches: at_ms,
            harness_switches: at_ms / 4,
            sut_wait_ns: Some(at_ms * MS / 20),
            harness_wait_ns: Some(at_ms * MS / 5),
            sut_gap_ns: 0,
            harness_gap_ns: 0,
        }
    }

    #[test]
    fn summary_skips_warmup_and_normalises_by_cores() {
        // Warm-up to 200 ms burns a full core and grows memory; after it, one interval at
        // 2 cores busy and one idle, memory +3 MiB.
        let samples = [
            sample(0, 0, 10),
            sample(100, 100, 50),
            sample(200, 200, 60),
            sample(300, 400, 61),
            sample(400, 400, 63),
        ];
        let r = summarise(&samples, 200 * MS, 2, DEFAULT_INTERVAL);
        assert_eq!(r.samples, 5);
        assert!(
            (r.cpu_mean_pct - 50.0).abs() < 1e-9,
            "mean {}",
            r.cpu_mean_pct
        );
        assert!(
            (r.cpu_max_pct - 100.0).abs() < 1e-9,
            "max {}",
            r.cpu_max_pct
        );
        assert_eq!(r.rss_start_bytes, 60 << 20);
        assert_eq!(r.rss_growth_bytes, 3 << 20);
        assert_eq!(r.rss_max_bytes, 63 << 20);
        // Steal is a tenth of wall time summed over 2 CPUs: 5 % of all CPUs' time.
        assert!((r.steal_ms.unwrap() - 20.0).abs() < 1e-9, "{r:?}");
        assert!((r.steal_pct.unwrap() - 5.0).abs() < 1e-9, "{r:?}");
        // Other processes keep half a core busy: 25 % of 2 cores.
        assert!(
            (r.others_cpu_mean_pct.unwrap() - 25.0).abs() < 1e-9,
            "{r:?}"
        );
        assert!(
            (r.series[1].others_cpu_pct.unwrap() - 25.0).abs() < 1e-9,
            "{r:?}"
        );
        // 200 switches in the window, a quarter of them the harness's.
        assert_eq!((r.sut_switches, r.harness_switches), (150, 50));
        assert_eq!((r.sut_wait_ms, r.harness_wait_ms), (Some(10.0), Some(40.0)));
        assert_eq!(r.series[1].harness_wait_ms, Some(20.0));
        assert_eq!(r.series.len(), 2);
        assert!((r.series[0].end_s - 0.1).abs() < 1e-9 && r.series[0].wall_ms == 100.0);
    }

    #[test]
    fn cpu_is_never_above_all_cores_even_over_a_catch_up_sample() {
        // After a freeze, a sample 20 µs after the previous one is charged 4 ms of CPU that
        // other threads accumulated since their last scheduler tick: 10 000 % of 2 cores if
        // divided by its own wall time. It is merged into its neighbour instead, and an
        // interval that still claims more CPU than 2 cores have is capped.
        let mut late = sample(400, 104, 10);
        late.at_ns += 20_000;
        let samples = [
            sample(0, 0, 10),
            sample(100, 50, 10),
            sample(400, 100, 10),
            late,
            sample(500, 330, 10),
        ];
        let r = summarise(&samples, 0, 2, DEFAULT_INTERVAL);
        assert!(r.cpu_max_pct <= 100.0, "{r:?}");
        assert!(r
            .series
            .iter()
            .all(|i| i.cpu_pct <= 100.0 && i.wall_ms >= 50.0));
        // The 400 → 500 ms interval is charged 230 ms of CPU: more than 2 cores have in 100 ms.
        assert_eq!(r.cpu_max_pct, 100.0);
        assert!((r.cpu_mean_pct - 33.0).abs() < 1e-9, "{}", r.cpu_mean_pct);
    }

    #[test]
    fn a_short_last_interval_is_merged_into_the_one_before() {
        let samples = [
            sample(0, 0, 10),
            sample(100, 100, 10),
            sample(200, 200, 10),
            sample(205, 215, 10),
        ];
        let r = summarise(&samples, 0, 2, DEFAULT_INTERVAL);
        let walls: Vec<f64> = r.series.iter().map(|i| i.wall_ms).collect();
        assert_eq!(walls, [100.0, 105.0]);
        assert!(r.cpu_max_pct < 60.0, "{r:?}");
    }

    #[test]
    fn gaps_are_kept_per_interval_and_the_longest_overall() {
        let mut samples = vec![sample(0, 0, 10), sample(100, 10, 10), sample(200, 20, 10)];
        samples[1].harness_gap_ns = 300 * MS;
        samples[2].sut_gap_ns = 5 * MS;
        let r = summarise(&samples, 0, 2, DEFAULT_INTERVAL);
        assert_eq!(r.harness_max_gap_us, 300_000.0);
        assert_eq!(r.sut_max_gap_us, 5_000.0);
        assert_eq!(r.series[0].harness_max_gap_us, 300_000.0);
        assert_eq!(r.series[1].harness_max_gap_us, 0.0);
        assert_eq!(r.series[1].sut_max_gap_us, 5_000.0);
    }

    #[test]
    fn unknown_steal_stays_unknown() {
        let mut samples = [sample(0, 0, 10), sample(100, 10, 10)];
        samples[1].steal_ns = None;
        let r = summarise(&samples, 0, 2, DEFAULT_INTERVAL);
        assert_eq!(
            (r.steal_ms, r.steal_pct, r.steal_max_pct),
            (None, None, None)
        );
        assert_eq!(r.series[0].steal_ms, None);
    }

    #[test]
    fn a_late_monitor_skips_the_grid_points_it_missed() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(next_grid_point(start, DEFAULT_INTERVAL, at(0)), at(100));
        assert_eq!(next_grid_point(start, DEFAULT_INTERVAL, at(99)), at(100));
        // Woke 350 ms late for the point at 100 ms: the next sample is at 500, not 200.
        assert_eq!(next_grid_point(start, DEFAULT_INTERVAL, at(450)), at(500));
    }

    #[test]
    fn no_samples_give_zeros() {
        let r = summarise(&[], 0, 2, DEFAULT_INTERVAL);
        assert_eq!((r.cpu_mean_pct, r.rss_growth_bytes), (0.0, 0));
        assert!(r.series.is_empty());
    }

    #[test]
    fn statm_resident_field() {
        assert_eq!(
            parse_statm_resident("6011 1370 1024 176 0 611 0\n"),
            Some(1370)
        );
        assert_eq!(parse_statm_resident("garbage"), None);
    }

    #[test]
    fn live_monitor_sees_a_busy_thread_an_allocation_and_a_gap() {
        let t0 = Instant::now();
        let gaps = Gaps::default();
        let monitor = PerformanceMonitor::start(
            Duration::from_millis(10),
            t0,
            Duration::ZERO,
            Default::default(),
            gaps.clone(),
        )
        .unwrap();
        let spin_until = Instant::now() + Duration::from_millis(150);
        let mut x = 0u64;
        while Instant::now() < spin_until {
            x = x.wrapping_add(1);
            std::hint::black_box(x);
        }
        gaps.harness(7 * MS);
        // 64 MiB touched: RSS must grow by most of it.
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        std::thread::sleep(Duration::from_millis(30));
        let log = monitor.log();
        let (a, b) = log.last_span(Duration::from_millis(20)).unwrap();
        assert!(b.at_ns - a.at_ns >= 20 * MS, "{a:?} {b:?}");
        let r = monitor.stop();
        drop(block);
        assert!(r.samples >= 3, "samples {}", r.samples);
        assert!(
            r.cpu_mean_pct * r.cores as f64 > 20.0,
            "one core was busy: {r:?}"
        );
        assert!(r.rss_growth_bytes > 48 << 20, "growth {r:?}");
        assert_eq!(r.harness_max_gap_us, 7_000.0);
        assert!(r.steal_ms.is_some() && r.others_cpu_mean_pct.is_some());
        assert!(
            r.sut_wait_ms.is_some() && r.harness_wait_ms.is_some(),
            "{r:?}"
        );
    }

    #[test]
    fn harness_threads_are_counted_apart_and_survive_their_exit() {
        let harness = HarnessThreads::default();
        let h = harness.clone();
        std::thread::spawn(move || {
            let me = h.register_current();
            let until = Instant::now() + Duration::from_millis(50);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            me.finish();
        })
        .join()
        .unwrap();
        // 50 ms of wall time spinning: at least some of it on a CPU, and it is still counted
        // after the thread is gone.
        let ns = harness.cpu_ns();
        assert!(ns > 5 * MS, "{ns}");
        assert_eq!(harness.cpu_ns(), ns);
        let mut buf = String::new();
        let used = harness.read(Some(&mut buf));
        assert_eq!(used.cpu_ns, ns);
        assert!(used.wait_ns.is_some(), "{used:?}");
    }
}
