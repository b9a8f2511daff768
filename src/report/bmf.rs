//! Bencher Metric Format: `{ "<id>": { "latency": { "value", "lower_value", "upper_value" },
//! "throughput": { "value" } } }`, latency in ns, throughput in units per second.
//!
//! JSON has no NaN or infinity (serde_json writes `null`) and Bencher rejects a null metric, so
//! a benchmark without a finite figure is an error that names it, not a document that uploads
//! as a failure later.

use anyhow::bail;
use serde_json::{json, Map, Value};

use super::Format;
use crate::baseline::compare::Comparison;
use crate::baseline::summary::Summary;

/// Bencher Metric Format (JSON).
pub struct Bmf;

/// `value`, or an error naming benchmark `id` and the figure (`what`) that is not finite.
/// Shared with the github format, whose service rejects a null value as well.
pub(super) fn finite(id: &str, what: &str, value: f64) -> anyhow::Result<f64> {
    if !value.is_finite() {
        bail!("benchmark '{id}' has a {what} of {value}, which JSON cannot carry; not exported");
    }
    Ok(value)
}

impl Format for Bmf {
    fn summary(&self, s: &Summary) -> anyhow::Result<String> {
        let mut doc = Map::new();
        for r in &s.benchmarks {
            let id = r.id.as_str();
            let mut measures = Map::new();
            measures.insert(
                "latency".into(),
                json!({
                    "value": finite(id, "mean time", r.mean_ns)?,
                    "lower_value": finite(id, "lower confidence bound", r.ci_ns[0])?,
                    "upper_value": finite(id, "upper confidence bound", r.ci_ns[1])?,
                }),
            );
            if let Some(t) = &r.throughput {
                measures.insert(
                    "throughput".into(),
                    json!({ "value": finite(id, "throughput", t.per_second)? }),
                );
            }
            doc.insert(r.id.clone(), Value::Object(measures));
        }
        Ok(serde_json::to_string_pretty(&doc)?)
    }

    /// The new side's medians (Bencher keeps the history and does its own thresholds).
    fn compare(&self, c: &Comparison) -> anyhow::Result<String> {
        let mut doc = Map::new();
        for r in &c.benchmarks {
            if let Some(new) = &r.new {
                let value = finite(&r.id, "new estimate", new.estimate_ns)?;
                // Bencher's built-in measures: `latency` (ns) and `instructions`.
                let measure = match c.metric {
                    crate::policy::Metric::Time => "latency",
                    crate::policy::Metric::Instructions => "instructions",
                };
                doc.insert(r.id.clone(), json!({ measure: { "value": value } }));
            }
        }
        Ok(serde_json::to_string_pretty(&doc)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::summary::SummaryRow;

    fn summary(rows: &[(&str, f64, [f64; 2])]) -> Summary {
        Summary {
            metric: crate::policy::Metric::Time,
            schema: crate::baseline::summary::SCHEMA,
            baseline: "x".into(),
            source: "test".into(),
            runs: 1,
            benchmarks: rows
                .iter()
                .map(|&(id, mean_ns, ci_ns)| SummaryRow {
                    id: id.into(),
                    mean_ns,
                    median_ns: mean_ns,
                    std_dev_ns: 1.0,
                    ci_ns,
                    confidence_level: 0.95,
                    samples: 10,
                    throughput: None,
                })
                .collect(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn finite_estimates_are_exported() {
        let text = Bmf
            .summary(&summary(&[("ok/one", 100.0, [99.0, 101.0])]))
            .unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["ok/one"]["latency"]["value"], 100.0);
        assert_eq!(doc["ok/one"]["latency"]["upper_value"], 101.0);
    }

    #[test]
    fn a_nan_or_infinite_figure_is_an_error_naming_the_benchmark() {
        for (mean, ci, what) in [
            (f64::NAN, [99.0, 101.0], "mean time of NaN"),
            (100.0, [f64::NAN, 101.0], "lower confidence bound of NaN"),
            (
                100.0,
                [99.0, f64::INFINITY],
                "upper confidence bound of inf",
            ),
        ] {
            let s = summary(&[("ok/one", 100.0, [99.0, 101.0]), ("bad/one", mean, ci)]);
            let msg = Bmf.summary(&s).unwrap_err().to_string();
            assert!(msg.contains("'bad/one'") && msg.contains(what), "{msg}");
        }
        assert!(finite("x", "new estimate", f64::NEG_INFINITY).is_err());
        assert_eq!(finite("x", "new estimate", 3.0).unwrap(), 3.0);
    }
}
