//! Placeholder until the signal bench lands.
use criterion::{criterion_group, criterion_main, Criterion};

mod common;

fn noop(c: &mut Criterion) {
    c.bench_function("noop", |b| b.iter(|| std::hint::black_box(1) + 1));
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = noop
}
criterion_main!(benches);
