//! Shared Criterion configuration for every bench file, with a pprof flamegraph profiler.
//!
//! pprof's own `criterion` feature pins Criterion 0.5 and does not build with 0.8, so this module
//! implements `criterion::profiler::Profiler` itself. Criterion calls the profiler only under
//! `--profile-time N`; a normal `cargo bench` never starts it, so it costs nothing there.
//!
//! ```text
//! cargo bench --bench signal -- --profile-time 5 engine/tick
//! # → target/criterion/<group>/<id>/profile/flamegraph.svg
//! scripts/flamegraph.sh signal engine/tick 5     # the same, printing the SVG paths
//! ```
//!
//! The sampling frequency is [`DEFAULT_PROFILE_HZ`] unless `TICKBENCH_PROFILE_HZ` says otherwise.
//! `tests/flamegraph_engine.rs` includes this file through `#[path]` and drives the same profiler
//! on the engine, so CI proves the SVG it writes is real.

#![allow(dead_code)] // each bench file (and the flamegraph test) uses a different subset

use std::fs::File;
use std::io::BufWriter;
use std::os::raw::c_int;
use std::path::{Path, PathBuf};

use criterion::profiler::Profiler;
use criterion::Criterion;

pub mod callgrind;
pub mod harness;

#[allow(unused_imports)] // each bench file uses a different subset
pub use harness::{Bencher, Group, Harness, Id, Timer};

/// Default sampling frequency of the flamegraph profiler, in Hz. A prime, so sampling does not
/// lock step with periodic work.
pub const DEFAULT_PROFILE_HZ: c_int = 997;

/// Environment variable overriding [`DEFAULT_PROFILE_HZ`] (an integer in `1..=10000`).
pub const PROFILE_HZ_ENV: &str = "TICKBENCH_PROFILE_HZ";

/// Name of the file written into each profiled benchmark's directory.
pub const FLAMEGRAPH_FILE: &str = "flamegraph.svg";

/// Frames of the sampler's own machinery, left out of the flamegraph.
const BLOCKLIST: [&str; 4] = ["libc", "libgcc", "pthread", "vdso"];

/// The Criterion configuration every bench file starts from: Criterion's defaults (100 samples,
/// 3 s warm-up, 5 s measurement) plus the flamegraph profiler. Command-line flags still apply.
pub fn criterion() -> Criterion {
    Criterion::default().with_profiler(FlamegraphProfiler::new(profile_hz()))
}

/// The sampling frequency: `TICKBENCH_PROFILE_HZ` when it holds a valid value, otherwise
/// [`DEFAULT_PROFILE_HZ`] (an invalid value is reported on stderr, not silently ignored).
pub fn profile_hz() -> c_int {
    match std::env::var(PROFILE_HZ_ENV) {
        Err(_) => DEFAULT_PROFILE_HZ,
        Ok(raw) => match raw.trim().parse::<c_int>() {
            Ok(hz) if (1..=10_000).contains(&hz) => hz,
            _ => {
                eprintln!(
                    "flamegraph: ignoring {PROFILE_HZ_ENV}={raw:?} (want an integer in \
                     1..=10000 Hz); sampling at {DEFAULT_PROFILE_HZ} Hz"
                );
                DEFAULT_PROFILE_HZ
            }
        },
    }
}

/// Writes `flamegraph.svg` into the benchmark's profile directory when Criterion profiles it.
pub struct FlamegraphProfiler {
    frequency: c_int,
    active: Option<pprof::ProfilerGuard<'static>>,
}

impl FlamegraphProfiler {
    /// A profiler sampling at `frequency` Hz.
    pub fn new(frequency: c_int) -> Self {
        Self {
            frequency,
            active: None,
        }
    }

    /// Starts sampling the whole process. Fails if another pprof profiler is running.
    pub fn start(&mut self) -> Result<(), pprof::Error> {
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(self.frequency)
            .blocklist(&BLOCKLIST)
            .build()?;
        self.active = Some(guard);
        Ok(())
    }

    /// Stops sampling and writes `dir/flamegraph.svg` (via a temp file and a rename, so a reader
    /// never sees half an SVG). Returns the path written.
    pub fn finish(&mut self, dir: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
        let guard = self.active.take().ok_or("the profiler was not started")?;
        let report = guard.report().build()?;
        drop(guard); // stop the timer before the (slow) symbolised write
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FLAMEGRAPH_FILE);
        let tmp = dir.join(format!("{FLAMEGRAPH_FILE}.tmp"));
        let mut out = BufWriter::new(File::create(&tmp)?);
        report.flamegraph(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }
}

impl Profiler for FlamegraphProfiler {
    fn start_profiling(&mut self, benchmark_id: &str, _benchmark_dir: &Path) {
        if let Err(e) = self.start() {
            eprintln!("flamegraph: cannot start profiler for {benchmark_id}: {e}");
        }
    }

    fn stop_profiling(&mut self, benchmark_id: &str, benchmark_dir: &Path) {
        if self.active.is_none() {
            return; // start_profiling already said why
        }
        match self.finish(benchmark_dir) {
            Ok(path) => eprintln!("flamegraph: {benchmark_id} → {}", path.display()),
            Err(e) => eprintln!(
                "flamegraph: cannot write {}: {e}",
                benchmark_dir.join(FLAMEGRAPH_FILE).display()
            ),
        }
    }
}

/// Whether Criterion runs this binary in test mode (every benchmark once, to prove it runs), so
/// that setup can shrink its inputs. Criterion's own rule: test mode unless `--bench` is given,
/// or when `--test` is. `cargo bench` passes `--bench`; `cargo test --benches` passes neither.
pub fn test_mode() -> bool {
    let flag = |name: &str| std::env::args().skip(1).any(|a| a == name);
    flag("--test") || !flag("--bench")
}

/// The multi-thread tokio runtime the pipeline benches run on: one worker per core of the
/// 2-core machines this suite is measured on. Build it outside the timed code.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime")
}

/// Ticks (another seed than the measured stream) that bring every symbol's indicators past
/// warm-up before anything is timed.
pub fn warm_up() -> Vec<tickbench::engine::tick::Tick> {
    use tickbench::engine::tick::{MarketConfig, MarketGenerator};
    MarketGenerator::new(MarketConfig {
        seed: 7,
        ..MarketConfig::default()
    })
    .take_vec(200_000)
}

/// A pipeline of `shards` shards (default config, `Block`) started on `rt` with a
/// [`ProgressSink`](tickbench::engine::pipeline::ProgressSink), every shard's engine already
/// taken through [`warm_up`]'s ticks, so nothing timed afterwards pays for warm-up.
pub fn warmed_pipeline(
    rt: &tokio::runtime::Runtime,
    shards: usize,
) -> (
    tickbench::engine::pipeline::Pipeline,
    tickbench::engine::pipeline::ProgressSink,
) {
    use tickbench::engine::pipeline::{Pipeline, PipelineConfig, ProgressSink};
    let sink = ProgressSink::new();
    let cfg = PipelineConfig {
        shards,
        ..PipelineConfig::default()
    };
    let pipe = {
        let _enter = rt.enter();
        Pipeline::start(cfg, sink.clone()).expect("pipeline config")
    };
    rt.block_on(async {
        let warm = warm_up();
        sink.arm(warm.len() as u64);
        pipe.producer()
            .send_batch(&warm)
            .await
            .expect("pipeline open");
        sink.wait().await;
    });
    (pipe, sink)
}

/// `engine_bare` in `g`: the signal engine alone over `ticks` in batches of `batch` (one
/// `on_ticks` call per batch), warmed up first, timed end to end like the pipeline beside it.
pub fn bench_bare_engine(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    ticks: &[tickbench::engine::tick::Tick],
    batch: usize,
) {
    use std::hint::black_box;
    use std::time::{Duration, Instant};
    use tickbench::engine::signal::{EngineConfig, SignalEngine};
    let mut engine = SignalEngine::new(64, EngineConfig::default());
    let mut out = Vec::new();
    engine.on_ticks(&warm_up(), &mut out);
    g.bench_function("engine_bare", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                out.clear();
                let start = Instant::now();
                for part in black_box(ticks).chunks(batch) {
                    engine.on_ticks(part, &mut out);
                }
                total += start.elapsed();
                black_box(out.len());
            }
            total
        })
    });
}

/// Small seeded generator (xorshift64*), the same on every machine.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// `n` signals one microsecond apart from `start_ns`, on random symbols below `symbols`.
pub fn signals(
    rng: &mut Rng,
    start_ns: u64,
    n: usize,
    symbols: u32,
) -> Vec<tickbench::engine::signal::Signal> {
    use tickbench::engine::signal::{Reason, Side, Signal};
    (0..n)
        .map(|i| {
            let r = rng.next();
            Signal {
                symbol: (r % u64::from(symbols)) as u32,
                ts_ns: start_ns + i as u64 * 1_000,
                side: if r >> 32 & 1 == 0 {
                    Side::Buy
                } else {
                    Side::Sell
                },
                strength: (r >> 11) as f64 / (1u64 << 53) as f64,
                reason: if r >> 33 & 1 == 0 {
                    Reason::MacdCrossRsi
                } else {
                    Reason::BollingerBreakout
                },
            }
        })
        .collect()
}
