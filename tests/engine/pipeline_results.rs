//! Pipeline results: per-symbol order across shards, equality with a single-threaded engine, and
//! a 1 000 000-tick burst under `Block` that must lose nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tickbench::engine::pipeline::{
    shard_of, ChannelSink, OverloadPolicy, Pipeline, PipelineConfig, SignalSink,
};
use tickbench::engine::signal::{EngineConfig, Signal, SignalEngine};
use tickbench::engine::tick::{MarketConfig, MarketGenerator, SymbolId, Tick};
use tokio::time::timeout;

/// Generous bound so a hang fails the test instead of hanging CI.
const LIMIT: Duration = Duration::from_secs(60);

fn ticks(n: usize) -> Vec<Tick> {
    MarketGenerator::new(MarketConfig::default()).take_vec(n)
}

fn by_symbol<T: Copy>(items: &[T], symbol: impl Fn(&T) -> SymbolId) -> HashMap<SymbolId, Vec<T>> {
    let mut map: HashMap<SymbolId, Vec<T>> = HashMap::new();
    for item in items {
        map.entry(symbol(item)).or_default().push(*item);
    }
    map
}

/// Records every processed tick, per shard, in processing order.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(usize, Tick)>>>);

impl SignalSink for Recorder {
    fn on_batch(&mut self, shard: usize, ticks: &[Tick], _: &[Signal], _: Instant) {
        let mut seen = self.0.lock().unwrap();
        seen.extend(ticks.iter().map(|t| (shard, *t)));
    }
}

fn config(shards: usize) -> PipelineConfig {
    PipelineConfig {
        shards,
        queue_capacity: 4_096,
        max_batch: 256,
        ..PipelineConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_symbol_order_is_kept_across_shards() {
    let input = ticks(60_000);
    for shards in [1, 2, 3] {
        let recorder = Recorder::default();
        let pipeline = Pipeline::start(config(shards), recorder.clone()).unwrap();
        // Three producers, each owning the symbols `s % 3 == p`, each sending in odd-sized
        // slices so batches straddle the routing windows.
        let mut tasks = Vec::new();
        for p in 0..3u32 {
            let mine: Vec<Tick> = input
                .iter()
                .filter(|t| t.symbol % 3 == p)
                .copied()
                .collect();
            let producer = pipeline.producer();
            tasks.push(tokio::spawn(async move {
                for part in mine.chunks(777) {
                    producer.send_batch(part).await.unwrap();
                }
            }));
        }
        for task in tasks {
            timeout(LIMIT, task).await.unwrap().unwrap();
        }
        let stats = timeout(LIMIT, pipeline.shutdown()).await.unwrap();
        stats.check(OverloadPolicy::Block).unwrap();
        assert_eq!(stats.processed, input.len() as u64);

        let seen = recorder.0.lock().unwrap().clone();
        assert_eq!(seen.len(), input.len());
        for (shard, tick) in &seen {
            assert_eq!(
                *shard,
                shard_of(tick.symbol, shards),
                "tick on the wrong shard"
            );
        }
        let got = by_symbol(&seen, |(_, t)| t.symbol);
        let want = by_symbol(&input, |t| t.symbol);
        assert_eq!(got.len(), want.len());
        for (symbol, sent) in &want {
            let processed: Vec<Tick> = got[symbol].iter().map(|(_, t)| *t).collect();
            assert_eq!(
                &processed, sent,
                "order of symbol {symbol} with {shards} shards"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_equal_single_threaded_engine() {
    let input = ticks(200_000);
    let mut engine = SignalEngine::new(64, EngineConfig::default());
    let mut expected = Vec::new();
    for tick in &input {
        engine.on_tick(tick, &mut expected);
    }
    assert!(
        !expected.is_empty(),
        "the reference run emits no signals: nothing to compare"
    );

    for shards in [1, 2, 4] {
        let (sink, mut rx) = ChannelSink::new();
        let pipeline = Pipeline::start(config(shards), sink).unwrap();
        let producer = pipeline.producer();
        // Mixed sizes, including single-tick sends.
        let (head, tail) = input.split_at(1_000);
        for tick in head {
            producer.send(*tick).await.unwrap();
        }
        for part in tail.chunks(5_000) {
            producer.send_batch(part).await.unwrap();
        }
        let stats = timeout(LIMIT, pipeline.shutdown()).await.unwrap();
        stats.check(OverloadPolicy::Block).unwrap();
        let mut got = Vec::new();
        while let Ok(batch) = rx.try_recv() {
            got.extend(batch);
        }
        assert_eq!(stats.signals, expected.len() as u64);
        assert_eq!(got.len(), expected.len());
        // Shards interleave, so compare per symbol, where the order is defined.
        assert_eq!(
            by_symbol(&got, |s| s.symbol),
            by_symbol(&expected, |s| s.symbol),
            "{shards} shards"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn million_tick_burst_under_block_loses_nothing() {
    let input = ticks(1_000_000);
    for shards in [1, 2] {
        let cfg = PipelineConfig {
            shards,
            // Far smaller than the burst, so producers really wait for room.
            queue_capacity: 8_192,
            overload: OverloadPolicy::Block,
            ..PipelineConfig::default()
        };
        let recorder = Recorder::default();
        let pipeline = Pipeline::start(cfg, recorder.clone()).unwrap();
        let producer = pipeline.producer();
        timeout(LIMIT, producer.send_batch(&input))
            .await
            .unwrap()
            .unwrap();
        let stats = timeout(LIMIT, pipeline.shutdown()).await.unwrap();
        stats.check(OverloadPolicy::Block).unwrap();
        assert_eq!(stats.received, 1_000_000);
        assert_eq!(stats.processed, 1_000_000);
        assert_eq!(stats.dropped, 0);
        assert!(stats.max_queue_depth > 0 && stats.max_queue_depth <= 8_192);
        assert_eq!(recorder.0.lock().unwrap().len(), 1_000_000);
    }
}
