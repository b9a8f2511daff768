//! Machine drift: a busy or slower machine moves every benchmark of a run together.
//!
//! Drift is corrected only when anchors exist: benchmarks whose id starts with the canary
//! prefix (`benches/canary.rs` in this suite), fixed code that moves only with the machine.
//! Without anchors nothing is corrected. The median of all benchmarks is *not* used as a
//! stand-in: a real change that slows many benchmarks drags it (on recorded data with 7 of 14
//! benchmarks slowed by 10 % it put the drift at +5.5 %, hid most of the slowdown and turned
//! unchanged benchmarks into "improved"). Uncorrected drift is not hidden either: with repeated
//! runs it is part of the measured spread between runs, and the report states how far the
//! benchmarks moved together and that the tool cannot tell the machine from the code there.

use std::collections::BTreeSet;

use serde::Serialize;

use super::super::stats;
use super::measure::RunData;

/// What machine drift was estimated from.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DriftBasis {
    /// The canary benchmarks (fixed code): drift estimated and removed.
    Canary,
    /// No benchmark matches the canary prefix: drift is not corrected.
    NoAnchor,
    /// `--no-drift`: not corrected on request.
    Off,
    /// Instruction counts: they do not move with the machine, nothing to correct.
    Counts,
}

impl DriftBasis {
    /// The name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftBasis::Canary => "canary",
            DriftBasis::NoAnchor => "no-anchor",
            DriftBasis::Off => "off",
            DriftBasis::Counts => "counts",
        }
    }
}

/// Per-run drift offsets (log scale) and how they were found.
#[derive(Clone, Debug)]
pub struct DriftEstimate {
    /// One offset per run, in the order the runs were given (old then new).
    pub per_run: Vec<f64>,
    /// The basis.
    pub basis: DriftBasis,
    /// The anchor ids.
    pub anchors: Vec<String>,
    /// Variance (log scale) of the anchors' own changes around each other: how differently
    /// fixed workloads moved with the machine. Another workload's share of the drift is that
    /// uncertain, so every verdict carries it as noise. Between runs on one host the canaries
    /// agree within about 1 %; on another host of the same CPU name they disagreed by ±9 %
    /// (one moved +15 %, two +33 %).
    pub spread_var: f64,
}

/// Estimates each run's drift from the anchors present in every run: the median over anchors
/// of the run's log-estimate minus the anchor's mean over all runs.
pub fn estimate(
    runs: &[&RunData],
    old_count: usize,
    common: &BTreeSet<String>,
    canary_prefix: &str,
    enabled: bool,
) -> DriftEstimate {
    let zero = vec![0.0; runs.len()];
    let anchors: Vec<String> = common
        .iter()
        .filter(|id| id.starts_with(canary_prefix))
        .filter(|id| runs.iter().all(|r| r.contains_key(*id)))
        .cloned()
        .collect();
    if !enabled {
        return DriftEstimate {
            per_run: zero,
            basis: DriftBasis::Off,
            anchors: Vec::new(),
            spread_var: 0.0,
        };
    }
    if anchors.is_empty() {
        return DriftEstimate {
            per_run: zero,
            basis: DriftBasis::NoAnchor,
            anchors,
            spread_var: 0.0,
        };
    }
    let centre: Vec<f64> = anchors
        .iter()
        .map(|id| stats::mean(&runs.iter().map(|r| r[id].log_estimate).collect::<Vec<_>>()))
        .collect();
    let per_run = runs
        .iter()
        .map(|r| {
            let offsets: Vec<f64> = anchors
                .iter()
                .zip(&centre)
                .map(|(id, c)| r[id].log_estimate - c)
                .collect();
            stats::median(&offsets)
        })
        .collect();
    let (old, new) = runs.split_at(old_count);
    let side_mean = |side: &[&RunData], id: &String| {
        stats::mean(&side.iter().map(|r| r[id].log_estimate).collect::<Vec<_>>())
    };
    let changes: Vec<f64> = anchors
        .iter()
        .map(|id| side_mean(new, id) - side_mean(old, id))
        .collect();
    DriftEstimate {
        per_run,
        basis: DriftBasis::Canary,
        anchors,
        spread_var: stats::variance(&changes),
    }
}
