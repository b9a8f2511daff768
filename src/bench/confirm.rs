//! Confirming regressions with a second run.
//!
//! A shared VM sometimes slows one benchmark for its whole measurement (a neighbour, a
//! migration); no statistic on one run tells that from a real change, a second run can. So
//! `tickbench bench` re-runs exactly the benchmarks the first compare flagged (plus the
//! canaries, which anchor the drift correction), compares the stored baseline with that
//! confirm run alone, and keeps a regression only when both compares found it: it must
//! reproduce in both new runs against the same stored reference. [`merge`] is that rule, in one
//! place.

use std::collections::BTreeSet;

use crate::baseline::compare::{Comparison, Verdict};

/// The first comparison with its regressions checked against a confirm run.
#[derive(Clone, Debug)]
pub struct Confirmed {
    /// The first comparison; a regression the confirm run did not reproduce is no longer one.
    pub comparison: Comparison,
    /// Regressed in both compares.
    pub confirmed: Vec<String>,
    /// Regressed in the first compare only.
    pub not_confirmed: Vec<String>,
}

/// Ids `comparison` flags as regressed, in its (id) order.
pub fn regressed_ids(comparison: &Comparison) -> Vec<String> {
    comparison
        .benchmarks
        .iter()
        .filter(|b| b.verdict == Verdict::Regressed)
        .map(|b| b.id.clone())
        .collect()
}

/// Keeps a regression of `first` only if `second` (the confirm run against the same stored
/// baseline) found it too; the others become `inconclusive` (one run said regressed, the other
/// did not: the data cannot tell) and are listed as not confirmed.
pub fn merge(first: &Comparison, second: &Comparison) -> Confirmed {
    let again: BTreeSet<String> = regressed_ids(second).into_iter().collect();
    let mut comparison = first.clone();
    let (mut confirmed, mut not_confirmed) = (Vec::new(), Vec::new());
    for b in &mut comparison.benchmarks {
        if b.verdict != Verdict::Regressed {
            continue;
        }
        if again.contains(&b.id) {
            confirmed.push(b.id.clone());
        } else {
            let second_change = second
                .benchmarks
                .iter()
                .find(|s| s.id == b.id)
                .and_then(|s| s.change_pct)
                .map_or_else(|| "not measured".into(), |c| format!("{c:+.1} %"));
            b.verdict = Verdict::Inconclusive;
            b.reason = Some(format!(
                "regressed {:+.1} % in the first run but not in the confirmation run ({}): \
                 not reproduced",
                b.change_pct.unwrap_or(f64::NAN),
                second_change
            ));
            not_confirmed.push(b.id.clone());
        }
    }
    comparison.recount();
    Confirmed {
        comparison,
        confirmed,
        not_confirmed,
    }
}

/// `comparison` restricted to `ids` (the confirm run measured only those; the stored baseline's
/// other benchmarks would show as `removed`).
pub fn only(comparison: &Comparison, ids: &BTreeSet<String>) -> Comparison {
    let mut c = comparison.clone();
    c.benchmarks.retain(|b| ids.contains(&b.id));
    c.recount();
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::compare::{BenchmarkComparison, Counts, Drift, DriftBasis, Options, Side};
    use crate::policy::{Metric, Policy};

    fn bench(id: &str, verdict: Verdict) -> BenchmarkComparison {
        BenchmarkComparison {
            id: id.into(),
            verdict,
            reason: None,
            basis: None,
            change_pct: Some(0.0),
            ci_pct: None,
            p_value: None,
            significant: verdict == Verdict::Regressed,
            detectable_pct: None,
            required_pct: 10.0,
            policy: Policy::empty().applied(id, Metric::Time, None),
            anchor: false,
            old: None,
            new: None,
            functions: Vec::new(),
            diff_flamegraph: None,
        }
    }

    fn comparison(benchmarks: Vec<BenchmarkComparison>) -> Comparison {
        let side = |s: &str| Side {
            spec: s.into(),
            runs: vec![s.into()],
        };
        let mut c = Comparison {
            metric: crate::policy::Metric::Time,
            schema: crate::baseline::compare::SCHEMA,
            old: side("old"),
            new: side("new"),
            options: Options::default(),
            drift: Drift {
                basis: DriftBasis::Off,
                anchors: 0,
                change_pct: 0.0,
                common_change_pct: None,
                anchor_spread_pct: 0.0,
                caveat: String::new(),
            },
            benchmarks,
            summary: Counts::default(),
            warnings: Vec::new(),
        };
        c.recount();
        c
    }

    #[test]
    fn a_regression_must_reproduce_in_both_runs() {
        use Verdict::*;
        let first = comparison(vec![
            bench("a", Regressed),
            bench("b", Regressed),
            bench("c", Unchanged),
            bench("d", Improved),
        ]);
        // The confirm run measured a, b and a canary; c regressing there does not count: the
        // first run did not find it.
        let second = comparison(vec![
            bench("a", Regressed),
            bench("b", Unchanged),
            bench("c", Regressed),
        ]);
        let m = merge(&first, &second);
        assert_eq!(m.confirmed, vec!["a"]);
        assert_eq!(m.not_confirmed, vec!["b"]);
        let verdicts: Vec<Verdict> = m.comparison.benchmarks.iter().map(|b| b.verdict).collect();
        assert_eq!(verdicts, vec![Regressed, Inconclusive, Unchanged, Improved]);
        assert!(m.comparison.benchmarks[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("not reproduced"));
        assert_eq!(m.comparison.summary.regressed, 1);
        assert_eq!(m.comparison.summary.inconclusive, 1);
        assert_eq!(m.comparison.summary.unchanged, 1);
        assert_eq!(m.comparison.summary.improved, 1);
    }

    #[test]
    fn nothing_confirmed_when_the_confirm_run_lacks_the_benchmark() {
        let first = comparison(vec![bench("a", Verdict::Regressed)]);
        let m = merge(&first, &comparison(Vec::new()));
        assert!(m.confirmed.is_empty());
        assert_eq!(m.not_confirmed, vec!["a"]);
        assert_eq!(m.comparison.summary.regressed, 0);
    }

    #[test]
    fn only_keeps_the_named_benchmarks_and_recounts() {
        let c = comparison(vec![
            bench("a", Verdict::Regressed),
            bench("b", Verdict::Removed),
        ]);
        let kept = only(&c, &BTreeSet::from(["a".to_string()]));
        assert_eq!(kept.benchmarks.len(), 1);
        assert_eq!(kept.summary.removed, 0);
        assert_eq!(kept.summary.regressed, 1);
    }
}
