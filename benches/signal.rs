//! Signal-processing cost: single indicator updates, the full engine tick, throughput over a
//! generated market, how the cost per tick grows with the number of symbols (cache effects),
//! and the same six indicators computed with the `ta` crate on the same ticks.
//!
//! Why: the engine's per-tick cost bounds everything downstream (pipeline shards, load SLA),
//! and its growth with symbol count shows whether per-symbol state stays cache-friendly.
//!
//! Run: `cargo bench --bench signal` (add `-- --quick` while iterating, or a filter such as
//! `-- engine/symbols`). Every tick stream comes from `MarketGenerator` (fixed seeds), so
//! symbols arrive in a realistic random order with bursts; every engine and `ta` state is
//! warmed past its warm-up before timing starts.
//!
//! Groups and ids (stable: they are the keys of stored baselines):
//!
//! | id | one iteration | throughput |
//! |---|---|---|
//! | `indicator/{sma,ema,rsi,macd,bollinger,vwap}` | one update of one stand-alone indicator (SMA/Bollinger 20, EMA 50, RSI 14, MACD 12/26/9) | — |
//! | `ta_indicator/{sma,ema,rsi,macd,bollinger}` | the same update in `ta` 0.5 (no VWAP there), as a yardstick | — |
//! | `engine/tick` | one `SignalEngine::on_tick`, 64 symbols, default rules | — |
//! | `engine/throughput` | `on_ticks` over 4 096 ticks of the default market (64 symbols) | elements |
//! | `engine/symbols/{1,64,4096,65536}` | `on_ticks` over 4 096 ticks of a market with that many symbols | elements |
//! | `six_indicators/engine/{64,65536}` | as `engine/symbols/{64,65536}`, placed beside `ta` so each run shows the ratio | elements |
//! | `six_indicators/ta/{64,65536}` | the same 4 096 ticks through `ta` 0.5's SMA, EMA, RSI, MACD, Bollinger + a plain VWAP, no rules | elements |
//!
//! Per-tick cost of a throughput bench = reported time / 4 096. The engine's batch call
//! `on_ticks` prefetches the state of ticks ahead once there are ≥ 2 048 symbols; `ta` keeps
//! its windows in separate heap blocks per indicator, which no caller can prefetch. `ta` has no VWAP, so its side
//! uses the textbook running Σpv/Σv, the cheapest possible (and drift-prone) version.

use std::hint::black_box;

use criterion::Throughput;
use ta::indicators::{
    BollingerBands, ExponentialMovingAverage, MovingAverageConvergenceDivergence,
    RelativeStrengthIndex, SimpleMovingAverage,
};
use ta::Next;
use tickbench::engine::indicators::{Bollinger, Ema, Macd, Rsi, Sma, Vwap};
use tickbench::engine::signal::{EngineConfig, Signal, SignalEngine};
use tickbench::engine::tick::{MarketConfig, MarketGenerator, Tick, Xoshiro256StarStar};

mod common;

use common::{Harness, Id, Timer};

/// Ticks per iteration of the throughput benches.
const CHUNK: usize = 4096;
/// Symbol counts of the scaling sweep.
const SYMBOL_COUNTS: [u32; 4] = [1, 64, 4096, 65_536];

/// Length of each generated stream (a power of two, a whole number of chunks); short in test
/// mode, where each bench runs once.
fn stream_len() -> usize {
    if common::test_mode() {
        2 * CHUNK
    } else {
        1 << 18
    }
}

/// The measured ticks of a market with `symbols` symbols.
fn market(symbols: u32) -> Vec<Tick> {
    MarketGenerator::new(MarketConfig::new(42, symbols)).take_vec(stream_len())
}

/// Round-robin ticks that take every symbol of `stream` past the engine's warm-up, each near
/// the symbol's first price in `stream` so that the measured stream continues smoothly.
fn warm_up_ticks(symbols: u32, stream: &[Tick], rounds: u64) -> Vec<Tick> {
    let mut first = vec![100.0; symbols as usize];
    let mut seen = vec![false; symbols as usize];
    for t in stream {
        let s = t.symbol as usize;
        if !seen[s] {
            seen[s] = true;
            first[s] = t.price;
        }
    }
    let rounds = if common::test_mode() { 2 } else { rounds };
    let mut rng = Xoshiro256StarStar::seed_from_u64(7);
    let mut out = Vec::with_capacity((rounds * u64::from(symbols)) as usize);
    for round in 0..rounds {
        for (symbol, &price) in first.iter().enumerate() {
            let wiggle = (rng.below(2001) as f64 - 1000.0) * 1e-6;
            out.push(Tick {
                ts_ns: round,
                price: price * (1.0 + wiggle),
                symbol: symbol as u32,
                size: 1 + rng.below(199) as u32,
            });
        }
    }
    out
}

/// An engine for `symbols` symbols, warmed up, ready for `stream`.
fn warmed_engine(symbols: u32, stream: &[Tick]) -> SignalEngine {
    let mut engine = SignalEngine::new(symbols as usize, EngineConfig::default());
    let rounds = engine.warm_up_ticks() + 1;
    let mut out = Vec::new();
    engine.on_ticks(&warm_up_ticks(symbols, stream, rounds), &mut out);
    engine.on_ticks(stream, &mut out);
    engine
}

/// Cycles through `stream` in chunks of [`CHUNK`].
struct Chunks<'a> {
    stream: &'a [Tick],
    at: usize,
}

impl<'a> Chunks<'a> {
    fn new(stream: &'a [Tick]) -> Self {
        Self { stream, at: 0 }
    }

    fn next_chunk(&mut self) -> &'a [Tick] {
        let chunk = &self.stream[self.at..self.at + CHUNK];
        self.at = (self.at + CHUNK) % self.stream.len();
        chunk
    }
}

/// A signal buffer with room for any chunk's signals, so pushing never allocates while timed.
fn signal_buffer() -> Vec<Signal> {
    Vec::with_capacity(4 * CHUNK)
}

fn indicators(c: &mut Harness<'_>) {
    let prices: Vec<f64> = market(64).iter().map(|t| t.price).collect();
    let sizes: Vec<u32> = market(64).iter().map(|t| t.size).collect();
    let mask = prices.len() - 1;
    let mut g = c.benchmark_group("indicator");
    // One update is tens of instructions: many per count, to cover varied prices.
    g.count_iterations(4096);

    /// Benchmarks `update` of one indicator, warmed on the whole series first.
    ///
    /// Each sample runs its updates in a loop of its own (`iter_custom`) on a local copy of
    /// the indicator, as a caller streaming prices through it would. Through `iter`'s closure
    /// the index and the indicator would be captured by reference, so every `black_box` would
    /// force them to be stored and reloaded: a store-to-load chain of about 2 ns per update on
    /// this machine, the same for every indicator (`ta`'s included), that measures the harness
    /// rather than the update. Input and output still pass through `black_box` on every
    /// update, so no update can be skipped or merged with the next.
    macro_rules! one {
        ($g:ident, $id:literal, $ind:expr, |$s:ident, $x:ident, $i:ident| $update:expr) => {{
            let mut state = $ind;
            {
                let $s = &mut state;
                for $i in 0..prices.len() {
                    let $x = prices[$i];
                    black_box($update);
                }
            }
            let mut at = 0usize;
            $g.bench_function($id, |b| {
                b.iter_custom(|iters| {
                    let mut local = state.clone();
                    let $s = &mut local;
                    let mut $i = at;
                    let timer = Timer::start();
                    for _ in 0..iters {
                        $i = ($i + 1) & mask;
                        let $x = black_box(prices[$i]);
                        black_box($update);
                    }
                    let elapsed = timer.stop();
                    at = $i;
                    state = local;
                    elapsed
                })
            });
        }};
    }
    one!(g, "sma", Sma::new(20), |s, x, i| s.update(x));
    one!(g, "ema", Ema::new(50), |s, x, i| s.update(x));
    one!(g, "rsi", Rsi::new(14), |s, x, i| s.update(x));
    one!(g, "macd", Macd::new(12, 26, 9), |s, x, i| s.update(x));
    one!(g, "bollinger", Bollinger::new(20, 2.0), |s, x, i| s
        .update(x));
    one!(g, "vwap", Vwap::new(), |s, x, i| s.update(x, sizes[i]));
    g.finish();

    // The same updates in `ta` 0.5, as a yardstick measured in the same run.
    let mut g = c.benchmark_group("ta_indicator");
    g.count_iterations(4096);
    one!(
        g,
        "sma",
        SimpleMovingAverage::new(20).unwrap(),
        |s, x, i| s.next(x)
    );
    one!(
        g,
        "ema",
        ExponentialMovingAverage::new(50).unwrap(),
        |s, x, i| s.next(x)
    );
    one!(
        g,
        "rsi",
        RelativeStrengthIndex::new(14).unwrap(),
        |s, x, i| s.next(x)
    );
    one!(
        g,
        "macd",
        MovingAverageConvergenceDivergence::new(12, 26, 9).unwrap(),
        |s, x, i| s.next(x)
    );
    one!(
        g,
        "bollinger",
        BollingerBands::new(20, 2.0).unwrap(),
        |s, x, i| s.next(x)
    );
    g.finish();
}

fn engine(c: &mut Harness<'_>) {
    let mut g = c.benchmark_group("engine");
    g.count_iterations(4096); // `engine/tick`; the chunked ones below set their own

    let stream = market(64);
    let mut eng = warmed_engine(64, &stream);
    let mut out = signal_buffer();
    let mask = stream.len() - 1;
    let mut at = 0usize;
    g.bench_function("tick", |b| {
        // `iter_custom` for the same reason as the `indicator` group: the tick index stays in a
        // register instead of being stored and reloaded around every iteration.
        b.iter_custom(|iters| {
            let mut i = at;
            let timer = Timer::start();
            for _ in 0..iters {
                i = (i + 1) & mask;
                if out.len() == out.capacity() {
                    out.clear();
                }
                eng.on_tick(black_box(&stream[i]), &mut out);
                black_box(&mut out);
            }
            let elapsed = timer.stop();
            at = i;
            elapsed
        })
    });

    g.throughput(Throughput::Elements(CHUNK as u64));
    g.count_iterations(16); // 4 096 ticks each
    let mut chunks = Chunks::new(&stream);
    g.bench_function("throughput", |b| {
        b.iter(|| {
            out.clear();
            eng.on_ticks(black_box(chunks.next_chunk()), &mut out);
            black_box(out.len())
        })
    });

    for symbols in SYMBOL_COUNTS {
        let stream = market(symbols);
        let mut eng = warmed_engine(symbols, &stream);
        let mut chunks = Chunks::new(&stream);
        g.bench_with_input(Id::new("symbols", symbols), &symbols, |b, _| {
            b.iter(|| {
                out.clear();
                eng.on_ticks(black_box(chunks.next_chunk()), &mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

/// The six indicators of one symbol in `ta` 0.5, plus the plain VWAP `ta` lacks.
struct TaSymbol {
    sma: SimpleMovingAverage,
    ema: ExponentialMovingAverage,
    rsi: RelativeStrengthIndex,
    macd: MovingAverageConvergenceDivergence,
    bands: BollingerBands,
    pv: f64,
    volume: f64,
}

impl TaSymbol {
    fn new() -> Self {
        Self {
            sma: SimpleMovingAverage::new(20).unwrap(),
            ema: ExponentialMovingAverage::new(50).unwrap(),
            rsi: RelativeStrengthIndex::new(14).unwrap(),
            macd: MovingAverageConvergenceDivergence::new(12, 26, 9).unwrap(),
            bands: BollingerBands::new(20, 2.0).unwrap(),
            pv: 0.0,
            volume: 0.0,
        }
    }

    /// Updates all six; returns something of each so none is optimised away.
    #[inline]
    fn update(&mut self, t: &Tick) -> f64 {
        let x = t.price;
        let sma = self.sma.next(x);
        let ema = self.ema.next(x);
        let rsi = self.rsi.next(x);
        let macd = self.macd.next(x);
        let bands = self.bands.next(x);
        self.pv += x * f64::from(t.size);
        self.volume += f64::from(t.size);
        let vwap = self.pv / self.volume;
        sma + ema + rsi + macd.histogram + bands.upper + bands.lower + vwap
    }
}

fn six_indicators(c: &mut Harness<'_>) {
    let mut g = c.benchmark_group("six_indicators");
    g.throughput(Throughput::Elements(CHUNK as u64));
    g.count_iterations(16);
    let mut out = signal_buffer();
    for symbols in [64u32, 65_536] {
        let stream = market(symbols);
        let mut eng = warmed_engine(symbols, &stream);
        let mut chunks = Chunks::new(&stream);
        g.bench_with_input(Id::new("engine", symbols), &symbols, |b, _| {
            b.iter(|| {
                out.clear();
                eng.on_ticks(black_box(chunks.next_chunk()), &mut out);
                black_box(out.len())
            })
        });

        let mut ta: Vec<TaSymbol> = (0..symbols).map(|_| TaSymbol::new()).collect();
        let warm = warm_up_ticks(symbols, &stream, 51);
        for t in warm.iter().chain(&stream) {
            black_box(ta[t.symbol as usize].update(t));
        }
        let mut chunks = Chunks::new(&stream);
        g.bench_with_input(Id::new("ta", symbols), &symbols, |b, _| {
            b.iter(|| {
                for t in black_box(chunks.next_chunk()) {
                    black_box(ta[t.symbol as usize].update(t));
                }
            })
        });
    }
    g.finish();
}

fn main() {
    common::harness::main(&[indicators, engine, six_indicators]);
}
