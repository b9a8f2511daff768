//! Market ticks and the seeded synthetic market generator.
//!
//! (Interface fixed by the foundation issue; the generator lands with it.)

use serde::{Deserialize, Serialize};

/// Dense symbol id: symbols are numbered `0..symbol_count`, so per-symbol state lives in a `Vec`.
pub type SymbolId = u32;

/// One trade print. 24 bytes, `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Exchange timestamp, nanoseconds since an arbitrary epoch; non-decreasing per symbol.
    pub ts_ns: u64,
    /// Trade price, > 0.
    pub price: f64,
    /// Dense symbol id.
    pub symbol: SymbolId,
    /// Traded quantity, > 0.
    pub size: u32,
}

// TEMPORARY STAND-IN (branch `pipeline` only): replaced by the real generator when branch
// `engine` is merged. Never rely on its behaviour.

/// Market generator settings (stand-in).
#[derive(Clone, Debug)]
pub struct MarketConfig {
    /// Seed.
    pub seed: u64,
    /// Number of symbols.
    pub symbols: u32,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            symbols: 64,
        }
    }
}

/// Seeded synthetic market (stand-in: xorshift random walk).
pub struct MarketGenerator {
    cfg: MarketConfig,
    state: u64,
    ts: u64,
    prices: Vec<f64>,
}

impl MarketGenerator {
    /// A generator for `cfg`.
    pub fn new(cfg: MarketConfig) -> Self {
        let prices = vec![100.0; cfg.symbols as usize];
        Self {
            state: cfg.seed | 1,
            cfg,
            ts: 0,
            prices,
        }
    }

    /// The next `n` ticks.
    pub fn take_vec(&mut self, n: usize) -> Vec<Tick> {
        self.by_ref().take(n).collect()
    }
}

impl Iterator for MarketGenerator {
    type Item = Tick;
    fn next(&mut self) -> Option<Tick> {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let symbol = (self.state % self.cfg.symbols as u64) as u32;
        let step = ((self.state >> 32) as f64 / u32::MAX as f64 - 0.5) * 0.04;
        let p = &mut self.prices[symbol as usize];
        *p *= 1.0 + step;
        self.ts += 1_000;
        Some(Tick {
            ts_ns: self.ts,
            price: *p,
            symbol,
            size: 1 + (self.state % 100) as u32,
        })
    }
}
