//! The signal store's operations, checked against plain Rust computations on the same data.

use tickbench::engine::signal::{Reason, Side, Signal};
use tickbench::engine::store::{SideAggregate, SignalStore};
use tickbench::engine::tick::Tick;

/// Seeded test data: `n` signals on `symbols` symbols, timestamps shuffled within the batch.
fn signals(seed: u64, n: usize, symbols: u32) -> Vec<Signal> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|_| {
            let r = next();
            Signal {
                symbol: (r % u64::from(symbols)) as u32,
                ts_ns: 1_000 + next() % 100_000,
                side: if r >> 40 & 1 == 0 {
                    Side::Buy
                } else {
                    Side::Sell
                },
                strength: (r >> 11) as f64 / (1u64 << 53) as f64,
                reason: if r >> 41 & 1 == 0 {
                    Reason::MacdCrossRsi
                } else {
                    Reason::BollingerBreakout
                },
            }
        })
        .collect()
}

/// The expected order of a symbol's signals: by timestamp, ties in insertion order.
fn by_time(all: &[Signal], symbol: u32) -> Vec<Signal> {
    let mut v: Vec<Signal> = all.iter().copied().filter(|s| s.symbol == symbol).collect();
    v.sort_by_key(|s| s.ts_ns); // stable: ties keep insertion order
    v
}

#[test]
fn latest_and_range_match_a_sorted_copy_across_several_batches() {
    let mut store = SignalStore::open_in_memory().unwrap();
    let mut all = Vec::new();
    for (i, n) in [1usize, 31, 32, 33, 1000, 5].into_iter().enumerate() {
        let batch = signals(i as u64 + 1, n, 5);
        store.insert_signals(&batch).unwrap();
        all.extend(batch);
    }
    assert_eq!(store.signal_count().unwrap(), all.len() as u64);
    for symbol in 0..6 {
        let expected = by_time(&all, symbol);
        let newest: Vec<Signal> = expected.iter().rev().take(10).copied().collect();
        assert_eq!(store.latest(symbol, 10).unwrap(), newest, "symbol {symbol}");
        assert_eq!(store.latest(symbol, 0).unwrap(), vec![]);
        let (from, to) = (20_000, 40_000);
        let window: Vec<Signal> = expected
            .iter()
            .copied()
            .filter(|s| s.ts_ns >= from && s.ts_ns < to)
            .collect();
        assert_eq!(
            store.range(symbol, from, to).unwrap(),
            window,
            "symbol {symbol}"
        );
    }
}

#[test]
fn aggregates_match_a_direct_computation() {
    let mut store = SignalStore::open_in_memory().unwrap();
    let data = signals(9, 3000, 4);
    store.insert_signals(&data).unwrap();
    let (from, to) = (30_000, 70_000);
    let expected: Vec<SideAggregate> = (0..4)
        .flat_map(|symbol| expected_aggregates(&data, symbol, from, to))
        .collect();
    assert_aggregates_match(&store.aggregates(from, to).unwrap(), &expected);
    assert_eq!(store.aggregates(0, 1_000).unwrap(), vec![]);
}

#[test]
fn signals_and_ticks_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signals.db");
    let data = signals(3, 500, 3);
    let ticks: Vec<Tick> = (0..100)
        .map(|i| Tick {
            ts_ns: 5_000 - i * 10,
            price: 100.0 + i as f64,
            symbol: (i % 2) as u32,
            size: i as u32 + 1,
        })
        .collect();
    {
        let mut store = SignalStore::open(&path).unwrap();
        store.insert_signals(&data).unwrap();
        store.insert_ticks(&ticks).unwrap();
    }
    let mut store = SignalStore::open(&path).unwrap();
    assert_eq!(store.signal_count().unwrap(), 500);
    assert_eq!(store.tick_count().unwrap(), 100);
    assert_eq!(store.latest(1, 500).unwrap().len(), by_time(&data, 1).len());
    let mut expected: Vec<Tick> = ticks.iter().copied().filter(|t| t.symbol == 1).collect();
    expected.sort_by_key(|t| t.ts_ns);
    assert_eq!(store.tick_range(1, 0, u64::MAX).unwrap(), expected);
    // Identical signals inserted again are kept (the store-wide seq keeps keys unique).
    store.insert_signals(&data[..10]).unwrap();
    assert_eq!(store.signal_count().unwrap(), 510);
}

#[test]
fn readers_on_other_threads_see_only_whole_batches_while_the_writer_inserts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signals.db");
    let mut writer = SignalStore::open(&path).unwrap();
    const BATCH: usize = 250;
    std::thread::scope(|s| {
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let path = &path;
                s.spawn(move || {
                    let reader = SignalStore::open_reader(path).unwrap();
                    let mut seen = 0;
                    for _ in 0..200 {
                        // Every batch has BATCH signals on symbol 0: a reader never sees part.
                        let n = reader.range(0, 0, u64::MAX).unwrap().len();
                        assert_eq!(n % BATCH, 0, "saw {n} rows");
                        assert!(n >= seen);
                        seen = n;
                    }
                    seen
                })
            })
            .collect();
        for b in 0..40u64 {
            let batch: Vec<Signal> = (0..BATCH as u64)
                .map(|i| Signal {
                    symbol: 0,
                    ts_ns: b * 1_000 + i,
                    side: Side::Buy,
                    strength: 0.5,
                    reason: Reason::MacdCrossRsi,
                })
                .collect();
            writer.insert_signals(&batch).unwrap();
        }
        for r in readers {
            assert!(r.join().unwrap() <= 40 * BATCH);
        }
    });
    assert_eq!(writer.signal_count().unwrap(), 40 * BATCH as u64);
}

/// Count and mean strength per side of `symbol`'s signals in `[from, to)`, as `aggregates`
/// reports them.
fn expected_aggregates(all: &[Signal], symbol: u32, from: u64, to: u64) -> Vec<SideAggregate> {
    let mut out = Vec::new();
    for side in [Side::Buy, Side::Sell] {
        let s: Vec<f64> = all
            .iter()
            .filter(|s| s.symbol == symbol && s.side == side && s.ts_ns >= from && s.ts_ns < to)
            .map(|s| s.strength)
            .collect();
        if !s.is_empty() {
            out.push(SideAggregate {
                symbol,
                side,
                count: s.len() as u64,
                mean_strength: s.iter().sum::<f64>() / s.len() as f64,
            });
        }
    }
    out
}

/// Same symbols, sides and counts in the same order; means equal up to rounding.
fn assert_aggregates_match(got: &[SideAggregate], expected: &[SideAggregate]) {
    assert_eq!(got.len(), expected.len(), "{got:?} against {expected:?}");
    for (g, e) in got.iter().zip(expected) {
        assert_eq!((g.symbol, g.side, g.count), (e.symbol, e.side, e.count));
        assert!((g.mean_strength - e.mean_strength).abs() < 1e-12);
    }
}

#[test]
fn queries_stay_exact_when_batches_overlap_in_time_and_share_timestamps() {
    // Stored chunks that overlap: a late batch inside an earlier one's time span, timestamps
    // repeated across batches, and one chunk spanning far more time than the rest.
    let signal = |ts_ns: u64, i: usize| Signal {
        symbol: 1,
        ts_ns,
        side: if i % 3 == 0 { Side::Sell } else { Side::Buy },
        strength: i as f64 / 1_000.0,
        reason: Reason::MacdCrossRsi,
    };
    let batches: Vec<Vec<u64>> = vec![
        (1_000..1_200).collect(),
        (1_100..1_150).chain([5_000]).collect(),
        vec![1_199, 5_000, 1_199],
        vec![100_000, 10],
        vec![5_000],
    ];
    let mut store = SignalStore::open_in_memory().unwrap();
    let mut all = Vec::new();
    for times in batches {
        let batch: Vec<Signal> = times
            .into_iter()
            .map(|ts| signal(ts, all.len() + ts as usize))
            .collect();
        store.insert_signals(&batch).unwrap();
        all.extend(batch);
    }
    let expected = by_time(&all, 1);
    for n in [1, 2, 3, 4, 10, 64, 65, 200, 1_000] {
        let newest: Vec<Signal> = expected.iter().rev().take(n).copied().collect();
        assert_eq!(store.latest(1, n).unwrap(), newest, "latest {n}");
    }
    let windows = [
        (10, 11),
        (0, 1_000),
        (1_100, 1_101),
        (1_199, 1_200),
        (1_150, 5_001),
        (5_000, 5_001),
        (99_999, 100_001),
        (0, u64::MAX),
        (1_150, 1_100),
    ];
    for (from, to) in windows {
        let window: Vec<Signal> = expected
            .iter()
            .copied()
            .filter(|s| s.ts_ns >= from && s.ts_ns < to)
            .collect();
        assert_eq!(store.range(1, from, to).unwrap(), window, "[{from}, {to})");
        assert_aggregates_match(
            &store.aggregates(from, to).unwrap(),
            &expected_aggregates(&all, 1, from, to),
        );
    }
}
