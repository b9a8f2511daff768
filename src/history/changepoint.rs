//! Change points: the runs where a benchmark's level stepped.
//!
//! # Method
//!
//! A penalised piecewise-constant fit of the log estimates (logs make steps ratios), solved
//! exactly by PELT — Killick, Fearnhead & Eckley (2012), *Optimal detection of changepoints with
//! a linear computational cost*, JASA 107(500) — the same family as asv's step detection:
//!
//! - cost of a segment: its sum of squared deviations from its mean, over σ²;
//! - σ, the noise between runs, is estimated robustly from successive differences (MAD of the
//!   differences / √2, scaled to a normal σ): a step moves one difference, not the median;
//! - each step costs a penalty of [`PENALTY_PER_LOG_N`] · ln n: BIC's form, twice its weight,
//!   so that σ estimated from the data (not known) still leaves pure noise of 200 runs with a
//!   false step in well under 1 % of histories (see the tests);
//! - segments hold at least [`MIN_SEGMENT`] runs, and a lone run more than [`SPIKE`] σ away
//!   from both its neighbours in the same direction (a disturbed run) is replaced by their mean
//!   before the fit: squared costs would otherwise cut a segment around it. A true step is never
//!   such a spike: its first run sits at the level of one neighbour.
//!
//! Where exactly a step of a few σ happened is uncertain by nature: with a 5 % step in 2 %
//! noise the best split is the true run about 73 % of the time, ±1 run 92 %, whatever the
//! method. So each step also carries the range of runs whose split fits almost as well (a cost
//! within [`LOCATION_SLACK`] of the best, a profile-likelihood interval): that range is the
//! commit range to search, and it holds the true run in ≥ 95 % of such cases.

/// Fewest runs in a segment.
pub const MIN_SEGMENT: usize = 3;

/// The penalty per step is this times ln n (n runs), in units of σ².
pub const PENALTY_PER_LOG_N: f64 = 4.0;

/// A split whose cost is within this (in σ²) of the best split is as plausible a place for the
/// step: the location range. 8 ≈ a likelihood ratio of e⁴.
pub const LOCATION_SLACK: f64 = 8.0;

/// A run this many σ beyond both neighbours, on the same side, is a spike (see the module docs).
pub const SPIKE: f64 = 5.0;

/// Smallest σ (on the log scale) the fit assumes: deterministic figures (instruction counts)
/// have no noise, and any real change among them is a step.
const MIN_SIGMA: f64 = 1e-6;

/// One step of a benchmark's level.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Index of the first run at the new level (the best split).
    pub at: usize,
    /// Earliest index the step may be at: the step happened between run `earliest - 1` and
    /// run `latest`.
    pub earliest: usize,
    /// Latest index the step may be at.
    pub latest: usize,
    /// Level before (geometric mean of the segment before).
    pub before: f64,
    /// Level after.
    pub after: f64,
}

impl Step {
    /// The change of level, in % (positive: larger after).
    pub fn change_pct(&self) -> f64 {
        (self.after / self.before - 1.0) * 100.0
    }
}

/// The fit of one series.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// The noise between runs, on the log scale (≈ a relative σ).
    pub sigma: f64,
    /// The steps, oldest first.
    pub steps: Vec<Step>,
    /// The fitted level of every run (geometric mean of its segment).
    pub levels: Vec<f64>,
}

/// Prefix sums of the log values and their squares, for O(1) segment costs.
struct Sums {
    s1: Vec<f64>,
    s2: Vec<f64>,
}

impl Sums {
    fn new(x: &[f64]) -> Sums {
        let (mut s1, mut s2) = (vec![0.0], vec![0.0]);
        for v in x {
            s1.push(s1.last().unwrap_or(&0.0) + v);
            s2.push(s2.last().unwrap_or(&0.0) + v * v);
        }
        Sums { s1, s2 }
    }

    /// Sum of squared deviations of `x[a..b]` from its mean.
    fn sse(&self, a: usize, b: usize) -> f64 {
        let n = (b - a) as f64;
        let s = self.s1[b] - self.s1[a];
        (self.s2[b] - self.s2[a] - s * s / n).max(0.0)
    }

    fn mean(&self, a: usize, b: usize) -> f64 {
        (self.s1[b] - self.s1[a]) / (b - a) as f64
    }
}

/// The noise between runs of log values `x`: 1.4826 · MAD(successive differences) / √2.
pub fn robust_sigma(x: &[f64]) -> f64 {
    if x.len() < 3 {
        return 0.0;
    }
    let diffs: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let centre = crate::baseline::stats::median(&diffs);
    let dev: Vec<f64> = diffs.iter().map(|d| (d - centre).abs()).collect();
    1.4826 * crate::baseline::stats::median(&dev) / std::f64::consts::SQRT_2
}

/// Finds the steps in `values` (positive numbers, oldest first). Fewer than two segments' worth
/// of runs gives no step.
pub fn find(values: &[f64]) -> Fit {
    let n = values.len();
    let mut x: Vec<f64> = values.iter().map(|v| v.ln()).collect();
    let sigma = robust_sigma(&x).max(MIN_SIGMA);
    let raw = x.clone();
    for i in 1..n.saturating_sub(1) {
        let (up, down) = (raw[i] - raw[i - 1], raw[i] - raw[i + 1]);
        if up.signum() == down.signum() && up.abs().min(down.abs()) > SPIKE * sigma {
            x[i] = (raw[i - 1] + raw[i + 1]) / 2.0;
        }
    }
    let sums = Sums::new(&x);
    let flat = |levels: &mut Vec<f64>, a: usize, b: usize| {
        let level = sums.mean(a, b).exp();
        levels.extend(std::iter::repeat_n(level, b - a));
    };
    if n < 2 * MIN_SEGMENT {
        let mut levels = Vec::new();
        if n > 0 {
            flat(&mut levels, 0, n);
        }
        return Fit {
            sigma,
            steps: Vec::new(),
            levels,
        };
    }
    let var = sigma * sigma;
    let beta = PENALTY_PER_LOG_N * (n as f64).ln();
    let cost = |a: usize, b: usize| sums.sse(a, b) / var;

    // PELT: best[t] is the least penalised cost of x[..t]; last[t] where its last segment starts.
    let mut best = vec![f64::INFINITY; n + 1];
    let mut last = vec![0usize; n + 1];
    best[0] = -beta;
    let mut candidates: Vec<usize> = vec![0];
    for t in MIN_SEGMENT..=n {
        for &s in &candidates {
            if t - s >= MIN_SEGMENT {
                let v = best[s] + cost(s, t) + beta;
                if v < best[t] {
                    best[t] = v;
                    last[t] = s;
                }
            }
        }
        let bt = best[t];
        candidates.retain(|&s| t - s < MIN_SEGMENT || best[s] + cost(s, t) <= bt);
        if bt.is_finite() {
            candidates.push(t);
        }
    }
    let mut bounds = vec![n];
    let mut t = n;
    while t > 0 {
        t = last[t];
        bounds.push(t);
    }
    bounds.reverse();

    let mut levels = Vec::with_capacity(n);
    for w in bounds.windows(2) {
        flat(&mut levels, w[0], w[1]);
    }
    let steps = bounds
        .windows(3)
        .map(|w| {
            let (a, k, b) = (w[0], w[1], w[2]);
            let split = |j: usize| cost(a, j) + cost(j, b);
            let fits: Vec<usize> = (a + MIN_SEGMENT..=b - MIN_SEGMENT)
                .filter(|&j| split(j) <= split(k) + LOCATION_SLACK)
                .collect();
            Step {
                at: k,
                earliest: fits.first().copied().unwrap_or(k).min(k),
                latest: fits.last().copied().unwrap_or(k).max(k),
                before: sums.mean(a, k).exp(),
                after: sums.mean(k, b).exp(),
            }
        })
        .collect();
    Fit {
        sigma,
        steps,
        levels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::stats::Rng;

    /// A standard normal draw (Box–Muller) from the project's seeded generator.
    fn normal(rng: &mut Rng) -> f64 {
        let u = |rng: &mut Rng| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let (u1, u2) = (u(rng).max(1e-300), u(rng));
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `n` runs of a 100 ns benchmark with 2 % noise between runs, ×`factor` from run `step_at`.
    fn history(rng: &mut Rng, n: usize, step_at: usize, factor: f64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let level = if i >= step_at { 100.0 * factor } else { 100.0 };
                level * (0.02 * normal(rng)).exp()
            })
            .collect()
    }

    #[test]
    fn a_5_pct_step_in_2_pct_noise_is_found_at_its_run() {
        const TRIALS: usize = 1000;
        let mut rng = Rng::new(15);
        let (mut one_step, mut exact, mut within_1, mut covered) = (0, 0, 0, 0);
        let mut widths = Vec::new();
        for _ in 0..TRIALS {
            // 60 runs, the step anywhere between run 10 and run 50.
            let at = 10 + rng.below(41);
            let fit = find(&history(&mut rng, 60, at, 1.05));
            if let [step] = fit.steps.as_slice() {
                one_step += 1;
                exact += usize::from(step.at == at);
                within_1 += usize::from(step.at.abs_diff(at) <= 1);
                covered += usize::from(step.earliest <= at && at <= step.latest);
                widths.push((step.latest - step.earliest + 1) as f64);
                assert!((step.change_pct() - 5.0).abs() < 3.0, "{step:?}");
            }
        }
        let rate = |k: usize| k as f64 / TRIALS as f64 * 100.0;
        let width = crate::baseline::stats::median(&widths);
        println!(
            "5 % step in 2 % noise, {TRIALS} histories of 60 runs: exactly one step found in \
             {:.1} %; best split at the true run {:.1} %, within ±1 run {:.1} %; the reported \
             run range holds the true run in {:.1} % (median width {width} runs)",
            rate(one_step),
            rate(exact),
            rate(within_1),
            rate(covered)
        );
        assert!(
            rate(one_step) >= 95.0,
            "one step in {:.1} %",
            rate(one_step)
        );
        assert!(
            rate(covered) >= 95.0,
            "range holds it in {:.1} %",
            rate(covered)
        );
        assert!(width <= 3.0, "median range width {width}");
        // The physics of a 2.5 σ step: no method places it exactly much more often than this.
        assert!(rate(within_1) >= 85.0, "±1 in {:.1} %", rate(within_1));
    }

    #[test]
    fn pure_noise_shows_a_false_step_in_at_most_1_pct_of_histories() {
        const HISTORIES: usize = 1000;
        let mut rng = Rng::new(16);
        let false_steps = (0..HISTORIES)
            .filter(|_| {
                !find(&history(&mut rng, 200, usize::MAX, 1.0))
                    .steps
                    .is_empty()
            })
            .count();
        let rate = false_steps as f64 / HISTORIES as f64 * 100.0;
        println!(
            "pure 2 % noise, {HISTORIES} histories of 200 runs: a false step in {false_steps} \
             ({rate:.1} %)"
        );
        assert!(rate <= 1.0, "false steps in {rate:.1} % of histories");
    }

    #[test]
    fn several_steps_are_each_found_with_their_size() {
        let mut rng = Rng::new(17);
        let mut values = history(&mut rng, 90, 30, 1.10);
        for v in &mut values[60..] {
            *v *= 0.8;
        }
        let fit = find(&values);
        let at: Vec<usize> = fit.steps.iter().map(|s| s.at).collect();
        assert_eq!(fit.steps.len(), 2, "{at:?}");
        assert!(at[0].abs_diff(30) <= 1 && at[1].abs_diff(60) <= 1, "{at:?}");
        assert!((fit.steps[0].change_pct() - 10.0).abs() < 3.0);
        assert!((fit.steps[1].change_pct() + 20.0).abs() < 3.0);
        assert_eq!(fit.levels.len(), 90);
    }

    #[test]
    fn deterministic_counts_step_exactly_and_short_series_do_not() {
        let mut counts = vec![1000.0; 12];
        counts[7..].iter_mut().for_each(|c| *c = 1003.0);
        let fit = find(&counts);
        assert_eq!(fit.steps.len(), 1);
        assert_eq!((fit.steps[0].at, fit.steps[0].earliest), (7, 7));
        assert!(find(&[1.0, 2.0, 3.0, 4.0, 5.0]).steps.is_empty());
        assert!(find(&[]).levels.is_empty());
        assert!(find(&vec![5.0; 40]).steps.is_empty());
    }

    #[test]
    fn one_disturbed_run_is_not_a_step() {
        let mut rng = Rng::new(18);
        let mut values = history(&mut rng, 50, usize::MAX, 1.0);
        values[25] *= 1.4;
        assert!(find(&values).steps.is_empty());
    }
}
