//! github-action-benchmark's `customSmallerIsBetter` input: `[{ "name", "unit", "value",
//! "range", "extra" }]`, one entry per benchmark, in ns.

use serde_json::json;

use super::{fmt_pct, Format};
use crate::baseline::compare::Comparison;
use crate::baseline::summary::Summary;

/// `customSmallerIsBetter` JSON.
pub struct Github;

impl Format for Github {
    fn summary(&self, s: &Summary) -> anyhow::Result<String> {
        let entries: Vec<_> = s
            .benchmarks
            .iter()
            .map(|r| {
                json!({
                    "name": r.id,
                    "unit": "ns/iter",
                    "value": r.mean_ns,
                    "range": format!("± {:.3}", (r.ci_ns[1] - r.ci_ns[0]) / 2.0),
                    "extra": format!("median {:.3} ns, {} samples", r.median_ns, r.samples),
                })
            })
            .collect();
        Ok(serde_json::to_string_pretty(&entries)?)
    }

    /// The new side's medians, with tickbench's verdict in `extra`.
    fn compare(&self, c: &Comparison) -> anyhow::Result<String> {
        let entries: Vec<_> = c
            .benchmarks
            .iter()
            .filter_map(|r| {
                let new = r.new.as_ref()?;
                Some(json!({
                    "name": r.id,
                    "unit": "ns/iter",
                    "value": new.estimate_ns,
                    "extra": format!("{} ({} vs {})", r.verdict.as_str(), fmt_pct(r.change_pct), c.old.spec),
                }))
            })
            .collect();
        Ok(serde_json::to_string_pretty(&entries)?)
    }
}
