//! Comparing instruction counts (basis `exact`): no statistics where repeated counts are
//! identical.
//!
//! A run's figure for a benchmark is its instructions per iteration. The change is the ratio of
//! the sides' means. Where repeated counts of one side differ (a side of several runs whose
//! counts are not all equal), that spread is the uncertainty: a change counts only beyond the
//! threshold *and* the spread, and a spread the threshold cannot see past makes the row
//! `inconclusive` with the spread in its reason. Identical repeats (the normal case) leave the
//! spread at zero, and then every change beyond the threshold is a verdict.
//!
//! For a regressed or improved row whose sides both carry a profile, the row lists the
//! functions whose inclusive instructions per iteration changed most.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    drift_caveat, unjudged, unreadable_by_id, unreadable_row, Basis, BenchmarkComparison,
    Comparison, Counts, Drift, DriftBasis, Options, Side, SideStats, Verdict, SCHEMA,
};
use crate::baseline::{Benchmark, Loaded, Metric, Warning};
use crate::counts::{top_changes, Profile};
use crate::policy::Applied;

/// Functions listed per changed row.
pub const TOP_FUNCTIONS: usize = 10;

/// One benchmark of one run: instructions per iteration and the profile, if stored.
struct Count<'a> {
    per_iteration: f64,
    profile: Option<(&'a Profile, u64)>,
}

fn count(b: &Benchmark) -> Option<Count<'_>> {
    let iters: f64 = b.sample.iters.iter().sum();
    let total: f64 = b.sample.times.iter().sum();
    let per_iteration = total / iters;
    (per_iteration.is_finite() && per_iteration > 0.0).then(|| Count {
        per_iteration,
        profile: b
            .counts
            .as_ref()
            .and_then(|c| c.profile.as_ref().map(|p| (p, c.span()))),
    })
}

/// Per id, the counts of every run of a side that has it.
fn by_id(side: &Loaded) -> BTreeMap<&str, Vec<Count<'_>>> {
    let mut out: BTreeMap<&str, Vec<Count<'_>>> = BTreeMap::new();
    for run in &side.runs {
        for b in &run.benchmarks {
            if let Some(c) = count(b) {
                out.entry(b.id.as_str()).or_default().push(c);
            }
        }
    }
    out
}

fn side_stats(counts: &[Count<'_>]) -> SideStats {
    let values: Vec<f64> = counts.iter().map(|c| c.per_iteration).collect();
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let geo = (values.iter().map(|v| v.ln()).sum::<f64>() / n).exp();
    SideStats {
        runs: values.len(),
        estimate_ns: geo,
        mean_ns: mean,
        run_spread_pct: (values.len() > 1).then(|| spread_pct(&values)),
        samples: values.len(),
    }
}

/// `max / min − 1` in %: how far repeated counts of one side differ (0 when identical).
fn spread_pct(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    if min > 0.0 {
        (max / min - 1.0) * 100.0
    } else {
        0.0
    }
}

/// The verdict of one benchmark from its sides' counts.
fn judge(id: &str, old: &[Count<'_>], new: &[Count<'_>], policy: Applied) -> BenchmarkComparison {
    let o = side_stats(old);
    let n = side_stats(new);
    let change = (n.estimate_ns / o.estimate_ns - 1.0) * 100.0;
    let spread = o
        .run_spread_pct
        .unwrap_or(0.0)
        .max(n.run_spread_pct.unwrap_or(0.0));
    let required = policy.threshold_pct;
    let (verdict, reason) = if spread > 0.0 && spread >= required {
        (
            Verdict::Inconclusive,
            Some(format!(
                "repeated counts of the same code differ by {spread:.2} %, the threshold is \
                 {required:.2} %"
            )),
        )
    } else if change > required + spread {
        (Verdict::Regressed, None)
    } else if change < -(required + spread) {
        (Verdict::Improved, None)
    } else if change.abs() > required {
        (
            Verdict::Inconclusive,
            Some(format!(
                "{change:+.2} % is beyond the threshold but within the {spread:.2} % that \
                 repeated counts of the same code differ by"
            )),
        )
    } else {
        (Verdict::Unchanged, None)
    };
    let verdict = super::judge::oriented(policy.direction, verdict);
    let functions = match (
        matches!(verdict, Verdict::Regressed | Verdict::Improved),
        old.iter().find_map(|c| c.profile),
        new.iter().find_map(|c| c.profile),
    ) {
        (true, Some((op, os)), Some((np, ns))) => top_changes(op, os, np, ns, TOP_FUNCTIONS),
        _ => Vec::new(),
    };
    BenchmarkComparison {
        id: id.into(),
        verdict,
        reason,
        basis: Some(Basis::Exact),
        change_pct: Some(change),
        ci_pct: Some([change - spread, change + spread]),
        p_value: None,
        significant: change.abs() > spread,
        detectable_pct: Some(spread),
        required_pct: required,
        policy,
        anchor: false,
        old: Some(o),
        new: Some(n),
        functions,
        diff_flamegraph: None,
    }
}

/// Compares two sides of instruction counts.
pub fn compare(
    old_spec: &str,
    old: &Loaded,
    new_spec: &str,
    new: &Loaded,
    options: &Options,
) -> Comparison {
    let mut warnings: Vec<Warning> = old.warnings.iter().chain(&new.warnings).cloned().collect();
    let (a, b) = (by_id(old), by_id(new));
    let unreadable = unreadable_by_id(old, new);
    let policy = |id: &str| {
        options
            .policy
            .applied(id, Metric::Instructions, options.threshold_pct)
    };
    let ids: BTreeSet<&str> = a.keys().chain(b.keys()).copied().collect();
    let mut benchmarks = Vec::new();
    for id in &ids {
        if unreadable.contains_key(*id) {
            continue;
        }
        benchmarks.push(match (a.get(id), b.get(id)) {
            (Some(o), Some(n)) => judge(id, o, n, policy(id)),
            (None, Some(n)) => unjudged(id, Verdict::Added, policy(id), None, Some(side_stats(n))),
            (Some(o), None) => {
                unjudged(id, Verdict::Removed, policy(id), Some(side_stats(o)), None)
            }
            (None, None) => continue,
        });
    }
    for (id, problems) in &unreadable {
        benchmarks.push(unreadable_row(id, problems, policy(id)));
    }
    benchmarks.sort_by(|x, y| x.id.cmp(&y.id));
    let all_ids: Vec<&&str> = ids.iter().collect();
    warnings.extend(options.policy.unmatched_for(&all_ids, Metric::Instructions));
    for b in &benchmarks {
        if let Some(spread) = b
            .old
            .iter()
            .chain(&b.new)
            .filter_map(|s| s.run_spread_pct)
            .find(|s| *s > 0.0)
        {
            warnings.push(Warning(format!(
                "{}: repeated counts of the same code differ by {spread:.4} %: this spread is \
                 used as its uncertainty",
                b.id
            )));
        }
    }
    let mut comparison = Comparison {
        schema: SCHEMA,
        metric: Metric::Instructions,
        old: Side::of(old_spec, old),
        new: Side::of(new_spec, new),
        options: options.clone(),
        drift: Drift {
            basis: DriftBasis::Counts,
            anchors: 0,
            change_pct: 0.0,
            common_change_pct: None,
            anchor_spread_pct: 0.0,
            caveat: drift_caveat(DriftBasis::Counts, &options.canary_prefix),
        },
        benchmarks,
        summary: Counts::default(),
        warnings,
    };
    comparison.recount();
    comparison
}
