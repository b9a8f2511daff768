//! Heap-growth check of the SQLite signal store's insert/query loop: each window inserts batches
//! of engine signals into a file database (WAL) and queries it the way readers do (latest N per
//! symbol, a time range, aggregates over the last window). After three warm-up windows, dhat's
//! live bytes and blocks must stay within 4 KiB / 16 blocks of the baseline over ten more (by
//! then rusqlite's statement cache is full; a leaked row `Vec` per window would exceed it).
//!
//! SQLite allocates through libc `malloc`, not Rust's allocator, so dhat does not see its page
//! cache; `sqlite3_memory_used()` is printed beside dhat's figures but not judged, because the
//! page cache legitimately grows with the database up to its configured size (64 MiB).
//!
//! Run: `cargo test --release --test heap_store -- --nocapture`, or
//! `scripts/leak-check.sh store [--profile]`.

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[path = "support/heap.rs"]
mod heap;

use std::hint::black_box;

use heap::{Gauge, HeapCheck, Slack};
use tickbench::engine::signal::{EngineConfig, Signal, SignalEngine};
use tickbench::engine::store::SignalStore;
use tickbench::engine::tick::{MarketConfig, MarketGenerator};

const SYMBOLS: u32 = 64;
/// Signals per insert batch, and batches per window.
const BATCH: usize = 500;
const BATCHES_PER_WINDOW: usize = if cfg!(debug_assertions) { 10 } else { 100 };
/// Queries of each kind per batch.
const QUERIES: u32 = 8;
const WARMUP: usize = 3;
const WINDOWS: usize = 10;
const SLACK: Slack = Slack {
    bytes: 4096,
    blocks: 16,
};

fn sqlite_memory_used() -> u64 {
    // SAFETY: a plain read of SQLite's global allocation counter; safe at any time.
    unsafe { rusqlite::ffi::sqlite3_memory_used() as u64 }
}

#[test]
fn store_heap_stays_flat_over_insert_query_loop() {
    let _profiler = heap::profiler("store");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = SignalStore::open(dir.path().join("signals.db")).expect("open store");

    let mut market = MarketGenerator::new(MarketConfig::new(3, SYMBOLS));
    let mut engine = SignalEngine::new(SYMBOLS as usize, EngineConfig::default());
    let mut signals: Vec<Signal> = Vec::with_capacity(BATCH + 2);
    let (mut inserted, mut returned) = (0u64, 0u64);

    let sqlite = Gauge {
        name: "sqlite3_memory_used",
        read: sqlite_memory_used,
        slack: None,
    };
    let report = HeapCheck::new("store", WARMUP, WINDOWS, SLACK)
        .with_gauge(sqlite)
        .run(|_| {
            for _ in 0..BATCHES_PER_WINDOW {
                signals.clear();
                let mut last_ts = 0;
                while signals.len() < BATCH {
                    let tick = market.next().expect("the market never ends");
                    engine.on_tick(&tick, &mut signals);
                    last_ts = tick.ts_ns;
                }
                store.insert_signals(&signals).expect("insert");
                inserted += signals.len() as u64;
                for q in 0..QUERIES {
                    let symbol = (q * 7 + last_ts as u32) % SYMBOLS;
                    let latest = store.latest(symbol, 10).expect("latest");
                    let range = store
                        .range(symbol, last_ts.saturating_sub(1_000_000), last_ts)
                        .expect("range");
                    returned += (latest.len() + range.len()) as u64;
                    black_box((latest, range));
                }
                let aggregates = store
                    .aggregates(last_ts.saturating_sub(5_000_000), last_ts + 1)
                    .expect("aggregates");
                returned += aggregates.len() as u64;
                black_box(aggregates);
            }
        });
    println!("store: {inserted} signals inserted, {returned} rows returned by queries");
    assert!(returned > 0, "the queries must return rows");
    report.assert_flat();
}
