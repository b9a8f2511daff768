//! Markdown for a pull-request comment: a table with regressions in bold and the basis notes.

use super::{compare_cells, compare_footer, compare_reasons, fmt_rate, fmt_value, Format};
use crate::baseline::compare::{Comparison, Verdict};
use crate::baseline::summary::Summary;

/// GitHub-flavoured markdown.
pub struct Markdown;

/// `s` on one line: control characters written as escapes (a newline would end a table row,
/// a list item or a quote).
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Plain text that stays inside one table cell: on one line, `|` escaped (GFM splits cells on
/// it, even inside code spans).
fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

/// `text` as a code span, shown as it is. The backtick fence is one longer than the longest
/// run of backticks in `text`, so none of them closes the span; a space pads each side when
/// `text` begins or ends with a backtick, or with spaces on both sides (markdown strips one of
/// each).
fn code(text: &str) -> String {
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if text.starts_with('`')
        || text.ends_with('`')
        || (text.starts_with(' ') && text.ends_with(' '))
    {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

impl Format for Markdown {
    fn summary(&self, s: &Summary) -> anyhow::Result<String> {
        let mut out = format!("### Benchmarks: {}\n\n", code(&one_line(&s.baseline)));
        out.push_str("| benchmark | mean | median | std dev | mean CI | throughput |\n");
        out.push_str("|---|---:|---:|---:|---|---:|\n");
        for r in &s.benchmarks {
            out.push_str(&format!(
                "| {} | {} | {} | {} | [{}, {}] | {} |\n",
                code(&cell(&r.id)),
                fmt_value(r.mean_ns, s.metric),
                fmt_value(r.median_ns, s.metric),
                fmt_value(r.std_dev_ns, s.metric),
                fmt_value(r.ci_ns[0], s.metric),
                fmt_value(r.ci_ns[1], s.metric),
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
            let [old, new, change, ci, p, detectable, basis, policy] =
                compare_cells(r, c.metric, ", ");
            out.push_str(&format!(
                "| {}{} | {old} | {new} | {change} | {ci} | {p} | {detectable} | {basis} | \
                 {policy} | {verdict} |\n",
                code(&cell(&r.id)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::summary::SummaryRow;

    fn row(id: &str) -> SummaryRow {
        SummaryRow {
            id: id.into(),
            mean_ns: 100.0,
            median_ns: 99.0,
            std_dev_ns: 1.0,
            ci_ns: [98.0, 102.0],
            confidence_level: 0.95,
            samples: 10,
            throughput: None,
        }
    }

    /// A table row's cells, split as GFM does: on every `|` not escaped by a backslash.
    fn cells(line: &str) -> Vec<String> {
        let inner = line
            .strip_prefix('|')
            .and_then(|l| l.strip_suffix('|'))
            .unwrap_or_else(|| panic!("not a table row: {line:?}"));
        let mut cells = vec![String::new()];
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'|') => {
                    cells.last_mut().unwrap().push('|');
                    chars.next();
                }
                '|' => cells.push(String::new()),
                c => cells.last_mut().unwrap().push(c),
            }
        }
        cells.iter().map(|c| c.trim().to_string()).collect()
    }

    /// The text of a cell that is exactly one code span, as CommonMark reads it.
    fn code_span(cell: &str) -> String {
        let fence_len = cell.len() - cell.trim_start_matches('`').len();
        assert!(fence_len > 0, "not code: {cell:?}");
        let fence = &cell[..fence_len];
        let inner = cell
            .strip_prefix(fence)
            .and_then(|c| c.strip_suffix(fence))
            .unwrap_or_else(|| panic!("unclosed code span: {cell:?}"));
        assert!(
            !inner.starts_with('`') && !inner.ends_with('`'),
            "the fence is longer than it looks: {cell:?}"
        );
        // A run of exactly the fence's length inside would close the span early.
        assert!(
            inner.split(|c| c != '`').all(|run| run.len() != fence_len),
            "the span closes early: {cell:?}"
        );
        let unpadded = inner
            .strip_prefix(' ')
            .and_then(|i| i.strip_suffix(' '))
            .filter(|_| !inner.trim().is_empty())
            .unwrap_or(inner);
        unpadded.to_string()
    }

    #[test]
    fn ids_with_backticks_pipes_and_newlines_keep_the_table_intact() {
        // (id, what the reader sees)
        let ids = [
            ("grp/plain", "grp/plain"),
            ("a|b", "a|b"),
            ("tick`s", "tick`s"),
            ("``double``", "``double``"),
            ("`edge", "`edge"),
            (" spaced ", " spaced "),
            ("two\nlines", "two\\nlines"),
            ("cr\r\ttab", "cr\\r\\ttab"),
            ("back\\|slash", "back\\|slash"),
        ];
        let summary = Summary {
            metric: crate::policy::Metric::Time,
            schema: crate::baseline::summary::SCHEMA,
            baseline: "main`|".into(),
            source: "test".into(),
            runs: 1,
            benchmarks: ids.iter().map(|(id, _)| row(id)).collect(),
            warnings: vec![crate::baseline::Warning("bad\n| row".into())],
        };
        let text = Markdown.summary(&summary).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let header = lines
            .iter()
            .position(|l| l.starts_with("| benchmark"))
            .unwrap();
        let rows = &lines[header + 2..header + 2 + ids.len()];
        for (line, (_, shown)) in rows.iter().zip(ids) {
            let cells = cells(line);
            assert_eq!(cells.len(), 6, "{line:?}");
            assert_eq!(code_span(&cells[0]), shown, "{line:?}");
        }
        // Nothing after the table looks like a row, and the warning stays one line.
        assert!(
            !lines[header + 2 + ids.len()..]
                .iter()
                .any(|l| l.starts_with('|')),
            "{text}"
        );
        assert!(text.contains("> warning: bad\\n\\| row\n"), "{text}");
        assert_eq!(
            lines[0].strip_prefix("### Benchmarks: ").map(code_span),
            Some("main`|".to_string())
        );
    }

    /// A one-run side measuring `ids`, every sample `ns` per iteration (± a little).
    fn side(ids: &[&str], ns: f64) -> crate::baseline::Loaded {
        let estimate = serde_json::json!({
            "confidence_interval": { "confidence_level": 0.95, "lower_bound": ns, "upper_bound": ns },
            "point_estimate": ns, "standard_error": 0.0,
        });
        let benchmarks: Vec<_> = ids
            .iter()
            .map(|id| {
                serde_json::json!({
                    "id": id, "group_id": "g", "function_id": null, "value_str": null,
                    "throughput": null,
                    "estimates": { "mean": estimate, "median": estimate,
                                   "median_abs_dev": estimate, "std_dev": estimate },
                    "sample": { "iters": [1.0, 2.0, 3.0, 4.0, 5.0],
                                "times": [ns, 2.02 * ns, 2.97 * ns, 4.0 * ns, 5.01 * ns] },
                })
            })
            .collect();
        let run = serde_json::json!({
            "source": "test", "machine": null, "git_commit": null, "created": null,
            "benchmarks": benchmarks,
        });
        crate::baseline::Loaded {
            runs: vec![serde_json::from_value(run).unwrap()],
            warnings: Vec::new(),
        }
    }

    #[test]
    fn compare_rows_escape_ids_too() {
        let ids = ["a|b", "tick`s", "two\nlines"];
        let comparison = crate::baseline::compare::compare(
            "old",
            &side(&ids, 100.0),
            "new",
            &side(&ids, 101.0),
            &crate::baseline::compare::Options::default(),
        );
        let text = Markdown.compare(&comparison).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let header = lines
            .iter()
            .position(|l| l.starts_with("| benchmark"))
            .unwrap();
        let rows: Vec<&str> = lines[header + 2..]
            .iter()
            .take_while(|l| l.starts_with('|'))
            .copied()
            .collect();
        let mut shown: Vec<String> = rows
            .iter()
            .map(|line| {
                let cells = cells(line);
                assert_eq!(cells.len(), 10, "{line:?}");
                code_span(&cells[0])
            })
            .collect();
        shown.sort();
        assert_eq!(shown, ["a|b", "tick`s", "two\\nlines"], "{text}");
    }
}
