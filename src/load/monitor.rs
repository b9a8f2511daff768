//! [`PerformanceMonitor`]: the process's CPU use and resident memory while a load runs.
//!
//! # Method
//!
//! A dedicated thread takes a sample at a fixed interval on an absolute timeline (default every
//! 100 ms): the process's CPU time from `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)` (all threads,
//! in ns — finer than the 10 ms clock ticks of `/proc/self/stat`, which would make a 100 ms
//! sample ±10 %) and the resident set from `/proc/self/statm` (resident pages × page size).
//! CPU % of an interval is CPU time over wall time; 100 % means every core busy (the count of
//! cores is `std::thread::available_parallelism`).
//!
//! - mean CPU: CPU time over wall time from the end of the warm-up to the last sample;
//! - max CPU: the busiest single interval after the warm-up;
//! - memory growth: RSS of the last sample (taken when the load stops) minus RSS of the first sample after the warm-up
//!   (the warm-up is where pools, queues and histograms reach their working size, so growth
//!   after it points at a leak or an unbounded queue).
//!
//! The process's CPU includes the harness itself: producer threads spin while they wait for
//! the next planned time, and the progress line and the monitor wake up now and then. Those
//! threads register with [`HarnessThreads`]; each sample also sums their CPU clocks
//! (`pthread_getcpuclockid`), and the report gives the system under test's share —
//! process minus harness — separately (`sut_cpu_*`), which is what the SLA judges.
//!
//! The monitor measures its own cost with `CLOCK_THREAD_CPUTIME_ID` on its thread and reports
//! it as a percentage of one core (a sample costs roughly 15 µs, so ~0.02 % at 10 Hz).

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// Default sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

/// One sample.
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
}

/// The harness's own threads (producers, progress line), whose CPU is not the system's under
/// test. Cheap to clone; threads register themselves.
#[derive(Clone, Debug, Default)]
pub struct HarnessThreads(Arc<Mutex<Vec<ThreadClock>>>);

#[derive(Debug)]
struct ThreadClock {
    clock: libc::clockid_t,
    /// Last value read, or the final value once the thread finished.
    last_ns: u64,
    finished: bool,
}

/// Proof of registration; call [`HarnessThread::finish`] as the thread's last act.
#[derive(Debug)]
pub struct HarnessThread {
    threads: HarnessThreads,
    index: usize,
}

impl HarnessThreads {
    /// Registers the calling thread; its CPU counts as the harness's from now on.
    pub fn register_current(&self) -> HarnessThread {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: pthread_self is always valid for the calling thread; `clock` is writable.
        let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        list.push(ThreadClock {
            clock,
            last_ns: thread_cpu_ns(),
            // Without a clock the thread can only report its total when it finishes.
            finished: rc != 0,
        });
        HarnessThread {
            threads: self.clone(),
            index: list.len() - 1,
        }
    }

    /// Total CPU of the registered threads so far, ns.
    pub fn cpu_ns(&self) -> u64 {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        list.iter_mut()
            .map(|t| {
                if !t.finished {
                    // A clock of an exited thread fails: keep the last value then.
                    let now = clock_ns(t.clock);
                    t.last_ns = t.last_ns.max(now);
                }
                t.last_ns
            })
            .sum()
    }
}

impl HarnessThread {
    /// Records the thread's final CPU time (its clock dies with it).
    pub fn finish(self) {
        let total = thread_cpu_ns();
        let mut list = self.threads.0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = &mut list[self.index];
        entry.last_ns = entry.last_ns.max(total);
        entry.finished = true;
    }
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
    /// Busiest sampling interval after the warm-up, % of all cores.
    pub cpu_max_pct: f64,
    /// Mean CPU of the system under test (process minus harness threads), % of all cores.
    pub sut_cpu_mean_pct: f64,
    /// Busiest interval of the system under test, % of all cores.
    pub sut_cpu_max_pct: f64,
    /// Mean CPU of the harness's own threads (producers, progress line), % of all cores.
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

/// Samples the process's CPU and RSS on its own thread until stopped.
pub struct PerformanceMonitor {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<(Vec<Sample>, u64)>,
    interval: Duration,
    warmup_ns: u64,
    started: Instant,
}

impl PerformanceMonitor {
    /// Starts sampling every `interval`, with time counted from `t0`; samples before
    /// `t0 + warmup` are the warm-up. Fails if `/proc/self/statm` cannot be read.
    /// The CPU of `harness` threads (and the monitor's own) is reported apart from the system
    /// under test's.
    pub fn start(
        interval: Duration,
        t0: Instant,
        warmup: Duration,
        harness: HarnessThreads,
    ) -> anyhow::Result<Self> {
        let mut rss = RssReader::new();
        rss.read()?;
        let interval = interval.max(Duration::from_millis(1));
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let started = Instant::now();
        let handle = std::thread::Builder::new()
            .name("load-monitor".to_owned())
            .spawn(move || {
                let me = harness.register_current();
                let cost_start = thread_cpu_ns();
                let mut samples = Vec::with_capacity(1024);
                let mut k: u32 = 0;
                loop {
                    let rss_bytes = rss.read().unwrap_or(0);
                    let now = Instant::now();
                    samples.push(Sample {
                        at_ns: super::metrics::nanos_since(t0, now),
                        cpu_ns: process_cpu_ns(),
                        rss_bytes,
                        harness_cpu_ns: harness.cpu_ns(),
                    });
                    if stop_flag.load(Ordering::Acquire) {
                        break;
                    }
                    k += 1;
                    let deadline = started + interval * k;
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
                (samples, cost)
            })
            .context("cannot spawn the monitor thread")?;
        Ok(PerformanceMonitor {
            stop,
            handle,
            interval,
            warmup_ns: super::metrics::nanos_since(t0, t0 + warmup),
            started,
        })
    }

    /// Takes a last sample, stops the thread and summarises.
    pub fn stop(self) -> MonitorReport {
        self.stop.store(true, Ordering::Release);
        self.handle.thread().unpark();
        let wall_ns = self.started.elapsed().as_nanos() as f64;
        let (samples, cost_ns) = match self.handle.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        };
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

/// Summarises samples (see the module docs); `self_cpu_pct` is left at 0.
pub fn summarise(
    samples: &[Sample],
    warmup_ns: u64,
    cores: usize,
    interval: Duration,
) -> MonitorReport {
    let cores = cores.max(1);
    // The measured samples: from the last one at or before the end of the warm-up (so the first
    // interval after it is covered), or from the first sample.
    let first = samples
        .iter()
        .rposition(|s| s.at_ns <= warmup_ns)
        .unwrap_or(0);
    let measured = &samples[first.min(samples.len())..];
    let pct = |cpu: u64, wall: u64| {
        if wall == 0 {
            0.0
        } else {
            cpu as f64 / wall as f64 * 100.0 / cores as f64
        }
    };
    let process = |a: &Sample, b: &Sample| b.cpu_ns.saturating_sub(a.cpu_ns);
    let harness = |a: &Sample, b: &Sample| b.harness_cpu_ns.saturating_sub(a.harness_cpu_ns);
    let sut = |a: &Sample, b: &Sample| process(a, b).saturating_sub(harness(a, b));
    let mean = |cpu: &dyn Fn(&Sample, &Sample) -> u64| match (measured.first(), measured.last()) {
        (Some(a), Some(b)) => pct(cpu(a, b), b.at_ns.saturating_sub(a.at_ns)),
        _ => 0.0,
    };
    let max = |cpu: &dyn Fn(&Sample, &Sample) -> u64| {
        measured
            .windows(2)
            .map(|w| pct(cpu(&w[0], &w[1]), w[1].at_ns.saturating_sub(w[0].at_ns)))
            .fold(0.0f64, f64::max)
    };
    let rss_start = measured.first().map_or(0, |s| s.rss_bytes);
    let rss_end = measured.last().map_or(0, |s| s.rss_bytes);
    MonitorReport {
        interval_ms: interval.as_secs_f64() * 1000.0,
        samples: samples.len(),
        cores,
        cpu_mean_pct: mean(&process),
        cpu_max_pct: max(&process),
        sut_cpu_mean_pct: mean(&sut),
        sut_cpu_max_pct: max(&sut),
        harness_cpu_mean_pct: mean(&harness),
        rss_start_bytes: rss_start,
        rss_end_bytes: rss_end,
        rss_max_bytes: measured.iter().map(|s| s.rss_bytes).max().unwrap_or(0),
        rss_growth_bytes: rss_end as i64 - rss_start as i64,
        self_cpu_pct: 0.0,
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
    }

    #[test]
    fn no_samples_give_zeros() {
        let r = summarise(&[], 0, 2, DEFAULT_INTERVAL);
        assert_eq!((r.cpu_mean_pct, r.rss_growth_bytes), (0.0, 0));
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
    fn live_monitor_sees_a_busy_thread_and_an_allocation() {
        let t0 = Instant::now();
        let monitor = PerformanceMonitor::start(
            Duration::from_millis(10),
            t0,
            Duration::ZERO,
            Default::default(),
        )
        .unwrap();
        let spin_until = Instant::now() + Duration::from_millis(150);
        let mut x = 0u64;
        while Instant::now() < spin_until {
            x = x.wrapping_add(1);
            std::hint::black_box(x);
        }
        // 64 MiB touched: RSS must grow by most of it.
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let r = monitor.stop();
        drop(block);
        assert!(r.samples >= 3, "samples {}", r.samples);
        assert!(
            r.cpu_mean_pct * r.cores as f64 > 20.0,
            "one core was busy: {r:?}"
        );
        assert!(r.rss_growth_bytes > 48 << 20, "growth {r:?}");
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
    }
}
