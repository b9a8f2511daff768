//! Concurrent producers: sustained throughput when 1, 2, 4, 8 or 20 producers (20 is the seed's
//! figure) feed the pipeline at once, into 1 or 2 shards, sending batches of 1, 64 or 1 024
//! ticks — and what the pipeline costs next to the bare engine on the same ticks.
//!
//! Each producer is a tokio task with its own contiguous share of one seeded tick stream; it
//! sends the share in batches of the group's size (`Producer::send` for size 1,
//! `Producer::send_batch` otherwise) under `Block`. The clock runs from spawning the producers to
//! the moment the last tick has been processed by its shard (`ProgressSink`), so the figure is
//! end to end. The pipeline (2-worker runtime, engines warmed up) is built outside the timed
//! part and stays up across iterations.
//!
//! One group per batch size; inside it `engine_bare` is `SignalEngine::on_ticks` over the same
//! ticks in the same batches on one thread (the reference), and `pipeline_shards_S/P` the
//! pipeline with S shards and P producers. Throughput is in ticks.
//!
//! ```text
//! cargo bench --bench concurrency
//! cargo bench --bench concurrency -- --profile-time 5 'concurrency_batch_1024/pipeline_shards_2/20'
//! ```

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use tickbench::engine::tick::{MarketConfig, MarketGenerator, Tick};
use tokio::runtime::Runtime;

mod common;

const PRODUCERS: [usize; 5] = [1, 2, 4, 8, 20];
const SHARDS: [usize; 2] = [1, 2];
const BATCH_SIZES: [usize; 3] = [1, 64, 1_024];

/// Ticks per iteration for a batch size: single-tick sends are far slower, so they get fewer.
/// Shrunk in test mode (`cargo test --benches`); the measured code is the same.
fn ticks_per_iteration(batch: usize) -> usize {
    let n = if batch == 1 { 40_960 } else { 409_600 };
    if common::test_mode() {
        n / 20
    } else {
        n
    }
}

fn stream(n: usize) -> Vec<Tick> {
    MarketGenerator::new(MarketConfig::default()).take_vec(n)
}

/// `ticks` cut into `producers` contiguous shares.
fn shares(ticks: &[Tick], producers: usize) -> Vec<Arc<[Tick]>> {
    let per = ticks.len().div_ceil(producers);
    ticks.chunks(per).map(Arc::from).collect()
}

fn pipeline(
    g: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    ticks: &[Tick],
    batch: usize,
    shards: usize,
) {
    let (pipe, sink) = common::warmed_pipeline(rt, shards);
    for producers in PRODUCERS {
        let shares = shares(ticks, producers);
        let id = BenchmarkId::new(format!("pipeline_shards_{shards}"), producers);
        g.bench_function(id, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        sink.arm(sink.processed() + ticks.len() as u64);
                        let start = Instant::now();
                        let tasks: Vec<_> = shares
                            .iter()
                            .map(|share| {
                                let producer = pipe.producer();
                                let share = Arc::clone(share);
                                tokio::spawn(
                                    async move { send_all(&producer, &share, batch).await },
                                )
                            })
                            .collect();
                        for task in tasks {
                            task.await.expect("producer task");
                        }
                        total += sink.wait().await - start;
                    }
                    total
                })
            })
        });
    }
    let stats = rt.block_on(pipe.shutdown());
    assert_eq!(stats.dropped, 0, "Block never drops");
    black_box(sink.signals());
}

async fn send_all(producer: &tickbench::engine::pipeline::Producer, ticks: &[Tick], batch: usize) {
    if batch == 1 {
        for tick in ticks {
            producer
                .send(*black_box(tick))
                .await
                .expect("pipeline open");
        }
    } else {
        for part in ticks.chunks(batch) {
            producer
                .send_batch(black_box(part))
                .await
                .expect("pipeline open");
        }
    }
}

fn concurrency(c: &mut Criterion) {
    let rt = common::runtime();
    for batch in BATCH_SIZES {
        let n = ticks_per_iteration(batch);
        let ticks = stream(n);
        let mut g = c.benchmark_group(format!("concurrency_batch_{batch}"));
        g.throughput(Throughput::Elements(n as u64));
        common::bench_bare_engine(&mut g, &ticks, batch);
        for shards in SHARDS {
            pipeline(&mut g, &rt, &ticks, batch, shards);
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = concurrency
}
fn main() {
    common::harness::main_time_only(
        "producer and worker threads: their figure is scheduling and waiting, which instructions do not see",
        benches,
    );
}
