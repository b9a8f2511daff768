//! The engine's hot path makes no heap allocation after warm-up, counted by a counting global
//! allocator: every `alloc`, `alloc_zeroed` and `realloc` on the calling thread bumps a
//! thread-local counter (thread-local, so the test harness's other threads do not disturb it).
//! One test proves the counter counts, so that "zero" means something.
//!
//! Run: `cargo test --test alloc_per_tick -- --nocapture` (prints the figures).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use tickbench::engine::signal::{EngineConfig, Signal, SignalEngine};
use tickbench::engine::tick::{MarketConfig, MarketGenerator, Tick};

/// Forwards to the system allocator, counting allocations made by the current thread.
struct CountingAlloc;

thread_local! {
    /// Allocations (including reallocations) made by this thread so far. Const-initialised and
    /// without a destructor, so reading it never allocates.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: the allocator may be called while the thread's locals are being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Runs `f` and returns its result with the number of allocations it made on this thread.
fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let r = f();
    let after = ALLOCATIONS.with(Cell::get);
    (r, after - before)
}

/// Ticks counted after warm-up. Debug builds (CI's `cargo test`) run fewer.
const MEASURED_TICKS: usize = if cfg!(debug_assertions) {
    400_000
} else {
    5_000_000
};
/// Warm-up ticks per symbol, as a multiple of the engine's own warm-up: ticks land on random
/// symbols, so the coldest symbol sees well under the average.
const WARM_UP_FACTOR: u64 = 3;
/// Ticks per `on_ticks` call in the batch test.
const BATCH: usize = 1024;
/// Symbol counts for the batch test: below and above the engine's prefetching threshold (2048).
const BATCH_SYMBOLS: [u32; 2] = [64, 4096];

/// A seeded market over `symbols` symbols, an engine warmed up on it, and the ticks that follow.
/// Asserts that the warm-up really warms every symbol, so the measured ticks run the hot path.
fn warmed_engine(symbols: u32) -> (SignalEngine, Vec<Tick>) {
    let mut market = MarketGenerator::new(MarketConfig::new(42, symbols));
    let mut engine = SignalEngine::new(symbols as usize, EngineConfig::default());
    let warm_up = symbols as u64 * engine.warm_up_ticks() * WARM_UP_FACTOR;

    let mut per_symbol = vec![0u64; symbols as usize];
    let mut out = Vec::new();
    for t in market.by_ref().take(warm_up as usize) {
        per_symbol[t.symbol as usize] += 1;
        engine.on_tick(&t, &mut out);
        out.clear();
    }
    let coldest = per_symbol.iter().min().copied().unwrap_or(0);
    assert!(
        coldest >= engine.warm_up_ticks(),
        "warm-up too short: a symbol saw {coldest} ticks, warm-up needs {}",
        engine.warm_up_ticks()
    );
    (engine, market.take_vec(MEASURED_TICKS))
}

#[test]
fn the_counter_counts_allocations_and_only_them() {
    let (_, boxed) = count_allocations(|| black_box(Box::new([7u64; 4])));
    assert_eq!(boxed, 1, "one Box is one allocation");

    let (_, grown) = count_allocations(|| {
        let mut v: Vec<u64> = Vec::with_capacity(1);
        v.reserve_exact(1000); // a reallocation counts too
        black_box(v)
    });
    assert_eq!(grown, 2, "an allocation and a reallocation");

    let (_, boxes) =
        count_allocations(|| (0..5).map(|i| black_box(Box::new(i))).collect::<Vec<_>>());
    assert_eq!(boxes, 6, "five Boxes plus the Vec holding them");

    let (sum, none) = count_allocations(|| (0..1000u64).map(black_box).sum::<u64>());
    assert_eq!((sum, none), (499_500, 0), "arithmetic does not allocate");
}

#[test]
fn on_tick_makes_no_allocation_after_warm_up() {
    let (mut engine, ticks) = warmed_engine(64);
    // Room for every signal the measured ticks can produce between two clears.
    let mut out: Vec<Signal> = Vec::with_capacity(64);
    let (signals, allocations) = count_allocations(|| {
        let mut signals = 0u64;
        for t in &ticks {
            engine.on_tick(black_box(t), &mut out);
            signals += out.len() as u64;
            out.clear();
        }
        signals
    });
    println!(
        "on_tick: {} ticks over 64 symbols after warm-up, {signals} signals, {allocations} \
         allocations",
        ticks.len()
    );
    assert!(
        signals > 0,
        "the measured ticks must exercise the rules too"
    );
    assert_eq!(allocations, 0, "the hot path allocated");
}

#[test]
fn on_ticks_makes_no_allocation_after_warm_up() {
    for symbols in BATCH_SYMBOLS {
        let (mut engine, ticks) = warmed_engine(symbols);
        // At most one signal per rule per tick.
        let mut out: Vec<Signal> = Vec::with_capacity(2 * BATCH);
        let (signals, allocations) = count_allocations(|| {
            let mut signals = 0u64;
            for batch in ticks.chunks(BATCH) {
                engine.on_ticks(black_box(batch), &mut out);
                signals += out.len() as u64;
                out.clear();
            }
            signals
        });
        println!(
            "on_ticks: {} ticks over {symbols} symbols in batches of {BATCH}, {signals} \
             signals, {allocations} allocations",
            ticks.len()
        );
        assert!(
            signals > 0,
            "the measured ticks must exercise the rules too"
        );
        assert_eq!(
            allocations, 0,
            "the batch hot path allocated ({symbols} symbols)"
        );
    }
}

#[test]
fn the_counter_sees_the_engine_allocate_when_it_must() {
    // The engine's one documented allocation: a symbol id beyond its state grows the state. The
    // same counting that reports zero above must report it here.
    let (mut engine, ticks) = warmed_engine(64);
    let mut out: Vec<Signal> = Vec::with_capacity(64);
    let stranger = Tick {
        symbol: 10 * engine.symbols() as u32,
        ..ticks[0]
    };
    let ((), allocations) = count_allocations(|| engine.on_tick(black_box(&stranger), &mut out));
    println!(
        "on_tick for new symbol {}: {allocations} allocations",
        stranger.symbol
    );
    assert!(allocations > 0, "growing the symbol state must be counted");
}
