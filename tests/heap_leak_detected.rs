//! Proves the heap-growth check catches a leak: a quote cache that never evicts (a few entries
//! per window, the kind of slow leak a long-running engine dies of) fails the same check, with
//! the same slack, that the same cache with eviction passes.
//!
//! Run: `cargo test --test heap_leak_detected -- --nocapture` (prints the figures).

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[path = "support/heap.rs"]
mod heap;

use std::collections::HashMap;
use std::hint::black_box;

use heap::{HeapCheck, Slack};

/// The slack the signal-engine check uses: the leak below must be caught at that sensitivity.
const SLACK: Slack = Slack {
    bytes: 4096,
    blocks: 16,
};
/// Quotes looked up per window.
const LOOKUPS: u64 = 2_000;
/// Distinct keys the bounded cache may hold.
const BOUNDED_KEYS: u64 = 64;
/// New keys the leaky cache keeps per window (never evicted).
const LEAK_PER_WINDOW: u64 = 8;
const WARMUP: usize = 3;
const WINDOWS: usize = 10;

/// A cached quote: boxed, so every entry is one live heap block dhat can count.
struct Quote {
    price: f64,
    size: u64,
    ts_ns: u64,
}

/// One window of lookups through a memoising cache. `key_of` maps lookup `j` of window `w` to a
/// cache key; it decides whether the cache stays bounded.
fn cache_window(cache: &mut HashMap<u64, Box<Quote>>, w: usize, key_of: impl Fn(u64, u64) -> u64) {
    for j in 0..LOOKUPS {
        let key = key_of(w as u64, j);
        let quote = cache.entry(key).or_insert_with(|| {
            Box::new(Quote {
                price: 100.0 + key as f64 * 0.01,
                size: key % 7 + 1,
                ts_ns: key,
            })
        });
        black_box(quote.price * quote.size as f64 + quote.ts_ns as f64);
    }
}

#[test]
fn growth_check_fails_on_a_leaking_cache_and_passes_a_bounded_one() {
    let _profiler = dhat::Profiler::builder().testing().build();

    // Reserve the table up front: table doubling is growth too, and the bounded cache must be
    // bounded in every respect for the control to mean something.
    let mut bounded = HashMap::with_capacity(BOUNDED_KEYS as usize);
    let control = HeapCheck::new("bounded quote cache", WARMUP, WINDOWS, SLACK)
        .run(|w| cache_window(&mut bounded, w, |_, j| j % BOUNDED_KEYS));
    control.print();
    assert!(
        control.verdict().is_ok(),
        "the non-leaking control must pass: {:?}",
        control.verdict()
    );
    drop(bounded);

    // Same lookups, but each window also touches LEAK_PER_WINDOW keys never seen before.
    let mut leaky = HashMap::with_capacity(BOUNDED_KEYS as usize);
    let leaking = HeapCheck::new("leaky quote cache", WARMUP, WINDOWS, SLACK).run(|w| {
        cache_window(&mut leaky, w, |w, j| {
            if j < LEAK_PER_WINDOW {
                1_000 + w * LEAK_PER_WINDOW + j // fresh key: cached forever
            } else {
                j % BOUNDED_KEYS
            }
        })
    });
    leaking.print();
    let growth = leaking
        .verdict()
        .expect_err("the leaking cache must fail the growth check");
    // Bytes and blocks both grow; the verdict reports the first gauge over its slack.
    let blocks_leaked = LEAK_PER_WINDOW * WINDOWS as u64;
    let last = leaking.samples.last().unwrap();
    let block_growth = last.values[1] - leaking.baseline.values[1];
    assert!(
        block_growth >= blocks_leaked,
        "expected at least {blocks_leaked} leaked blocks, saw {block_growth}"
    );
    assert!(growth.growth() > growth.slack, "{growth}");
    println!("caught: {growth}");
    drop(leaky);
}
