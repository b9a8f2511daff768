//! Fixed-code canary benchmarks: they measure the machine, not the engine.
//!
//! Two groups:
//! - `canary/*` never changes. Run in every suite run, it moves only when the machine does, so
//!   `tickbench compare` uses it to anchor its machine-wide drift estimate (a drift estimate taken
//!   from the real benchmarks would be dragged by a real change that slows many of them).
//! - `probe/*` is fixed code too, except that with `SLOW=1` in the environment every probe does
//!   10 % more work. It exists to record the fixtures under `tests/fixtures/recorded/`, which test
//!   that `compare` stays quiet on identical code and catches a real 10 % slowdown. It runs only
//!   with `TICKBENCH_PROBES=1` in the environment (`tests/fixtures/record.sh` sets it): the
//!   probes cost about 40 s that no ordinary suite run needs.
//!
//! Some cases are compute-bound, some allocation-heavy (their run-to-run noise differs a lot on a
//! shared machine, which is the point).
//!
//! Run with: `cargo bench --bench canary` (add `-- --quick` while developing);
//! the probes with `TICKBENCH_PROBES=1 cargo bench --bench canary -- probe/`;
//! record fixtures with `tests/fixtures/record.sh`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::Throughput;

mod common;

use common::{Harness, Id};

/// Environment variable that adds the `probe` group to the run when set to `1`.
const PROBES_ENV: &str = "TICKBENCH_PROBES";

/// Whether the `probe` group runs (`TICKBENCH_PROBES=1`).
fn probes_enabled() -> bool {
    std::env::var(PROBES_ENV).as_deref() == Ok("1")
}

/// Work multiplier in tenths: 10 normally, 11 (10 % more work) when `SLOW=1`.
fn probe_tenths() -> usize {
    match std::env::var("SLOW").as_deref() {
        Ok("1") => 11,
        _ => 10,
    }
}

/// A seeded xorshift sequence, so every run sees the same input.
fn seeded_u64s(n: usize, mut state: u64) -> Vec<u64> {
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        })
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn collatz_steps(limit: u64) -> u64 {
    (1..=limit)
        .map(|mut x| {
            let mut steps = 0;
            while x != 1 {
                x = if x % 2 == 0 { x / 2 } else { 3 * x + 1 };
                steps += 1;
            }
            steps
        })
        .sum()
}

fn canary(c: &mut Harness<'_>) {
    let mut group = c.benchmark_group("canary");
    group.count_iterations(16);

    let bytes: Vec<u8> = seeded_u64s(4096, 7).iter().map(|x| *x as u8).collect();
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("fnv1a_4k", |b| b.iter(|| fnv1a(black_box(&bytes))));

    group.throughput(Throughput::Elements(2_000));
    group.bench_function("collatz_2k", |b| b.iter(|| collatz_steps(black_box(2_000))));

    group.throughput(Throughput::Elements(1_000));
    group.bench_function("small_vecs_1k", |b| {
        b.iter(|| {
            let vecs: Vec<Vec<u64>> = (0..black_box(1_000u64)).map(|i| vec![i; 8]).collect();
            vecs.len()
        })
    });
    group.finish();
}

fn probe(c: &mut Harness<'_>) {
    let tenths = probe_tenths();
    let mut group = c.benchmark_group("probe");
    group.count_iterations(16);

    let n = 20_000 * tenths / 10;
    group.bench_function(Id::new("sqrt_sum", 20_000), |b| {
        b.iter(|| (0..black_box(n)).map(|i| (i as f64).sqrt()).sum::<f64>())
    });

    let limit = (2_500 * tenths / 10) as u64;
    group.bench_function(Id::new("collatz", 2_500), |b| {
        b.iter(|| collatz_steps(black_box(limit)))
    });

    let keys = seeded_u64s(2_000 * tenths / 10, 11);
    group.bench_function(Id::new("btree_insert", 2_000), |b| {
        b.iter(|| {
            let map: BTreeMap<u64, u64> = black_box(&keys).iter().map(|&k| (k, k)).collect();
            map.len()
        })
    });

    let words = 1_500 * tenths / 10;
    group.bench_function(Id::new("format_strings", 1_500), |b| {
        b.iter(|| {
            let strings: Vec<String> = (0..black_box(words)).map(|i| format!("tick-{i}")).collect();
            strings.len()
        })
    });

    let unsorted = seeded_u64s(4_000 * tenths / 10, 13);
    group.bench_function(Id::new("sort_clone", 4_000), |b| {
        b.iter(|| {
            let mut v = black_box(&unsorted).clone();
            v.sort_unstable();
            v[v.len() / 2]
        })
    });
    group.finish();
}

/// `probe` is registered only when [`probes_enabled`].
fn probes(c: &mut Harness<'_>) {
    if probes_enabled() {
        probe(c);
    }
}

fn main() {
    common::harness::main(&[canary, probes]);
}
