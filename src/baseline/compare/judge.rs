//! The verdict of one benchmark from its evidence.
//!
//! In order: too few samples → `inconclusive`; a run whose own samples say it was disturbed →
//! `inconclusive`; significant (p < α) and beyond the required change → `regressed` /
//! `improved`; noise larger than the required change can resolve (the smallest detectable
//! change, `t·se`, exceeds it) → `inconclusive`; else `unchanged`. A gate that cannot tell
//! must not guess: `inconclusive` never counts as regressed or improved, and its reason and
//! the smallest change it could have detected are reported.

use super::super::stats::{self, Estimator};
use super::measure::Measured;
use super::noise::Evidence;
use super::{BenchmarkComparison, Options, Verdict};
use crate::policy::{Applied, Direction};

/// Fewest samples a run needs before its benchmark is judged: below this neither the estimate
/// nor its uncertainty means much (a run cut to one sample once read +58 % as "unchanged").
pub const MIN_SAMPLES: usize = 10;

/// A run whose estimate differs between the first and the second half of its samples (in the
/// order they were taken) by more than this (log scale) changed speed while it ran.
const MAX_DRIFT_WITHIN: f64 = 0.10;

/// The most the fastest quarter of a run's samples may spread above its estimate (log scale)
/// before the run counts as disturbed, unless the required change is larger still. Runs of
/// identical code on a quiet VM keep it under 7 %; on a VM loaded by other builds, runs whose
/// estimate moved 40–80 % between identical runs showed 15–130 %.
const MAX_FLOOR_SPREAD: f64 = 0.10;

/// Why a run's own samples say its estimate cannot be trusted to `required_pct`, if they do.
///
/// - The fastest quarter of its samples spreads more than [`MAX_FLOOR_SPREAD`] (or the
///   required change, if larger): interference reached even its fastest samples, so its
///   estimate is not the code's floor. A run whose slow samples alone were disturbed keeps a
///   tight fastest quarter and passes.
/// - For the median only: it changed speed while it ran (the median mixes both halves; a low
///   estimator takes the faster half, which interference, adding time only, did not touch).
pub fn disturbance(m: &Measured, estimator: Estimator, required_pct: f64) -> Option<String> {
    let limit = MAX_FLOOR_SPREAD.max((required_pct / 100.0).ln_1p());
    if m.floor_spread > limit {
        return Some(format!(
            "was disturbed: its fastest quarter of samples spreads {:.0} % above its estimate \
             (a clean run stays under {:.0} %)",
            m.floor_spread.exp_m1() * 100.0,
            limit.exp_m1() * 100.0
        ));
    }
    (estimator == Estimator::Median && m.drift_within.abs() > MAX_DRIFT_WITHIN).then(|| {
        format!(
            "changed speed while it ran: its second half is {:+.0} % off its first",
            m.drift_within.exp_m1() * 100.0
        )
    })
}

/// `verdict` for a rise read as `regressed`, turned round where more is better.
pub fn oriented(direction: Direction, verdict: Verdict) -> Verdict {
    match (direction, verdict) {
        (Direction::LargerIsBetter, Verdict::Regressed) => Verdict::Improved,
        (Direction::LargerIsBetter, Verdict::Improved) => Verdict::Regressed,
        (_, v) => v,
    }
}

/// Judges one benchmark. The caller fills in the side statistics and the anchor flag.
pub fn judge(id: &str, e: &Evidence, options: &Options, policy: Applied) -> BenchmarkComparison {
    let crit = stats::student_t_critical(options.confidence, e.df);
    let half_width = crit * e.se;
    let p = if e.se > 0.0 {
        stats::student_t_p(e.delta / e.se, e.df)
    } else if e.delta == 0.0 {
        1.0
    } else {
        0.0
    };
    let change_pct = e.delta.exp_m1() * 100.0;
    let detectable_pct = half_width.exp_m1() * 100.0;
    let significant = p < options.significance;
    let required = e.required_pct;
    let (verdict, reason) = if e.min_samples < MIN_SAMPLES {
        (
            Verdict::Inconclusive,
            Some(format!(
                "only {} samples in a run; at least {MIN_SAMPLES} are needed to judge",
                e.min_samples
            )),
        )
    } else if let Some(why) = &e.disturbed {
        (Verdict::Inconclusive, Some(why.clone()))
    } else if significant && change_pct > required {
        (Verdict::Regressed, None)
    } else if significant && change_pct < -required {
        (Verdict::Improved, None)
    } else if detectable_pct > required {
        (
            Verdict::Inconclusive,
            Some(format!(
                "noise: only a change beyond ±{detectable_pct:.1} % could be told apart, the \
                 threshold is {required:.1} %"
            )),
        )
    } else {
        (Verdict::Unchanged, None)
    };
    let verdict = oriented(policy.direction, verdict);
    BenchmarkComparison {
        id: id.into(),
        verdict,
        reason,
        basis: Some(e.basis),
        change_pct: Some(change_pct),
        ci_pct: Some([
            (e.delta - half_width).exp_m1() * 100.0,
            (e.delta + half_width).exp_m1() * 100.0,
        ]),
        p_value: Some(p),
        significant,
        detectable_pct: Some(detectable_pct),
        required_pct: required,
        policy,
        anchor: false,
        old: None,
        new: None,
        functions: Vec::new(),
        diff_flamegraph: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::compare::Basis;

    fn evidence(delta_pct: f64, se_pct: f64) -> Evidence {
        Evidence {
            basis: Basis::Runs,
            delta: (delta_pct / 100.0f64).ln_1p(),
            se: se_pct / 100.0,
            df: 20.0,
            required_pct: 5.0,
            min_samples: 100,
            disturbed: None,
        }
    }

    fn applied() -> Applied {
        crate::policy::Policy::empty().applied("x", crate::policy::Metric::Time, None)
    }

    fn verdict(e: &Evidence) -> Verdict {
        judge("x", e, &Options::default(), applied()).verdict
    }

    #[test]
    fn a_clear_change_beyond_the_threshold_is_judged_both_ways() {
        assert_eq!(verdict(&evidence(12.0, 1.0)), Verdict::Regressed);
        assert_eq!(verdict(&evidence(-12.0, 1.0)), Verdict::Improved);
        assert_eq!(verdict(&evidence(1.0, 1.0)), Verdict::Unchanged);
    }

    #[test]
    fn noise_the_threshold_cannot_resolve_is_inconclusive_not_unchanged() {
        let row = judge("x", &evidence(3.0, 8.0), &Options::default(), applied());
        assert_eq!(row.verdict, Verdict::Inconclusive);
        assert!(row.reason.unwrap().contains("threshold"));
        assert!(row.detectable_pct.unwrap() > 5.0);
    }

    #[test]
    fn few_samples_and_disturbed_runs_are_inconclusive_whatever_the_change() {
        let mut e = evidence(58.0, 1.0);
        e.min_samples = 1;
        assert_eq!(verdict(&e), Verdict::Inconclusive);
        let mut e = evidence(40.0, 1.0);
        e.disturbed = Some("changed speed".into());
        assert_eq!(verdict(&e), Verdict::Inconclusive);
    }

    #[test]
    fn change_interval_and_p_value_describe_the_same_quantity() {
        let row = judge("x", &evidence(0.0, 0.2), &Options::default(), applied());
        let [lo, hi] = row.ci_pct.unwrap();
        assert!(lo < 0.0 && hi > 0.0);
        assert!(row.p_value.unwrap() > 0.9, "{:?}", row.p_value);
        let row = judge("x", &evidence(2.0, 0.2), &Options::default(), applied());
        let [lo, _] = row.ci_pct.unwrap();
        assert!(lo > 0.0 && row.p_value.unwrap() < 0.001);
    }
}
