//! Comparing two baselines: per benchmark a change, its confidence interval, a p-value, the
//! smallest change the data could have detected, and a verdict with the basis it rests on.
//!
//! # Method (the tests themselves are in `stats.rs`)
//!
//! Each run of a benchmark is summarised by the log of one estimate of its per-iteration times
//! (`--estimator`; by default the robust minimum, see `stats::Estimator`), and by how well the
//! run pinned it (the exact bootstrap variance of that order statistic). Logs make changes
//! ratios. The change, its interval and its p-value all describe the same quantity: the
//! difference `Δ` of the (drift-corrected) mean log-estimates of the two sides, with standard
//! error `se`; the interval is `Δ ± t·se`, the p-value is Student's t on `Δ/se`.
//!
//! 1. **Machine drift** (`drift.rs`): corrected only from canary anchors; without them nothing
//!    is corrected and the report says so.
//! 2. **Noise between runs** (`noise.rs`). With two or more runs on a side (basis `runs`) a
//!    benchmark's own between-run variance is moderated towards a variance pooled over all
//!    benchmarks (Smyth's moderated t). The pool only takes sides whose runs all measured the
//!    same benchmarks, so a re-run of just the flagged benchmarks cannot make the noise look
//!    like theirs. With one run per side (basis `single-run`) between-run noise is estimated
//!    from the spread of the changes across the suite (the median absolute deviation or, when
//!    larger, the 90th percentile of the deviations: run-to-run shifts are heavy-tailed) and
//!    the verdict demands `--single-run-factor` times the threshold.
//! 3. **Verdict** (`judge.rs`). `inconclusive` when the benchmark has too few samples, when its
//!    own samples say a run was disturbed, or when the noise is larger than the threshold can
//!    resolve (the smallest detectable change, `t·se`, exceeds it) and the change is not
//!    significant beyond it; else `regressed` / `improved` when significant (p <
//!    `--significance`) and beyond the threshold; else `unchanged`. `added` / `removed` for a
//!    benchmark read soundly on one side only; `unreadable` when its files on either side
//!    cannot be read. Canaries are reported, never judged.

mod drift;
mod exact;
mod judge;
mod measure;
mod noise;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use self::drift::DriftBasis;
pub use self::judge::MIN_SAMPLES;
pub use self::measure::Measured;
use self::measure::RunData;
use super::stats;
use super::{Loaded, Machine, Unreadable, Warning};
use crate::policy::{Applied, Metric, Policy};

/// A drift beyond this (log scale, ≈ 10 %) between OLD and NEW, or canaries that disagree by
/// half of it, says the machine is not the one the reference was measured on: one host drifts
/// about 4 % between runs.
const MACHINE_CHANGED: f64 = 0.095;

/// The value of the `schema` field of a compare report.
pub const SCHEMA: &str = "tickbench.compare.v2";

/// Knobs of a comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Options {
    /// `--threshold`: the smallest change (in %) that counts, when given; a policy rule for a
    /// benchmark beats it, and it beats the policy file's `[defaults]` (see `crate::policy`).
    pub threshold_pct: Option<f64>,
    /// p-value below which a change is significant.
    pub significance: f64,
    /// With one run per side the required change is `threshold_pct × single_run_factor`.
    pub single_run_factor: f64,
    /// Benchmarks whose id starts with this anchor the drift estimate.
    pub canary_prefix: String,
    /// Correct machine-wide drift (when anchors exist).
    pub drift: bool,
    /// How a run is summarised.
    pub estimator: stats::Estimator,
    /// Confidence level of the intervals and of the smallest detectable change.
    pub confidence: f64,
    /// Per-benchmark thresholds, advisory flags and directions.
    #[serde(skip)]
    pub policy: Policy,
    /// Where the policy came from (`null`: none, built-in defaults).
    pub policy_file: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threshold_pct: None,
            significance: 0.05,
            single_run_factor: 2.0,
            canary_prefix: "canary/".into(),
            drift: true,
            estimator: stats::Estimator::Low,
            confidence: 0.95,
            policy: Policy::empty(),
            policy_file: None,
        }
    }
}

impl Options {
    /// Checks the options against the benchmarks they will judge: an empty canary prefix, or
    /// one that every benchmark matches, would make every benchmark an anchor and leave
    /// nothing judged (a +52 % regression would read "unchanged").
    pub fn check(&self, ids: &BTreeSet<String>) -> anyhow::Result<()> {
        if self.canary_prefix.trim().is_empty() {
            anyhow::bail!(
                "--canary '{}' is empty: it would make every benchmark an anchor; name the \
                 canaries' id prefix, or pass --no-drift",
                self.canary_prefix
            );
        }
        if !ids.is_empty() && ids.iter().all(|id| id.starts_with(&self.canary_prefix)) {
            anyhow::bail!(
                "--canary '{}' matches every benchmark ({}): nothing would be left to judge",
                self.canary_prefix,
                ids.len()
            );
        }
        Ok(())
    }
}

/// What happened to a benchmark.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Significantly slower by more than the required change.
    Regressed,
    /// Significantly faster by more than the required change.
    Improved,
    /// The data cannot tell: too few samples, a disturbed run, or noise larger than the
    /// threshold can resolve. Never counts as regressed or improved.
    Inconclusive,
    /// Neither: any change is smaller than the required one, and the noise could have shown it.
    Unchanged,
    /// Only in the new baseline, read soundly.
    Added,
    /// Only in the old baseline, read soundly.
    Removed,
    /// Its files on one side or both cannot be read.
    Unreadable,
}

impl Verdict {
    /// The lower-case name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Unchanged => "unchanged",
            Verdict::Added => "added",
            Verdict::Removed => "removed",
            Verdict::Unreadable => "unreadable",
        }
    }
}

/// What a verdict's noise estimate rests on.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// Spread between repeated runs (moderated t).
    Runs,
    /// One run per side: within-run statistics plus the suite-wide spread of changes, larger
    /// required change.
    SingleRun,
    /// A run has fewer than [`MIN_SAMPLES`] samples: nothing is judged.
    FewSamples,
    /// Instruction counts: repeated counts of identical code are identical, so the change is
    /// exact (or, where repeated counts differed, known to within their spread).
    Exact,
}

impl Basis {
    /// The name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Runs => "runs",
            Basis::SingleRun => "single-run",
            Basis::FewSamples => "few-samples",
            Basis::Exact => "exact",
        }
    }
}

/// One side's view of a benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct SideStats {
    /// Runs of this side that measured the benchmark.
    pub runs: usize,
    /// Geometric mean of the runs' estimates (`options.estimator`) of the per-iteration time,
    /// in ns (not drift-corrected).
    pub estimate_ns: f64,
    /// Mean of the runs' mean per-iteration times, in ns.
    pub mean_ns: f64,
    /// Standard deviation between the runs' estimates, in % (only with two or more runs).
    pub run_spread_pct: Option<f64>,
    /// The fewest samples any of its runs has.
    pub samples: usize,
}

/// The comparison of one benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct BenchmarkComparison {
    /// Criterion's full id.
    pub id: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Why the verdict is `inconclusive` or `unreadable` (the file and the reason).
    pub reason: Option<String>,
    /// What the verdict rests on (`null` for added / removed / unreadable).
    pub basis: Option<Basis>,
    /// Drift-corrected relative change of the estimate, in % (positive = slower).
    pub change_pct: Option<f64>,
    /// Confidence interval of the change, in % (the same quantity as the change).
    pub ci_pct: Option<[f64; 2]>,
    /// p-value of the change (Student's t on the change over its standard error).
    pub p_value: Option<f64>,
    /// `p_value < significance`.
    pub significant: bool,
    /// The smallest change (in %, either way) this comparison could have told from noise:
    /// the half-width of the interval.
    pub detectable_pct: Option<f64>,
    /// The change (in %) this verdict required.
    pub required_pct: f64,
    /// The policy that applied to this benchmark (threshold, advisory, direction, rules).
    pub policy: Applied,
    /// Whether the benchmark anchors the drift estimate.
    pub anchor: bool,
    /// The old side, if present.
    pub old: Option<SideStats>,
    /// The new side, if present.
    pub new: Option<SideStats>,
    /// Instructions metric, regressed or improved: the functions whose inclusive counts per
    /// iteration changed most, largest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<crate::counts::FunctionChange>,
    /// The differential flamegraph written for this row, if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_flamegraph: Option<String>,
}

/// How machine drift was handled.
#[derive(Clone, Debug, Serialize)]
pub struct Drift {
    /// What it was estimated from.
    pub basis: DriftBasis,
    /// Number of anchor benchmarks.
    pub anchors: usize,
    /// Estimated machine slowdown of the new side relative to the old, in % (0 when not
    /// corrected).
    pub change_pct: f64,
    /// Median change of all judged benchmarks before any correction, in %: how far the suite
    /// moved together (the machine, the code, or both).
    pub common_change_pct: Option<f64>,
    /// How much the anchors' own changes disagree (standard deviation, in %); every verdict
    /// carries it as noise.
    pub anchor_spread_pct: f64,
    /// What this basis cannot see, in a sentence.
    pub caveat: String,
}

/// Counts per verdict.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Regressed benchmarks.
    pub regressed: usize,
    /// Improved benchmarks.
    pub improved: usize,
    /// Inconclusive benchmarks.
    pub inconclusive: usize,
    /// Unchanged benchmarks.
    pub unchanged: usize,
    /// Added benchmarks.
    pub added: usize,
    /// Removed benchmarks.
    pub removed: usize,
    /// Unreadable benchmarks.
    pub unreadable: usize,
}

/// One side of the comparison as named on the command line.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    /// The spec as given (`a,b,c` or a file path).
    pub spec: String,
    /// Where each run came from.
    pub runs: Vec<String>,
}

/// A full comparison, ready for any report format.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// What both sides measure; every figure of a row is in its unit.
    pub metric: Metric,
    /// The old side.
    pub old: Side,
    /// The new side.
    pub new: Side,
    /// The options used.
    pub options: Options,
    /// The drift correction applied.
    pub drift: Drift,
    /// Per benchmark, sorted by id.
    pub benchmarks: Vec<BenchmarkComparison>,
    /// Counts per verdict.
    pub summary: Counts,
    /// Problems met (different machines, partial re-runs, …).
    pub warnings: Vec<Warning>,
}

impl Comparison {
    /// The benchmarks that fail the gate: regressed under a policy that is not advisory.
    pub fn failing(&self) -> impl Iterator<Item = &BenchmarkComparison> {
        self.benchmarks
            .iter()
            .filter(|b| b.verdict == Verdict::Regressed && !b.policy.advisory)
    }

    /// Recounts [`Comparison::summary`] from the rows (after a caller changed verdicts).
    pub fn recount(&mut self) {
        let mut summary = Counts::default();
        for b in &self.benchmarks {
            *match b.verdict {
                Verdict::Regressed => &mut summary.regressed,
                Verdict::Improved => &mut summary.improved,
                Verdict::Inconclusive => &mut summary.inconclusive,
                Verdict::Unchanged => &mut summary.unchanged,
                Verdict::Added => &mut summary.added,
                Verdict::Removed => &mut summary.removed,
                Verdict::Unreadable => &mut summary.unreadable,
            } += 1;
        }
        self.summary = summary;
    }
}

/// Compares `old` with `new`. `old_spec` / `new_spec` are only echoed in the report.
pub fn compare(
    old_spec: &str,
    old: &Loaded,
    new_spec: &str,
    new: &Loaded,
    options: &Options,
) -> Comparison {
    let counts = |l: &Loaded| l.runs.iter().any(|r| r.metric == Metric::Instructions);
    if counts(old) || counts(new) {
        // The caller checked with `common_metric` that both sides measure the same.
        return exact::compare(old_spec, old, new_spec, new, options);
    }
    let mut warnings: Vec<Warning> = old.warnings.iter().chain(&new.warnings).cloned().collect();
    machine_warnings(old, new, &mut warnings);
    let old_runs: Vec<RunData> = old
        .runs
        .iter()
        .map(|r| measure::measure(r, options.estimator))
        .collect();
    let new_runs: Vec<RunData> = new
        .runs
        .iter()
        .map(|r| measure::measure(r, options.estimator))
        .collect();

    let ids = |runs: &[RunData]| -> BTreeSet<String> {
        runs.iter().flat_map(|r| r.keys().cloned()).collect()
    };
    let unreadable = unreadable_by_id(old, new);
    let (old_ids, new_ids) = (ids(&old_runs), ids(&new_runs));
    let common: BTreeSet<String> = old_ids
        .intersection(&new_ids)
        .filter(|id| !unreadable.contains_key(*id))
        .cloned()
        .collect();

    let all_runs: Vec<&RunData> = old_runs.iter().chain(&new_runs).collect();
    let drift = drift::estimate(
        &all_runs,
        old_runs.len(),
        &common,
        &options.canary_prefix,
        options.drift,
    );
    let (old_off, new_off) = drift.per_run.split_at(old_runs.len());
    let drift_change = stats::mean(new_off) - stats::mean(old_off);
    let sides = noise::Sides::new(&old_runs, old_off, &new_runs, new_off);
    let anchors: BTreeSet<&str> = drift.anchors.iter().map(String::as_str).collect();
    let judged: Vec<&String> = common
        .iter()
        .filter(|id| !anchors.contains(id.as_str()))
        .collect();
    let noise = noise::Noise::estimate(&sides, &judged, drift.spread_var, &mut warnings);
    if drift.basis == DriftBasis::Canary
        && (drift_change.abs() > MACHINE_CHANGED || drift.spread_var.sqrt() > MACHINE_CHANGED / 2.0)
    {
        warnings.push(Warning(format!(
            "the canaries moved {:+.1} % between OLD and NEW and disagree by ±{:.1} % among \
             themselves: this looks like a different machine from the reference's (the same \
             CPU name can hide another host). Every verdict carries that disagreement as \
             noise; for a sharp gate, store a reference measured on this machine",
            drift_change.exp_m1() * 100.0,
            drift.spread_var.sqrt() * 100.0
        )));
    }

    let work: Vec<&String> = common.iter().collect();
    let policy = |id: &str| {
        options
            .policy
            .applied(id, Metric::Time, options.threshold_pct)
    };
    let mut benchmarks = parallel_map(&work, |id| {
        let applied = policy(id);
        let evidence = noise.evidence(&sides, id, applied.threshold_pct, options);
        let mut row = judge::judge(id, &evidence, options, applied);
        row.anchor = anchors.contains(id.as_str());
        if row.anchor {
            // Fixed code: when a canary moves, the machine moved. Reported, never judged.
            row.verdict = Verdict::Unchanged;
            row.reason = None;
        }
        row.old = Some(side_stats(&old_runs, id));
        row.new = Some(side_stats(&new_runs, id));
        row
    });

    for id in new_ids.difference(&old_ids) {
        if !unreadable.contains_key(id) {
            benchmarks.push(one_sided(
                id,
                Verdict::Added,
                None,
                Some(&new_runs),
                policy(id),
            ));
        }
    }
    for id in old_ids.difference(&new_ids) {
        if !unreadable.contains_key(id) {
            benchmarks.push(one_sided(
                id,
                Verdict::Removed,
                Some(&old_runs),
                None,
                policy(id),
            ));
        }
    }
    for (id, problems) in &unreadable {
        benchmarks.push(unreadable_row(id, problems, policy(id)));
    }
    benchmarks.sort_by(|a, b| a.id.cmp(&b.id));
    let all_ids: Vec<&String> = old_ids.union(&new_ids).collect();
    warnings.extend(options.policy.unmatched(&all_ids));
    let mut seen = BTreeSet::new();
    warnings.retain(|w| seen.insert(w.0.clone()));

    let common_change = {
        let changes: Vec<f64> = benchmarks
            .iter()
            .filter(|b| !b.anchor)
            .filter_map(|b| b.change_pct)
            .map(|c| (c / 100.0).ln_1p() + drift_change)
            .collect();
        (!changes.is_empty()).then(|| stats::median(&changes).exp_m1() * 100.0)
    };
    let mut comparison = Comparison {
        schema: SCHEMA,
        metric: Metric::Time,
        old: Side::of(old_spec, old),
        new: Side::of(new_spec, new),
        options: options.clone(),
        drift: Drift {
            basis: drift.basis,
            anchors: drift.anchors.len(),
            change_pct: drift_change.exp_m1() * 100.0,
            common_change_pct: common_change,
            anchor_spread_pct: drift.spread_var.sqrt() * 100.0,
            caveat: drift_caveat(drift.basis, &options.canary_prefix),
        },
        benchmarks,
        summary: Counts::default(),
        warnings,
    };
    comparison.recount();
    comparison
}

/// What a drift basis cannot see.
fn drift_caveat(basis: DriftBasis, prefix: &str) -> String {
    match basis {
        DriftBasis::Canary => format!(
            "drift is measured on the '{prefix}' canaries (fixed code), so a change that slows \
             every other benchmark still shows; a disturbance that spared the canaries is not \
             removed"
        ),
        DriftBasis::NoAnchor => format!(
            "no benchmark id starts with '{prefix}', so machine drift is not corrected: a slower \
             machine shows as a change of every benchmark, and a change of every benchmark may \
             be the machine (name anchors with --canary PREFIX)"
        ),
        DriftBasis::Off => "drift correction is off (--no-drift): a slower machine shows as a \
                            change of every benchmark"
            .into(),
        DriftBasis::Counts => "instruction counts do not move with the machine's speed or load: \
                               nothing to correct"
            .into(),
    }
}

/// Every unreadable benchmark of either side, by id.
fn unreadable_by_id<'a>(old: &'a Loaded, new: &'a Loaded) -> BTreeMap<String, Vec<&'a Unreadable>> {
    let mut by_id: BTreeMap<String, Vec<&Unreadable>> = BTreeMap::new();
    for run in old.runs.iter().chain(&new.runs) {
        for u in &run.unreadable {
            by_id.entry(u.id.clone()).or_default().push(u);
        }
    }
    by_id
}

fn one_sided(
    id: &str,
    verdict: Verdict,
    old: Option<&[RunData]>,
    new: Option<&[RunData]>,
    policy: Applied,
) -> BenchmarkComparison {
    unjudged(
        id,
        verdict,
        policy,
        old.map(|runs| side_stats(runs, id)),
        new.map(|runs| side_stats(runs, id)),
    )
}

/// A row that is not judged (added, removed, unreadable): the sides it has, nothing else.
fn unjudged(
    id: &str,
    verdict: Verdict,
    policy: Applied,
    old: Option<SideStats>,
    new: Option<SideStats>,
) -> BenchmarkComparison {
    BenchmarkComparison {
        id: id.into(),
        verdict,
        reason: None,
        basis: None,
        change_pct: None,
        ci_pct: None,
        p_value: None,
        significant: false,
        detectable_pct: None,
        required_pct: 0.0,
        policy,
        anchor: false,
        old,
        new,
        functions: Vec::new(),
        diff_flamegraph: None,
    }
}

/// The `unreadable` row of `id`, naming every file that failed and why.
fn unreadable_row(id: &str, problems: &[&Unreadable], policy: Applied) -> BenchmarkComparison {
    let mut row = unjudged(id, Verdict::Unreadable, policy, None, None);
    row.reason = Some(
        problems
            .iter()
            .map(|u| format!("{}: {}", u.file, u.reason))
            .collect::<Vec<_>>()
            .join("; "),
    );
    row
}

impl Side {
    /// The side named `spec` on the command line, with where each of its runs came from.
    fn of(spec: &str, loaded: &Loaded) -> Side {
        Side {
            spec: spec.into(),
            runs: loaded.runs.iter().map(|r| r.source.clone()).collect(),
        }
    }
}

fn side_stats(runs: &[RunData], id: &str) -> SideStats {
    let present: Vec<_> = runs.iter().filter_map(|r| r.get(id)).collect();
    let logs: Vec<f64> = present.iter().map(|m| m.log_estimate).collect();
    SideStats {
        runs: present.len(),
        estimate_ns: stats::mean(&logs).exp(),
        mean_ns: stats::mean(&present.iter().map(|m| m.mean_ns).collect::<Vec<_>>()),
        run_spread_pct: (present.len() > 1).then(|| stats::variance(&logs).sqrt() * 100.0),
        samples: present.iter().map(|m| m.samples).min().unwrap_or(0),
    }
}

/// Maps `f` over `items` on all cores, keeping order. Results do not depend on the thread
/// count: nothing random is drawn.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().max(1));
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a comparison thread panicked"))
            .collect()
    })
}

fn machine_warnings(old: &Loaded, new: &Loaded, warnings: &mut Vec<Warning>) {
    let machines: Vec<(&str, &Machine)> = old
        .runs
        .iter()
        .chain(&new.runs)
        .filter_map(|r| r.machine.as_ref().map(|m| (r.source.as_str(), m)))
        .collect();
    if let Some((first_src, first)) = machines.first() {
        for (src, m) in &machines[1..] {
            if !first.comparable(m) {
                warnings.push(Warning(format!(
                    "baselines come from different machines: {src} ran on {m}, {first_src} on {first}; \
                     timings may not be comparable"
                )));
            }
        }
    }
}
