//! Signals and the signal engine.
//!
//! (Types fixed by the foundation issue; the engine lands with it.)

use serde::{Deserialize, Serialize};

use super::tick::{SymbolId, Tick};

/// Direction of a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    /// Open or add to a long position.
    Buy,
    /// Close or go short.
    Sell,
}

/// Which rule produced a signal. `Copy`, so emitting a signal never allocates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reason {
    /// MACD crossed its signal line, confirmed by RSI.
    MacdCrossRsi,
    /// Price broke out of a Bollinger band with volume above VWAP.
    BollingerBreakout,
}

/// One buy/sell signal emitted by the engine.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Symbol the signal is for.
    pub symbol: SymbolId,
    /// Timestamp of the tick that triggered it.
    pub ts_ns: u64,
    /// Buy or sell.
    pub side: Side,
    /// Rule-specific strength in `[0, 1]`.
    pub strength: f64,
    /// The rule that fired.
    pub reason: Reason,
}

// TEMPORARY STAND-IN (branch `pipeline` only): replaced by the real engine when branch `engine`
// is merged. Never rely on its behaviour.

/// Engine rules (stand-in).
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {}

/// Signal engine (stand-in): emits a signal when a symbol's price moves more than 1 %.
pub struct SignalEngine {
    last: Vec<f64>,
}

impl SignalEngine {
    /// A stand-in engine for `symbols` dense symbol ids.
    pub fn new(symbols: usize, _config: EngineConfig) -> Self {
        Self {
            last: vec![0.0; symbols],
        }
    }

    /// Updates the tick's symbol state and pushes 0 or more signals onto `out`.
    pub fn on_tick(&mut self, tick: &Tick, out: &mut Vec<Signal>) {
        let i = tick.symbol as usize;
        if i >= self.last.len() {
            self.last.resize(i + 1, 0.0);
        }
        let last = self.last[i];
        if last > 0.0 && (tick.price / last - 1.0).abs() > 0.01 {
            out.push(Signal {
                symbol: tick.symbol,
                ts_ns: tick.ts_ns,
                side: if tick.price > last {
                    Side::Buy
                } else {
                    Side::Sell
                },
                strength: 0.5,
                reason: Reason::BollingerBreakout,
            });
        }
        self.last[i] = tick.price;
    }
}
