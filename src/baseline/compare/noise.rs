//! How much a benchmark moves between runs of the same code, and the evidence for one verdict.
//!
//! - **Runs basis.** A side with two or more runs gives each benchmark a between-run variance.
//!   On its own it has one or two degrees of freedom, so it is moderated towards a variance
//!   pooled over all benchmarks (Smyth 2004, see `stats::moderated_variance`). The pool takes
//!   only sides whose runs all measured the same benchmarks: a re-run of just the benchmarks a
//!   first compare flagged would otherwise set everyone's noise from the most disturbed ones.
//!   With three or more runs on a side, one run far off the others (six pooled standard
//!   deviations) is left out for that benchmark, and the pool itself leaves out each
//!   benchmark's furthest run, so one bad stored run — even one disturbed from start to end —
//!   can neither move the reference nor pass for its noise.
//! - **Single-run basis.** With one run per side no benchmark has a between-run variance of its
//!   own. The spread of the changes across the suite stands in for it: the larger of the
//!   median absolute deviation of the per-benchmark changes and their 90th percentile, each
//!   scaled to a standard deviation. A real change to a few benchmarks moves neither much; a
//!   larger one only makes the verdicts more conservative. Each run's own uncertainty about
//!   its estimate is added on top.

use super::super::stats;
use super::super::Warning;
use super::measure::{Measured, RunData};
use super::{Basis, Options};

/// Fewest benchmarks whose changes can stand in for the between-run noise of a single run.
const MIN_FOR_SUITE_SPREAD: usize = 5;

/// A value further than this many pooled standard deviations from the other runs of its side
/// (three or more runs) is left out as a bad run.
const OUTLIER_SIGMAS: f64 = 6.0;

/// The two sides' runs with their drift offsets.
pub struct Sides<'a> {
    old: &'a [RunData],
    old_off: &'a [f64],
    new: &'a [RunData],
    new_off: &'a [f64],
}

impl<'a> Sides<'a> {
    /// Both sides and their per-run drift offsets (log scale).
    pub fn new(
        old: &'a [RunData],
        old_off: &'a [f64],
        new: &'a [RunData],
        new_off: &'a [f64],
    ) -> Self {
        Sides {
            old,
            old_off,
            new,
            new_off,
        }
    }

    fn side(&self, new: bool) -> (&'a [RunData], &'a [f64]) {
        if new {
            (self.new, self.new_off)
        } else {
            (self.old, self.old_off)
        }
    }

    /// The runs of one side that measured `id`: (drift-corrected log-estimate, summary).
    fn values(&self, new: bool, id: &str) -> Vec<(f64, &'a Measured)> {
        let (runs, off) = self.side(new);
        runs.iter()
            .zip(off)
            .filter_map(|(r, d)| r.get(id).map(|m| (m.log_estimate - d, m)))
            .collect()
    }

    /// Whether every run of one side measured the same benchmarks.
    fn uniform(&self, new: bool) -> bool {
        let (runs, _) = self.side(new);
        runs.windows(2).all(|w| w[0].keys().eq(w[1].keys()))
    }
}

/// The noise model of one comparison.
#[derive(Clone, Debug)]
pub struct Noise {
    /// Between-run variance of one run's log-estimate, pooled over benchmarks (runs basis).
    pooled: Option<f64>,
    /// Variance of a single-run change, from the spread of changes across the suite.
    suite_spread: Option<f64>,
    /// Variance of the drift correction for a workload other than the anchors.
    drift_var: f64,
}

/// Everything one verdict rests on.
#[derive(Clone, Debug)]
pub struct Evidence {
    /// The basis.
    pub basis: Basis,
    /// Change of the mean corrected log-estimate, new − old.
    pub delta: f64,
    /// Its standard error.
    pub se: f64,
    /// Degrees of freedom of `se`.
    pub df: f64,
    /// The change (in %) the verdict requires.
    pub required_pct: f64,
    /// The fewest samples of any run involved.
    pub min_samples: usize,
    /// Why a run of this benchmark looks disturbed, if one does.
    pub disturbed: Option<String>,
}

impl Noise {
    /// Pools the between-run variance over the `judged` benchmarks (anchors excluded), or, with
    /// one run per side, takes the spread of their changes.
    pub fn estimate(
        sides: &Sides,
        judged: &[&String],
        drift_var: f64,
        warnings: &mut Vec<Warning>,
    ) -> Noise {
        let mut per_bench: Vec<(f64, f64)> = Vec::new();
        for new in [false, true] {
            let (runs, _) = sides.side(new);
            if runs.len() < 2 {
                continue;
            }
            if !sides.uniform(new) {
                warnings.push(Warning(format!(
                    "the runs of {} measured different benchmarks (a partial re-run?): their \
                     spread counts for those benchmarks only, not for the noise of the others",
                    if new { "NEW" } else { "OLD" }
                )));
                continue;
            }
            for id in judged {
                let mut v: Vec<f64> = sides.values(new, id).iter().map(|x| x.0).collect();
                // With three or more runs the value furthest from the median is left out of
                // the pool: a whole disturbed run must not set everyone's noise, or it could
                // never be told from the others.
                if v.len() >= 3 {
                    let m = stats::median(&v);
                    let worst = (0..v.len())
                        .max_by(|&a, &b| (v[a] - m).abs().total_cmp(&(v[b] - m).abs()))
                        .expect("three or more values");
                    v.remove(worst);
                }
                if v.len() >= 2 {
                    per_bench.push((stats::variance(&v), v.len() as f64 - 1.0));
                }
            }
        }
        let pooled = stats::robust_pooled_variance(&per_bench);
        let suite_spread = if pooled.is_none() {
            let changes: Vec<f64> = judged
                .iter()
                .filter_map(|id| {
                    let (o, n) = (sides.values(false, id), sides.values(true, id));
                    (o.len() == 1 && n.len() == 1).then(|| n[0].0 - o[0].0)
                })
                .collect();
            if changes.len() >= MIN_FOR_SUITE_SPREAD {
                let centre = stats::median(&changes);
                let deviations = stats::sorted(
                    &changes
                        .iter()
                        .map(|c| (c - centre).abs())
                        .collect::<Vec<_>>(),
                );
                // The larger of two normal-consistent scales: the median absolute deviation,
                // and the 90th percentile of the deviations over 1.645. Whole-run shifts on a
                // loaded VM are heavy-tailed (a few benchmarks move 50–90 % while the median
                // one moves 5 %); the second scale sees that tail, the first alone does not.
                let mad = 1.4826 * stats::median_sorted(&deviations);
                let tail = stats::quantile_sorted(&deviations, 0.9) / 1.645;
                Some(mad.max(tail).powi(2))
            } else {
                if !changes.is_empty() {
                    warnings.push(Warning(format!(
                        "one run per side and only {} benchmarks: too few to estimate the noise \
                         between runs from their spread; verdicts rest on within-run noise only",
                        changes.len()
                    )));
                }
                None
            }
        } else {
            None
        };
        Noise {
            pooled,
            suite_spread,
            drift_var,
        }
    }

    /// The evidence for benchmark `id`.
    pub fn evidence(
        &self,
        sides: &Sides,
        id: &str,
        threshold_pct: f64,
        options: &Options,
    ) -> Evidence {
        let mut o = sides.values(false, id);
        let mut n = sides.values(true, id);
        if let Some(pooled) = self.pooled {
            drop_outlier(&mut o, pooled);
            drop_outlier(&mut n, pooled);
        }
        let (ko, kn) = (o.len() as f64, n.len() as f64);
        let ov: Vec<f64> = o.iter().map(|x| x.0).collect();
        let nv: Vec<f64> = n.iter().map(|x| x.0).collect();
        let delta = stats::mean(&nv) - stats::mean(&ov);
        // How well each side pinned its mean through its runs' own sample noise.
        let within = |side: &[(f64, &Measured)], k: f64| {
            side.iter().map(|x| x.1.within_var).sum::<f64>() / (k * k)
        };
        let within = within(&o, ko) + within(&n, kn);
        let min_samples = o.iter().chain(&n).map(|x| x.1.samples).min().unwrap_or(0);

        let (basis, var, df, required) = match (self.pooled, self.suite_spread) {
            (Some(pool), _) => {
                let df_own = (ko - 1.0).max(0.0) + (kn - 1.0).max(0.0);
                let ss = stats::variance(&ov) * (ko - 1.0).max(0.0)
                    + stats::variance(&nv) * (kn - 1.0).max(0.0);
                let (var, df) = if df_own > 0.0 {
                    stats::moderated_variance(ss / df_own, df_own, pool)
                } else {
                    (pool, stats::PRIOR_DF)
                };
                (
                    Basis::Runs,
                    var * (1.0 / ko + 1.0 / kn) + within,
                    df,
                    threshold_pct,
                )
            }
            (None, spread) => (
                Basis::SingleRun,
                spread.unwrap_or(0.0) + within,
                // A median absolute deviation over many benchmarks is a firm estimate; over a
                // handful it is not, and Student's t on few degrees of freedom says so.
                if spread.is_some() { 10.0 } else { 1e6 },
                threshold_pct * options.single_run_factor,
            ),
        };
        let disturbed = disturbed(&o, &n, options.estimator, required);
        Evidence {
            basis: if min_samples < super::MIN_SAMPLES {
                Basis::FewSamples
            } else {
                basis
            },
            delta,
            se: (var + self.drift_var).max(0.0).sqrt(),
            df,
            required_pct: required,
            min_samples,
            disturbed,
        }
    }
}

/// With three or more values, leaves out the one furthest from the median of the others when
/// it is more than [`OUTLIER_SIGMAS`] pooled standard deviations away.
fn drop_outlier(values: &mut Vec<(f64, &Measured)>, pooled: f64) {
    if values.len() < 3 || pooled <= 0.0 {
        return;
    }
    let distance = |i: usize, values: &[(f64, &Measured)]| {
        let others: Vec<f64> = values
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, x)| x.0)
            .collect();
        (values[i].0 - stats::median(&others)).abs()
    };
    let worst = (0..values.len())
        .max_by(|&a, &b| distance(a, values).total_cmp(&distance(b, values)))
        .expect("three or more values");
    if distance(worst, values) > OUTLIER_SIGMAS * pooled.sqrt() {
        values.remove(worst);
    }
}

/// Why one of the runs looks disturbed in its own samples, if one does (the rule is
/// [`super::judge::disturbance`]).
fn disturbed(
    old: &[(f64, &Measured)],
    new: &[(f64, &Measured)],
    estimator: stats::Estimator,
    required_pct: f64,
) -> Option<String> {
    let tagged = old.iter().map(|x| ("an OLD", x.1));
    let tagged = tagged.chain(new.iter().map(|x| ("the NEW", x.1)));
    for (side, m) in tagged {
        if let Some(why) = super::judge::disturbance(m, estimator, required_pct) {
            return Some(format!("{side} run {why}"));
        }
    }
    None
}
