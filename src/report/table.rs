//! Terminal tables rendered with tabled; significant changes are marked in the verdict column.

use tabled::builder::Builder;
use tabled::settings::Style;

use super::{
    compare_cells, compare_footer, compare_reasons, fmt_rate, fmt_value, verdict_label, Format,
    COMPARE_HEADS,
};
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
                fmt_value(r.mean_ns, s.metric),
                fmt_value(r.median_ns, s.metric),
                fmt_value(r.std_dev_ns, s.metric),
                format!(
                    "[{} {}]",
                    fmt_value(r.ci_ns[0], s.metric),
                    fmt_value(r.ci_ns[1], s.metric)
                ),
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
        b.push_record(COMPARE_HEADS);
        for r in &c.benchmarks {
            let id = if r.anchor {
                format!("{} (anchor)", r.id)
            } else {
                r.id.clone()
            };
            let [old, new, change, ci, p, detectable, basis, policy] =
                compare_cells(r, c.metric, " ");
            b.push_record([
                id,
                old,
                new,
                change,
                ci,
                p,
                detectable,
                basis,
                policy,
                verdict_label(r),
            ]);
        }
        let mut out = render(b);
        out.push('\n');
        for line in compare_reasons(c) {
            out.push_str(&format!("  {line}\n"));
        }
        for line in compare_footer(c) {
            out.push_str(&line);
            out.push('\n');
        }
        Ok(out)
    }
}
