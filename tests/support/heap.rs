//! Heap-growth check shared by the `tests/heap_*.rs` leak tests (included with `#[path]`).
//!
//! Method: run a workload in repeated windows of equal work. The first `warmup` windows fill
//! caches, pools and lazy statics; the heap is then sampled (dhat's `curr_bytes` and
//! `curr_blocks`, plus any extra gauge such as SQLite's own allocator) as the *baseline*, and
//! again after each of the following `windows`. Every sample is taken at the same point of the
//! workload's cycle, so a workload that does not leak comes back to the baseline; one that leaks
//! ends higher by (leak per window) × windows. The verdict compares the last sample with the
//! baseline and fails when the growth of any gauge exceeds that gauge's stated slack.
//!
//! Each test file owns one process and so one dhat profiler (dhat allows one at a time), and
//! holds exactly one `#[test]`: dhat counts every thread's allocations, so a second test running
//! beside it would disturb the figures.
//!
//! `TICKBENCH_DHAT_DIR=dir` switches [`profiler`] from dhat's testing mode to profiling mode: on
//! drop it writes `dir/<workload>/dhat-heap.json` for the DHAT viewer (`scripts/leak-check.sh
//! --profile` sets it).

#![allow(dead_code)] // each heap test uses a different subset

use std::fmt;
use std::path::PathBuf;

/// Environment variable naming the directory where [`profiler`] writes `dhat-heap.json` files.
pub const DHAT_DIR_ENV: &str = "TICKBENCH_DHAT_DIR";

/// Most gauges a check can watch: dhat's bytes and blocks plus one extra.
const MAX_GAUGES: usize = 3;

/// Starts the process's dhat profiler for `workload`: testing mode normally, profiling mode
/// (writing `$TICKBENCH_DHAT_DIR/<workload>/dhat-heap.json` on drop) when that variable is set.
pub fn profiler(workload: &str) -> dhat::Profiler {
    match std::env::var_os(DHAT_DIR_ENV) {
        None => dhat::Profiler::builder().testing().build(),
        Some(dir) => {
            let dir = PathBuf::from(dir).join(workload);
            if let Err(e) = std::fs::create_dir_all(&dir) {
                panic!("cannot create {} ({DHAT_DIR_ENV}): {e}", dir.display());
            }
            let file = dir.join("dhat-heap.json");
            eprintln!("dhat: profiling {workload} into {}", file.display());
            dhat::Profiler::builder().file_name(file).build()
        }
    }
}

/// How much a gauge may grow between the baseline and the last window before it counts as a leak.
#[derive(Clone, Copy, Debug)]
pub struct Slack {
    /// Bytes of live heap (dhat `curr_bytes`).
    pub bytes: u64,
    /// Live allocations (dhat `curr_blocks`).
    pub blocks: u64,
}

/// An extra gauge read alongside dhat's, e.g. SQLite's `sqlite3_memory_used()` (SQLite calls libc
/// `malloc` directly, so dhat never sees its page cache).
#[derive(Clone, Copy)]
pub struct Gauge {
    /// Column name in the printed table and in the verdict.
    pub name: &'static str,
    /// Reads the current value. Must not allocate through Rust's allocator.
    pub read: fn() -> u64,
    /// Allowed growth, or `None` for a gauge that is printed but not judged (one whose growth is
    /// legitimate, such as a cache filling up to its configured size).
    pub slack: Option<u64>,
}

/// A heap-growth check for one workload: its name, warm-up and measured windows, and slack.
pub struct HeapCheck {
    workload: &'static str,
    warmup: usize,
    windows: usize,
    slack: Slack,
    extra: Option<Gauge>,
}

/// One reading of every gauge after a window.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Windows run so far (warm-up included).
    pub after_window: usize,
    /// Gauge values in [`HeapReport::gauge_names`] order.
    pub values: [u64; MAX_GAUGES],
}

/// What a check saw: the baseline, one sample per measured window, and the slack it applies.
pub struct HeapReport {
    /// Workload name.
    pub workload: &'static str,
    /// Sample taken right after the warm-up.
    pub baseline: Sample,
    /// Samples after each measured window.
    pub samples: Vec<Sample>,
    gauges: usize,
    names: [&'static str; MAX_GAUGES],
    slacks: [Option<u64>; MAX_GAUGES],
    /// dhat's peak live bytes over the whole run (`max_bytes`), for the printed summary.
    pub peak_bytes: u64,
    /// Allocations made over the whole run (`total_blocks`), for the printed summary.
    pub total_blocks: u64,
}

/// A gauge that grew beyond its slack: the failed verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeapGrowth {
    /// Workload name.
    pub workload: &'static str,
    /// Gauge that grew.
    pub gauge: &'static str,
    /// Value right after warm-up.
    pub baseline: u64,
    /// Value after the last window.
    pub last: u64,
    /// Allowed growth.
    pub slack: u64,
    /// Measured windows between the two.
    pub windows: usize,
}

impl HeapGrowth {
    /// `last - baseline`.
    pub fn growth(&self) -> u64 {
        self.last - self.baseline
    }
}

impl fmt::Display for HeapGrowth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} grew from {} to {} (+{}, {:.1} per window) over {} windows after warm-up; \
             slack is {}",
            self.workload,
            self.gauge,
            self.baseline,
            self.last,
            self.growth(),
            self.growth() as f64 / self.windows as f64,
            self.windows,
            self.slack
        )
    }
}

impl std::error::Error for HeapGrowth {}

impl HeapCheck {
    /// A check of `workload` that warms up for `warmup` windows then measures `windows` more,
    /// allowing `slack` growth of dhat's live bytes and blocks.
    pub fn new(workload: &'static str, warmup: usize, windows: usize, slack: Slack) -> Self {
        assert!(windows >= 2, "a growth check needs at least two windows");
        Self {
            workload,
            warmup,
            windows,
            slack,
            extra: None,
        }
    }

    /// Also watch `gauge`.
    pub fn with_gauge(mut self, gauge: Gauge) -> Self {
        self.extra = Some(gauge);
        self
    }

    /// Runs `window(i)` for `i in 0..warmup + windows`, sampling after the warm-up and after each
    /// measured window. The samples' storage is reserved before the baseline, so the check itself
    /// adds nothing to the figures. Needs a running dhat profiler.
    pub fn run(&self, mut window: impl FnMut(usize)) -> HeapReport {
        let mut samples = Vec::with_capacity(self.windows);
        for i in 0..self.warmup {
            window(i);
        }
        let baseline = self.sample(self.warmup);
        for i in self.warmup..self.warmup + self.windows {
            window(i);
            samples.push(self.sample(i + 1));
        }
        let stats = dhat::HeapStats::get();
        let mut names = ["curr_bytes", "curr_blocks", ""];
        let mut slacks = [Some(self.slack.bytes), Some(self.slack.blocks), None];
        if let Some(g) = self.extra {
            names[2] = g.name;
            slacks[2] = g.slack;
        }
        HeapReport {
            workload: self.workload,
            baseline,
            samples,
            gauges: if self.extra.is_some() { 3 } else { 2 },
            names,
            slacks,
            peak_bytes: stats.max_bytes as u64,
            total_blocks: stats.total_blocks,
        }
    }

    fn sample(&self, after_window: usize) -> Sample {
        let stats = dhat::HeapStats::get();
        let extra = self.extra.map_or(0, |g| (g.read)());
        Sample {
            after_window,
            values: [stats.curr_bytes as u64, stats.curr_blocks as u64, extra],
        }
    }
}

impl HeapReport {
    /// Names of the gauges this report holds, in sample order.
    pub fn gauge_names(&self) -> &[&'static str] {
        &self.names[..self.gauges]
    }

    /// `Ok` when no gauge ended more than its slack above the baseline; otherwise the first gauge
    /// that did.
    pub fn verdict(&self) -> Result<(), HeapGrowth> {
        let last = self.samples.last().expect("at least two windows");
        for g in 0..self.gauges {
            let Some(slack) = self.slacks[g] else {
                continue;
            };
            let (base, end) = (self.baseline.values[g], last.values[g]);
            if end > base && end - base > slack {
                return Err(HeapGrowth {
                    workload: self.workload,
                    gauge: self.names[g],
                    baseline: base,
                    last: end,
                    slack,
                    windows: self.samples.len(),
                });
            }
        }
        Ok(())
    }

    /// Prints the figures: one line per sample with each gauge's value and its change from the
    /// baseline, then the peak and the slack.
    pub fn print(&self) {
        println!("heap check: {}", self.workload);
        let row = |label: String, s: &Sample| {
            let cells: Vec<String> = (0..self.gauges)
                .map(|g| {
                    let d = s.values[g] as i128 - self.baseline.values[g] as i128;
                    format!("{}={} ({d:+})", self.names[g], s.values[g])
                })
                .collect();
            println!("  {label:<18} {}", cells.join("  "));
        };
        row(
            format!("baseline (w{})", self.baseline.after_window),
            &self.baseline,
        );
        for s in &self.samples {
            row(format!("after window {}", s.after_window), s);
        }
        let slack: Vec<String> = (0..self.gauges)
            .map(|g| match self.slacks[g] {
                Some(slack) => format!("{}≤+{slack}", self.names[g]),
                None => format!("{} not judged", self.names[g]),
            })
            .collect();
        println!(
            "  peak live bytes {}, allocations over the run {}; slack {}",
            self.peak_bytes,
            self.total_blocks,
            slack.join(", ")
        );
        match self.verdict() {
            Ok(()) => println!("  verdict: flat (within slack)"),
            Err(e) => println!("  verdict: GROWTH: {e}"),
        }
    }

    /// Prints the figures, then panics with the verdict if the heap grew beyond the slack.
    pub fn assert_flat(&self) {
        self.print();
        if let Err(e) = self.verdict() {
            panic!("heap grew: {e}");
        }
    }
}
