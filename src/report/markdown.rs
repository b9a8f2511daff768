//! Markdown for a pull-request comment: a table with regressions in bold and the basis notes.

use super::{compare_cells, compare_footer, compare_reasons, fmt_ns, fmt_rate, Format};
use crate::baseline::compare::{Comparison, Verdict};
use crate::baseline::summary::Summary;

/// GitHub-flavoured markdown.
pub struct Markdown;

/// Escapes characters that would break a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

impl Format for Markdown {
    fn summary(&self, s: &Summary) -> anyhow::Result<String> {
        let mut out = format!("### Benchmarks: `{}`\n\n", cell(&s.baseline));
        out.push_str("| benchmark | mean | median | std dev | mean CI | throughput |\n");
        out.push_str("|---|---:|---:|---:|---|---:|\n");
        for r in &s.benchmarks {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | [{}, {}] | {} |\n",
                cell(&r.id),
                fmt_ns(r.mean_ns),
                fmt_ns(r.median_ns),
                fmt_ns(r.std_dev_ns),
                fmt_ns(r.ci_ns[0]),
                fmt_ns(r.ci_ns[1]),
                r.throughput
                    .as_ref()
                    .map_or_else(String::new, |t| fmt_rate(t.per_second, &t.unit)),
            ));
        }
        for w in &s.warnings {
            out.push_str(&format!("\n> warning: {}\n", cell(&w.0)));
        }
        Ok(out)
    }

    fn compare(&self, c: &Comparison) -> anyhow::Result<String> {
        let mut out = String::from("### Benchmark comparison\n\n");
        out.push_str(
            "| benchmark | old | new | change | CI | p | detectable | basis | policy | verdict |\n",
        );
        out.push_str("|---|---:|---:|---:|---|---:|---:|---|---|---|\n");
        for r in &c.benchmarks {
            let verdict = match r.verdict {
                Verdict::Regressed => "🔴 **regressed**".to_string(),
                Verdict::Improved => "🟢 **improved**".to_string(),
                Verdict::Unreadable => "⛔ **unreadable**".to_string(),
                Verdict::Inconclusive => "❔ inconclusive".to_string(),
                v => v.as_str().to_string(),
            };
            let [old, new, change, ci, p, detectable, basis, policy] = compare_cells(r, ", ");
            out.push_str(&format!(
                "| `{}`{} | {old} | {new} | {change} | {ci} | {p} | {detectable} | {basis} | \
                 {policy} | {verdict} |\n",
                cell(&r.id),
                if r.anchor { " (anchor)" } else { "" },
            ));
        }
        let reasons = compare_reasons(c);
        if !reasons.is_empty() {
            out.push('\n');
            for line in reasons {
                out.push_str(&format!("- {}\n", cell(&line)));
            }
        }
        out.push('\n');
        for line in compare_footer(c) {
            out.push_str(&format!("- {}\n", cell(&line)));
        }
        for w in &c.warnings {
            out.push_str(&format!("- ⚠️ {}\n", cell(&w.0)));
        }
        Ok(out)
    }
}
