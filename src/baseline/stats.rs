//! The statistics behind `compare`: the per-run estimate (robust minimum, minimum or median),
//! Student's t for the change, the robust pooling of run-to-run variance across benchmarks,
//! each run's own uncertainty, and (kept for the record and for `benches/compare.rs`'s
//! reference) a bootstrap of the ratio of estimates and the Mann–Whitney rank test.
//!
//! # Method
//!
//! Criterion's samples are per-iteration times, `times[i] / iters[i]`. A run is summarised by an
//! [`Estimator`]: the robust minimum by default (see there), the minimum or the median. Within
//! one run they are autocorrelated and narrow, so a within-run confidence interval (what Criterion reports) says
//! how well *that run* was measured, not how much the next run of the same code will differ.
//! On a shared 2-core machine run-to-run noise (1–14 %) dwarfs within-run intervals (±0.5 %).
//! `compare/` therefore works on the log of each run's estimate and uses the tools here:
//!
//! - **Between-run t-test** (several runs on a side). Per benchmark, the runs' log-estimates
//!   give a within-side variance `s²` with `df` degrees of freedom. With two or three runs `s²` is
//!   nearly worthless on its own, so it is *moderated* towards the variance pooled over all
//!   benchmarks, `s̃² = (d₀·s₀² + df·s²) / (d₀ + df)`, and tested with Student's t on
//!   `d₀ + df` degrees of freedom: the empirical-Bayes "moderated t" of Smyth (2004), *Linear
//!   models and empirical Bayes methods for assessing differential expression in microarray
//!   experiments*, Stat. Appl. Genet. Mol. Biol. 3(1), with a fixed prior weight `d₀`
//!   ([`PRIOR_DF`]) because a suite has too few benchmarks to estimate it well.
//! - **Bootstrap of the ratio of estimates** (not used by the verdict). Percentile bootstrap (Efron &
//!   Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 13) of `est(new)/est(old)`, each
//!   side resampled independently; a resample's minimum is drawn from its exact distribution
//!   in O(1), a resample's median by counting drawn indices in O(n) without sorting.
//! - **Mann–Whitney U** (Mann & Whitney 1947), two-sided, normal approximation with tie and
//!   continuity correction. Not used by the verdict any more: it tested the whole
//!   distributions while the change and its interval described the estimates, so a row could
//!   read `+0.0 %` with `p 0.000`.
//! - Special functions: `ln Γ` by Lanczos, the regularised incomplete beta by Lentz's continued
//!   fraction (Press et al., *Numerical Recipes*, 3rd ed., §6.1, §6.4), `erfc` by the Chebyshev
//!   fit of *Numerical Recipes* §6.2 (relative error < 1.2e-7).
//!
//! Every random draw comes from a [`Rng`] seeded from the benchmark id, so a comparison gives
//! the same numbers every time and in any order.

/// How one run of a benchmark is summarised from its per-iteration times.
///
/// The default is [`Estimator::Low`], a robust minimum: interference on a shared machine
/// (other processes, a host that deschedules the VM) only ever *adds* time, so the fastest
/// samples are the most repeatable summary of the code itself — Chen & Revels (2016), *Robust
/// benchmarking in noisy environments*, arXiv:1608.04295. The plain minimum has one flaw: one
/// corrupt or timer-glitch sample (a time scaled by 1e-6) becomes the estimate and fakes a
/// −100 % change. The k-th fastest sample, `k = max(2, ⌈n/20⌉)`, keeps the minimum's
/// robustness to a busy machine and cannot be moved by one sample further than the gap to its
/// neighbouring order statistic, i.e. within the run's own noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Estimator {
    /// The k-th fastest sample, `k = max(2, ⌈n/20⌉)` (robust to a busy machine and to one bad
    /// sample).
    Low,
    /// The fastest sample (robust to a busy machine, not to a glitch sample).
    Min,
    /// The median sample (for a quiet machine, where noise is symmetric).
    Median,
}

/// The 1-based rank of the order statistic [`Estimator::Low`] uses among `n` samples.
pub fn low_rank(n: usize) -> usize {
    n.div_ceil(20).max(2).min(n.max(1))
}

impl Estimator {
    /// The estimate from sorted per-iteration times.
    pub fn of_sorted(self, sorted: &[f64]) -> f64 {
        match self {
            Estimator::Low => sorted
                .get(low_rank(sorted.len()) - 1)
                .copied()
                .unwrap_or(f64::NAN),
            Estimator::Min => sorted.first().copied().unwrap_or(f64::NAN),
            Estimator::Median => median_sorted(sorted),
        }
    }

    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Estimator::Low => "low",
            Estimator::Min => "min",
            Estimator::Median => "median",
        }
    }

    /// A phrase for reports: what the estimate of a run is.
    pub fn describe(self) -> &'static str {
        match self {
            Estimator::Low => "the robust minimum (k-th fastest sample, k = max(2, n/20))",
            Estimator::Min => "the fastest sample",
            Estimator::Median => "the median sample",
        }
    }
}

/// `P(k-th smallest of a bootstrap resample ≤ sorted[j])` for every `j` (0-based), i.e.
/// `P(Binomial(n, (j+1)/n) ≥ k)`, until it reaches 1. Exact, in O(n·k).
fn order_statistic_cdf(n: usize, k: usize) -> Vec<f64> {
    let nf = n as f64;
    let mut cdf = Vec::new();
    for j in 0..n {
        let p = (j + 1) as f64 / nf;
        if p >= 1.0 {
            cdf.push(1.0);
            break;
        }
        // P(Bin < k) summed in log space: no underflow for thousands of samples.
        let (lp, lq) = (p.ln(), (1.0 - p).ln());
        let mut below = 0.0;
        let mut log_choose = 0.0;
        for i in 0..k {
            if i > 0 {
                log_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
            }
            below += (log_choose + i as f64 * lp + (nf - i as f64) * lq).exp();
        }
        let f = (1.0 - below).clamp(0.0, 1.0);
        cdf.push(f);
        if f > 1.0 - 1e-12 {
            break;
        }
    }
    cdf
}

/// The variance of `ln(estimate)` within one run (sorted per-iteration times), i.e. how well
/// the run pinned its own estimate. For the low estimators it is the exact bootstrap variance
/// of the order statistic (Efron 1979, the bootstrap of an extreme): the resample's k-th
/// smallest is `sorted[j]` with probability `F(j) − F(j−1)`, `F` from
/// [`order_statistic_cdf`], so a run whose fastest samples form a tight plateau gets a small
/// variance and a run with no clean plateau a large one. For the median it is the large-sample
/// `π/2 · σ²/n` with σ from the IQR.
pub fn within_run_log_variance(sorted: &[f64], estimator: Estimator) -> f64 {
    let n = sorted.len();
    if n < 2 {
        return 0.0;
    }
    let k = match estimator {
        Estimator::Low => low_rank(n),
        Estimator::Min => 1,
        Estimator::Median => {
            let iqr = (quantile_sorted(sorted, 0.75) / quantile_sorted(sorted, 0.25)).ln();
            let sigma = iqr / 1.349;
            return std::f64::consts::FRAC_PI_2 * sigma * sigma / n as f64;
        }
    };
    let (mut m1, mut m2, mut prev) = (0.0, 0.0, 0.0);
    for (j, f) in order_statistic_cdf(n, k).into_iter().enumerate() {
        let p = f - prev;
        prev = f;
        let l = (sorted[j] / sorted[0]).ln();
        m1 += p * l;
        m2 += p * l * l;
    }
    (m2 - m1 * m1).max(0.0)
}

/// Prior degrees of freedom given to the variance pooled over benchmarks (`d₀` above): the
/// pooled estimate weighs as much as four extra runs of the benchmark itself.
pub const PRIOR_DF: f64 = 4.0;

/// SplitMix64 (Steele, Lea & Flood 2014): small, fast, and good enough for resampling.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A generator seeded from a string (FNV-1a), e.g. a benchmark id.
    pub fn from_key(key: &str) -> Self {
        Rng(key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        }))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform index in `0..n` (Lemire's multiply-shift; bias < n / 2⁶⁴).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// Arithmetic mean; NaN for an empty slice.
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Unbiased sample variance (n − 1); 0 for fewer than two values.
pub fn variance(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64
}

/// Median of an already sorted slice; NaN for an empty one.
pub fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Median (sorts a copy).
pub fn median(xs: &[f64]) -> f64 {
    median_sorted(&sorted(xs))
}

/// A sorted copy (total order; NaN last).
pub fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The `q` quantile of sorted data (linear interpolation between order statistics).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Upper tail of the standard normal, `P(Z > z)`.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function (Numerical Recipes `erfcc`, relative error < 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9).
pub fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let sum = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |s, (i, c)| s + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Regularised incomplete beta `I_x(a, b)`.
pub fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(x, a, b) / a
    } else {
        1.0 - front * beta_cf(1.0 - x, b, a) / b
    }
}

/// Continued fraction for the incomplete beta (modified Lentz).
fn beta_cf(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        for aa in [
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ] {
            d = 1.0 + aa * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + aa / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-14 {
            break;
        }
    }
    h
}

/// Two-sided p-value of Student's t statistic `t` with `df` degrees of freedom.
pub fn student_t_p(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return if t.is_nan() { 1.0 } else { 0.0 };
    }
    incomplete_beta(df / (df + t * t), df / 2.0, 0.5)
}

/// The two-sided critical value: `t` with `P(|T| > t) = 1 − confidence` on `df` degrees of
/// freedom (bisection on [`student_t_p`]).
pub fn student_t_critical(confidence: f64, df: f64) -> f64 {
    let alpha = 1.0 - confidence;
    let (mut lo, mut hi) = (0.0, 1e4);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if student_t_p(mid, df) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// The pooled variance `s₀²` from per-benchmark `(s², df)` pairs, robust to a few
/// hypervariable benchmarks: the median of `s² / m(df)`, where `m(df)` is the median of
/// `χ²_df / df` (exact for df = 1, Wilson–Hilferty otherwise), so that it estimates the common
/// variance without being dragged up by one disturbed run — in the spirit of Phipson et al.
/// (2016), *Robust hyperparameter estimation protects against hypervariable genes and improves
/// power to detect differential expression*, Ann. Appl. Stat. 10(2). `None` when empty.
pub fn robust_pooled_variance(per_bench: &[(f64, f64)]) -> Option<f64> {
    let scaled: Vec<f64> = per_bench
        .iter()
        .filter(|(_, df)| *df > 0.0)
        .map(|&(s2, df)| {
            let m = if df == 1.0 {
                0.454_936_4
            } else {
                (1.0 - 2.0 / (9.0 * df)).powi(3)
            };
            s2 / m
        })
        .collect();
    (!scaled.is_empty()).then(|| median(&scaled))
}

/// Moderated variance (Smyth 2004): the benchmark's own `s²` on `df` degrees of freedom shrunk
/// towards the pooled `s0²` weighted by [`PRIOR_DF`]. Returns the variance and its degrees of
/// freedom.
pub fn moderated_variance(s2: f64, df: f64, pooled_s2: f64) -> (f64, f64) {
    let total = PRIOR_DF + df;
    ((PRIOR_DF * pooled_s2 + df * s2) / total, total)
}

/// What a Criterion-style gate says about a pair of runs: Criterion compares the two runs' mean
/// per-iteration times with a t-test on the samples (p < `significance`) and calls it a
/// regression when the whole confidence interval of the change in the mean lies above its noise
/// threshold (1 %). Criterion bootstraps the t distribution; this uses Welch's t directly, which
/// agrees closely for 100 samples. Used to show how often within-run intervals cry wolf.
pub fn criterion_style_regressed(
    old: &[f64],
    new: &[f64],
    significance: f64,
    noise_threshold: f64,
    resamples: usize,
    rng: &mut Rng,
) -> bool {
    let (mo, mn) = (mean(old), mean(new));
    let (vo, vn) = (
        variance(old) / old.len() as f64,
        variance(new) / new.len() as f64,
    );
    let t = (mn - mo) / (vo + vn).sqrt();
    let df = (vo + vn).powi(2)
        / (vo.powi(2) / (old.len() as f64 - 1.0) + vn.powi(2) / (new.len() as f64 - 1.0));
    if student_t_p(t, df) >= significance {
        return false;
    }
    let mut changes: Vec<f64> = (0..resamples)
        .map(|_| {
            let o = (0..old.len())
                .map(|_| old[rng.below(old.len())])
                .sum::<f64>()
                / old.len() as f64;
            let n = (0..new.len())
                .map(|_| new[rng.below(new.len())])
                .sum::<f64>()
                / new.len() as f64;
            n / o - 1.0
        })
        .collect();
    changes.sort_by(f64::total_cmp);
    quantile_sorted(&changes, 0.025) > noise_threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn median_and_variance() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(close(variance(&[1.0, 2.0, 3.0, 4.0]), 5.0 / 3.0, 1e-12));
    }

    #[test]
    fn special_functions_match_tables() {
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-12));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
        assert!(close(normal_sf(1.959_964), 0.025, 1e-6));
        // Student's t tables: t(0.975; 1) = 12.706, t(0.975; 5) = 2.571, t(0.975; 30) = 2.042.
        assert!(close(student_t_critical(0.95, 1.0), 12.706, 1e-3));
        assert!(close(student_t_critical(0.95, 5.0), 2.571, 1e-3));
        assert!(close(student_t_critical(0.95, 30.0), 2.042, 1e-3));
        assert!(close(student_t_p(2.228, 10.0), 0.05, 1e-4));
    }

    #[test]
    fn estimators_pick_their_order_statistic() {
        assert_eq!(Estimator::Min.of_sorted(&[1.0, 5.0, 9.0]), 1.0);
        assert_eq!(Estimator::Low.of_sorted(&[1.0, 5.0, 9.0]), 5.0);
        assert_eq!(Estimator::Median.of_sorted(&[1.0, 5.0, 9.0]), 5.0);
        assert_eq!(low_rank(1), 1);
        assert_eq!(low_rank(10), 2);
        assert_eq!(low_rank(100), 5);
        assert_eq!(low_rank(101), 6);
    }

    #[test]
    fn one_glitch_sample_moves_the_low_estimate_at_most_to_its_neighbour() {
        let clean: Vec<f64> = (0..100).map(|i| 1000.0 + i as f64).collect();
        let mut glitched = clean.clone();
        glitched[50] *= 1e-6;
        let (c, g) = (sorted(&clean), sorted(&glitched));
        assert!(
            Estimator::Min.of_sorted(&g) < 0.01,
            "the plain minimum takes the glitch"
        );
        let (low_c, low_g) = (Estimator::Low.of_sorted(&c), Estimator::Low.of_sorted(&g));
        assert!((low_c - low_g).abs() <= 1.0, "{low_c} {low_g}");
    }

    #[test]
    fn the_order_statistic_distribution_matches_resampling() {
        // P(k-th smallest of a resample is the smallest value) by the exact formula and by
        // drawing resamples.
        let (n, k) = (40, 2);
        let cdf = order_statistic_cdf(n, k);
        let mut rng = Rng::new(5);
        let draws = 20_000;
        let hits = (0..draws)
            .filter(|_| (0..n).filter(|_| rng.below(n) == 0).count() >= k)
            .count();
        assert!(
            close(cdf[0], hits as f64 / draws as f64, 0.01),
            "{} {hits}",
            cdf[0]
        );
        assert!(cdf.windows(2).all(|w| w[0] <= w[1]));
        assert!(close(*cdf.last().unwrap(), 1.0, 1e-9));
    }

    #[test]
    fn within_run_variance_grows_without_a_plateau() {
        let plateau: Vec<f64> = (0..100).map(|i| 100.0 + 0.01 * i as f64).collect();
        let ramp: Vec<f64> = (0..100).map(|i| 100.0 + 2.0 * i as f64).collect();
        for e in [Estimator::Min, Estimator::Low] {
            let tight = within_run_log_variance(&plateau, e);
            let loose = within_run_log_variance(&ramp, e);
            assert!(tight < 1e-7 && loose > 1e-4, "{e:?}: {tight} {loose}");
        }
        assert_eq!(within_run_log_variance(&[5.0; 10], Estimator::Min), 0.0);
        assert!(
            within_run_log_variance(&ramp, Estimator::Median)
                > within_run_log_variance(&plateau, Estimator::Median)
        );
    }

    #[test]
    fn robust_pool_ignores_one_wild_benchmark() {
        let mut v: Vec<(f64, f64)> = (0..9).map(|_| (0.455, 1.0)).collect();
        assert!(close(robust_pooled_variance(&v).unwrap(), 1.0, 0.01));
        v.push((1e6, 1.0));
        assert!(close(robust_pooled_variance(&v).unwrap(), 1.0, 0.01));
        assert_eq!(robust_pooled_variance(&[]), None);
    }

    #[test]
    fn moderation_pulls_towards_the_pool() {
        let (v, df) = moderated_variance(0.0, 1.0, 1.0);
        assert!(close(v, 0.8, 1e-12));
        assert_eq!(df, 5.0);
    }
}
