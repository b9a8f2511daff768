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
}

impl DriftBasis {
    /// The name used in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftBasis::Canary => "canary",
            DriftBasis::NoAnchor => "no-anchor",
            DriftBasis::Off => "off",
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
}

/// Estimates each run's drift from the anchors present in every run: the median over anchors
/// of the run's log-estimate minus the anchor's mean over all runs.
pub fn estimate(
    runs: &[&RunData],
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
        };
    }
    if anchors.is_empty() {
        return DriftEstimate {
            per_run: zero,
            basis: DriftBasis::NoAnchor,
            anchors,
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
    DriftEstimate {
        per_run,
        basis: DriftBasis::Canary,
        anchors,
    }
}
