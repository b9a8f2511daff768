//! Bencher Metric Format: `{ "<id>": { "latency": { "value", "lower_value", "upper_value" },
//! "throughput": { "value" } } }`, latency in ns, throughput in units per second.

use serde_json::{json, Map, Value};

use super::Format;
use crate::baseline::compare::Comparison;
use crate::baseline::summary::Summary;

/// Bencher Metric Format (JSON).
pub struct Bmf;

impl Format for Bmf {
    fn summary(&self, s: &Summary) -> anyhow::Result<String> {
        let mut doc = Map::new();
        for r in &s.benchmarks {
            let mut measures = Map::new();
            measures.insert(
                "latency".into(),
                json!({ "value": r.mean_ns, "lower_value": r.ci_ns[0], "upper_value": r.ci_ns[1] }),
            );
            if let Some(t) = &r.throughput {
                measures.insert("throughput".into(), json!({ "value": t.per_second }));
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
                doc.insert(
                    r.id.clone(),
                    json!({ "latency": { "value": new.estimate_ns } }),
                );
            }
        }
        Ok(serde_json::to_string_pretty(&doc)?)
    }
}
