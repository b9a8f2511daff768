//! Burst drain: how long the pipeline takes to absorb a burst of ticks that arrive all at once.
//!
//! One producer hands the whole burst to `Producer::send_batch` in one call (under `Block`, so
//! nothing is dropped; the queue holds 65 536 ticks per shard, so the 1 000 000-tick burst
//! really meets backpressure). The clock runs from that call to the moment the shard that
//! processes the burst's last tick finishes its batch (`ProgressSink`), so it covers routing,
//! queueing, waiting for room and the engines — end to end. The pipeline stays up between
//! iterations like a running system; its runtime and engines are built and warmed outside the
//! timed part. The engine does not read timestamps, so replaying one burst is representative.
//!
//! Each burst size is a group: `engine_bare` is the bare `SignalEngine::on_ticks` over the same
//! ticks on this thread (the reference), `pipeline_shards/N` the pipeline with N shards on a
//! 2-worker tokio runtime. 50 ticks is the burst of the seed this project grew from.
//!
//! ```text
//! cargo bench --bench burst
//! cargo bench --bench burst -- --profile-time 5 'burst_1000000/pipeline_shards/2'
//! # → target/criterion/burst_1000000/pipeline_shards/2/profile/flamegraph.svg
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use tickbench::engine::tick::{MarketConfig, MarketGenerator, Tick};
use tokio::runtime::Runtime;

mod common;

/// Burst sizes; the largest shrinks in test mode (`cargo test --benches`) so CI stays quick.
/// The measured code is the same.
fn burst_sizes() -> Vec<usize> {
    let largest = if common::test_mode() {
        20_000
    } else {
        1_000_000
    };
    vec![50, 10_000, largest]
}

const SHARDS: [usize; 2] = [1, 2];

fn burst(n: usize) -> Vec<Tick> {
    MarketGenerator::new(MarketConfig::default()).take_vec(n)
}

fn pipeline(g: &mut BenchmarkGroup<'_, WallTime>, ticks: &[Tick], rt: &Runtime, shards: usize) {
    let (pipe, sink) = common::warmed_pipeline(rt, shards);
    let producer = pipe.producer();
    g.bench_function(BenchmarkId::new("pipeline_shards", shards), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    sink.arm(sink.processed() + ticks.len() as u64);
                    let start = Instant::now();
                    producer
                        .send_batch(black_box(ticks))
                        .await
                        .expect("pipeline open");
                    total += sink.wait().await - start;
                }
                total
            })
        })
    });
    let stats = rt.block_on(pipe.shutdown());
    assert_eq!(stats.dropped, 0, "Block never drops");
    black_box(sink.signals());
}

fn bursts(c: &mut Criterion) {
    let rt = common::runtime();
    for n in burst_sizes() {
        let ticks = burst(n);
        let mut g = c.benchmark_group(format!("burst_{n}"));
        g.throughput(Throughput::Elements(n as u64));
        // The whole burst in one `on_ticks` call.
        common::bench_bare_engine(&mut g, &ticks, ticks.len().max(1));
        for shards in SHARDS {
            pipeline(&mut g, &ticks, &rt, shards);
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = bursts
}
fn main() {
    common::harness::main_time_only(
        "the tokio pipeline on 2 vCPUs: its figure is scheduling and waiting, which instructions do not see (its `engine_bare` reference is counted as `engine/*` in the signal bench)",
        benches,
    );
}
