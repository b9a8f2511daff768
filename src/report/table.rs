//! Terminal tables rendered with tabled; significant changes are marked in the verdict column.

use tabled::builder::Builder;
use tabled::settings::Style;

use super::{compare_footer, fmt_ns, fmt_pct, fmt_rate, verdict_label, Format};
use crate::baseline::compare::Comparison;
use crate::baseline::summary::Summary;

/// A rounded tabled table followed by notes (warnings go to stderr, not into the table).
pub struct Table;

fn render(builder: Builder) -> String {
    let mut table = builder.build();
    table.with(Style::rounded());
    table.to_string()
}

impl Format for Table {
    fn summary(&self, s: &Summary) -> anyhow::Result<String> {
        let mut b = Builder::default();
        b.push_record([
            "benchmark",
            "mean",
            "median",
            "std dev",
            "mean CI",
            "throughput",
        ]);
        for r in &s.benchmarks {
            b.push_record([
                r.id.clone(),
                fmt_ns(r.mean_ns),
                fmt_ns(r.median_ns),
                fmt_ns(r.std_dev_ns),
                format!("[{} {}]", fmt_ns(r.ci_ns[0]), fmt_ns(r.ci_ns[1])),
                r.throughput
                    .as_ref()
                    .map_or_else(String::new, |t| fmt_rate(t.per_second, &t.unit)),
            ]);
        }
        let mut out = format!("{} — {} ({} run(s))\n", s.baseline, s.source, s.runs);
        out.push_str(&render(b));
        out.push('\n');
        Ok(out)
    }

    fn compare(&self, c: &Comparison) -> anyhow::Result<String> {
        let mut b = Builder::default();
        b.push_record([
            "benchmark",
            "old",
            "new",
            "change",
            "CI",
            "p",
            "basis",
            "verdict",
        ]);
        for r in &c.benchmarks {
            b.push_record([
                if r.anchor {
                    format!("{} (anchor)", r.id)
                } else {
                    r.id.clone()
                },
                r.old
                    .as_ref()
                    .map_or_else(String::new, |s| fmt_ns(s.estimate_ns)),
                r.new
                    .as_ref()
                    .map_or_else(String::new, |s| fmt_ns(s.estimate_ns)),
                fmt_pct(r.change_pct),
                r.ci_pct
                    .map_or_else(String::new, |[lo, hi]| format!("[{lo:+.1} {hi:+.1}]")),
                r.p_value.map_or_else(String::new, |p| format!("{p:.3}")),
                r.basis.map_or("", |b| b.as_str()).into(),
                verdict_label(r),
            ]);
        }
        let mut out = render(b);
        out.push('\n');
        for line in compare_footer(c) {
            out.push_str(&line);
            out.push('\n');
        }
        Ok(out)
    }
}
