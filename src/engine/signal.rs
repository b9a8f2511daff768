//! Signals and the signal engine.
//!
//! [`SignalEngine`] keeps, for every symbol, the six streaming indicators of
//! [`crate::engine::indicators`] — SMA and Bollinger bands over one window, MACD, a trend EMA,
//! Wilder RSI and VWAP — and two rules that combine them ([`EngineConfig`] holds both as data):
//!
//! - **MACD cross confirmed by RSI** ([`Reason::MacdCrossRsi`]): the MACD histogram changes sign
//!   on this tick; up → `Buy` if RSI ≤ `rsi_overbought`, down → `Sell` if RSI ≥ `rsi_oversold`.
//!   Strength: how far RSI is from the limit, `(overbought − RSI)/overbought` or
//!   `(RSI − oversold)/(100 − oversold)`.
//! - **Bollinger break-out** ([`Reason::BollingerBreakout`]): the price leaves the bands on this
//!   tick (it was inside, or beyond the other band, on the previous one), confirmed by the price
//!   being on the same side of VWAP, the trade size being at least `min_volume_ratio ×` the
//!   symbol's average size, and the SMA being on the same side of the trend EMA. Strength: the
//!   overshoot beyond the band in band widths, `(|x − mid| − kσ)/(kσ)`, capped at 1.
//!
//! The bands include the current price (as a bar chart's bands include the bar's close).
//!
//! # Layout and cost
//!
//! Per symbol the engine keeps one 128-byte, cache-line-aligned record of scalars (array of
//! structs: a tick touches one record, not one line per indicator as a struct of arrays would)
//! and a ring of `bollinger_period` prices in one shared slab. A tick therefore touches about
//! three cache lines, which is what keeps 65 536 symbols (≈ 19 MB of state) within twice the
//! cost of 64. After a symbol's warm-up the update has no division, no square root and a single
//! rarely-taken branch into rule evaluation: comparisons are made on squared or cross-multiplied
//! quantities (`(x − mid)² > k²·M2/n` instead of `|x − mid| > k·σ`, `x·ΣV > Σpv` instead of
//! `x > VWAP`). Warm-up runs through the same code with readiness checks compiled in.
//! [`SignalEngine::on_ticks`] additionally prefetches the state of ticks a few places ahead.

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

use crate::engine::indicators::{
    ema_alpha, ema_step, ema_warm, macd_step, macd_warm, neumaier_add, rsi_step, rsi_value,
    rsi_warm, welford_grow, window_reanchor, window_slide, BollingerOutput, MacdOutput,
    MacdPeriods, Smoothing,
};
use crate::engine::tick::Tick;

/// The MACD-cross rule's parameters (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MacdRsiRule {
    /// A bullish cross buys only if RSI is at most this.
    pub rsi_overbought: f64,
    /// A bearish cross sells only if RSI is at least this.
    pub rsi_oversold: f64,
}

impl Default for MacdRsiRule {
    fn default() -> Self {
        Self {
            rsi_overbought: 70.0,
            rsi_oversold: 30.0,
        }
    }
}

/// The Bollinger break-out rule's parameters (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreakoutRule {
    /// The break-out trade's size must be at least this multiple of the symbol's mean size.
    pub min_volume_ratio: f64,
    /// Require the price on the break-out side of VWAP.
    pub require_vwap: bool,
    /// Require the SMA on the break-out side of the trend EMA.
    pub require_trend: bool,
}

impl Default for BreakoutRule {
    fn default() -> Self {
        Self {
            min_volume_ratio: 1.0,
            require_vwap: true,
            require_trend: true,
        }
    }
}

/// Indicator periods and rules. `Default`: MACD 12/26/9, RSI 14, Bollinger 20 × 2σ, trend EMA
/// 50, both rules on with their defaults. A rule set to `None` never fires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// MACD fast EMA period.
    pub macd_fast: usize,
    /// MACD slow EMA period (≥ fast).
    pub macd_slow: usize,
    /// MACD signal-line EMA period.
    pub macd_signal: usize,
    /// RSI period (price changes).
    pub rsi_period: usize,
    /// Window of the SMA and the Bollinger bands.
    pub bollinger_period: usize,
    /// Band width in population standard deviations.
    pub bollinger_k: f64,
    /// Period of the trend EMA.
    pub trend_period: usize,
    /// The MACD-cross rule, or `None` to disable it.
    pub macd_rsi: Option<MacdRsiRule>,
    /// The Bollinger break-out rule, or `None` to disable it.
    pub breakout: Option<BreakoutRule>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            macd_fast: 12,
            macd_slow: 26,
            macd_signal: 9,
            rsi_period: 14,
            bollinger_period: 20,
            bollinger_k: 2.0,
            trend_period: 50,
            macd_rsi: Some(MacdRsiRule::default()),
            breakout: Some(BreakoutRule::default()),
        }
    }
}

/// An [`EngineConfig`] field out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid engine config: {field} = {value} ({expected})")]
pub struct EngineConfigError {
    /// The offending field's name.
    pub field: &'static str,
    /// Its value, formatted.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static str,
}

impl EngineConfig {
    /// Checks every field, naming the first one out of range.
    pub fn validate(&self) -> Result<(), EngineConfigError> {
        fn err(
            field: &'static str,
            value: impl ToString,
            expected: &'static str,
        ) -> EngineConfigError {
            EngineConfigError {
                field,
                value: value.to_string(),
                expected,
            }
        }
        const MAX_PERIOD: usize = 1 << 20;
        let period_ok = |p: usize| (1..=MAX_PERIOD).contains(&p);
        for (field, p) in [
            ("macd_fast", self.macd_fast),
            ("macd_slow", self.macd_slow),
            ("macd_signal", self.macd_signal),
            ("rsi_period", self.rsi_period),
            ("bollinger_period", self.bollinger_period),
            ("trend_period", self.trend_period),
        ] {
            if !period_ok(p) {
                return Err(err(field, p, "in 1..=1048576"));
            }
        }
        if self.macd_fast > self.macd_slow {
            return Err(err("macd_fast", self.macd_fast, "at most macd_slow"));
        }
        if !(self.bollinger_k.is_finite() && self.bollinger_k >= 0.0) {
            return Err(err("bollinger_k", self.bollinger_k, "finite and >= 0"));
        }
        if let Some(r) = &self.macd_rsi {
            if !(0.0..=100.0).contains(&r.rsi_overbought) || r.rsi_overbought == 0.0 {
                return Err(err(
                    "macd_rsi.rsi_overbought",
                    r.rsi_overbought,
                    "in (0, 100]",
                ));
            }
            if !(0.0..100.0).contains(&r.rsi_oversold) {
                return Err(err("macd_rsi.rsi_oversold", r.rsi_oversold, "in [0, 100)"));
            }
        }
        if let Some(r) = &self.breakout {
            if !(r.min_volume_ratio.is_finite() && r.min_volume_ratio >= 0.0) {
                return Err(err(
                    "breakout.min_volume_ratio",
                    r.min_volume_ratio,
                    "finite and >= 0",
                ));
            }
        }
        Ok(())
    }
}

/// Every indicator of one symbol, each `None` while warming up. From [`SignalEngine::indicators`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IndicatorSnapshot {
    /// Ticks seen for the symbol.
    pub ticks: u64,
    /// SMA over `bollinger_period` (the bands' middle).
    pub sma: Option<f64>,
    /// The trend EMA.
    pub ema: Option<f64>,
    /// Wilder RSI.
    pub rsi: Option<f64>,
    /// MACD line, signal and histogram.
    pub macd: Option<MacdOutput>,
    /// Bollinger bands.
    pub bollinger: Option<BollingerOutput>,
    /// VWAP since the start.
    pub vwap: Option<f64>,
}

/// Bit 0 of [`SymbolState::flags`]: the MACD histogram was > 0 on the previous tick.
const HIST_POSITIVE: u32 = 1;
/// Bits 1–2: where the previous price was relative to the bands.
const ZONE_SHIFT: u32 = 1;
const ZONE_INSIDE: u32 = 0;
const ZONE_ABOVE: u32 = 1;
const ZONE_BELOW: u32 = 2;

/// One symbol's scalars: 14 words, padded to two cache lines. Field meanings follow the
/// kernels in [`crate::engine::indicators`].
#[repr(C, align(64))]
#[derive(Clone, Copy, Debug, Default)]
struct SymbolState {
    count: u64,
    pos: u32,
    flags: u32,
    mean: f64,
    m2: f64,
    fast: f64,
    slow: f64,
    signal: f64,
    trend: f64,
    prev: f64,
    gain: f64,
    loss: f64,
    pv: f64,
    pv_comp: f64,
    volume: u64,
}

// A tick touches this record's two cache lines and one ring line; keep it that way.
const _: () = assert!(std::mem::size_of::<SymbolState>() == 128);

/// Constants derived once from the config.
#[derive(Clone, Debug)]
struct Params {
    macd: MacdPeriods,
    rsi_period: u64,
    rsi_inv: Smoothing,
    window: usize,
    window_inv: f64,
    /// k²/n: the break-out test is `(x − mean)² > k2_over_n · M2`.
    k2_over_n: f64,
    k: f64,
    trend_period: u64,
    trend_alpha: Smoothing,
    /// Ticks after which every indicator of a symbol is in its steady state.
    warm: u64,
}

impl Params {
    fn new(c: &EngineConfig) -> Self {
        let macd = MacdPeriods::new(c.macd_fast, c.macd_slow, c.macd_signal);
        let n = c.bollinger_period;
        let warm = (n as u64)
            .max(macd.warm_up())
            .max(c.trend_period as u64)
            .max(c.rsi_period as u64 + 1);
        Self {
            macd,
            rsi_period: c.rsi_period as u64,
            rsi_inv: Smoothing::wilder(c.rsi_period),
            window: n,
            window_inv: 1.0 / n as f64,
            k2_over_n: c.bollinger_k * c.bollinger_k / n as f64,
            k: c.bollinger_k,
            trend_period: c.trend_period as u64,
            trend_alpha: ema_alpha(c.trend_period),
            warm,
        }
    }
}

/// From this many symbols on (≈ 590 KB of state, half this machine's L2) [`SignalEngine::on_ticks`]
/// prefetches.
const PREFETCH_MIN_SYMBOLS: usize = 2048;
/// How many ticks ahead [`SignalEngine::on_ticks`] prefetches a symbol's record. Measured at
/// 65 536 symbols (`engine/symbols/65536`): 24/8 ahead 99 µs, 32/12 93 µs, 40/16 90–92 µs,
/// 48/20 91 µs, 64/24 94 µs per 4 096 ticks.
const PREFETCH_RECORD_AHEAD: usize = 40;
/// How many ticks ahead it prefetches the ring slot (reading `pos` from the record, which the
/// first prefetch has brought in by then).
const PREFETCH_SLOT_AHEAD: usize = 16;

/// Per-symbol indicators and rules over dense symbol ids. `Send`; one engine per thread/shard.
#[derive(Clone, Debug)]
pub struct SignalEngine {
    config: EngineConfig,
    p: Params,
    states: Vec<SymbolState>,
    /// `bollinger_period` prices per symbol, symbol-major.
    rings: Vec<f64>,
    /// Ticks skipped because their symbol id was at or beyond [`MAX_SYMBOLS`].
    rejected: u64,
}

/// Symbol ids are dense; state is linear in the largest id seen (≈ 300 B per symbol), so ids
/// at or beyond this bound (≈ 1.2 GB of state) are refused instead of exhausting memory: such a
/// tick is skipped and counted in [`SignalEngine::rejected_ticks`].
pub const MAX_SYMBOLS: usize = 1 << 22;

impl SignalEngine {
    /// An engine with state for symbols `0..symbols` (more are added on demand).
    ///
    /// # Panics
    /// If `config` is invalid; use [`SignalEngine::try_new`] to get the error instead.
    pub fn new(symbols: usize, config: EngineConfig) -> Self {
        match Self::try_new(symbols, config) {
            Ok(engine) => engine,
            Err(e) => panic!("{e}"),
        }
    }

    /// An engine with state for symbols `0..symbols`, or the config's first invalid field.
    pub fn try_new(symbols: usize, config: EngineConfig) -> Result<Self, EngineConfigError> {
        config.validate()?;
        if symbols > MAX_SYMBOLS {
            return Err(EngineConfigError {
                field: "symbols",
                value: symbols.to_string(),
                expected: "at most MAX_SYMBOLS (4194304)",
            });
        }
        let p = Params::new(&config);
        Ok(Self {
            states: huge_page_vec(symbols, SymbolState::default()),
            rings: huge_page_vec(symbols * p.window, 0.0),
            p,
            config,
            rejected: 0,
        })
    }

    /// The configuration the engine runs.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Number of symbols with state (grows with the largest id seen).
    pub fn symbols(&self) -> usize {
        self.states.len()
    }

    /// Ticks skipped so far because their symbol id was at or beyond [`MAX_SYMBOLS`].
    pub fn rejected_ticks(&self) -> u64 {
        self.rejected
    }

    /// Ticks per symbol before all its indicators are past warm-up.
    pub fn warm_up_ticks(&self) -> u64 {
        self.p.warm
    }

    /// Updates the tick's symbol state and pushes 0 or more signals onto `out`. A symbol id
    /// beyond the current state grows it (memory is linear in the largest id); an id at or
    /// beyond [`MAX_SYMBOLS`] is skipped and counted ([`SignalEngine::rejected_ticks`]). Apart
    /// from growth and `out` growing, nothing allocates.
    #[inline]
    pub fn on_tick(&mut self, tick: &Tick, out: &mut Vec<Signal>) {
        self.update(tick, out);
    }

    /// The body of [`SignalEngine::on_tick`], forced inline so that both loops of
    /// [`SignalEngine::on_ticks`] get it without a call per tick.
    #[inline(always)]
    fn update(&mut self, tick: &Tick, out: &mut Vec<Signal>) {
        let sym = tick.symbol as usize;
        if sym >= self.states.len() && !self.grow(sym + 1) {
            return;
        }
        let n = self.p.window;
        debug_assert_eq!(self.rings.len(), self.states.len() * n);
        // SAFETY: `sym < states.len()` (grown just above), and `rings.len() == states.len() * n`
        // is kept by `try_new` and `grow`, the only places that resize either vector. Skipping
        // these bounds checks saves ~15 of ~175 instructions per tick.
        let (st, ring) = unsafe {
            (
                self.states.get_unchecked_mut(sym),
                self.rings.get_unchecked_mut(sym * n..sym * n + n),
            )
        };
        if st.count >= self.p.warm {
            step::<false>(&self.p, &self.config, st, ring, tick, out);
        } else {
            step::<true>(&self.p, &self.config, st, ring, tick, out);
        }
    }

    /// [`SignalEngine::on_tick`] for each tick in order, prefetching the state of ticks a few
    /// places ahead so that cache misses over many symbols overlap: the two-line record of the
    /// tick `PREFETCH_RECORD_AHEAD` places ahead, then the one ring line that tick will write,
    /// `PREFETCH_SLOT_AHEAD` places ahead.
    /// Below `PREFETCH_MIN_SYMBOLS` symbols the state stays in cache and the prefetches would
    /// only cost instructions, so they are skipped.
    pub fn on_ticks(&mut self, ticks: &[Tick], out: &mut Vec<Signal>) {
        if self.states.len() < PREFETCH_MIN_SYMBOLS {
            for tick in ticks {
                self.update(tick, out);
            }
            return;
        }
        for (i, tick) in ticks.iter().enumerate() {
            if let Some(ahead) = ticks.get(i + PREFETCH_RECORD_AHEAD) {
                self.prefetch_record(ahead.symbol as usize);
            }
            if let Some(ahead) = ticks.get(i + PREFETCH_SLOT_AHEAD) {
                self.prefetch_slot(ahead.symbol as usize);
            }
            self.update(tick, out);
        }
    }

    /// Hints the CPU to load `sym`'s record.
    #[inline(always)]
    fn prefetch_record(&self, sym: usize) {
        if let Some(st) = self.states.get(sym) {
            let rec = (st as *const SymbolState).cast::<i8>();
            prefetch(rec);
            prefetch(rec.wrapping_add(64));
        }
    }

    /// Hints the CPU to load the ring line `sym`'s next price goes to, or the whole ring when
    /// that price completes a lap (the re-anchor then reads every slot).
    #[inline(always)]
    fn prefetch_slot(&self, sym: usize) {
        if let Some(st) = self.states.get(sym) {
            let n = self.p.window;
            let pos = st.pos as usize;
            let base = sym * n;
            if pos + 1 < n {
                if let Some(x) = self.rings.get(base + pos) {
                    prefetch((x as *const f64).cast::<i8>());
                }
            } else if let Some(ring) = self.rings.get(base..base + n) {
                for line in ring.chunks(8) {
                    prefetch(line.as_ptr().cast::<i8>());
                }
                prefetch(ring[n - 1..].as_ptr().cast::<i8>());
            }
        }
    }

    /// Every indicator of `symbol`, or `None` if the engine has no state for it.
    pub fn indicators(&self, symbol: SymbolId) -> Option<IndicatorSnapshot> {
        let st = self.states.get(symbol as usize)?;
        let p = &self.p;
        let c = st.count;
        let window_full = c >= p.window as u64;
        let macd = (c >= p.macd.warm_up()).then(|| {
            let line = st.fast - st.slow;
            MacdOutput {
                macd: line,
                signal: st.signal,
                histogram: line - st.signal,
            }
        });
        let bollinger = window_full.then(|| {
            let sigma = (st.m2 * p.window_inv).sqrt();
            BollingerOutput {
                middle: st.mean,
                upper: st.mean + p.k * sigma,
                lower: st.mean - p.k * sigma,
                sigma,
            }
        });
        Some(IndicatorSnapshot {
            ticks: c,
            sma: window_full.then_some(st.mean),
            ema: (c >= p.trend_period).then_some(st.trend),
            rsi: (c > p.rsi_period).then(|| rsi_value(st.gain, st.loss)),
            macd,
            bollinger,
            vwap: (st.volume > 0).then(|| (st.pv + st.pv_comp) / st.volume as f64),
        })
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, symbols: usize) -> bool {
        if symbols > MAX_SYMBOLS {
            self.rejected += 1;
            return false;
        }
        self.states.reserve(symbols - self.states.len());
        advise_huge_pages(&mut self.states);
        self.states.resize(symbols, SymbolState::default());
        let ring_len = symbols * self.p.window;
        self.rings.reserve(ring_len - self.rings.len());
        advise_huge_pages(&mut self.rings);
        self.rings.resize(ring_len, 0.0);
        true
    }
}

/// A `Vec` of `len` copies of `value` whose memory the kernel is asked to back with huge
/// pages (see [`advise_huge_pages`]).
fn huge_page_vec<T: Clone>(len: usize, value: T) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    advise_huge_pages(&mut v);
    v.resize(len, value);
    v
}

/// Asks Linux to back `v`'s allocation with transparent huge pages (`madvise(MADV_HUGEPAGE)`,
/// needed where THP is in `madvise` mode). At 65 536 symbols the state spans ~4 700 4-KiB
/// pages, more than the L2 TLB holds, so random symbol order would otherwise pay a page walk
/// on many ticks. Only a hint: failure or another OS changes nothing but speed.
fn advise_huge_pages<T>(v: &mut Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        const HUGE_PAGE: usize = 2 << 20;
        let bytes = v.capacity() * std::mem::size_of::<T>();
        if bytes < HUGE_PAGE {
            return;
        }
        let start = (v.as_mut_ptr() as usize).next_multiple_of(PAGE);
        let end = (v.as_mut_ptr() as usize + bytes) / PAGE * PAGE;
        if end > start {
            // SAFETY: the range lies inside `v`'s live allocation; MADV_HUGEPAGE changes how
            // the kernel backs it, never its contents. The result is deliberately ignored.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// Hints the CPU to bring the line at `p` into L1 (a no-op off x86-64).
#[inline(always)]
fn prefetch(p: *const i8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults and reads nothing into the program.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// One tick's update. `WARM` compiles in the readiness checks needed during a symbol's first
/// `Params::warm` ticks; the steady-state instance has none.
#[inline(always)]
fn step<const WARM: bool>(
    p: &Params,
    cfg: &EngineConfig,
    st: &mut SymbolState,
    ring: &mut [f64],
    tick: &Tick,
    out: &mut Vec<Signal>,
) {
    let x = tick.price;
    st.count += 1;
    let c = st.count;
    let n = p.window;

    // SMA + Bollinger window.
    let pos = st.pos as usize;
    debug_assert!(pos < n && ring.len() == n);
    // SAFETY: `ring.len() == n` (see `on_tick`) and `st.pos` is only ever set below, to 0 or to
    // `pos + 1 < n`, so `pos < n`.
    let slot = unsafe { ring.get_unchecked_mut(pos) };
    if WARM && c <= n as u64 {
        welford_grow(&mut st.mean, &mut st.m2, x, c, true);
    } else {
        window_slide(&mut st.mean, &mut st.m2, x, *slot, p.window_inv, true);
    }
    *slot = x;
    if pos + 1 == n {
        st.pos = 0;
        window_reanchor::<true>(ring, x, &mut st.mean, &mut st.m2, p.window_inv);
    } else {
        st.pos = pos as u32 + 1;
    }

    // MACD, trend EMA, RSI.
    if WARM {
        macd_warm(&mut st.fast, &mut st.slow, &mut st.signal, x, c, &p.macd);
        ema_warm(&mut st.trend, x, c, p.trend_period, p.trend_alpha);
        rsi_warm(
            &mut st.prev,
            &mut st.gain,
            &mut st.loss,
            x,
            c,
            p.rsi_period,
            p.rsi_inv,
        );
    } else {
        macd_step(&mut st.fast, &mut st.slow, &mut st.signal, x, &p.macd);
        ema_step(&mut st.trend, x, p.trend_alpha);
        rsi_step(&mut st.prev, &mut st.gain, &mut st.loss, x, p.rsi_inv);
    }

    // VWAP.
    neumaier_add(&mut st.pv, &mut st.pv_comp, x * f64::from(tick.size));
    st.volume += u64::from(tick.size);

    // Rule triggers: cheap sign tests here, confirmations only when one fires.
    let macd_ready = !WARM || c > p.macd.warm_up(); // this tick's and the previous histogram
    let window_ready = !WARM || c >= n as u64;
    let hist_positive = (st.fast - st.slow) - st.signal > 0.0;
    let d = x - st.mean;
    let outside = window_ready && d * d > p.k2_over_n * st.m2;
    let zone = if !outside {
        ZONE_INSIDE
    } else if d > 0.0 {
        ZONE_ABOVE
    } else {
        ZONE_BELOW
    };
    let prev_flags = st.flags;
    st.flags = u32::from(hist_positive) | (zone << ZONE_SHIFT);
    let crossed = macd_ready && (prev_flags & HIST_POSITIVE != 0) != hist_positive;
    let broke_out = zone != ZONE_INSIDE && zone != (prev_flags >> ZONE_SHIFT);
    if crossed | broke_out {
        confirm(
            p,
            cfg,
            st,
            tick,
            d,
            crossed.then_some(hist_positive),
            broke_out.then_some(zone),
            out,
        );
    }
}

/// Applies the rules' confirmations to a MACD cross (`cross` = is the histogram now positive)
/// and/or a band exit (`zone`), pushing the signals that pass.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn confirm(
    p: &Params,
    cfg: &EngineConfig,
    st: &SymbolState,
    tick: &Tick,
    d: f64,
    cross: Option<bool>,
    zone: Option<u32>,
    out: &mut Vec<Signal>,
) {
    let x = tick.price;
    if let (Some(up), Some(rule)) = (cross, &cfg.macd_rsi) {
        if st.count > p.rsi_period {
            let rsi = rsi_value(st.gain, st.loss);
            let signal = if up && rsi <= rule.rsi_overbought {
                Some((Side::Buy, (rule.rsi_overbought - rsi) / rule.rsi_overbought))
            } else if !up && rsi >= rule.rsi_oversold {
                Some((
                    Side::Sell,
                    (rsi - rule.rsi_oversold) / (100.0 - rule.rsi_oversold),
                ))
            } else {
                None
            };
            if let Some((side, strength)) = signal {
                out.push(Signal {
                    symbol: tick.symbol,
                    ts_ns: tick.ts_ns,
                    side,
                    strength: strength.clamp(0.0, 1.0),
                    reason: Reason::MacdCrossRsi,
                });
            }
        }
    }
    if let (Some(zone), Some(rule)) = (zone, &cfg.breakout) {
        let up = zone == ZONE_ABOVE;
        let volume = st.volume as f64;
        let pv = st.pv + st.pv_comp;
        let vwap_ok = !rule.require_vwap || if up { x * volume > pv } else { x * volume < pv };
        let size_ok = f64::from(tick.size) * st.count as f64 >= rule.min_volume_ratio * volume;
        let trend_ok = !rule.require_trend
            || (st.count >= p.trend_period
                && if up {
                    st.mean >= st.trend
                } else {
                    st.mean <= st.trend
                });
        if vwap_ok && size_ok && trend_ok {
            let band = p.k * (st.m2 * p.window_inv).sqrt();
            let strength = if band > 0.0 {
                (d.abs() - band) / band
            } else {
                1.0
            };
            out.push(Signal {
                symbol: tick.symbol,
                ts_ns: tick.ts_ns,
                side: if up { Side::Buy } else { Side::Sell },
                strength: strength.clamp(0.0, 1.0),
                reason: Reason::BollingerBreakout,
            });
        }
    }
}
