//! Heap-growth check of the rotating journal across rotations: each window appends engine signals
//! until the journal has rotated several times (64 KiB files, four segments kept, so pruning runs
//! at every rotation too). After two warm-up windows, dhat's live bytes and blocks must stay
//! within 4 KiB / 16 blocks of the baseline over ten more windows: a rotation that kept a path, a
//! buffer or a file handle per segment would exceed that within a few rotations.
//!
//! Run: `cargo test --release --test heap_journal -- --nocapture`, or
//! `scripts/leak-check.sh journal [--profile]`.

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[path = "support/heap.rs"]
mod heap;

use heap::{HeapCheck, Slack};
use tickbench::engine::journal::{
    encode_record, Journal, JournalConfig, SyncPolicy, MAX_RECORD_BYTES,
};
use tickbench::engine::signal::{EngineConfig, Signal, SignalEngine};
use tickbench::engine::tick::{MarketConfig, MarketGenerator};

const SYMBOLS: u32 = 64;
const CONFIG: JournalConfig = JournalConfig {
    max_file_bytes: 64 * 1024,
    retention: 4,
    sync: SyncPolicy::OnRotation,
};
/// Rotations per window.
const ROTATIONS_PER_WINDOW: u64 = if cfg!(debug_assertions) { 4 } else { 20 };
const WARMUP: usize = 2;
const WINDOWS: usize = 10;
const SLACK: Slack = Slack {
    bytes: 4096,
    blocks: 16,
};

#[test]
fn journal_heap_stays_flat_across_rotations() {
    let _profiler = heap::profiler("journal");
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut journal, _) = Journal::open(dir.path(), CONFIG).expect("open journal");

    let mut market = MarketGenerator::new(MarketConfig::new(5, SYMBOLS));
    let mut engine = SignalEngine::new(SYMBOLS as usize, EngineConfig::default());
    let mut signals: Vec<Signal> = Vec::with_capacity(64);
    let mut record = Vec::with_capacity(MAX_RECORD_BYTES);
    let (mut appended, mut total_bytes) = (0u64, 0u64);

    // A window writes this many record bytes, so it crosses ROTATIONS_PER_WINDOW file limits.
    let bytes_per_window = ROTATIONS_PER_WINDOW * CONFIG.max_file_bytes;
    let report = HeapCheck::new("journal", WARMUP, WINDOWS, SLACK).run(|_| {
        let mut written = 0u64;
        while written < bytes_per_window {
            signals.clear();
            let tick = market.next().expect("the market never ends");
            engine.on_tick(&tick, &mut signals);
            for s in &signals {
                let seq = journal.append(s).expect("append");
                record.clear();
                encode_record(&mut record, seq, s); // the same bytes, to count them
                written += record.len() as u64;
                appended += 1;
            }
        }
        total_bytes += written;
    });
    journal.close().expect("close journal");

    let files = std::fs::read_dir(dir.path()).expect("list journal").count();
    println!(
        "journal: {appended} records ({total_bytes} bytes) appended, about {} rotations, {files} \
         files left",
        total_bytes / CONFIG.max_file_bytes
    );
    assert!(
        files <= CONFIG.retention + 1,
        "pruning left {files} files (retention {})",
        CONFIG.retention
    );
    report.assert_flat();
}
