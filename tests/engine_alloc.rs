//! No heap allocation per tick after warm-up, checked with dhat's heap statistics (one dhat
//! profiler per process, hence this file of its own).

use tickbench::engine::signal::{EngineConfig, SignalEngine};
use tickbench::engine::tick::{MarketConfig, MarketGenerator, Tick};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn ticks_after_warm_up_allocate_nothing() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let ticks = MarketGenerator::new(MarketConfig::new(42, 64)).take_vec(200_000);
    let (warm, measured) = ticks.split_at(100_000);
    let mut engine = SignalEngine::new(64, EngineConfig::default());
    // Room for every signal the measured ticks could produce, reserved up front.
    let mut out = Vec::with_capacity(2 * measured.len());
    engine.on_ticks(warm, &mut out);
    out.clear();

    let before = dhat::HeapStats::get();
    for t in &measured[..50_000] {
        engine.on_tick(t, &mut out);
    }
    engine.on_ticks(&measured[50_000..], &mut out);
    let after = dhat::HeapStats::get();
    assert!(!out.is_empty(), "the measured ticks should produce signals");
    assert_eq!(
        after.total_blocks, before.total_blocks,
        "allocations during steady ticks"
    );

    // The check does see an allocation: a symbol id beyond the state grows it.
    let stranger = Tick {
        symbol: 64,
        ..measured[0]
    };
    engine.on_tick(&stranger, &mut out);
    assert!(dhat::HeapStats::get().total_blocks > after.total_blocks);
}
