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

use crate::baseline::compare::{Comparison, Counts, Verdict};

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
/// baseline) found it too; the others become `unchanged` and are listed as not confirmed.
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
            b.verdict = Verdict::Unchanged;
            not_confirmed.push(b.id.clone());
        }
    }
    comparison.summary = counts(&comparison);
    Confirmed {
        comparison,
        confirmed,
        not_confirmed,
    }
}

/// Counts per verdict of `comparison`'s benchmarks.
pub fn counts(comparison: &Comparison) -> Counts {
    let mut counts = Counts::default();
    for b in &comparison.benchmarks {
        *match b.verdict {
            Verdict::Regressed => &mut counts.regressed,
            Verdict::Improved => &mut counts.improved,
            Verdict::Unchanged => &mut counts.unchanged,
            Verdict::Added => &mut counts.added,
            Verdict::Removed => &mut counts.removed,
        } += 1;
    }
    counts
}

/// `comparison` restricted to `ids` (the confirm run measured only those; the stored baseline's
/// other benchmarks would show as `removed`).
pub fn only(comparison: &Comparison, ids: &BTreeSet<String>) -> Comparison {
    let mut c = comparison.clone();
    c.benchmarks.retain(|b| ids.contains(&b.id));
    c.summary = counts(&c);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::compare::{BenchmarkComparison, Drift, Options, Side};

    fn bench(id: &str, verdict: Verdict) -> BenchmarkComparison {
        BenchmarkComparison {
            id: id.into(),
            verdict,
            basis: None,
            change_pct: Some(0.0),
            ci_pct: None,
            p_value: None,
            significant: verdict == Verdict::Regressed,
            required_pct: 10.0,
            anchor: false,
            old: None,
            new: None,
        }
    }

    fn comparison(benchmarks: Vec<BenchmarkComparison>) -> Comparison {
        let side = |s: &str| Side {
            spec: s.into(),
            runs: vec![s.into()],
        };
        let mut c = Comparison {
            schema: crate::baseline::compare::SCHEMA,
            old: side("old"),
            new: side("new"),
            options: Options::default(),
            drift: Drift {
                basis: "off".into(),
                anchors: 0,
                change_pct: 0.0,
            },
            benchmarks,
            summary: Counts::default(),
            warnings: Vec::new(),
        };
        c.summary = counts(&c);
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
        assert_eq!(verdicts, vec![Regressed, Unchanged, Unchanged, Improved]);
        assert_eq!(m.comparison.summary.regressed, 1);
        assert_eq!(m.comparison.summary.unchanged, 2);
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
