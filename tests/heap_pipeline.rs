//! Heap-growth check of the tokio pipeline over repeated bursts. A long-lived pipeline on a
//! two-worker runtime receives one burst of seeded ticks per window through
//! `Producer::send_batch`; a window ends when the sink has seen every tick of the burst
//! processed, so every sample is taken with the queues drained. Twelve bursts are measured after
//! ten warm-up bursts, twice:
//!
//! - **one shard**: every heap figure is deterministic, so the slack is small (16 KiB, 32 blocks).
//! - **two shards** (routing by symbol): each shard pools up to 64 spent tick buffers, and a
//!   routed batch that overflows its buffer grows it from `max_batch` to `2 × max_batch` ticks;
//!   which buffers end up pooled after a burst depends on timing, so the pool's bytes move up and
//!   down between bursts (±200 KB seen) with a constant block count. The byte slack is that
//!   pool's full swing, 64 × 2 shards × `MAX_BATCH` × 24 B = 384 KiB; the block slack stays 32.
//!   (If `pipeline.rs` stops pooling overgrown buffers, this can drop to the one-shard slack.)
//!
//! `MAX_BATCH` is small so that one burst has more batches in flight per shard than a pool keeps,
//! which fills the pools during the first burst.
//!
//! Run: `cargo test --release --test heap_pipeline -- --nocapture`, or
//! `scripts/leak-check.sh pipeline [--profile]`.

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[path = "support/heap.rs"]
mod heap;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use heap::{HeapCheck, Slack};
use tickbench::engine::pipeline::{Pipeline, PipelineConfig, SignalSink};
use tickbench::engine::signal::Signal;
use tickbench::engine::tick::{MarketConfig, MarketGenerator, Tick};

const SYMBOLS: u32 = 256;
/// Ticks per burst (one burst per window).
const BURST: usize = if cfg!(debug_assertions) {
    25_000
} else {
    250_000
};
/// Ticks per queued batch: small, so that one burst has more batches in flight per shard than
/// the shard's buffer pool keeps (64), which fills the pool in the first burst.
const MAX_BATCH: usize = 128;
const WARMUP: usize = 10;
const WINDOWS: usize = 12;
/// Slack of the deterministic one-shard run.
const SLACK: Slack = Slack {
    bytes: 16 * 1024,
    blocks: 32,
};
/// Buffers a shard pools (`POOL_MAX` in `src/engine/pipeline.rs`).
const POOLED_BUFFERS: u64 = 64;
/// Slack of the two-shard run: the pooled buffers' full swing between `MAX_BATCH` and
/// `2 × MAX_BATCH` ticks of 24 bytes.
const SLACK_ROUTED: Slack = Slack {
    bytes: POOLED_BUFFERS * 2 * MAX_BATCH as u64 * 24,
    blocks: 32,
};
/// A burst that takes longer than this to drain means the pipeline is stuck.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Counts what the shards processed, shared by every shard's clone.
#[derive(Clone, Default)]
struct CountingSink {
    ticks: Arc<AtomicU64>,
    signals: Arc<AtomicU64>,
}

impl SignalSink for CountingSink {
    fn on_batch(&mut self, _: usize, ticks: &[Tick], signals: &[Signal], _: Instant) {
        self.signals
            .fetch_add(signals.len() as u64, Ordering::Relaxed);
        // Release: the main thread's Acquire load then sees the whole batch's work done.
        self.ticks.fetch_add(ticks.len() as u64, Ordering::Release);
    }
}

/// Runs the burst workload through a `shards`-shard pipeline under a heap check.
fn check_bursts(rt: &tokio::runtime::Runtime, shards: usize, slack: Slack) -> heap::HeapReport {
    let workload = if shards == 1 {
        "pipeline, 1 shard"
    } else {
        "pipeline, 2 shards"
    };
    let sink = CountingSink::default();
    let cfg = PipelineConfig {
        shards,
        symbols: SYMBOLS as usize,
        max_batch: MAX_BATCH,
        ..PipelineConfig::default()
    };
    let pipeline = rt
        .block_on(async { Pipeline::start(cfg, sink.clone()) })
        .expect("start");
    let producer = pipeline.producer();

    let mut market = MarketGenerator::new(MarketConfig::new(11, SYMBOLS));
    let mut burst: Vec<Tick> = Vec::with_capacity(BURST);
    let mut sent = 0u64;

    let report = HeapCheck::new(workload, WARMUP, WINDOWS, slack).run(|_| {
        burst.clear();
        burst.extend(market.by_ref().take(BURST));
        rt.block_on(producer.send_batch(&burst))
            .expect("pipeline closed early");
        sent += BURST as u64;
        let start = Instant::now();
        while sink.ticks.load(Ordering::Acquire) < sent {
            assert!(
                start.elapsed() < DRAIN_TIMEOUT,
                "burst not drained in {DRAIN_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
    });

    drop(producer);
    let stats = rt.block_on(pipeline.shutdown());
    println!(
        "{workload}: {} bursts of {BURST} ticks, processed {}, dropped {}, {} signals, max \
         queue depth {}",
        WARMUP + WINDOWS,
        stats.processed,
        stats.dropped,
        sink.signals.load(Ordering::Relaxed),
        stats.max_queue_depth
    );
    assert_eq!(stats.processed, sent, "every tick sent must be processed");
    assert!(stats.signals > 0, "the workload must exercise the rules");
    report
}

#[test]
fn pipeline_heap_stays_flat_over_repeated_bursts() {
    let _profiler = heap::profiler("pipeline");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");

    // Both reports are printed before either verdict can fail the test.
    let one = check_bursts(&rt, 1, SLACK);
    let two = check_bursts(&rt, 2, SLACK_ROUTED);
    one.print();
    two.print();
    let verdicts = [one.verdict(), two.verdict()];
    for v in &verdicts {
        if let Err(e) = v {
            panic!("heap grew: {e}");
        }
    }
}
