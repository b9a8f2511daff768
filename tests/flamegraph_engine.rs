//! Proves the benches' flamegraph profiler writes a real flamegraph: it drives the same
//! `FlamegraphProfiler` that `benches/common/mod.rs` gives Criterion (included here through
//! `#[path]`, so there is one copy of the code) around the signal engine, then checks that the SVG
//! is non-empty and names `SignalEngine::on_tick`. A control run over code that never calls the
//! engine must not name it, so the check can fail.
//!
//! This runs in CI's plain `cargo test`; `scripts/flamegraph.sh signal engine/tick 5` is the same
//! profiler under `cargo bench --profile-time`.

#[path = "../benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{FlamegraphProfiler, DEFAULT_PROFILE_HZ};
use tickbench::engine::signal::{EngineConfig, SignalEngine};
use tickbench::engine::tick::{MarketConfig, MarketGenerator};

/// CPU time to sample: at 997 Hz about 400 samples, plenty to show the one hot function.
const PROFILE_FOR: Duration = Duration::from_millis(400);
/// The engine function the flamegraph must name.
const ENGINE_FRAME: &str = "SignalEngine::on_tick";

/// Profiles `work` (called repeatedly for `PROFILE_FOR`) into `dir/flamegraph.svg`, returns the SVG.
fn profile(dir: &Path, mut work: impl FnMut()) -> String {
    let mut profiler = FlamegraphProfiler::new(DEFAULT_PROFILE_HZ);
    profiler.start().expect("start pprof");
    let start = Instant::now();
    while start.elapsed() < PROFILE_FOR {
        work();
    }
    let path = profiler.finish(dir).expect("write the flamegraph");
    assert_eq!(path, dir.join(common::FLAMEGRAPH_FILE));
    std::fs::read_to_string(&path).expect("read the flamegraph back")
}

/// Control workload: a hash-like mix that never touches the engine.
#[inline(never)]
fn not_the_engine(seed: u64) -> u64 {
    (0..10_000u64).fold(seed, |h, i| {
        (h ^ i).wrapping_mul(0x100_0000_01b3).rotate_left(5)
    })
}

// One test: pprof allows one profiler per process at a time.
#[test]
fn profiler_writes_a_flamegraph_naming_the_engine() {
    let dir = tempfile::tempdir().expect("temp dir");

    let ticks = MarketGenerator::new(MarketConfig::default()).take_vec(50_000);
    let mut engine = SignalEngine::new(64, EngineConfig::default());
    let mut out = Vec::with_capacity(64);
    let engine_svg = profile(&dir.path().join("engine"), || {
        for t in &ticks {
            engine.on_tick(black_box(t), &mut out);
            out.clear();
        }
    });
    println!(
        "engine flamegraph: {} bytes, {} mentions of {ENGINE_FRAME}",
        engine_svg.len(),
        engine_svg.matches(ENGINE_FRAME).count()
    );
    assert!(engine_svg.starts_with("<?xml"), "not an SVG");
    assert!(engine_svg.contains("<svg"), "not an SVG");
    assert!(
        engine_svg.contains(ENGINE_FRAME),
        "the flamegraph does not name {ENGINE_FRAME}"
    );

    let mut h = 1u64;
    let control_svg = profile(&dir.path().join("control"), || {
        h = black_box(not_the_engine(h));
    });
    assert!(
        control_svg.contains("not_the_engine"),
        "the control flamegraph does not name its own workload"
    );
    assert!(
        !control_svg.contains(ENGINE_FRAME),
        "the control never calls the engine, yet its flamegraph names {ENGINE_FRAME}"
    );
}
