//! Streaming technical indicators: O(1) work and no allocation per update.
//!
//! Every indicator takes one input per `update` and returns `None` until it has seen enough
//! inputs to give an unbiased value (its *warm-up*); [`Sma::is_ready`] and friends say the same.
//!
//! | indicator | ready after | definition |
//! |---|---|---|
//! | [`Sma`] (n) | n inputs | mean of the last n inputs |
//! | [`Ema`] (n) | n inputs | seeded with the SMA of the first n inputs, then `v = (1−α)·v + α·x`, α = 2/(n+1) |
//! | [`Rsi`] (n) | n + 1 inputs (n changes) | Wilder: first averages are plain means of n gains/losses, then `avg = ((n−1)·avg + x)/n`; RSI = 100·G/(G+L), 50 when both are 0 |
//! | [`Macd`] (f, s, k) | s + k − 1 inputs | line = EMA(f) − EMA(s); signal = EMA(k) of the line, seeded like [`Ema`]; histogram = line − signal |
//! | [`Bollinger`] (n, m) | n inputs | middle = SMA(n), bands = middle ± m·σ, σ the *population* deviation of the window |
//! | [`Vwap`] | 1 input with size > 0 | Σ price·size / Σ size since the last reset |
//!
//! # Numerical method
//!
//! Nothing keeps a running sum over millions of updates:
//! - **Windows** ([`Sma`], [`Bollinger`]) keep the window in a ring buffer and update the mean
//!   and the sum of squared deviations `M2` with the windowed Welford step (replace the oldest
//!   value `o` by `x`: `mean' = mean + (x − o)/n`, `M2' = M2 + (x − o)(x − mean' + o − mean)`),
//!   never a sum of squares, so no catastrophic cancellation when σ ≪ price. Each time the ring
//!   wraps (every n updates) both are **re-anchored**: recomputed from the window with a
//!   two-pass sum. Rounding error therefore lives at most n updates; the re-anchor costs O(n)
//!   every n updates, i.e. O(1) amortised.
//! - **EMAs and Wilder averages** are contractions (`v = β·v + α·x`, β = 1 − α < 1): old rounding errors decay
//!   geometrically, so they cannot drift.
//! - **VWAP** sums `price·size` with Neumaier's compensated summation (error independent of the
//!   number of terms) and `size` in an exact `u64`.
//!
//! The small `pub(crate)` kernels at the bottom of this file are shared with
//! [`crate::engine::signal::SignalEngine`], so the engine computes bit-for-bit the same values as
//! these stand-alone indicators (a test checks that).

/// Simple moving average over the last `period` inputs.
#[derive(Clone, Debug)]
pub struct Sma {
    window: Window,
}

impl Sma {
    /// An SMA over `period` inputs.
    ///
    /// # Panics
    /// If `period` is 0.
    pub fn new(period: usize) -> Self {
        Self {
            window: Window::new(period),
        }
    }

    /// Adds `x`; returns the mean of the last `period` inputs once there are that many.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.window.push::<false>(x).then_some(self.window.mean)
    }

    /// The current value, `None` during warm-up.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        self.window.is_full().then_some(self.window.mean)
    }

    /// Whether `period` inputs have been seen.
    pub fn is_ready(&self) -> bool {
        self.window.is_full()
    }

    /// The window length.
    pub fn period(&self) -> usize {
        self.window.ring.len()
    }

    /// Forgets every input.
    pub fn reset(&mut self) {
        self.window.reset();
    }
}

/// Exponential moving average, α = 2/(period + 1), seeded with the SMA of the first `period`
/// inputs.
#[derive(Clone, Debug)]
pub struct Ema {
    value: f64,
    count: u64,
    period: u64,
    alpha: Smoothing,
}

impl Ema {
    /// An EMA with α = 2/(period + 1).
    ///
    /// # Panics
    /// If `period` is 0.
    pub fn new(period: usize) -> Self {
        assert!(period > 0, "EMA period must be at least 1");
        Self {
            value: 0.0,
            count: 0,
            period: period as u64,
            alpha: ema_alpha(period),
        }
    }

    /// Adds `x`; returns the EMA once `period` inputs have been seen.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.count += 1;
        ema_warm(&mut self.value, x, self.count, self.period, self.alpha);
        self.value()
    }

    /// The current value, `None` during warm-up.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        (self.count >= self.period).then_some(self.value)
    }

    /// Whether `period` inputs have been seen.
    pub fn is_ready(&self) -> bool {
        self.count >= self.period
    }

    /// The smoothing factor α.
    pub fn alpha(&self) -> f64 {
        self.alpha.alpha
    }

    /// Forgets every input.
    pub fn reset(&mut self) {
        self.value = 0.0;
        self.count = 0;
    }
}

/// Relative strength index with Wilder's smoothing.
#[derive(Clone, Debug)]
pub struct Rsi {
    prev: f64,
    gain: f64,
    loss: f64,
    count: u64,
    period: u64,
    inv_period: Smoothing,
}

impl Rsi {
    /// An RSI over `period` price changes (14 is the classic choice).
    ///
    /// # Panics
    /// If `period` is 0.
    pub fn new(period: usize) -> Self {
        assert!(period > 0, "RSI period must be at least 1");
        Self {
            prev: 0.0,
            gain: 0.0,
            loss: 0.0,
            count: 0,
            period: period as u64,
            inv_period: Smoothing::wilder(period),
        }
    }

    /// Adds a price; returns the RSI in `[0, 100]` once `period` changes have been seen.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<f64> {
        self.count += 1;
        rsi_warm(
            &mut self.prev,
            &mut self.gain,
            &mut self.loss,
            x,
            self.count,
            self.period,
            self.inv_period,
        );
        self.value()
    }

    /// The current value, `None` during warm-up.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        (self.count > self.period).then(|| rsi_value(self.gain, self.loss))
    }

    /// Whether `period` price changes have been seen.
    pub fn is_ready(&self) -> bool {
        self.count > self.period
    }

    /// Forgets every input.
    pub fn reset(&mut self) {
        *self = Self::new(self.period as usize);
    }
}

/// One MACD reading.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MacdOutput {
    /// EMA(fast) − EMA(slow).
    pub macd: f64,
    /// EMA(signal period) of the MACD line.
    pub signal: f64,
    /// `macd − signal`.
    pub histogram: f64,
}

/// Moving average convergence/divergence (12/26/9 by default).
#[derive(Clone, Debug)]
pub struct Macd {
    fast: f64,
    slow: f64,
    signal: f64,
    count: u64,
    periods: MacdPeriods,
}

/// The three MACD periods plus precomputed constants, shared with the engine.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MacdPeriods {
    pub fast: u64,
    pub slow: u64,
    pub signal: u64,
    pub fast_alpha: Smoothing,
    pub slow_alpha: Smoothing,
    pub signal_alpha: Smoothing,
}

impl MacdPeriods {
    pub(crate) fn new(fast: usize, slow: usize, signal: usize) -> Self {
        assert!(
            fast > 0 && signal > 0 && fast <= slow,
            "MACD periods need 0 < fast <= slow and signal > 0 (got {fast}/{slow}/{signal})"
        );
        Self {
            fast: fast as u64,
            slow: slow as u64,
            signal: signal as u64,
            fast_alpha: ema_alpha(fast),
            slow_alpha: ema_alpha(slow),
            signal_alpha: ema_alpha(signal),
        }
    }

    /// Inputs needed before the signal line (and so the output) is ready.
    pub(crate) fn warm_up(&self) -> u64 {
        self.slow + self.signal - 1
    }
}

impl Default for Macd {
    fn default() -> Self {
        Self::new(12, 26, 9)
    }
}

impl Macd {
    /// A MACD with the given EMA periods.
    ///
    /// # Panics
    /// Unless `0 < fast <= slow` and `signal > 0`.
    pub fn new(fast: usize, slow: usize, signal: usize) -> Self {
        Self {
            fast: 0.0,
            slow: 0.0,
            signal: 0.0,
            count: 0,
            periods: MacdPeriods::new(fast, slow, signal),
        }
    }

    /// Adds a price; returns line, signal and histogram once `slow + signal − 1` inputs have
    /// been seen.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<MacdOutput> {
        self.count += 1;
        macd_warm(
            &mut self.fast,
            &mut self.slow,
            &mut self.signal,
            x,
            self.count,
            &self.periods,
        );
        self.value()
    }

    /// The current value, `None` during warm-up.
    #[inline]
    pub fn value(&self) -> Option<MacdOutput> {
        (self.count >= self.periods.warm_up()).then(|| {
            let macd = self.fast - self.slow;
            MacdOutput {
                macd,
                signal: self.signal,
                histogram: macd - self.signal,
            }
        })
    }

    /// Whether the signal line is ready.
    pub fn is_ready(&self) -> bool {
        self.count >= self.periods.warm_up()
    }

    /// Forgets every input.
    pub fn reset(&mut self) {
        self.fast = 0.0;
        self.slow = 0.0;
        self.signal = 0.0;
        self.count = 0;
    }
}

/// One Bollinger reading.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BollingerOutput {
    /// SMA of the window.
    pub middle: f64,
    /// `middle + k·σ`.
    pub upper: f64,
    /// `middle − k·σ`.
    pub lower: f64,
    /// Population standard deviation of the window.
    pub sigma: f64,
}

/// Bollinger bands: SMA(period) ± k·σ (population σ). Classic: 20, 2.
#[derive(Clone, Debug)]
pub struct Bollinger {
    window: Window,
    k: f64,
}

impl Bollinger {
    /// Bands over `period` inputs, `k` deviations wide.
    ///
    /// # Panics
    /// If `period` is 0 or `k` is negative or not finite.
    pub fn new(period: usize, k: f64) -> Self {
        assert!(
            k.is_finite() && k >= 0.0,
            "Bollinger k must be finite and >= 0"
        );
        Self {
            window: Window::new(period),
            k,
        }
    }

    /// Adds `x`; returns the bands once `period` inputs have been seen.
    #[inline]
    pub fn update(&mut self, x: f64) -> Option<BollingerOutput> {
        self.window.push::<true>(x).then(|| self.bands())
    }

    /// The current value, `None` during warm-up.
    #[inline]
    pub fn value(&self) -> Option<BollingerOutput> {
        self.window.is_full().then(|| self.bands())
    }

    /// The bands of the window as it is (full or not).
    #[inline(always)]
    fn bands(&self) -> BollingerOutput {
        let sigma = (self.window.m2 * self.window.inv_n).sqrt();
        let middle = self.window.mean;
        BollingerOutput {
            middle,
            upper: middle + self.k * sigma,
            lower: middle - self.k * sigma,
            sigma,
        }
    }

    /// Whether `period` inputs have been seen.
    pub fn is_ready(&self) -> bool {
        self.window.is_full()
    }

    /// Forgets every input.
    pub fn reset(&mut self) {
        self.window.reset();
    }
}

/// Volume-weighted average price since construction or the last [`Vwap::reset`].
#[derive(Clone, Debug, Default)]
pub struct Vwap {
    pv: f64,
    pv_comp: f64,
    volume: u64,
}

impl Vwap {
    /// An empty VWAP.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a trade; returns the VWAP once some volume has traded.
    #[inline]
    pub fn update(&mut self, price: f64, size: u32) -> Option<f64> {
        neumaier_add(&mut self.pv, &mut self.pv_comp, price * f64::from(size));
        self.volume += u64::from(size);
        self.value()
    }

    /// The current value, `None` before any volume.
    #[inline]
    pub fn value(&self) -> Option<f64> {
        (self.volume > 0).then(|| (self.pv + self.pv_comp) / self.volume as f64)
    }

    /// Total traded volume.
    pub fn volume(&self) -> u64 {
        self.volume
    }

    /// Whether some volume has traded.
    pub fn is_ready(&self) -> bool {
        self.volume > 0
    }

    /// Starts a new session.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// Ring buffer plus windowed-Welford mean and M2, re-anchored at every wrap.
#[derive(Clone, Debug)]
struct Window {
    ring: Box<[f64]>,
    pos: usize,
    len: usize,
    mean: f64,
    m2: f64,
    inv_n: f64,
}

impl Window {
    fn new(period: usize) -> Self {
        assert!(period > 0, "window period must be at least 1");
        Self {
            ring: vec![0.0; period].into_boxed_slice(),
            pos: 0,
            len: 0,
            mean: 0.0,
            m2: 0.0,
            inv_n: 1.0 / period as f64,
        }
    }

    fn is_full(&self) -> bool {
        self.len == self.ring.len()
    }

    fn reset(&mut self) {
        self.pos = 0;
        self.len = 0;
        self.mean = 0.0;
        self.m2 = 0.0;
    }

    /// Adds `x`; returns whether the window is full (so its mean and M2 are those of the last
    /// `n` values).
    #[inline(always)]
    fn push<const TRACK_M2: bool>(&mut self, x: f64) -> bool {
        let n = self.ring.len();
        let pos = self.pos;
        debug_assert!(pos < n);
        // SAFETY: `pos < n == ring.len()`: `pos` starts at 0 and is only ever set below, to
        // `pos + 1` when that is `< n`, else to 0.
        let slot = unsafe { self.ring.get_unchecked_mut(pos) };
        let full = self.len == n;
        if full {
            window_slide(&mut self.mean, &mut self.m2, x, *slot, self.inv_n, TRACK_M2);
        } else {
            self.len += 1;
            welford_grow(&mut self.mean, &mut self.m2, x, self.len as u64, TRACK_M2);
        }
        *slot = x;
        if pos + 1 < n {
            self.pos = pos + 1;
            full
        } else {
            self.pos = 0;
            window_reanchor::<TRACK_M2>(&self.ring, x, &mut self.mean, &mut self.m2, self.inv_n);
            true
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Kernels shared with the engine. Each works on plain fields so the engine can keep them in its
// own compact per-symbol layout; `count` is always the number of inputs including `x`.
// ---------------------------------------------------------------------------------------------

/// The weights of one smoothing step `v' = β·v + α·x` (β = 1 − α, computed exactly as a ratio).
/// Written this way the loop-carried chain through `v` is one multiply and one add, not the
/// subtract, multiply, add of `v + α(x − v)`; both are contractions, so rounding cannot drift.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Smoothing {
    pub alpha: f64,
    pub beta: f64,
}

impl Smoothing {
    /// Wilder's smoothing over `period`: α = 1/period.
    pub(crate) fn wilder(period: usize) -> Self {
        Self {
            alpha: 1.0 / period as f64,
            beta: (period - 1) as f64 / period as f64,
        }
    }
}

/// EMA weights: α = 2/(period + 1), β = (period − 1)/(period + 1).
pub(crate) fn ema_alpha(period: usize) -> Smoothing {
    Smoothing {
        alpha: 2.0 / (period as f64 + 1.0),
        beta: (period as f64 - 1.0) / (period as f64 + 1.0),
    }
}

/// `a·b + c`: one fused multiply-add where the build targets a CPU with FMA (the repository's
/// `.cargo/config.toml` selects x86-64-v3), else a multiply and an add. Fused, it rounds once
/// instead of twice and shortens a smoothing chain by a step; either way the engine and the
/// stand-alone indicators share it, so they agree bit for bit within one build.
#[inline(always)]
pub(crate) fn mul_add(a: f64, b: f64, c: f64) -> f64 {
    #[cfg(target_feature = "fma")]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(target_feature = "fma"))]
    {
        a * b + c
    }
}

/// The steady-state EMA step.
#[inline(always)]
pub(crate) fn ema_step(v: &mut f64, x: f64, k: Smoothing) {
    *v = mul_add(k.beta, *v, k.alpha * x);
}

/// EMA step with SMA seeding: `v` holds the running sum until `count == period`.
#[inline(always)]
pub(crate) fn ema_warm(v: &mut f64, x: f64, count: u64, period: u64, alpha: Smoothing) {
    if count < period {
        *v += x;
    } else if count == period {
        *v = (*v + x) / period as f64;
    } else {
        ema_step(v, x, alpha);
    }
}

/// The steady-state MACD step (all three EMAs ready).
#[inline(always)]
pub(crate) fn macd_step(fast: &mut f64, slow: &mut f64, signal: &mut f64, x: f64, p: &MacdPeriods) {
    ema_step(fast, x, p.fast_alpha);
    ema_step(slow, x, p.slow_alpha);
    ema_step(signal, *fast - *slow, p.signal_alpha);
}

/// MACD step during warm-up: the signal EMA starts with the first MACD value (count == slow).
#[inline(always)]
pub(crate) fn macd_warm(
    fast: &mut f64,
    slow: &mut f64,
    signal: &mut f64,
    x: f64,
    count: u64,
    p: &MacdPeriods,
) {
    ema_warm(fast, x, count, p.fast, p.fast_alpha);
    ema_warm(slow, x, count, p.slow, p.slow_alpha);
    if count >= p.slow {
        let line = *fast - *slow;
        ema_warm(signal, line, count - p.slow + 1, p.signal, p.signal_alpha);
    }
}

/// `max(x, 0)` as one `maxsd` (`f64::max` adds NaN handling the inputs here never need).
#[inline(always)]
fn positive_part(x: f64) -> f64 {
    if x > 0.0 {
        x
    } else {
        0.0
    }
}

/// The steady-state Wilder RSI step.
#[inline(always)]
pub(crate) fn rsi_step(prev: &mut f64, gain: &mut f64, loss: &mut f64, x: f64, k: Smoothing) {
    let change = x - *prev;
    *prev = x;
    let up = positive_part(change);
    let down = up - change; // exactly max(−change, 0)
    *gain = mul_add(k.beta, *gain, k.alpha * up);
    *loss = mul_add(k.beta, *loss, k.alpha * down);
}

/// Wilder RSI step during warm-up: plain sums of the first `period` gains/losses, then means.
#[inline(always)]
pub(crate) fn rsi_warm(
    prev: &mut f64,
    gain: &mut f64,
    loss: &mut f64,
    x: f64,
    count: u64,
    period: u64,
    inv_period: Smoothing,
) {
    if count == 1 {
        *prev = x;
        return;
    }
    let changes = count - 1;
    if changes > period {
        rsi_step(prev, gain, loss, x, inv_period);
        return;
    }
    let change = x - *prev;
    *prev = x;
    let up = positive_part(change);
    *gain += up;
    *loss += up - change;
    if changes == period {
        *gain /= period as f64;
        *loss /= period as f64;
    }
}

/// RSI from Wilder's average gain and loss; 50 when the price has not moved at all.
#[inline]
pub(crate) fn rsi_value(gain: f64, loss: f64) -> f64 {
    let total = gain + loss;
    if total > 0.0 {
        100.0 * gain / total
    } else {
        50.0
    }
}

/// Welford step while the window fills (`count` = values in it including `x`).
#[inline(always)]
pub(crate) fn welford_grow(mean: &mut f64, m2: &mut f64, x: f64, count: u64, track_m2: bool) {
    let delta = x - *mean;
    *mean += delta / count as f64;
    if track_m2 {
        *m2 += delta * (x - *mean);
    }
}

/// Windowed Welford step: `x` replaces `old` in a full window of `1/inv_n` values.
#[inline(always)]
pub(crate) fn window_slide(
    mean: &mut f64,
    m2: &mut f64,
    x: f64,
    old: f64,
    inv_n: f64,
    track_m2: bool,
) {
    let d = x - old;
    let old_mean = *mean;
    *mean += d * inv_n;
    if track_m2 {
        // Rounding can push M2 a hair below 0 when the window is (nearly) constant.
        *m2 = positive_part(*m2 + d * (x - *mean + old - old_mean));
    }
}

/// Recomputes mean and M2 from a full window in one pass over the values shifted by `shift`
/// (the newest value): `S1 = Σ(x − shift)`, `S2 = Σ(x − shift)²`, then `mean = shift + S1/n`
/// and `M2 = S2 − S1²/n`.
///
/// Why this is safe: the newest value lies within `σ·√(n−1)` of the window's mean (Samuelson's
/// inequality), so `S1²/n ≤ (n−1)·M2` and the subtraction loses at most a factor of about `n`
/// in relative precision, about 20 ulps for the default window, bounded and not growing with
/// the stream. Unlike a running sum, nothing carries over from before the window, so the
/// rounding error of the sliding updates lives at most one lap. A shift by the newest value
/// also keeps the pass independent of the running mean, so it starts without waiting for it.
#[inline(always)]
pub(crate) fn window_reanchor<const TRACK_M2: bool>(
    ring: &[f64],
    shift: f64,
    mean: &mut f64,
    m2: &mut f64,
    inv_n: f64,
) {
    // Two partial sums each (one SSE register apiece): enough to halve the add chains, few
    // enough registers that a caller's loop keeps its own state in registers around the pass.
    let mut s1 = [0.0f64; 2];
    let mut s2 = [0.0f64; 2];
    let pairs = ring.chunks_exact(2);
    let rest = pairs.remainder();
    for c in pairs {
        for k in 0..2 {
            let d = c[k] - shift;
            s1[k] += d;
            if TRACK_M2 {
                s2[k] += d * d;
            }
        }
    }
    if let Some(&x) = rest.first() {
        let d = x - shift;
        s1[0] += d;
        if TRACK_M2 {
            s2[0] += d * d;
        }
    }
    let s1 = s1[0] + s1[1];
    *mean = shift + s1 * inv_n;
    if TRACK_M2 {
        let s2 = s2[0] + s2[1];
        *m2 = positive_part(s2 - s1 * s1 * inv_n);
    }
}

/// Neumaier's compensated addition of a term `y ≥ 0` to a sum `≥ 0`: `sum + comp` is the sum
/// with an error independent of the number of terms added. (For non-negative operands the
/// larger magnitude is simply the larger value, which saves Neumaier's `abs` comparison.)
#[inline(always)]
pub(crate) fn neumaier_add(sum: &mut f64, comp: &mut f64, y: f64) {
    let t = *sum + y;
    let (big, small) = if *sum >= y { (*sum, y) } else { (y, *sum) };
    *comp += (big - t) + small;
    *sum = t;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook two-pass mean and M2, as the reference.
    fn two_pass(v: &[f64]) -> (f64, f64) {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        (mean, v.iter().map(|x| (x - mean) * (x - mean)).sum())
    }

    #[test]
    fn reanchor_matches_two_pass_including_the_remainder() {
        // Odd and even lengths (the pass pairs values up); values near 1e4 with small spread.
        for n in [1usize, 2, 3, 4, 5, 7, 20, 23] {
            let v: Vec<f64> = (0..n)
                .map(|i| 1e4 + ((i * 37) % 11) as f64 * 0.125)
                .collect();
            let (want_mean, want_m2) = two_pass(&v);
            for shift in [v[n - 1], v[0], want_mean] {
                let (mut mean, mut m2) = (f64::NAN, f64::NAN);
                window_reanchor::<true>(&v, shift, &mut mean, &mut m2, 1.0 / n as f64);
                assert!(
                    (mean - want_mean).abs() <= 1e-12 * want_mean,
                    "n={n}: mean {mean}"
                );
                assert!(
                    (m2 - want_m2).abs() <= 1e-9 * want_m2.max(1e-3),
                    "n={n}: m2 {m2} vs {want_m2}"
                );
                let mut mean_only = f64::NAN;
                let mut untouched = 7.0;
                window_reanchor::<false>(&v, shift, &mut mean_only, &mut untouched, 1.0 / n as f64);
                assert_eq!(mean_only, mean);
                assert_eq!(untouched, 7.0, "M2 must be left alone when not tracked");
            }
        }
    }

    #[test]
    fn neumaier_keeps_what_a_plain_sum_loses() {
        let (mut s, mut c) = (0.0, 0.0);
        let mut plain = 0.0;
        // Next to 1e16 (ulp 2) each 1.0 is rounded away by a plain sum.
        for y in std::iter::once(1e16).chain(std::iter::repeat_n(1.0, 10)) {
            neumaier_add(&mut s, &mut c, y);
            plain += y;
        }
        assert_eq!(s + c, 1e16 + 10.0);
        assert_eq!(plain, 1e16, "the plain sum should lose every 1.0");
        // Order does not matter: a large term after small ones.
        let (mut s, mut c) = (0.0, 0.0);
        for y in [1.0, 1.0, 1e16] {
            neumaier_add(&mut s, &mut c, y);
        }
        assert_eq!(s + c, 1e16 + 2.0);
    }
}
