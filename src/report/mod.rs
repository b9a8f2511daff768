//! Output formats for summaries and comparisons: one file per format behind [`Format`].
//!
//! | format     | for                                                        |
//! |------------|------------------------------------------------------------|
//! | `table`    | a terminal (tabled)                                        |
//! | `json`     | tools; carries `"schema"` (`tickbench.summary.v1` / `…compare.v1`) |
//! | `markdown` | a pull-request comment                                     |
//! | `bmf`      | Bencher Metric Format (`bencher run --adapter json`)       |
//! | `github`   | github-action-benchmark's `customSmallerIsBetter` input    |
//!
//! `tickbench report --html DIR` writes a static page instead ([`html`]); [`units`] picks the
//! unit a figure is shown in.
//!
//! `bmf` and `github` carry measurements, not verdicts: for a comparison they export the new
//! side, so the service keeps its own history.

mod bmf;
mod github;
pub mod html;
mod json;
mod markdown;
mod table;
pub mod units;

use std::path::Path;

use anyhow::Context;

use crate::baseline::compare::{
    Basis, BenchmarkComparison, Comparison, DriftBasis, SideStats, Verdict,
};
use crate::baseline::summary::Summary;

/// An output format. Each method returns the whole document.
pub trait Format {
    /// Renders a one-baseline summary.
    fn summary(&self, summary: &Summary) -> anyhow::Result<String>;
    /// Renders a comparison.
    fn compare(&self, comparison: &Comparison) -> anyhow::Result<String>;
}

/// The formats the CLI offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatKind {
    /// Aligned table for a terminal.
    Table,
    /// JSON with a `schema` field.
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
    /// Bencher Metric Format.
    Bmf,
    /// github-action-benchmark `customSmallerIsBetter`.
    Github,
}

impl FormatKind {
    /// The formatter for this kind.
    pub fn formatter(self) -> Box<dyn Format> {
        match self {
            FormatKind::Table => Box::new(table::Table),
            FormatKind::Json => Box::new(json::Json),
            FormatKind::Markdown => Box::new(markdown::Markdown),
            FormatKind::Bmf => Box::new(bmf::Bmf),
            FormatKind::Github => Box::new(github::Github),
        }
    }
}

/// Writes `text` to `out` (with [`crate::fsio::write_atomic`]), or to stdout when `out` is
/// `None` or `-`. A stdout closed by its reader (`tickbench summary x | head`) is not an error:
/// the reader has all it wanted.
pub fn write_output(out: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(path) if path != Path::new("-") => crate::fsio::write_atomic(path, text.as_bytes()),
        _ => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            let written = stdout.write_all(text.as_bytes()).and_then(|()| {
                if text.ends_with('\n') {
                    Ok(())
                } else {
                    stdout.write_all(b"\n")
                }
            });
            match written.and_then(|()| stdout.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("cannot write to stdout"),
            }
        }
    }
}

/// A time in ns with a readable unit, e.g. `1.234 µs`.
pub fn fmt_ns(ns: f64) -> String {
    fmt_scaled(ns, units::Quantity::Time)
}

/// An instruction count with a readable unit, e.g. `118.700 Ir`, `1.234 MIr`.
pub fn fmt_count(ir: f64) -> String {
    fmt_scaled(ir, units::Quantity::Count)
}

/// `value` in the unit [`units::Quantity::scale`] picks for it, with three decimals.
fn fmt_scaled(value: f64, quantity: units::Quantity) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    let (divisor, unit) = quantity.scale(value);
    format!("{:.3} {unit}", value / divisor)
}

/// A per-iteration figure of `metric` with a readable unit.
pub fn fmt_value(value: f64, metric: crate::policy::Metric) -> String {
    match metric {
        crate::policy::Metric::Time => fmt_ns(value),
        crate::policy::Metric::Instructions => fmt_count(value),
    }
}

/// A signed percentage, e.g. `+4.2 %`.
pub fn fmt_pct(pct: Option<f64>) -> String {
    pct.map_or_else(|| "—".into(), |p| format!("{p:+.1} %"))
}

/// A rate with an SI prefix, e.g. `12.3 Melem/s`.
pub fn fmt_rate(per_second: f64, unit: &str) -> String {
    let (value, prefix) = match per_second {
        x if x >= 1e9 => (x / 1e9, "G"),
        x if x >= 1e6 => (x / 1e6, "M"),
        x if x >= 1e3 => (x / 1e3, "k"),
        x => (x, ""),
    };
    format!("{value:.2} {prefix}{unit}")
}

/// The verdict as shown in tables: significant changes stand out.
pub fn verdict_label(b: &BenchmarkComparison) -> String {
    let label: String = match b.verdict {
        Verdict::Regressed => "REGRESSED ▲".into(),
        Verdict::Improved => "improved ▼".into(),
        Verdict::Unreadable => "UNREADABLE".into(),
        Verdict::Unchanged if b.significant && !b.anchor => {
            "unchanged (significant, below threshold)".into()
        }
        v => v.as_str().into(),
    };
    if b.policy.advisory && matches!(b.verdict, Verdict::Regressed | Verdict::Improved) {
        format!("{label} (advisory)")
    } else {
        label
    }
}

/// The policy cell of a row: the required change and whether it is advisory.
pub fn policy_cell(b: &BenchmarkComparison) -> String {
    let threshold = if b.required_pct > 0.0 {
        b.required_pct
    } else {
        b.policy.threshold_pct
    };
    let mut cell = format!("{threshold:.0} %");
    if b.policy.advisory {
        cell.push_str(" advisory");
    }
    if b.policy.direction == crate::policy::Direction::LargerIsBetter {
        cell.push_str(" ↑better");
    }
    cell
}

/// The cells shared by the text formats' compare rows, in column order: old, new, change, CI,
/// p, detectable, basis, policy. `ci_sep` goes between the interval's bounds (`" "` in tables,
/// `", "` in markdown).
pub fn compare_cells(
    b: &BenchmarkComparison,
    metric: crate::policy::Metric,
    ci_sep: &str,
) -> [String; 8] {
    let estimate = |s: &Option<SideStats>| {
        s.as_ref()
            .map_or_else(String::new, |s| fmt_value(s.estimate_ns, metric))
    };
    [
        estimate(&b.old),
        estimate(&b.new),
        match b.basis {
            Some(Basis::Exact) => b
                .change_pct
                .map_or_else(|| "—".into(), |p| format!("{p:+.2} %")),
            _ => fmt_pct(b.change_pct),
        },
        b.ci_pct.map_or_else(String::new, |[lo, hi]| match b.basis {
            // Exact changes of 1 % need the second decimal.
            Some(Basis::Exact) => format!("[{lo:+.2}{ci_sep}{hi:+.2}]"),
            _ => format!("[{lo:+.1}{ci_sep}{hi:+.1}]"),
        }),
        b.p_value.map_or_else(String::new, |p| format!("{p:.3}")),
        b.detectable_pct
            .map_or_else(String::new, |d| format!("±{d:.1} %")),
        b.basis.map_or("", |b| b.as_str()).into(),
        policy_cell(b),
    ]
}

/// The column heads matching [`compare_cells`], with the benchmark and verdict columns.
pub const COMPARE_HEADS: [&str; 10] = [
    "benchmark",
    "old",
    "new",
    "change",
    "CI",
    "p",
    "detectable",
    "basis",
    "policy",
    "verdict",
];

/// The footer lines of a compare of instruction counts, after the shared ones.
fn count_footer(c: &Comparison, lines: &mut Vec<String>) {
    lines.push(
        "old/new: instructions per iteration under callgrind (the difference of two counted \
         calls of A and 2A iterations, over A); verdict basis exact: regressed/improved beyond \
         the row's threshold, and beyond the spread of repeated counts where they differed \
         (inconclusive when that spread reaches the threshold)"
            .into(),
    );
    lines.push(match &c.options.policy_file {
        Some(file) => format!(
            "policy: {file} (instructions default: {} %)",
            crate::policy::DEFAULT_COUNT_THRESHOLD_PCT
        ),
        None => format!(
            "policy: none (every benchmark: {} %)",
            c.options
                .threshold_pct
                .unwrap_or(crate::policy::DEFAULT_COUNT_THRESHOLD_PCT)
        ),
    });
    for b in &c.benchmarks {
        if b.functions.is_empty() && b.diff_flamegraph.is_none() {
            continue;
        }
        lines.push(format!(
            "{} {}: where it changed (inclusive instructions per iteration old → new, change, \
             change of its own instructions):",
            b.id,
            b.verdict.as_str()
        ));
        for f in &b.functions {
            lines.push(format!(
                "    {:>10} → {:>10}  {:>9}  self {:>+8.2} Ir  {}",
                fmt_count(f.old),
                fmt_count(f.new),
                f.change_pct
                    .map_or_else(|| "new".into(), |p| format!("{p:+.2} %")),
                f.self_change,
                f.function
            ));
        }
        if let Some(path) = &b.diff_flamegraph {
            lines.push(format!("    differential flamegraph: {path}"));
        }
    }
}

/// `id: reason` for every row that has one (inconclusive, unreadable), in row order.
pub fn compare_reasons(c: &Comparison) -> Vec<String> {
    c.benchmarks
        .iter()
        .filter_map(|b| {
            b.reason
                .as_ref()
                .map(|r| format!("{} ({}): {r}", b.id, b.verdict.as_str()))
        })
        .collect()
}

/// The account of a comparison's counts, sides, drift, method and policy, shared by the text
/// formats, one line each.
pub fn compare_footer(c: &Comparison) -> Vec<String> {
    let mut lines = Vec::new();
    let s = &c.summary;
    let advisory = s.regressed - c.failing().count();
    lines.push(format!(
        "{} regressed{}, {} improved, {} inconclusive, {} unchanged, {} added, {} removed, {} \
         unreadable",
        s.regressed,
        if advisory > 0 {
            format!(" ({advisory} under an advisory policy: not failing)")
        } else {
            String::new()
        },
        s.improved,
        s.inconclusive,
        s.unchanged,
        s.added,
        s.removed,
        s.unreadable
    ));
    let runs = |n: usize| format!("{n} run{}", if n == 1 { "" } else { "s" });
    lines.push(format!(
        "old: {} ({}); new: {} ({})",
        c.old.spec,
        runs(c.old.runs.len()),
        c.new.spec,
        runs(c.new.runs.len()),
    ));
    let d = &c.drift;
    let moved = d.common_change_pct.map_or_else(String::new, |m| {
        format!("; the median benchmark moved {m:+.1} % before correction")
    });
    lines.push(match d.basis {
        DriftBasis::Canary => format!(
            "drift basis canary: {:+.1} % estimated from {} canary benchmark(s) and removed{moved} \
             ({})",
            d.change_pct, d.anchors, d.caveat
        ),
        _ => format!(
            "drift basis {}: not corrected{moved} ({})",
            d.basis.as_str(),
            d.caveat
        ),
    });
    let o = &c.options;
    if c.metric == crate::policy::Metric::Instructions {
        count_footer(c, &mut lines);
        return lines;
    }
    lines.push(format!(
        "old/new: {} of each run's per-iteration times (geometric mean over runs)",
        o.estimator.describe()
    ));
    lines.push(format!(
        "verdict: regressed/improved when significant (p < {}) and beyond the row's policy \
         threshold (× {} for basis single-run); inconclusive when a run has fewer than {} \
         samples, changed speed while it ran, or the noise cannot resolve the threshold \
         ('detectable': the smallest change this compare could tell from noise); change, CI \
         and p describe the same difference of estimates",
        o.significance,
        o.single_run_factor,
        crate::baseline::compare::MIN_SAMPLES
    ));
    lines.push(match &o.policy_file {
        Some(file) => format!("policy: {file}"),
        None => format!(
            "policy: none (every benchmark: {} %)",
            o.threshold_pct
                .unwrap_or(crate::policy::DEFAULT_THRESHOLD_PCT)
        ),
    });
    if s.inconclusive > 0 {
        lines.push(format!(
            "{} inconclusive: the data cannot tell, so they count neither way; re-run them, \
             store more runs of the reference (tickbench save RUN --as NAME --append), or \
             raise their threshold in the policy",
            s.inconclusive
        ));
    }
    if s.unreadable > 0 {
        lines.push(format!(
            "{} unreadable: their files are named above; the compare exits 2 unless \
             --allow-unreadable is given",
            s.unreadable
        ));
    }
    lines
}
