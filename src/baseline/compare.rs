//! Comparing two baselines: per benchmark a change, its confidence interval, a p-value and a
//! verdict, and the basis the verdict rests on.
//!
//! # Method (see `stats.rs` for the tests themselves)
//!
//! Each run of a benchmark is summarised by the log of one location estimate of its
//! per-iteration times (`--estimator`: the minimum by default, because interference on a shared
//! machine only adds time — see `stats::Estimator`; or the median). Logs make changes ratios.
//! "log-estimate" below is that number.
//!
//! 1. **Machine drift.** A busy machine slows every benchmark of a run together (≈4 % between
//!    runs on the 2-core VMs). Each run's drift is the median, over the *anchor* benchmarks, of
//!    that run's log-estimate minus the anchor's mean over all runs; every benchmark of the run is
//!    corrected by it. Anchors are the benchmarks whose id starts with `--canary` (default
//!    `canary/`, the fixed-code `benches/canary.rs`): they move only with the machine, so a real
//!    change that slows many benchmarks cannot drag the estimate. Without canaries the median
//!    over all shared benchmarks is used and the report says so (a change to most benchmarks at
//!    once is then partly hidden); `--no-drift` turns correction off.
//! 2. **Several runs on a side → basis `runs`.** The change is the difference of the mean
//!    corrected log-estimates; its noise is the spread *between runs*, moderated towards the spread
//!    pooled (robustly) over all non-anchor benchmarks (Smyth's moderated t,
//!    `stats::moderated_variance`), plus each run's own uncertainty about its estimate
//!    (`stats::within_run_log_variance`); p-value and interval from Student's t.
//! 3. **One run per side → basis `single-run`.** Between-run noise cannot be measured, so the
//!    change is the corrected ratio of estimates with a bootstrap interval of the within-run
//!    noise, the p-value is a Mann–Whitney test on the corrected samples, and the verdict demands
//!    a change `--single-run-factor` times the threshold (default 2 × 5 % = 10 %), because
//!    within-run statistics know nothing of the 1–14 % run-to-run noise.
//! 4. **Verdict.** `regressed` when significant (p < `--significance`) *and* slower by more than
//!    the required change; `improved` symmetrically; else `unchanged`. `added` / `removed` for
//!    benchmarks found on one side only. Anchors are fixed code: their change is reported but
//!    they are always `unchanged` (when a canary moves, the machine moved).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::stats::{self, Rng};
use super::{Loaded, Machine, Warning};

/// The value of the `schema` field of a compare report.
pub const SCHEMA: &str = "tickbench.compare.v1";

/// Knobs of a comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Options {
    /// Smallest change (in %) that counts as a regression or improvement.
    pub threshold_pct: f64,
    /// p-value below which a change is significant.
    pub significance: f64,
    /// With one run per side the required change is `threshold_pct × single_run_factor`.
    pub single_run_factor: f64,
    /// Benchmarks whose id starts with this anchor the drift estimate.
    pub canary_prefix: String,
    /// Correct machine-wide drift.
    pub drift: bool,
    /// Bootstrap resamples for single-run intervals.
    pub resamples: usize,
    /// How a run is summarised.
    pub estimator: stats::Estimator,
    /// Confidence level of the intervals.
    pub confidence: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threshold_pct: 5.0,
            significance: 0.05,
            single_run_factor: 2.0,
            canary_prefix: "canary/".into(),
            drift: true,
            resamples: 2_000,
            estimator: stats::Estimator::Min,
            confidence: 0.95,
        }
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
    /// Neither.
    Unchanged,
    /// Only in the new baseline.
    Added,
    /// Only in the old baseline.
    Removed,
}

impl Verdict {
    /// The lower-case name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Added => "added",
            Verdict::Removed => "removed",
        }
    }
}

/// What a verdict's noise estimate rests on.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// Spread between repeated runs (moderated t).
    Runs,
    /// One run per side: within-run statistics, drift-corrected, larger required change.
    SingleRun,
}

impl Basis {
    /// The name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Runs => "runs",
            Basis::SingleRun => "single-run",
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
}

/// The comparison of one benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct BenchmarkComparison {
    /// Criterion's full id.
    pub id: String,
    /// The verdict.
    pub verdict: Verdict,
    /// What the verdict rests on (`null` for added / removed).
    pub basis: Option<Basis>,
    /// Drift-corrected relative change of the estimate, in % (positive = slower).
    pub change_pct: Option<f64>,
    /// Confidence interval of the change, in %.
    pub ci_pct: Option<[f64; 2]>,
    /// p-value of the change.
    pub p_value: Option<f64>,
    /// `p_value < significance`.
    pub significant: bool,
    /// The change (in %) this verdict required.
    pub required_pct: f64,
    /// Whether the benchmark anchors the drift estimate.
    pub anchor: bool,
    /// The old side, if present.
    pub old: Option<SideStats>,
    /// The new side, if present.
    pub new: Option<SideStats>,
}

/// How machine drift was estimated.
#[derive(Clone, Debug, Serialize)]
pub struct Drift {
    /// `canary`, `all-benchmarks` or `off`.
    pub basis: String,
    /// Number of anchor benchmarks.
    pub anchors: usize,
    /// Estimated machine slowdown of the new side relative to the old, in %.
    pub change_pct: f64,
}

/// Counts per verdict.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Regressed benchmarks.
    pub regressed: usize,
    /// Improved benchmarks.
    pub improved: usize,
    /// Unchanged benchmarks.
    pub unchanged: usize,
    /// Added benchmarks.
    pub added: usize,
    /// Removed benchmarks.
    pub removed: usize,
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
    /// Problems met (skipped files, different machines, …).
    pub warnings: Vec<Warning>,
}

/// Per run: id → (log of the estimate, sorted per-iteration times, mean).
type RunData = BTreeMap<String, (f64, Vec<f64>, f64)>;

fn prepare(
    loaded: &Loaded,
    estimator: stats::Estimator,
    warnings: &mut Vec<Warning>,
) -> Vec<RunData> {
    loaded
        .runs
        .iter()
        .map(|run| {
            let mut data = RunData::new();
            for b in &run.benchmarks {
                if let Some(problem) = b.sample.problem() {
                    warnings.push(Warning(format!(
                        "skipped '{}' in {}: {problem}",
                        b.id, run.source
                    )));
                    continue;
                }
                let per_iter = stats::sorted(&b.sample.per_iteration());
                let location = estimator.of_sorted(&per_iter);
                let mean = stats::mean(&per_iter);
                data.insert(b.id.clone(), (location.ln(), per_iter, mean));
            }
            data
        })
        .collect()
}

/// Per-run drift (log scale) from the anchors, and how it was estimated.
fn drift(
    runs: &[&RunData],
    common: &BTreeSet<String>,
    options: &Options,
) -> (Vec<f64>, String, usize) {
    let zero = vec![0.0; runs.len()];
    if !options.drift {
        return (zero, "off".into(), 0);
    }
    let in_all = |id: &&String| runs.iter().all(|r| r.contains_key(*id));
    let canaries: Vec<&String> = common
        .iter()
        .filter(|id| id.starts_with(&options.canary_prefix))
        .filter(in_all)
        .collect();
    let (anchors, basis) = if canaries.is_empty() {
        (
            common.iter().filter(in_all).collect::<Vec<_>>(),
            "all-benchmarks",
        )
    } else {
        (canaries, "canary")
    };
    if anchors.is_empty() {
        return (zero, "off".into(), 0);
    }
    let centre: Vec<f64> = anchors
        .iter()
        .map(|id| stats::mean(&runs.iter().map(|r| r[*id].0).collect::<Vec<_>>()))
        .collect();
    let per_run = runs
        .iter()
        .map(|r| {
            let offsets: Vec<f64> = anchors
                .iter()
                .zip(&centre)
                .map(|(id, c)| r[*id].0 - c)
                .collect();
            stats::median(&offsets)
        })
        .collect();
    (per_run, basis.into(), anchors.len())
}

fn side_stats(values: &[(f64, f64)]) -> SideStats {
    let logs: Vec<f64> = values.iter().map(|v| v.0).collect();
    SideStats {
        runs: values.len(),
        estimate_ns: stats::mean(&logs).exp(),
        mean_ns: stats::mean(&values.iter().map(|v| v.1).collect::<Vec<_>>()),
        run_spread_pct: (values.len() > 1).then(|| stats::variance(&logs).sqrt() * 100.0),
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
    let mut warnings: Vec<Warning> = old.warnings.iter().chain(&new.warnings).cloned().collect();
    machine_warnings(old, new, &mut warnings);
    let old_runs = prepare(old, options.estimator, &mut warnings);
    let new_runs = prepare(new, options.estimator, &mut warnings);

    let ids = |runs: &[RunData]| -> BTreeSet<String> {
        runs.iter().flat_map(|r| r.keys().cloned()).collect()
    };
    let (old_ids, new_ids) = (ids(&old_runs), ids(&new_runs));
    let common: BTreeSet<String> = old_ids.intersection(&new_ids).cloned().collect();

    let all_runs: Vec<&RunData> = old_runs.iter().chain(&new_runs).collect();
    let (offsets, drift_basis, anchors) = drift(&all_runs, &common, options);
    let (old_off, new_off) = offsets.split_at(old_runs.len());
    let drift_change = stats::mean(new_off) - stats::mean(old_off);

    // Corrected log-estimates per benchmark and side.
    let corrected = |runs: &[RunData], off: &[f64], id: &str| -> Vec<f64> {
        runs.iter()
            .zip(off)
            .filter_map(|(r, d)| r.get(id).map(|v| v.0 - d))
            .collect()
    };
    let is_anchor = |id: &str| drift_basis == "canary" && id.starts_with(&options.canary_prefix);

    // Pooled between-run variance over non-anchor benchmarks (anchors if there is nothing else),
    // robust to a few hypervariable benchmarks (see `stats::robust_pooled_variance`).
    let pooled = {
        let mut per_bench: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()]; // non-anchors, anchors
        for id in &common {
            let (o, n) = (
                corrected(&old_runs, old_off, id),
                corrected(&new_runs, new_off, id),
            );
            let df = (o.len() + n.len()) as f64 - 2.0;
            if df > 0.0 {
                let ss = stats::variance(&o) * (o.len() as f64 - 1.0).max(0.0)
                    + stats::variance(&n) * (n.len() as f64 - 1.0).max(0.0);
                per_bench[usize::from(is_anchor(id))].push((ss / df, df));
            }
        }
        let chosen = if per_bench[0].is_empty() {
            &per_bench[1]
        } else {
            &per_bench[0]
        };
        stats::robust_pooled_variance(chosen)
    };

    let threshold = options.threshold_pct;
    let work: Vec<&String> = common.iter().collect();
    let compare_one = |id: &&String| -> BenchmarkComparison {
        let id: &String = id;
        let (o, n) = (
            corrected(&old_runs, old_off, id),
            corrected(&new_runs, new_off, id),
        );
        let delta = stats::mean(&n) - stats::mean(&o);
        let (basis, ci, p, required) = match pooled {
            Some(pool) if o.len() > 1 || n.len() > 1 => {
                let df = (o.len() + n.len()) as f64 - 2.0;
                let ss = stats::variance(&o) * (o.len() as f64 - 1.0)
                    + stats::variance(&n) * (n.len() as f64 - 1.0);
                let own = if df > 0.0 { ss / df } else { 0.0 };
                let (var, df) = stats::moderated_variance(own, df, pool);
                // Plus how well each run pinned its own estimate (a run with no clean plateau
                // of fastest samples is less trustworthy); conservative, as `own` holds some
                // of it already.
                let within = |runs: &[RunData], k: usize| -> f64 {
                    runs.iter()
                        .filter_map(|r| r.get(id.as_str()))
                        .map(|v| stats::within_run_log_variance(&v.1, options.estimator))
                        .sum::<f64>()
                        / (k * k) as f64
                };
                let se = (var * (1.0 / o.len() as f64 + 1.0 / n.len() as f64)
                    + within(&old_runs, o.len())
                    + within(&new_runs, n.len()))
                .sqrt();
                let p = if se > 0.0 {
                    stats::student_t_p(delta / se, df)
                } else if delta == 0.0 {
                    1.0
                } else {
                    0.0
                };
                let crit = stats::student_t_critical(options.confidence, df);
                (
                    Basis::Runs,
                    (delta - crit * se, delta + crit * se),
                    p,
                    threshold,
                )
            }
            _ => {
                let (old_s, new_s) = (&first_samples(&old_runs, id), &first_samples(&new_runs, id));
                let shift = drift_change;
                let mut rng = Rng::from_key(id);
                let (lo, hi) = stats::bootstrap_log_ratio_ci(
                    old_s,
                    new_s,
                    options.estimator,
                    options.resamples,
                    options.confidence,
                    &mut rng,
                );
                let scale = (-shift).exp();
                let adjusted: Vec<f64> = new_s.iter().map(|x| x * scale).collect();
                let p = stats::mann_whitney_p(old_s, &adjusted);
                (
                    Basis::SingleRun,
                    (lo - shift, hi - shift),
                    p,
                    threshold * options.single_run_factor,
                )
            }
        };
        let change_pct = delta.exp_m1() * 100.0;
        let significant = p < options.significance;
        let verdict = if is_anchor(id) {
            // Fixed code: when a canary moves, the machine moved. It is reported, never judged.
            Verdict::Unchanged
        } else if significant && change_pct > required {
            Verdict::Regressed
        } else if significant && change_pct < -required {
            Verdict::Improved
        } else {
            Verdict::Unchanged
        };
        BenchmarkComparison {
            id: id.clone(),
            verdict,
            basis: Some(basis),
            change_pct: Some(change_pct),
            ci_pct: Some([ci.0.exp_m1() * 100.0, ci.1.exp_m1() * 100.0]),
            p_value: Some(p),
            significant,
            required_pct: required,
            anchor: is_anchor(id),
            old: Some(side_stats(&raw(&old_runs, id))),
            new: Some(side_stats(&raw(&new_runs, id))),
        }
    };
    let mut benchmarks = parallel_map(&work, compare_one);

    for id in new_ids.difference(&old_ids) {
        benchmarks.push(one_sided(
            id,
            Verdict::Added,
            None,
            Some(side_stats(&raw(&new_runs, id))),
        ));
    }
    for id in old_ids.difference(&new_ids) {
        benchmarks.push(one_sided(
            id,
            Verdict::Removed,
            Some(side_stats(&raw(&old_runs, id))),
            None,
        ));
    }
    benchmarks.sort_by(|a, b| a.id.cmp(&b.id));
    let mut seen = BTreeSet::new();
    warnings.retain(|w| seen.insert(w.0.clone()));

    let mut summary = Counts::default();
    for b in &benchmarks {
        *match b.verdict {
            Verdict::Regressed => &mut summary.regressed,
            Verdict::Improved => &mut summary.improved,
            Verdict::Unchanged => &mut summary.unchanged,
            Verdict::Added => &mut summary.added,
            Verdict::Removed => &mut summary.removed,
        } += 1;
    }
    Comparison {
        schema: SCHEMA,
        old: Side {
            spec: old_spec.into(),
            runs: old.runs.iter().map(|r| r.source.clone()).collect(),
        },
        new: Side {
            spec: new_spec.into(),
            runs: new.runs.iter().map(|r| r.source.clone()).collect(),
        },
        options: options.clone(),
        drift: Drift {
            basis: drift_basis,
            anchors,
            change_pct: drift_change.exp_m1() * 100.0,
        },
        benchmarks,
        summary,
        warnings,
    }
}

fn one_sided(
    id: &str,
    verdict: Verdict,
    old: Option<SideStats>,
    new: Option<SideStats>,
) -> BenchmarkComparison {
    BenchmarkComparison {
        id: id.into(),
        verdict,
        basis: None,
        change_pct: None,
        ci_pct: None,
        p_value: None,
        significant: false,
        required_pct: 0.0,
        anchor: false,
        old,
        new,
    }
}

/// (log-estimate, mean) of every run that has `id`.
fn raw(runs: &[RunData], id: &str) -> Vec<(f64, f64)> {
    runs.iter()
        .filter_map(|r| r.get(id).map(|v| (v.0, v.2)))
        .collect()
}

/// Sorted samples of the first run that has `id` (single-run basis: there is only one).
fn first_samples(runs: &[RunData], id: &str) -> Vec<f64> {
    runs.iter()
        .find_map(|r| r.get(id).map(|v| v.1.clone()))
        .unwrap_or_default()
}

/// Maps `f` over `items` on all cores, keeping order. Results do not depend on the thread count
/// because every benchmark seeds its own generator.
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
