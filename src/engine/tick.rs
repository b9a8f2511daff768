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
