//! Heap-growth check of the signal engine: millions of seeded ticks (release; a tenth of that in
//! CI's debug build) through `SignalEngine::on_ticks` in batches, the way a pipeline shard feeds
//! it. After two warm-up windows, dhat's live bytes and blocks must stay within 4 KiB / 16 blocks
//! of the baseline over ten more windows.
//!
//! Run: `cargo test --release --test heap_signal_engine -- --nocapture`, or
//! `scripts/leak-check.sh signal_engine [--profile]`.

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[path = "support/heap.rs"]
mod heap;

use std::hint::black_box;

use heap::{HeapCheck, Slack};
use tickbench::engine::signal::{EngineConfig, SignalEngine};
use tickbench::engine::tick::{MarketConfig, MarketGenerator, Tick};

const SYMBOLS: u32 = 256;
/// Ticks per window: 10 measured windows make 10 M ticks in release, 1 M in debug.
const TICKS_PER_WINDOW: usize = if cfg!(debug_assertions) {
    100_000
} else {
    1_000_000
};
const BATCH: usize = 1024;
const WARMUP: usize = 2;
const WINDOWS: usize = 10;
const SLACK: Slack = Slack {
    bytes: 4096,
    blocks: 16,
};

#[test]
fn signal_engine_heap_stays_flat_over_millions_of_ticks() {
    let _profiler = heap::profiler("signal_engine");

    let mut market = MarketGenerator::new(MarketConfig::new(7, SYMBOLS));
    let mut engine = SignalEngine::new(SYMBOLS as usize, EngineConfig::default());
    let mut batch: Vec<Tick> = Vec::with_capacity(BATCH);
    let mut out = Vec::with_capacity(2 * BATCH);
    let mut signals = 0u64;

    let report = HeapCheck::new("signal_engine", WARMUP, WINDOWS, SLACK).run(|_| {
        let mut left = TICKS_PER_WINDOW;
        while left > 0 {
            let n = left.min(BATCH);
            batch.clear();
            batch.extend(market.by_ref().take(n));
            engine.on_ticks(black_box(&batch), &mut out);
            signals += out.len() as u64;
            out.clear();
            left -= n;
        }
    });
    println!(
        "signal_engine: {} ticks over {SYMBOLS} symbols, {signals} signals",
        (WARMUP + WINDOWS) * TICKS_PER_WINDOW
    );
    assert!(signals > 0, "the workload must exercise the rules");
    report.assert_flat();
}
