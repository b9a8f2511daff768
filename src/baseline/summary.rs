//! One baseline as a report: per benchmark its id, mean, median, standard deviation, Criterion's
//! confidence interval of the mean, and throughput where the bench declared one.

use serde::Serialize;

use super::{Loaded, Throughput, Warning};

/// The value of the `schema` field of a summary.
pub const SCHEMA: &str = "tickbench.summary.v1";

/// A rate derived from a declared throughput and the mean time.
#[derive(Clone, Debug, Serialize)]
pub struct Rate {
    /// Amount per second.
    pub per_second: f64,
    /// Unit, e.g. `elem/s` or `B/s`.
    pub unit: String,
    /// The declaration it comes from.
    pub declared: Throughput,
}

/// One benchmark's line.
#[derive(Clone, Debug, Serialize)]
pub struct SummaryRow {
    /// Criterion's full id.
    pub id: String,
    /// Mean per-iteration time, ns.
    pub mean_ns: f64,
    /// Median per-iteration time, ns.
    pub median_ns: f64,
    /// Standard deviation of per-iteration times, ns.
    pub std_dev_ns: f64,
    /// Criterion's confidence interval of the mean, ns.
    pub ci_ns: [f64; 2],
    /// Its confidence level.
    pub confidence_level: f64,
    /// Number of samples.
    pub samples: usize,
    /// Throughput, if declared.
    pub throughput: Option<Rate>,
}

/// A summary of one run of a baseline.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The baseline as named.
    pub baseline: String,
    /// Where the summarised run came from (the last run of a stored baseline).
    pub source: String,
    /// How many runs the baseline holds.
    pub runs: usize,
    /// What the figures measure: `*_ns` fields hold instructions for `instructions`.
    pub metric: crate::policy::Metric,
    /// Per benchmark, sorted by id.
    pub benchmarks: Vec<SummaryRow>,
    /// Problems met.
    pub warnings: Vec<Warning>,
}

/// Summarises the last run of `loaded`. Estimates come from Criterion's `estimates.json`.
pub fn summarise(name: &str, loaded: &Loaded) -> Summary {
    let run = loaded.runs.last();
    let mut warnings = loaded.warnings.clone();
    let benchmarks = run
        .map(|r| r.benchmarks.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|b| {
            let e = &b.estimates;
            let mean = e.mean.point_estimate;
            if !(mean.is_finite() && mean > 0.0) {
                warnings.push(Warning(format!("'{}' has a mean time of {mean} ns", b.id)));
            }
            SummaryRow {
                id: b.id.clone(),
                mean_ns: mean,
                median_ns: e.median.point_estimate,
                std_dev_ns: e.std_dev.point_estimate,
                ci_ns: [
                    e.mean.confidence_interval.lower_bound,
                    e.mean.confidence_interval.upper_bound,
                ],
                confidence_level: e.mean.confidence_interval.confidence_level,
                samples: b.sample.times.len(),
                throughput: b
                    .throughput
                    // A rate needs a time; a count per element is not a rate.
                    .filter(|_| run.is_some_and(|r| r.metric.is_time()))
                    .filter(|_| mean.is_finite() && mean > 0.0)
                    .map(|t| {
                        let (per_second, unit) = t.per_second(mean);
                        Rate {
                            per_second,
                            unit,
                            declared: t,
                        }
                    }),
            }
        })
        .collect();
    Summary {
        schema: SCHEMA,
        baseline: name.into(),
        source: match (run, loaded.runs.len()) {
            (Some(r), n) if n > 1 => format!(
                "{} (the last of {n} runs; name one run to summarise another)",
                r.source
            ),
            (Some(r), _) => r.source.clone(),
            (None, _) => String::new(),
        },
        runs: loaded.runs.len(),
        metric: run.map(|r| r.metric).unwrap_or_default(),
        benchmarks,
        warnings,
    }
}
