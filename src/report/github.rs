//! github-action-benchmark's `customSmallerIsBetter` input: `[{ "name", "unit", "value",
//! "range", "extra" }]`, one entry per benchmark, in ns. As in `bmf`, a figure that is not
//! finite is an error naming the benchmark: JSON would carry it as `null`, which the action
//! rejects.

use serde_json::json;

use super::bmf::finite;
use super::{fmt_pct, Format};
use crate::baseline::compare::Comparison;
use crate::baseline::summary::Summary;

/// `customSmallerIsBetter` JSON.
pub struct Github;

impl Format for Github {
    fn summary(&self, s: &Summary) -> anyhow::Result<String> {
        let entries = s
            .benchmarks
            .iter()
            .map(|r| {
                let id = r.id.as_str();
                let [lower, upper] = [
                    finite(id, "lower confidence bound", r.ci_ns[0])?,
                    finite(id, "upper confidence bound", r.ci_ns[1])?,
                ];
                Ok(json!({
                    "name": r.id,
                    "unit": match s.metric {
                        crate::policy::Metric::Time => "ns/iter",
                        crate::policy::Metric::Instructions => "Ir/iter",
                    },
                    "value": finite(id, "mean time", r.mean_ns)?,
                    "range": format!("± {:.3}", (upper - lower) / 2.0),
                    "extra": format!("median {:.3} ns, {} samples", r.median_ns, r.samples),
                }))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(serde_json::to_string_pretty(&entries)?)
    }

    /// The new side's medians, with tickbench's verdict in `extra`.
    fn compare(&self, c: &Comparison) -> anyhow::Result<String> {
        let entries = c
            .benchmarks
            .iter()
            .filter_map(|r| {
                let new = r.new.as_ref()?;
                Some(finite(&r.id, "new estimate", new.estimate_ns).map(|value| json!({
                    "name": r.id,
                    "unit": match c.metric {
                        crate::policy::Metric::Time => "ns/iter",
                        crate::policy::Metric::Instructions => "Ir/iter",
                    },
                    "value": value,
                    "extra": format!("{} ({} vs {})", r.verdict.as_str(), fmt_pct(r.change_pct), c.old.spec),
                })))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(serde_json::to_string_pretty(&entries)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::summary::SummaryRow;

    #[test]
    fn a_nan_mean_is_an_error_naming_the_benchmark() {
        let row = |id: &str, mean_ns: f64| SummaryRow {
            id: id.into(),
            mean_ns,
            median_ns: 100.0,
            std_dev_ns: 1.0,
            ci_ns: [99.0, 101.0],
            confidence_level: 0.95,
            samples: 10,
            throughput: None,
        };
        let mut s = Summary {
            metric: crate::policy::Metric::Time,
            schema: crate::baseline::summary::SCHEMA,
            baseline: "x".into(),
            source: "test".into(),
            runs: 1,
            benchmarks: vec![row("ok/one", 100.0)],
            warnings: Vec::new(),
        };
        let doc: serde_json::Value = serde_json::from_str(&Github.summary(&s).unwrap()).unwrap();
        assert_eq!(doc[0]["value"], 100.0);

        s.benchmarks.push(row("bad/one", f64::NAN));
        let msg = Github.summary(&s).unwrap_err().to_string();
        assert!(
            msg.contains("'bad/one'") && msg.contains("mean time of NaN"),
            "{msg}"
        );
    }
}
