//! Pipeline overload and shutdown: the accounting invariant under both policies, shutdown while
//! producers still send, and producers or sinks that die without hanging anything.
//!
//! Every wait is under `tokio::time::timeout`, so a hang fails the test instead of hanging CI.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tickbench::engine::pipeline::{
    OverloadPolicy, Pipeline, PipelineClosed, PipelineConfig, SignalSink,
};
use tickbench::engine::signal::Signal;
use tickbench::engine::tick::{MarketConfig, MarketGenerator, SymbolId, Tick};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

fn ticks(n: usize) -> Vec<Tick> {
    MarketGenerator::new(MarketConfig::default()).take_vec(n)
}

/// Sleeps on every batch so queues fill up, and records what it processed.
#[derive(Clone, Default)]
struct SlowSink {
    seen: Arc<Mutex<Vec<Tick>>>,
}

impl SignalSink for SlowSink {
    fn on_batch(&mut self, _: usize, ticks: &[Tick], _: &[Signal], _: Instant) {
        std::thread::sleep(Duration::from_micros(200));
        self.seen.lock().unwrap().extend_from_slice(ticks);
    }
}

fn small(shards: usize, overload: OverloadPolicy) -> PipelineConfig {
    PipelineConfig {
        shards,
        queue_capacity: 256,
        overload,
        max_batch: 64,
        ..PipelineConfig::default()
    }
}

/// Each processed symbol's ticks are a subsequence of what was sent, in order.
fn assert_ordered_subsequence(sent: &[Tick], seen: &[Tick]) {
    let symbols: std::collections::BTreeSet<SymbolId> = sent.iter().map(|t| t.symbol).collect();
    for symbol in symbols {
        let mut want = sent.iter().filter(|t| t.symbol == symbol);
        for got in seen.iter().filter(|t| t.symbol == symbol) {
            assert!(
                want.any(|w| w == got),
                "symbol {symbol}: processed out of order"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_never_drops_and_balances() {
    let input = ticks(20_000);
    for shards in [1, 2] {
        let sink = SlowSink::default();
        let pipeline = Pipeline::start(small(shards, OverloadPolicy::Block), sink.clone()).unwrap();
        let mut tasks = Vec::new();
        for part in input.chunks(5_000) {
            let producer = pipeline.producer();
            let part = part.to_vec();
            tasks.push(tokio::spawn(async move {
                for batch in part.chunks(100) {
                    producer.send_batch(batch).await.unwrap();
                }
            }));
        }
        for task in tasks {
            timeout(LIMIT, task).await.unwrap().unwrap();
        }
        let stats = timeout(LIMIT, pipeline.shutdown()).await.unwrap();
        stats.check(OverloadPolicy::Block).unwrap();
        assert_eq!(stats.received, 20_000);
        assert_eq!(stats.processed, 20_000);
        assert_eq!(stats.dropped, 0);
        assert_eq!(sink.seen.lock().unwrap().len(), 20_000);
        // The slow sink keeps the queue full: it reached, and never passed, its capacity.
        assert!(stats.max_queue_depth <= 256, "{stats:?}");
        assert!(stats.max_queue_depth > 64, "queue never filled: {stats:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_newest_counts_every_drop() {
    let input = ticks(20_000);
    for shards in [1, 2] {
        let sink = SlowSink::default();
        let pipeline =
            Pipeline::start(small(shards, OverloadPolicy::DropNewest), sink.clone()).unwrap();
        let producer = pipeline.producer();
        // Single ticks first, then batches: both paths drop and count.
        let (singles, batches) = input.split_at(5_000);
        for tick in singles {
            producer.send(*tick).await.unwrap();
        }
        for batch in batches.chunks(100) {
            producer.send_batch(batch).await.unwrap();
        }
        let stats = timeout(LIMIT, pipeline.shutdown()).await.unwrap();
        stats.check(OverloadPolicy::DropNewest).unwrap();
        assert_eq!(stats.received, 20_000);
        assert!(
            stats.dropped > 0,
            "the slow sink should force drops: {stats:?}"
        );
        let seen = sink.seen.lock().unwrap().clone();
        assert_eq!(seen.len() as u64, stats.processed);
        assert_ordered_subsequence(&input, &seen);
        // The same stats under Block would be a violation: the checker notices.
        assert!(stats.check(OverloadPolicy::Block).is_err());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_producers_send() {
    for overload in [OverloadPolicy::Block, OverloadPolicy::DropNewest] {
        let pipeline = Pipeline::start(small(2, overload), SlowSink::default()).unwrap();
        let acked = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for p in 0..4 {
            let producer = pipeline.producer();
            let acked = Arc::clone(&acked);
            let input = MarketGenerator::new(MarketConfig {
                seed: p,
                ..MarketConfig::default()
            })
            .take_vec(1_000);
            tasks.push(tokio::spawn(async move {
                // Send until the pipeline closes; count what it acknowledged.
                loop {
                    for batch in input.chunks(50) {
                        match producer.send_batch(batch).await {
                            Ok(()) => acked.fetch_add(batch.len() as u64, Ordering::Relaxed),
                            Err(PipelineClosed) => return batch.len() as u64,
                        };
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        let stats = timeout(LIMIT, pipeline.shutdown()).await.unwrap();
        stats.check(overload).unwrap();
        // Every producer notices the closed pipeline.
        let mut in_flight = 0;
        for task in tasks {
            in_flight += timeout(LIMIT, task).await.unwrap().unwrap();
        }
        let acked = acked.load(Ordering::Relaxed);
        // Acknowledged ticks were all received; of the calls that failed, only ticks routed
        // before the close can have been received.
        assert!(stats.received >= acked, "{stats:?}, acked {acked}");
        assert!(
            stats.received <= acked + in_flight,
            "{stats:?}, acked {acked}"
        );
        assert!(acked > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_or_dropped_producers_do_not_hang() {
    let pipeline = Pipeline::start(small(2, OverloadPolicy::Block), SlowSink::default()).unwrap();
    let input = ticks(4_000);

    // One producer panics halfway through its ticks.
    let producer = pipeline.producer();
    let part = input[..2_000].to_vec();
    let panicked = tokio::spawn(async move {
        for (i, batch) in part.chunks(100).enumerate() {
            assert!(i < 10, "producer fails mid-stream");
            producer.send_batch(batch).await.unwrap();
        }
    });
    assert!(timeout(LIMIT, panicked)
        .await
        .unwrap()
        .unwrap_err()
        .is_panic());

    // One is cancelled while blocked on a full queue: the room it waited for is not lost.
    let producer = pipeline.producer();
    let part = input[2_000..].to_vec();
    let blocked = tokio::spawn(async move { producer.send_batch(&part).await });
    tokio::time::sleep(Duration::from_millis(5)).await;
    blocked.abort();
    let _ = timeout(LIMIT, blocked).await.unwrap();

    // One is simply dropped.
    drop(pipeline.producer());

    // The pipeline still takes more than a queue's worth of ticks, then drains.
    let producer = pipeline.producer();
    timeout(LIMIT, producer.send_batch(&input[..1_000]))
        .await
        .unwrap()
        .unwrap();
    let stats = timeout(LIMIT, pipeline.shutdown()).await.unwrap();
    stats.check(OverloadPolicy::Block).unwrap();
    assert!(stats.received >= 2_000, "{stats:?}");
    // A producer kept past shutdown gets an error, not a hang.
    let late = timeout(LIMIT, producer.send_batch(&input[..10]))
        .await
        .unwrap();
    assert_eq!(late, Err(PipelineClosed));
}

/// Panics on the first batch it sees.
#[derive(Clone)]
struct PanickingSink;

impl SignalSink for PanickingSink {
    fn on_batch(&mut self, _: usize, _: &[Tick], _: &[Signal], _: Instant) {
        panic!("sink failure");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_shard_releases_blocked_producers() {
    let pipeline = Pipeline::start(small(1, OverloadPolicy::Block), PanickingSink).unwrap();
    let producer = pipeline.producer();
    // Far more than the queue holds: without the dead shard closing its queue this blocks forever.
    let sent = timeout(LIMIT, producer.send_batch(&ticks(10_000)))
        .await
        .unwrap();
    assert_eq!(sent, Err(PipelineClosed));
    let shutdown = tokio::spawn(pipeline.shutdown());
    let err = timeout(LIMIT, shutdown).await.unwrap().unwrap_err();
    assert!(err.is_panic(), "shutdown reports the shard's panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_pipeline_drains_in_the_background() {
    let sink = SlowSink::default();
    let pipeline = Pipeline::start(small(2, OverloadPolicy::Block), sink.clone()).unwrap();
    let producer = pipeline.producer();
    producer.send_batch(&ticks(500)).await.unwrap();
    drop(pipeline);
    timeout(LIMIT, async {
        while sink.seen.lock().unwrap().len() < 500 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(producer.send(ticks(1)[0]).await, Err(PipelineClosed));
}
