//! One definition of each workload, measured two ways: wall-clock time through Criterion, or
//! instructions under callgrind (`tickbench bench --counts`).
//!
//! A bench file writes its targets against [`Harness`], [`Group`] and [`Bencher`], which mirror
//! the part of Criterion's API the suite uses, and ends with [`main`]. Without
//! `TICKBENCH_COUNTS` in the environment everything forwards to Criterion unchanged (same ids,
//! same flags, same files). With it, the same target functions run under a count driver:
//!
//! - setup runs uninstrumented (fast); each benchmark turns instrumentation on, runs `A`
//!   iterations uncounted (warm-up), then `A` and `2A` iterations counted, each dumped to its
//!   own callgrind profile. `tickbench` takes `(count(2A) − count(A)) / A` as instructions per
//!   iteration: whatever a call costs once (entering the loop, cloning a state) cancels out.
//!   `A` is fixed per group ([`Group::count_iterations`]), never derived from a clock, so the
//!   same code runs the same instructions on every run and every machine.
//! - `iter` counts its routine; `iter_custom` counts only what its closure times with
//!   [`Timer`] (so setup inside the closure, untimed by Criterion, is uncounted too). A closure
//!   that times with `Instant` directly counts nothing, which `tickbench` reports as an error.
//! - a benchmark whose figure is waiting (threads, disk, sleeps) is declared with
//!   [`Group::bench_time_only`]: instructions do not see time spent waiting, so it has no count
//!   and the report says why.

use std::fmt::Display;
use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkId, Criterion, Throughput};

use super::callgrind;

/// Path of the manifest (JSON lines) the count driver writes; its presence selects count mode.
pub const COUNTS_ENV: &str = "TICKBENCH_COUNTS";
/// Regex selecting the benchmark ids to count (all when absent), like Criterion's filter.
pub const COUNTS_FILTER_ENV: &str = "TICKBENCH_COUNTS_FILTER";
/// When `1`, the binary only says whether it supports count mode and exits.
pub const COUNTS_HELLO_ENV: &str = "TICKBENCH_COUNTS_HELLO";
/// First word of the hello line; `tickbench` looks for it.
pub const HELLO: &str = "tickbench-counts 1";
/// Iterations `A` of the count protocol when a group does not set its own.
pub const DEFAULT_COUNT_ITERATIONS: u64 = 64;

/// Set while an `iter_custom` closure runs counted: [`Timer`]s then switch collection.
static TIMED_COUNTING: AtomicBool = AtomicBool::new(false);

/// A benchmark id inside a group: a function name and an optional parameter, as Criterion's
/// `BenchmarkId` (whose parts are private, hence this type).
#[derive(Clone, Debug)]
pub struct Id {
    function: String,
    parameter: Option<String>,
}

impl Id {
    /// `function/parameter`.
    pub fn new(function: impl Into<String>, parameter: impl Display) -> Self {
        Self {
            function: function.into(),
            parameter: Some(parameter.to_string()),
        }
    }

    /// Criterion's id; `None` for a bare function name, which Criterion takes as a `&str`
    /// (its `IntoBenchmarkId` is sealed).
    fn criterion(&self) -> Option<BenchmarkId> {
        self.parameter
            .as_ref()
            .map(|p| BenchmarkId::new(self.function.clone(), p))
    }
}

impl From<&str> for Id {
    fn from(function: &str) -> Self {
        Self {
            function: function.into(),
            parameter: None,
        }
    }
}

impl From<String> for Id {
    fn from(function: String) -> Self {
        Self {
            function,
            parameter: None,
        }
    }
}

/// What the target functions of a bench file receive.
pub enum Harness<'c> {
    /// Wall-clock time through Criterion.
    Time(&'c mut Criterion),
    /// Instruction counts under callgrind.
    Count(&'c mut Driver),
}

impl Harness<'_> {
    /// A group of benchmarks, as `Criterion::benchmark_group`.
    pub fn benchmark_group(&mut self, name: impl Into<String>) -> Group<'_> {
        let name = name.into();
        match self {
            Harness::Time(c) => Group::Time(c.benchmark_group(name)),
            Harness::Count(d) => Group::Count(CountGroup {
                driver: d,
                name,
                throughput: None,
                iterations: DEFAULT_COUNT_ITERATIONS,
            }),
        }
    }

    /// Whether this run counts instructions (setup may then skip what no counted benchmark
    /// needs, e.g. disk tables).
    pub fn counting(&self) -> bool {
        matches!(self, Harness::Count(_))
    }
}

/// A group of benchmarks.
pub enum Group<'a> {
    /// Criterion's group.
    Time(criterion::BenchmarkGroup<'a, WallTime>),
    /// The count driver's.
    Count(CountGroup<'a>),
}

/// The count driver's side of a [`Group`].
pub struct CountGroup<'a> {
    driver: &'a mut Driver,
    name: String,
    throughput: Option<Throughput>,
    iterations: u64,
}

impl Group<'_> {
    /// Work per iteration, for the benchmarks defined after this call.
    pub fn throughput(&mut self, throughput: Throughput) -> &mut Self {
        match self {
            Group::Time(g) => {
                g.throughput(throughput);
            }
            Group::Count(g) => g.throughput = Some(throughput),
        }
        self
    }

    /// Criterion's sample count (no effect on counts).
    pub fn sample_size(&mut self, n: usize) -> &mut Self {
        if let Group::Time(g) = self {
            g.sample_size(n);
        }
        self
    }

    /// Iterations `A` of the count protocol for the benchmarks defined after this call: fewer
    /// for heavy iterations, so the count run stays short (no effect on time).
    pub fn count_iterations(&mut self, a: u64) -> &mut Self {
        if let Group::Count(g) = self {
            g.iterations = a.max(1);
        }
        self
    }

    /// A benchmark, as `BenchmarkGroup::bench_function`.
    pub fn bench_function(
        &mut self,
        id: impl Into<Id>,
        mut f: impl FnMut(&mut Bencher<'_, '_>),
    ) -> &mut Self {
        let id = id.into();
        match self {
            Group::Time(g) => {
                let mut run = |b: &mut criterion::Bencher<'_, WallTime>| f(&mut Bencher::Time(b));
                match id.criterion() {
                    Some(id) => g.bench_function(id, run),
                    None => g.bench_function(id.function.as_str(), &mut run),
                };
            }
            Group::Count(g) => g.count(&id, |b| f(b)),
        }
        self
    }

    /// A benchmark over an input, as `BenchmarkGroup::bench_with_input`.
    pub fn bench_with_input<I: ?Sized>(
        &mut self,
        id: Id,
        input: &I,
        mut f: impl FnMut(&mut Bencher<'_, '_>, &I),
    ) -> &mut Self {
        match self {
            Group::Time(g) => {
                let mut run =
                    |b: &mut criterion::Bencher<'_, WallTime>, i: &I| f(&mut Bencher::Time(b), i);
                match id.criterion() {
                    Some(id) => g.bench_with_input(id, input, run),
                    None => g.bench_with_input(id.function.as_str(), input, &mut run),
                };
            }
            Group::Count(g) => g.count(&id, |b| f(b, input)),
        }
        self
    }

    /// A benchmark measured in time only, because `reason` (threads, disk, sleeps): in count
    /// mode it is listed with the reason and not run.
    pub fn bench_time_only(
        &mut self,
        id: impl Into<Id>,
        reason: &str,
        f: impl FnMut(&mut Bencher<'_, '_>),
    ) -> &mut Self {
        let id = id.into();
        if let Group::Count(g) = self {
            let full = g.full_id(&id);
            if g.driver.selected(&full) {
                g.driver
                    .line(&serde_json::json!({"id": full, "time_only": reason}));
            }
            return self;
        }
        self.bench_function(id, f)
    }

    /// Ends the group.
    pub fn finish(self) {
        if let Group::Time(g) = self {
            g.finish();
        }
    }
}

impl CountGroup<'_> {
    fn full_id(&self, id: &Id) -> String {
        match &id.parameter {
            Some(p) => format!("{}/{}/{p}", self.name, id.function),
            None => format!("{}/{}", self.name, id.function),
        }
    }

    fn count(&mut self, id: &Id, mut f: impl FnMut(&mut Bencher<'_, '_>)) {
        let full = self.full_id(id);
        if !self.driver.selected(&full) {
            return;
        }
        let index = self.driver.next;
        self.driver.next += 1;
        eprintln!("counting {full}");
        let mut bencher = CountBencher {
            iterations: self.iterations,
            index,
            ran: false,
        };
        f(&mut Bencher::Count(&mut bencher));
        if !bencher.ran {
            eprintln!("{full}: the benchmark never called iter or iter_custom");
            std::process::exit(2);
        }
        let a = self.iterations;
        self.driver.line(&serde_json::json!({
            "id": full,
            "index": index,
            "group_id": self.name,
            "function_id": id.function,
            "value_str": id.parameter,
            "throughput": self.throughput.as_ref().map(|t| serde_json::to_value(t).expect("throughput")),
            "iterations": [a, 2 * a],
            "labels": [label(index, 1), label(index, 2)],
        }));
    }
}

/// The `DUMP_STATS_AT` label of count `k` (1: `A` iterations, 2: `2A`) of benchmark `index`.
fn label(index: usize, k: u32) -> String {
    format!("tickbench:{index}:{k}")
}

/// What a benchmark's closure receives.
pub enum Bencher<'b, 'c> {
    /// Criterion's bencher.
    Time(&'b mut criterion::Bencher<'c, WallTime>),
    /// The count driver's.
    Count(&'b mut CountBencher),
}

/// The count driver's side of a [`Bencher`].
pub struct CountBencher {
    iterations: u64,
    index: usize,
    ran: bool,
}

impl CountBencher {
    /// The count protocol around `run(n)`, which runs `n` iterations. `self_collect`: the
    /// protocol switches collection around each call itself (`iter`); otherwise the closure's
    /// [`Timer`]s do (`iter_custom`).
    fn protocol(&mut self, self_collect: bool, mut run: impl FnMut(u64)) {
        self.ran = true;
        let a = self.iterations;
        callgrind::start_instrumentation();
        run(a); // warm-up: code paths, buffers and caches of the workload, uncounted
        callgrind::zero_stats();
        for k in 1..=2u32 {
            let n = u64::from(k) * a;
            if self_collect {
                callgrind::toggle_collect();
                run(n);
                callgrind::toggle_collect();
            } else {
                TIMED_COUNTING.store(true, Ordering::SeqCst);
                run(n);
                TIMED_COUNTING.store(false, Ordering::SeqCst);
            }
            callgrind::dump_stats_at(&label(self.index, k));
        }
        callgrind::stop_instrumentation();
    }
}

impl Bencher<'_, '_> {
    /// Times (or counts) `routine`, as `criterion::Bencher::iter`.
    pub fn iter<O>(&mut self, mut routine: impl FnMut() -> O) {
        match self {
            Bencher::Time(b) => b.iter(routine),
            Bencher::Count(b) => b.protocol(true, |n| {
                for _ in 0..n {
                    black_box(routine());
                }
            }),
        }
    }

    /// `routine(iters)` runs `iters` iterations and returns the time of the part it timed with
    /// [`Timer`], as `criterion::Bencher::iter_custom`; in count mode what it timed is counted.
    pub fn iter_custom(&mut self, mut routine: impl FnMut(u64) -> Duration) {
        match self {
            Bencher::Time(b) => b.iter_custom(routine),
            Bencher::Count(b) => b.protocol(false, |n| {
                black_box(routine(n));
            }),
        }
    }
}

/// Times part of an `iter_custom` closure; in count mode the same part is what is counted.
pub struct Timer {
    start: Instant,
    counting: bool,
}

impl Timer {
    /// Starts timing (and counting, in count mode).
    #[inline(always)]
    pub fn start() -> Self {
        let counting = TIMED_COUNTING.load(Ordering::Relaxed);
        let start = Instant::now();
        if counting {
            callgrind::toggle_collect();
        }
        Self { start, counting }
    }

    /// Stops and returns the time since [`Timer::start`].
    #[inline(always)]
    pub fn stop(self) -> Duration {
        if self.counting {
            callgrind::toggle_collect();
        }
        self.start.elapsed()
    }
}

/// The count driver: which ids to count and where to say what was counted.
pub struct Driver {
    filter: Option<regex::Regex>,
    manifest: File,
    next: usize,
}

impl Driver {
    fn selected(&self, id: &str) -> bool {
        self.filter.as_ref().is_none_or(|f| f.is_match(id))
    }

    fn line(&mut self, value: &serde_json::Value) {
        let written = writeln!(self.manifest, "{value}").and_then(|()| self.manifest.flush());
        if let Err(e) = written {
            eprintln!("cannot write the count manifest: {e}");
            std::process::exit(2);
        }
    }
}

/// How this bench binary was asked to run.
enum Mode {
    Time,
    Hello,
    Count(Driver),
}

fn mode() -> Mode {
    if std::env::var_os(COUNTS_HELLO_ENV).is_some_and(|v| v == "1") {
        return Mode::Hello;
    }
    let Some(path) = std::env::var_os(COUNTS_ENV).filter(|p| !p.is_empty()) else {
        return Mode::Time;
    };
    let fail = |message: String| -> ! {
        eprintln!("{message}");
        std::process::exit(2)
    };
    if !callgrind::running_on_valgrind() {
        fail(format!(
            "{COUNTS_ENV} is set but this process does not run under valgrind; count mode is \
             run by `tickbench bench --counts`"
        ));
    }
    let filter = match std::env::var(COUNTS_FILTER_ENV) {
        Ok(f) if !f.is_empty() => Some(
            regex::Regex::new(&f)
                .unwrap_or_else(|e| fail(format!("{COUNTS_FILTER_ENV}={f:?}: {e}"))),
        ),
        _ => None,
    };
    let manifest = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| fail(format!("{}: {e}", std::path::Path::new(&path).display())));
    Mode::Count(Driver {
        filter,
        manifest,
        next: 0,
    })
}

/// The `main` of a bench file whose targets can be counted: Criterion as usual, or the count
/// driver under `tickbench bench --counts`.
pub fn main(targets: &[fn(&mut Harness<'_>)]) {
    match mode() {
        Mode::Hello => println!("{HELLO} counted"),
        Mode::Count(mut driver) => {
            for target in targets {
                target(&mut Harness::Count(&mut driver));
            }
        }
        Mode::Time => {
            let mut c = super::criterion().configure_from_args();
            for target in targets {
                target(&mut Harness::Time(&mut c));
            }
            c.final_summary();
        }
    }
}

/// The `main` of a bench file measured in time only, because `reason`: `tickbench bench
/// --counts` lists its benchmarks as such.
pub fn main_time_only(reason: &str, benches: fn()) {
    match mode() {
        Mode::Hello => println!("{HELLO} time-only: {reason}"),
        Mode::Count(_) => {
            eprintln!("this bench file is measured in time only: {reason}");
            std::process::exit(2);
        }
        Mode::Time => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
