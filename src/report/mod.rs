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
//! `bmf` and `github` carry measurements, not verdicts: for a comparison they export the new
//! side, so the service keeps its own history.

mod bmf;
mod github;
mod json;
mod markdown;
mod table;

use std::path::Path;

use anyhow::Context;

use crate::baseline::compare::Comparison;
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
    if !ns.is_finite() {
        return format!("{ns}");
    }
    let (value, unit) = match ns.abs() {
        x if x >= 1e9 => (ns / 1e9, "s"),
        x if x >= 1e6 => (ns / 1e6, "ms"),
        x if x >= 1e3 => (ns / 1e3, "µs"),
        _ => (ns, "ns"),
    };
    format!("{value:.3} {unit}")
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
pub fn verdict_label(b: &crate::baseline::compare::BenchmarkComparison) -> String {
    use crate::baseline::compare::Verdict;
    match b.verdict {
        Verdict::Regressed => "REGRESSED ▲".into(),
        Verdict::Improved => "improved ▼".into(),
        Verdict::Unchanged if b.significant => "unchanged (significant, below threshold)".into(),
        v => v.as_str().into(),
    }
}

/// The cells shared by the text formats' compare rows, in column order: old, new, change, CI,
/// p, basis. `ci_sep` goes between the interval's bounds (`" "` in tables, `", "` in markdown).
pub fn compare_cells(
    b: &crate::baseline::compare::BenchmarkComparison,
    ci_sep: &str,
) -> [String; 6] {
    use crate::baseline::compare::SideStats;
    let estimate = |s: &Option<SideStats>| {
        s.as_ref()
            .map_or_else(String::new, |s| fmt_ns(s.estimate_ns))
    };
    [
        estimate(&b.old),
        estimate(&b.new),
        fmt_pct(b.change_pct),
        b.ci_pct.map_or_else(String::new, |[lo, hi]| {
            format!("[{lo:+.1}{ci_sep}{hi:+.1}]")
        }),
        b.p_value.map_or_else(String::new, |p| format!("{p:.3}")),
        b.basis.map_or("", |b| b.as_str()).into(),
    ]
}

/// The one-line account of a comparison's basis, drift and counts, shared by text formats.
pub fn compare_footer(c: &Comparison) -> Vec<String> {
    let mut lines = Vec::new();
    let s = &c.summary;
    lines.push(format!(
        "{} regressed, {} improved, {} unchanged, {} added, {} removed",
        s.regressed, s.improved, s.unchanged, s.added, s.removed
    ));
    lines.push(format!(
        "old: {} ({} run{}); new: {} ({} run{})",
        c.old.spec,
        c.old.runs.len(),
        if c.old.runs.len() == 1 { "" } else { "s" },
        c.new.spec,
        c.new.runs.len(),
        if c.new.runs.len() == 1 { "" } else { "s" },
    ));
    let drift = match c.drift.basis.as_str() {
        "canary" => format!(
            "machine drift {:+.1} % estimated from {} canary benchmark(s) and removed",
            c.drift.change_pct, c.drift.anchors
        ),
        "all-benchmarks" => format!(
            "machine drift {:+.1} % estimated from the median of {} benchmarks (no '{}' canary \
             found: a change that slows most benchmarks at once is partly hidden)",
            c.drift.change_pct, c.drift.anchors, c.options.canary_prefix
        ),
        _ => "no drift correction".into(),
    };
    lines.push(drift);
    lines.push(format!(
        "old/new: the {} per-iteration time of each run (geometric mean over runs)",
        c.options.estimator.as_str()
    ));
    let o = &c.options;
    lines.push(format!(
        "verdict: significant (p < {}) and beyond {} % (basis runs: noise between repeated runs) \
         or {} % (basis single-run: one run per side, within-run statistics only)",
        o.significance,
        o.threshold_pct,
        o.threshold_pct * o.single_run_factor
    ));
    lines
}
