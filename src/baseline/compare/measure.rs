//! Each run of each benchmark reduced to the few numbers a verdict needs.

use std::collections::BTreeMap;

use super::super::stats::{self, Estimator};
use super::super::Run;

/// One benchmark of one run, summarised.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// `ln` of the run's estimate (see [`Estimator`]) of the per-iteration time, in ns.
    pub log_estimate: f64,
    /// Variance of `log_estimate` within the run: how well the run pinned its own estimate.
    pub within_var: f64,
    /// Mean per-iteration time, ns.
    pub mean_ns: f64,
    /// Number of samples.
    pub samples: usize,
    /// `ln(lower quartile / estimate)`: how far the fastest quarter of the samples spreads
    /// above the estimate. A run measured cleanly keeps it at a few per cent even when the rest
    /// of its samples were disturbed; a run disturbed from start to end has no such plateau.
    pub floor_spread: f64,
    /// `ln` of the estimate of the second half of the samples (in the order they were taken)
    /// over the first half's: a machine that changed speed during the run shows here.
    pub drift_within: f64,
}

impl Measured {
    /// Summarises per-iteration times given in the order they were taken.
    pub fn of(per_iteration: &[f64], estimator: Estimator) -> Measured {
        let sorted = stats::sorted(per_iteration);
        let estimate = estimator.of_sorted(&sorted);
        let half = per_iteration.len() / 2;
        let drift_within = if half >= 2 {
            let first = estimator.of_sorted(&stats::sorted(&per_iteration[..half]));
            let second = estimator.of_sorted(&stats::sorted(&per_iteration[half..]));
            (second / first).ln()
        } else {
            0.0
        };
        Measured {
            log_estimate: estimate.ln(),
            within_var: stats::within_run_log_variance(&sorted, estimator),
            mean_ns: stats::mean(&sorted),
            samples: sorted.len(),
            floor_spread: (stats::quantile_sorted(&sorted, 0.25) / estimate)
                .ln()
                .max(0.0),
            drift_within,
        }
    }
}

/// Per run: benchmark id → its summary.
pub type RunData = BTreeMap<String, Measured>;

/// Summarises every readable benchmark of `run`.
pub fn measure(run: &Run, estimator: Estimator) -> RunData {
    run.benchmarks
        .iter()
        .map(|b| {
            (
                b.id.clone(),
                Measured::of(&b.sample.per_iteration(), estimator),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_slows_halfway_shows_its_drift_and_a_quiet_one_does_not() {
        let quiet: Vec<f64> = (0..40).map(|i| 100.0 + (i % 5) as f64).collect();
        let slowing: Vec<f64> = (0..40)
            .map(|i| if i < 20 { 100.0 } else { 130.0 } + (i % 5) as f64)
            .collect();
        let q = Measured::of(&quiet, Estimator::Low);
        let s = Measured::of(&slowing, Estimator::Low);
        assert!(q.drift_within.abs() < 0.01, "{}", q.drift_within);
        assert!(s.drift_within > 0.2, "{}", s.drift_within);
    }

    #[test]
    fn floor_spread_is_the_distance_of_the_lower_quartile_above_the_estimate() {
        let m = Measured::of(
            &[10.0, 10.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0],
            Estimator::Low,
        );
        assert!(
            (m.floor_spread - 2f64.ln()).abs() < 1e-12,
            "{}",
            m.floor_spread
        );
        assert_eq!(m.samples, 9);
    }
}
