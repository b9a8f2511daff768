//! Signals and the signal engine.
//!
//! (Types fixed by the foundation issue; the engine lands with it.)

use serde::{Deserialize, Serialize};

use super::tick::SymbolId;

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
