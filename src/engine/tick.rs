//! Market ticks and the seeded synthetic market generator.
//!
//! [`MarketGenerator`] produces an endless, reproducible stream of [`Tick`]s: a geometric random
//! walk per symbol with two volatility regimes (calm / stormy, switched at random per symbol) and
//! clustered bursts (a run of ticks on one symbol, close together in time).
//!
//! # Same seed, same ticks, on every machine
//!
//! The random numbers come from xoshiro256** seeded through SplitMix64 (both implemented here,
//! a few lines each, with the published reference outputs pinned in tests), so the stream does
//! not depend on a library's choice of algorithm. The generator then uses only integer
//! arithmetic and IEEE-754 `+ - *` on `f64` — no `exp`, `ln` or `cos`, whose last bit differs
//! between math libraries — so a seed gives bit-identical ticks on every platform. Two
//! consequences of that rule:
//! - a price step multiplies by `1 + σ·z` (a geometric walk: relative steps) instead of
//!   `exp(σ·z)`; with `σ ≤ 0.1` and `|z| ≤ 2√3` the factor stays positive;
//! - `z` is an Irwin–Hall sum of four uniforms, rescaled to unit variance: bell-shaped and
//!   bounded, rather than exactly normal.

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

/// SplitMix64 (Steele, Lea, Flood 2014): used only to expand a 64-bit seed into xoshiro's state,
/// as the xoshiro authors recommend.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A SplitMix64 stream starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// xoshiro256** 1.0 (Blackman & Vigna 2018): a fast PRNG whose output is specified bit for bit.
#[derive(Clone, Debug)]
pub struct Xoshiro256StarStar {
    s: [u64; 4],
}

impl Xoshiro256StarStar {
    /// Seeds the 256-bit state with four SplitMix64 outputs of `seed`.
    pub fn seed_from_u64(seed: u64) -> Self {
        let mut sm = SplitMix64::new(seed);
        Self::from_state([sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()])
    }

    /// Uses `s` as the raw state. An all-zero state would only ever yield zeros, so it is
    /// replaced by the state of seed 0.
    pub fn from_state(s: [u64; 4]) -> Self {
        if s == [0; 4] {
            return Self::seed_from_u64(0);
        }
        Self { s }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform integer in `0..n` (`n > 0`), by Lemire's multiply-shift (bias below 2⁻³²
    /// for any `n` this crate uses).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// `true` with probability `threshold / 2⁶⁴` (see [`probability_threshold`]).
    fn chance(&mut self, threshold: u64) -> bool {
        self.next_u64() < threshold
    }

    /// A bounded, bell-shaped variate with mean 0 and variance 1: the sum of four uniforms on
    /// `[0, 1)` (Irwin–Hall), centred and scaled by √3. Uses only exact-rounding arithmetic.
    fn unit_bell(&mut self) -> f64 {
        const TWO_POW_M32: f64 = 1.0 / 4_294_967_296.0;
        const SQRT_3: f64 = 1.732_050_807_568_877_2;
        let a = self.next_u64();
        let b = self.next_u64();
        let sum = (a >> 32) as f64
            + (a & 0xffff_ffff) as f64
            + (b >> 32) as f64
            + (b & 0xffff_ffff) as f64;
        (sum * TWO_POW_M32 - 2.0) * SQRT_3
    }
}

/// Maps a probability in `[0, 1]` to a `u64` threshold for [`Xoshiro256StarStar::chance`].
fn probability_threshold(p: f64) -> u64 {
    // `as` saturates: p = 1.0 gives u64::MAX (true except for one value in 2⁶⁴).
    (p.clamp(0.0, 1.0) * 18_446_744_073_709_551_616.0) as u64
}

/// Everything that shapes the synthetic market. `Default` is seed 42 with 64 symbols.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketConfig {
    /// PRNG seed: the same seed gives the same ticks on every machine.
    pub seed: u64,
    /// Number of symbols; ids are `0..symbols`. Must be ≥ 1.
    pub symbols: u32,
    /// Mean starting price; each symbol starts uniformly in `[0.5, 1.5) ×` this. Must be > 0.
    pub start_price: f64,
    /// Mean time between two ticks of the whole market outside bursts, in ns (gaps are
    /// uniform on `0..=2 × mean`).
    pub mean_gap_ns: u64,
    /// Per-tick relative price volatility σ in the calm regime. In `[0, 0.1]`.
    pub calm_volatility: f64,
    /// Per-tick relative price volatility σ in the stormy regime. In `[0, 0.1]`.
    pub stormy_volatility: f64,
    /// Probability, at each tick of a symbol, that the symbol flips regime. In `[0, 1]`.
    pub regime_switch_probability: f64,
    /// Probability that a tick outside a burst starts a burst on its symbol. In `[0, 1]`.
    pub burst_probability: f64,
    /// A burst adds `1..=max_burst_len` further ticks of the same symbol (uniform). Must be ≥ 1.
    pub max_burst_len: u32,
    /// Gap between ticks inside a burst: uniform on `0..=2 × burst_gap_ns`.
    pub burst_gap_ns: u64,
    /// Mean trade size; sizes are uniform on `1..=2 × mean_size − 1`. Must be ≥ 1.
    pub mean_size: u32,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            symbols: 64,
            start_price: 100.0,
            mean_gap_ns: 1_000,
            calm_volatility: 0.000_5,
            stormy_volatility: 0.002,
            regime_switch_probability: 0.002,
            burst_probability: 0.01,
            max_burst_len: 32,
            burst_gap_ns: 50,
            mean_size: 100,
        }
    }
}

/// A [`MarketConfig`] field out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid market config: {field} = {value} ({expected})")]
pub struct MarketConfigError {
    /// The offending field's name.
    pub field: &'static str,
    /// Its value, formatted.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static str,
}

impl MarketConfig {
    /// `Default` with another seed and symbol count.
    pub fn new(seed: u64, symbols: u32) -> Self {
        Self {
            seed,
            symbols,
            ..Self::default()
        }
    }

    /// Checks every field's range, naming the first one that is out of range.
    pub fn validate(&self) -> Result<(), MarketConfigError> {
        fn err(
            field: &'static str,
            value: impl ToString,
            expected: &'static str,
        ) -> MarketConfigError {
            MarketConfigError {
                field,
                value: value.to_string(),
                expected,
            }
        }
        let prob = |p: f64| (0.0..=1.0).contains(&p);
        let vol = |v: f64| (0.0..=0.1).contains(&v);
        if self.symbols == 0 {
            return Err(err("symbols", self.symbols, "at least 1"));
        }
        if !(self.start_price.is_finite() && self.start_price > 0.0) {
            return Err(err("start_price", self.start_price, "finite and > 0"));
        }
        if !vol(self.calm_volatility) {
            return Err(err("calm_volatility", self.calm_volatility, "in [0, 0.1]"));
        }
        if !vol(self.stormy_volatility) {
            return Err(err(
                "stormy_volatility",
                self.stormy_volatility,
                "in [0, 0.1]",
            ));
        }
        if !prob(self.regime_switch_probability) {
            return Err(err(
                "regime_switch_probability",
                self.regime_switch_probability,
                "in [0, 1]",
            ));
        }
        if !prob(self.burst_probability) {
            return Err(err(
                "burst_probability",
                self.burst_probability,
                "in [0, 1]",
            ));
        }
        if self.max_burst_len == 0 {
            return Err(err("max_burst_len", self.max_burst_len, "at least 1"));
        }
        if self.mean_size == 0 {
            return Err(err("mean_size", self.mean_size, "at least 1"));
        }
        if self.mean_gap_ns > u64::MAX / 4 || self.burst_gap_ns > u64::MAX / 4 {
            return Err(err("mean_gap_ns", self.mean_gap_ns, "at most u64::MAX / 4"));
        }
        Ok(())
    }
}

/// Per-symbol generator state.
#[derive(Clone, Copy, Debug)]
struct SymbolWalk {
    price: f64,
    stormy: bool,
}

/// Seeded, reproducible market: an endless [`Iterator`] of [`Tick`]s.
///
/// ```
/// use tickbench::engine::tick::{MarketConfig, MarketGenerator};
/// let a = MarketGenerator::new(MarketConfig::default()).take_vec(1000);
/// let b: Vec<_> = MarketGenerator::new(MarketConfig::default()).take(1000).collect();
/// assert_eq!(a, b);
/// ```
#[derive(Clone, Debug)]
pub struct MarketGenerator {
    cfg: MarketConfig,
    rng: Xoshiro256StarStar,
    walks: Vec<SymbolWalk>,
    ts_ns: u64,
    burst_symbol: SymbolId,
    burst_left: u32,
    switch_threshold: u64,
    burst_threshold: u64,
}

impl MarketGenerator {
    /// A generator for `cfg`.
    ///
    /// # Panics
    /// If `cfg` is invalid; call [`MarketConfig::validate`] first to get the error instead.
    pub fn new(cfg: MarketConfig) -> Self {
        if let Err(e) = cfg.validate() {
            panic!("{e}");
        }
        let mut rng = Xoshiro256StarStar::seed_from_u64(cfg.seed);
        let walks = (0..cfg.symbols)
            .map(|_| SymbolWalk {
                price: cfg.start_price
                    * (0.5 + (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64),
                stormy: false,
            })
            .collect();
        Self {
            switch_threshold: probability_threshold(cfg.regime_switch_probability),
            burst_threshold: probability_threshold(cfg.burst_probability),
            cfg,
            rng,
            walks,
            ts_ns: 0,
            burst_symbol: 0,
            burst_left: 0,
        }
    }

    /// The configuration this generator was built from.
    pub fn config(&self) -> &MarketConfig {
        &self.cfg
    }

    /// The next `n` ticks.
    pub fn take_vec(&mut self, n: usize) -> Vec<Tick> {
        let mut v = Vec::with_capacity(n);
        v.extend(self.by_ref().take(n));
        v
    }

    /// Generates one tick.
    fn next_tick(&mut self) -> Tick {
        let rng = &mut self.rng;
        let (symbol, gap) = if self.burst_left > 0 {
            self.burst_left -= 1;
            (self.burst_symbol, rng.below(2 * self.cfg.burst_gap_ns + 1))
        } else {
            let symbol = rng.below(u64::from(self.cfg.symbols)) as SymbolId;
            if rng.chance(self.burst_threshold) {
                self.burst_symbol = symbol;
                self.burst_left = 1 + rng.below(u64::from(self.cfg.max_burst_len)) as u32;
            }
            (symbol, rng.below(2 * self.cfg.mean_gap_ns + 1))
        };
        self.ts_ns = self.ts_ns.saturating_add(gap);

        let walk = &mut self.walks[symbol as usize];
        if rng.chance(self.switch_threshold) {
            walk.stormy = !walk.stormy;
        }
        let sigma = if walk.stormy {
            self.cfg.stormy_volatility
        } else {
            self.cfg.calm_volatility
        };
        walk.price *= 1.0 + sigma * rng.unit_bell();
        let size = 1 + rng.below(2 * u64::from(self.cfg.mean_size) - 1) as u32;
        Tick {
            ts_ns: self.ts_ns,
            price: walk.price,
            symbol,
            size,
        }
    }
}

impl Iterator for MarketGenerator {
    type Item = Tick;

    /// Always `Some`: the market never closes.
    fn next(&mut self) -> Option<Tick> {
        Some(self.next_tick())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_reference_outputs() {
        // Reference values of SplitMix64 seeded with 0 (as in Vigna's splitmix64.c).
        let mut sm = SplitMix64::new(0);
        assert_eq!(sm.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(sm.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(sm.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn xoshiro256starstar_matches_reference_outputs() {
        // Reference outputs of xoshiro256** from state [1, 2, 3, 4] (the rand_xoshiro test vector).
        let mut rng = Xoshiro256StarStar::from_state([1, 2, 3, 4]);
        let expected: [u64; 10] = [
            11520,
            0,
            1509978240,
            1215971899390074240,
            1216172134540287360,
            607988272756665600,
            16172922978634559625,
            8476171486693032832,
            10595114339597558777,
            2904607092377533576,
        ];
        for e in expected {
            assert_eq!(rng.next_u64(), e);
        }
    }

    #[test]
    fn unit_bell_has_unit_variance_and_stays_bounded() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(7);
        let n = 200_000;
        let (mut sum, mut sq) = (0.0, 0.0);
        for _ in 0..n {
            let z = rng.unit_bell();
            assert!(z.abs() <= 2.0 * 1.732_050_807_568_877_2);
            sum += z;
            sq += z * z;
        }
        let mean = sum / n as f64;
        let var = sq / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = Xoshiro256StarStar::seed_from_u64(1);
        for n in [1u64, 2, 3, 64, 65_536] {
            for _ in 0..1000 {
                assert!(rng.below(n) < n);
            }
        }
    }
}
