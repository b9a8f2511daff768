//! `tickbench history` as text: per benchmark the latest value, a sparkline of the last runs and
//! the steps found, each with the commit range to search.

use std::fmt::Write as _;

use super::changepoint::{self, Step};
use super::{Record, Series};
use crate::report::units::Quantity;

/// Block characters of a sparkline, lowest first.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline of `values` scaled between their minimum and maximum.
pub fn sparkline(values: &[f64]) -> String {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    values
        .iter()
        .map(|v| {
            let f = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
            BARS[((f * 7.0).round() as usize).min(7)]
        })
        .collect()
}

/// A step of `series` in words: its size and the commit range it happened in, e.g.
/// `+5.1 % at run 23 (commit 0123abcd; after 89ab0123, 2 runs possible)`.
pub fn describe_step(records: &[Record], series: &Series, step: &Step) -> String {
    let commit = |i: usize| records[series.points[i].0].short_commit();
    let run_no = |i: usize| series.points[i].0 + 1;
    let place = if step.earliest == step.latest {
        format!(
            "at run {} (commit {}, after {})",
            run_no(step.at),
            commit(step.at),
            commit(step.at - 1)
        )
    } else {
        format!(
            "at run {}, somewhere in runs {}–{} (commits after {} up to {})",
            run_no(step.at),
            run_no(step.earliest),
            run_no(step.latest),
            commit(step.earliest - 1),
            commit(step.latest)
        )
    };
    format!("{:+.1} % {place}", step.change_pct())
}

/// The report for `series` of `records` read from `source`, over at most the `last` runs for
/// the sparkline (steps are searched over the whole history).
pub fn render(source: &str, records: &[Record], series: &[Series], last: usize) -> String {
    let mut out = String::new();
    let commits = |r: Option<&Record>| r.map_or_else(|| "?".into(), Record::short_commit);
    let _ = writeln!(
        out,
        "== {source}: {} run(s), commits {} … {}",
        records.len(),
        commits(records.first()),
        commits(records.last())
    );
    let width = series
        .iter()
        .map(|s| s.id.chars().count())
        .max()
        .unwrap_or(9)
        .max(9);
    let _ = writeln!(
        out,
        "{:<width$}  {:>14}  {:<last$}  steps",
        "benchmark", "latest", "trend"
    );
    for s in series {
        let values = s.values();
        let Some((_, latest)) = s.points.last() else {
            continue;
        };
        let metric = records[s.points[0].0].metric;
        let quantity = Quantity::of(metric, latest.throughput);
        let shown: Vec<f64> = values.iter().map(|v| quantity.base(*v)).collect();
        let tail = &shown[shown.len().saturating_sub(last)..];
        let fit = changepoint::find(&values);
        let steps: Vec<String> = fit
            .steps
            .iter()
            .map(|st| describe_step(records, s, st))
            .collect();
        let _ = writeln!(
            out,
            "{:<width$}  {:>14}  {:<last$}  {}",
            s.id,
            quantity.format(latest.estimate),
            sparkline(tail),
            if steps.is_empty() {
                format!("none (noise ±{:.1} %)", fit.sigma * 100.0)
            } else {
                steps.join("; ")
            }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_span_the_blocks() {
        assert_eq!(sparkline(&[1.0, 2.0, 3.0]), "▁▅█");
        assert_eq!(sparkline(&[4.0, 4.0]), "▅▅");
        assert_eq!(sparkline(&[]), "");
    }
}
