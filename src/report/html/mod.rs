//! `tickbench report --html DIR` (and the end of `tickbench bench`): one static page,
//! `DIR/index.html`, that opens from `file://` with no network. Charts are inline SVG drawn
//! from the data by [`svg`]; the only script sorts the tables and records script errors on the
//! page (`data-errors` on `<html>`, which the browser test reads).
//!
//! The page shows, when given:
//!
//! 1. the latest compare: the verdict table (grouped by Criterion group, sortable by any
//!    column), each row with its samples old above new and the basis of its verdict; without a
//!    compare, the latest run's figures;
//! 2. per benchmark of each history: the trend over the recorded runs with the change points
//!    marked (the step's commit range shaded, the commit and size on hover and in the caption),
//!    in ns/µs/ms, Ir/KIr/MIr for counts, or elem/s and B/s where the bench declared a
//!    throughput;
//! 3. links to the benchmark's Criterion directory, Criterion's own report when it exists
//!    (`--features criterion-html`), and any flamegraph SVG found there (`profile/*.svg`,
//!    differential ones included);
//! 4. each load-test file (`tickbench loadtest --out`, `tickbench.loadtest.v2`) as a latency
//!    percentile curve with its floor and SLA limits, and the SLA verdict.

pub mod svg;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use self::svg::{esc, Curve, Mark, TrendPoint};
use crate::baseline::compare::{BenchmarkComparison, Comparison};
use crate::baseline::{Loaded, Throughput};
use crate::history::{self, changepoint, Record};
use crate::policy::Metric;
use crate::report::units::{significant, Quantity};

/// One history file, read.
#[derive(Clone, Debug)]
pub struct History {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its runs, oldest first.
    pub records: Vec<Record>,
}

impl History {
    /// Reads a history file ([`history::read`]).
    pub fn read(path: &Path) -> anyhow::Result<History> {
        Ok(History {
            path: path.to_path_buf(),
            records: history::read(path)?,
        })
    }
}

/// One load-test report file: its run objects.
#[derive(Clone, Debug)]
pub struct LoadFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The run objects (one, or a progressive run's several).
    pub runs: Vec<serde_json::Value>,
}

/// The schema of the load-test files this page reads.
const LOADTEST_SCHEMA: &str = "tickbench.loadtest.v2";

impl LoadFile {
    /// Reads a `tickbench loadtest --out` file; anything but `tickbench.loadtest.v2` run objects
    /// (a calibration, another schema, not JSON) is an error naming the file.
    pub fn read(path: &Path) -> anyhow::Result<LoadFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read load-test file {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("load-test file {} is not valid JSON", path.display()))?;
        let runs = match value {
            serde_json::Value::Array(runs) => runs,
            one => vec![one],
        };
        if runs.is_empty() {
            bail!("load-test file {} holds no run", path.display());
        }
        for (i, run) in runs.iter().enumerate() {
            let schema = run.get("schema").and_then(|s| s.as_str());
            if schema != Some(LOADTEST_SCHEMA) {
                bail!(
                    "load-test file {} (object {}) has schema {:?}, expected '{LOADTEST_SCHEMA}'",
                    path.display(),
                    i + 1,
                    schema.unwrap_or("none")
                );
            }
            if run.get("kind").and_then(|k| k.as_str()) != Some("run") {
                bail!(
                    "load-test file {} (object {}) is not a run (a calibration has no \
                     percentiles to draw)",
                    path.display(),
                    i + 1
                );
            }
        }
        Ok(LoadFile {
            path: path.to_path_buf(),
            runs,
        })
    }
}

/// What the page is made from; every part is optional.
#[derive(Default)]
pub struct Inputs<'a> {
    /// The latest compare, with the runs of its two sides (for the sample charts).
    pub comparison: Option<(&'a Comparison, &'a Loaded, &'a Loaded)>,
    /// The latest run alone, when there is no compare: `(name, runs)`.
    pub run: Option<(&'a str, &'a Loaded)>,
    /// History files.
    pub histories: Vec<History>,
    /// Load-test files.
    pub loadtests: Vec<LoadFile>,
    /// Criterion's directory, for links to its files and flamegraphs.
    pub criterion_root: Option<PathBuf>,
    /// Lines for the page's header (what was run, what was appended).
    pub notes: Vec<String>,
}

/// Writes the page to `dir/index.html` (creating `dir`) and returns that path. `dir` must be a
/// directory or absent.
pub fn write(dir: &Path, inputs: &Inputs) -> anyhow::Result<PathBuf> {
    if dir.exists() && !dir.is_dir() {
        bail!("--html {}: exists and is not a directory", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let index = dir.join("index.html");
    let page = render(inputs, dir);
    crate::fsio::write_atomic(&index, page.as_bytes())?;
    Ok(index)
}

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 4px}
table{border-collapse:collapse}th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:middle}
th{cursor:pointer;background:#f6f6f6;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.group td{background:#fafafa;font-weight:600}
.regressed{color:#b00020;font-weight:600}.improved{color:#1b7f3b;font-weight:600}.inconclusive{color:#8a6d00}
.unreadable{color:#b00020}.muted{color:#777}.card{margin:12px 0 24px}
svg.chart{background:#fff;display:block}
svg .grid{stroke:#eee}svg .tick,svg .unit,svg .legend{font:10px sans-serif;fill:#555}
svg .pt{fill:#3366cc}svg .pt.old{fill:#999}svg .box{fill:#3366cc22;stroke:#3366cc}svg .box.old{fill:#9992;stroke:#999}
svg .median{stroke:#222}svg .line{fill:none;stroke:#3366cc88}svg .level{fill:none;stroke:#e08000;stroke-width:1.5}
svg .ci{stroke:#3366cc44;fill:none}svg .cp{stroke:#b00020;stroke-width:1.5;stroke-dasharray:4 3}svg .cp-range{fill:#b0002014}
svg .limit{stroke:#b00020;stroke-width:2}svg .series{fill:none;stroke-width:1.5}
svg .s0{stroke:#3366cc;fill:#3366cc}svg .s1{stroke:#e08000;fill:#e08000}svg .s2{stroke:#1b7f3b;fill:#1b7f3b}
svg .s3{stroke:#7b1fa2;fill:#7b1fa2}svg .s4{stroke:#00838f;fill:#00838f}svg .s5{stroke:#555;fill:#555}
svg polyline.series{fill:none}svg text.legend{stroke:none}
";

/// Records script errors on the page itself, so a headless browser's DOM dump shows them.
const ERRORS_SCRIPT: &str =
    "window.addEventListener('error',function(e){var h=document.documentElement;\
h.setAttribute('data-errors',(h.getAttribute('data-errors')||'')+(e.message||'error')+';');});";

/// Sorts a table by the clicked column: numbers by `data-sort`, else by text.
const SORT_SCRIPT: &str = "document.querySelectorAll('table.sortable th').forEach(function(th,col){\
th.addEventListener('click',function(){var tb=th.closest('table').tBodies[0];\
var rows=Array.prototype.slice.call(tb.rows).filter(function(r){return !r.classList.contains('group')});\
var asc=th.getAttribute('data-asc')!=='1';th.setAttribute('data-asc',asc?'1':'0');\
var key=function(r){var c=r.cells[col];var s=c.getAttribute('data-sort');return s!==null?parseFloat(s):c.textContent};\
rows.sort(function(a,b){var x=key(a),y=key(b);var d=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));return asc?d:-d});\
tb.querySelectorAll('tr.group').forEach(function(g){g.remove()});rows.forEach(function(r){tb.appendChild(r)});});});";

/// The page.
pub fn render(inputs: &Inputs, dir: &Path) -> String {
    let links = Links::new(inputs.criterion_root.as_deref(), dir);
    let history_ids: BTreeMap<&str, ()> = inputs
        .histories
        .iter()
        .flat_map(|h| h.records.iter().flat_map(|r| r.benchmarks.iter()))
        .map(|p| (p.id.as_str(), ()))
        .collect();
    let mut out = String::with_capacity(1 << 20);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>tickbench report</title>\
         <script>{ERRORS_SCRIPT}</script><style>{STYLE}</style></head><body><h1>tickbench report</h1>\
         <p class=\"muted\">written {}</p>",
        crate::timestamp::now_rfc3339()
    );
    for note in &inputs.notes {
        let _ = write!(out, "<p>{}</p>", esc(note));
    }
    if let Some(report) = &links.criterion_report {
        let _ = write!(
            out,
            "<p>Criterion's own report: <a href=\"{}\">{}</a></p>",
            esc(report),
            esc(report)
        );
    }
    let mut toc = Vec::new();
    if inputs.comparison.is_some() || inputs.run.is_some() {
        toc.push(("latest", "Latest run"));
    }
    if !inputs.histories.is_empty() {
        toc.push(("history", "History"));
    }
    if !inputs.loadtests.is_empty() {
        toc.push(("loadtest", "Load test"));
    }
    if toc.is_empty() {
        out.push_str("<p>Nothing to show: no run, history or load-test file was given.</p>");
    } else {
        out.push_str("<p>");
        for (anchor, name) in &toc {
            let _ = write!(out, "<a href=\"#{anchor}\">{name}</a> · ");
        }
        out.push_str("</p>");
    }
    if let Some((c, old, new)) = inputs.comparison {
        compare_section(&mut out, c, old, new, &links, &history_ids);
    } else if let Some((name, run)) = inputs.run {
        run_section(&mut out, name, run, &links, &history_ids);
    }
    for h in &inputs.histories {
        history_section(&mut out, h, &links);
    }
    if !inputs.loadtests.is_empty() {
        out.push_str("<h2 id=\"loadtest\">Load test</h2>");
        for l in &inputs.loadtests {
            loadtest_section(&mut out, l);
        }
    }
    let _ = writeln!(out, "<script>{SORT_SCRIPT}</script></body></html>");
    out
}

/// Links from the page to Criterion's files, relative to the page's directory.
struct Links {
    /// Benchmark id → its Criterion directory (relative href).
    dirs: BTreeMap<String, PathBuf>,
    /// The page's directory (absolute).
    page_dir: PathBuf,
    /// Criterion's summary report (`report/index.html`), when html_reports made one.
    criterion_report: Option<String>,
}

impl Links {
    fn new(root: Option<&Path>, page_dir: &Path) -> Links {
        let page_dir = absolute(page_dir);
        let dirs = root
            .and_then(|r| crate::baseline::criterion::benchmark_dirs(r).ok())
            .unwrap_or_default();
        let criterion_report = root
            .map(|r| r.join("report/index.html"))
            .filter(|p| p.is_file())
            .map(|p| href(&page_dir, &p));
        Links {
            dirs,
            page_dir,
            criterion_report,
        }
    }

    /// The links of benchmark `id` as HTML: its Criterion directory, Criterion's report of it,
    /// and any flamegraph.
    fn of(&self, id: &str) -> String {
        let Some(dir) = self.dirs.get(id) else {
            return String::new();
        };
        let mut parts = vec![format!(
            "<a href=\"{}\">Criterion files</a>",
            esc(&href(&self.page_dir, dir))
        )];
        let report = dir.join("report/index.html");
        if report.is_file() {
            parts.push(format!(
                "<a href=\"{}\">Criterion report</a>",
                esc(&href(&self.page_dir, &report))
            ));
        }
        for sub in [dir.join("profile"), dir.to_path_buf()] {
            let Ok(entries) = std::fs::read_dir(&sub) else {
                continue;
            };
            let mut svgs: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension().is_some_and(|x| x == "svg")
                        && p.file_name()
                            .is_some_and(|n| n.to_string_lossy().contains("flamegraph"))
                })
                .collect();
            svgs.sort();
            for svg in svgs {
                let name = svg.file_name().unwrap_or_default().to_string_lossy();
                parts.push(format!(
                    "<a href=\"{}\">{}</a>",
                    esc(&href(&self.page_dir, &svg)),
                    esc(&name)
                ));
            }
        }
        parts.join(" · ")
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    })
}

/// A relative URL from directory `from` to `to` (both made absolute), `/`-separated.
fn href(from: &Path, to: &Path) -> String {
    let to = absolute(to);
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".into(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts
        .iter()
        .map(|p| {
            p.replace('%', "%25")
                .replace('#', "%23")
                .replace('?', "%3F")
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The anchor of benchmark `id`'s history card.
fn anchor(id: &str) -> String {
    let mut a = String::from("h-");
    for c in id.chars() {
        a.push(if c.is_ascii_alphanumeric() { c } else { '-' });
    }
    a
}

/// Per-iteration figures of `id` in every run of `loaded`, in `quantity`'s base unit.
fn samples_of(loaded: &Loaded, id: &str, quantity: &Quantity) -> Option<Vec<f64>> {
    let values: Vec<f64> = loaded
        .runs
        .iter()
        .flat_map(|r| r.benchmarks.iter().filter(|b| b.id == id))
        .flat_map(|b| b.sample.per_iteration())
        .map(|v| quantity.base(v))
        .collect();
    (!values.is_empty()).then_some(values)
}

fn throughput_of(loaded: &Loaded, id: &str) -> Option<Throughput> {
    loaded
        .runs
        .iter()
        .flat_map(|r| r.benchmarks.iter())
        .find(|b| b.id == id)
        .and_then(|b| b.throughput)
}

/// The samples chart of one row, in one scale for both sides.
fn samples_chart(quantity: &Quantity, old: Option<Vec<f64>>, new: Option<Vec<f64>>) -> String {
    let max = old
        .iter()
        .chain(&new)
        .flatten()
        .copied()
        .fold(0.0_f64, f64::max);
    let (div, unit) = quantity.scale(max);
    let scaled =
        |v: Option<Vec<f64>>| v.map(|v| v.into_iter().map(|x| x / div).collect::<Vec<_>>());
    let (old, new) = (scaled(old), scaled(new));
    svg::samples(old.as_deref(), new.as_deref(), &unit)
}

fn group_of(id: &str) -> &str {
    id.split('/').next().unwrap_or(id)
}

fn id_cell(id: &str, history_ids: &BTreeMap<&str, ()>) -> String {
    if history_ids.contains_key(id) {
        format!("<a href=\"#{}\">{}</a>", anchor(id), esc(id))
    } else {
        esc(id)
    }
}

fn compare_section(
    out: &mut String,
    c: &Comparison,
    old: &Loaded,
    new: &Loaded,
    links: &Links,
    history_ids: &BTreeMap<&str, ()>,
) {
    let s = &c.summary;
    let _ = write!(
        out,
        "<h2 id=\"latest\">Latest compare: {} → {}</h2><p><b>{}</b> regressed, {} improved, {} \
         inconclusive, {} unchanged, {} added, {} removed, {} unreadable.</p><ul>",
        esc(&c.old.spec),
        esc(&c.new.spec),
        s.regressed,
        s.improved,
        s.inconclusive,
        s.unchanged,
        s.added,
        s.removed,
        s.unreadable
    );
    for line in crate::report::compare_footer(c).iter().skip(1) {
        let _ = write!(out, "<li class=\"muted\">{}</li>", esc(line));
    }
    for w in &c.warnings {
        let _ = write!(out, "<li>warning: {}</li>", esc(&w.0));
    }
    out.push_str(
        "</ul><table class=\"sortable\"><thead><tr><th>benchmark</th><th>verdict</th>\
         <th>change</th><th>CI</th><th>p</th><th>detectable</th><th>basis</th><th>old</th>\
         <th>new</th><th>samples (old above new)</th><th>links</th></tr></thead><tbody>",
    );
    let mut group = "";
    for b in &c.benchmarks {
        if group_of(&b.id) != group {
            group = group_of(&b.id);
            let _ = write!(
                out,
                "<tr class=\"group\"><td colspan=\"11\">{}</td></tr>",
                esc(group)
            );
        }
        compare_row(out, b, c.metric, old, new, links, history_ids);
    }
    out.push_str("</tbody></table>");
}

fn compare_row(
    out: &mut String,
    b: &BenchmarkComparison,
    metric: Metric,
    old: &Loaded,
    new: &Loaded,
    links: &Links,
    history_ids: &BTreeMap<&str, ()>,
) {
    let throughput = throughput_of(new, &b.id).or_else(|| throughput_of(old, &b.id));
    let quantity = Quantity::of(metric, throughput);
    let side = |s: &Option<crate::baseline::compare::SideStats>| {
        s.as_ref().map_or_else(
            || "<td class=\"num\" data-sort=\"0\"></td>".to_string(),
            |s| {
                format!(
                    "<td class=\"num\" data-sort=\"{}\">{}</td>",
                    s.estimate_ns,
                    esc(&quantity.format(s.estimate_ns))
                )
            },
        )
    };
    let num = |v: Option<f64>, text: String| {
        format!(
            "<td class=\"num\" data-sort=\"{}\">{}</td>",
            v.filter(|v| v.is_finite()).unwrap_or(0.0),
            esc(&text)
        )
    };
    let basis = match (&b.basis, &b.reason) {
        (Some(basis), Some(reason)) => format!("{}: {reason}", basis.as_str()),
        (Some(basis), None) => format!(
            "{} (required {:.0} %{})",
            basis.as_str(),
            b.required_pct,
            if b.policy.advisory { ", advisory" } else { "" }
        ),
        (None, Some(reason)) => reason.clone(),
        (None, None) => String::new(),
    };
    // Counts: the functions that changed, and the differential flamegraph.
    let mut basis = esc(&basis);
    if !b.functions.is_empty() {
        basis.push_str("<ul class=\"functions\">");
        for f in &b.functions {
            let _ = write!(
                basis,
                "<li>{} → {} ({}) {}</li>",
                esc(&quantity.format(f.old)),
                esc(&quantity.format(f.new)),
                f.change_pct
                    .map_or_else(|| "new".into(), |p| format!("{p:+.2} %")),
                esc(&f.function)
            );
        }
        basis.push_str("</ul>");
    }
    let mut row_links = links.of(&b.id);
    if let Some(svg) = &b.diff_flamegraph {
        if !row_links.is_empty() {
            row_links.push_str(" · ");
        }
        let _ = write!(
            row_links,
            "<a href=\"{}\">differential flamegraph</a>",
            esc(&href(&links.page_dir, Path::new(svg)))
        );
    }
    let _ = write!(
        out,
        "<tr data-verdict=\"{v}\"><td>{}</td><td class=\"{v}\">{}</td>{}<td>{}</td>{}{}<td>{}</td>{}{}<td>{}</td><td>{}</td></tr>",
        id_cell(&b.id, history_ids),
        esc(&crate::report::verdict_label(b)),
        num(b.change_pct, crate::report::fmt_pct(b.change_pct)),
        b.ci_pct
            .map_or_else(String::new, |[lo, hi]| format!("[{lo:+.1}, {hi:+.1}] %")),
        num(b.p_value, b.p_value.map_or_else(String::new, |p| format!("{p:.3}"))),
        num(
            b.detectable_pct,
            b.detectable_pct.map_or_else(String::new, |d| format!("±{d:.1} %"))
        ),
        basis,
        side(&b.old),
        side(&b.new),
        samples_chart(
            &quantity,
            samples_of(old, &b.id, &quantity),
            samples_of(new, &b.id, &quantity)
        ),
        row_links,
        v = b.verdict.as_str(),
    );
}

fn run_section(
    out: &mut String,
    name: &str,
    run: &Loaded,
    links: &Links,
    history_ids: &BTreeMap<&str, ()>,
) {
    let _ = write!(
        out,
        "<h2 id=\"latest\">Latest run: {}</h2><p>No stored baseline to compare with: the run's \
         figures only.</p><table class=\"sortable\"><thead><tr><th>benchmark</th>\
         <th>estimate</th><th>samples</th><th>distribution</th><th>links</th></tr></thead><tbody>",
        esc(name)
    );
    let Some(last) = run.runs.last() else {
        out.push_str("</tbody></table>");
        return;
    };
    for b in &last.benchmarks {
        let quantity = Quantity::of(last.metric, b.throughput);
        let sorted = crate::baseline::stats::sorted(&b.sample.per_iteration());
        let estimate = crate::baseline::stats::Estimator::Low.of_sorted(&sorted);
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\" data-sort=\"{estimate}\">{}</td><td class=\"num\" \
             data-sort=\"{n}\">{n}</td><td>{}</td><td>{}</td></tr>",
            id_cell(&b.id, history_ids),
            esc(&quantity.format(estimate)),
            samples_chart(&quantity, None, samples_of(run, &b.id, &quantity)),
            links.of(&b.id),
            n = sorted.len()
        );
    }
    out.push_str("</tbody></table>");
}

fn history_section(out: &mut String, h: &History, links: &Links) {
    let series = history::series(&h.records, &[]);
    let _ = write!(
        out,
        "<h2 id=\"history\">History: {}</h2><p>{} run(s), {} benchmark(s). Orange: the fitted \
         levels; red dashes: a step (change point), its shaded band the runs it may be at. \
         Hover a point for its run and commit.</p>",
        esc(&h.path.display().to_string()),
        h.records.len(),
        series.len()
    );
    for s in &series {
        let values = s.values();
        let fit = changepoint::find(&values);
        let (_, latest) = s.points[s.points.len() - 1];
        let metric = h.records[s.points[0].0].metric;
        let quantity = Quantity::of(metric, latest.throughput);
        let max = values
            .iter()
            .flat_map(|v| [quantity.base(*v)])
            .fold(0.0_f64, f64::max);
        let (div, unit) = quantity.scale(max);
        let shown = |raw: f64| quantity.base(raw) / div;
        let points: Vec<TrendPoint> = s
            .points
            .iter()
            .map(|(i, p)| {
                let r = &h.records[*i];
                TrendPoint {
                    value: shown(p.estimate),
                    interval: Some((shown(p.lower), shown(p.upper))),
                    title: format!(
                        "run {} {} · {} · {} {unit}",
                        i + 1,
                        r.run,
                        r.short_commit(),
                        significant(shown(p.estimate))
                    ),
                }
            })
            .collect();
        let captions: Vec<String> = fit
            .steps
            .iter()
            .map(|st| crate::history::text::describe_step(&h.records, s, st))
            .collect();
        let marks: Vec<Mark> = fit
            .steps
            .iter()
            .zip(&captions)
            .map(|(st, caption)| Mark {
                at: st.at,
                range: (st.earliest, st.latest),
                title: caption.clone(),
            })
            .collect();
        let levels: Vec<f64> = fit.levels.iter().map(|l| shown(*l)).collect();
        let _ = write!(
            out,
            "<div class=\"card\" id=\"{}\"><h3>{}</h3><p>latest {} · noise between runs ±{:.1} % \
             · {}</p>{}",
            anchor(s.id),
            esc(s.id),
            esc(&quantity.format(latest.estimate)),
            fit.sigma * 100.0,
            links.of(s.id),
            svg::trend(&points, &levels, &marks, &unit)
        );
        if captions.is_empty() {
            out.push_str("<p class=\"muted\">No step found.</p>");
        } else {
            out.push_str("<ul class=\"steps\">");
            for c in &captions {
                let _ = write!(out, "<li>step {}</li>", esc(c));
            }
            out.push_str("</ul>");
        }
        out.push_str("</div>");
    }
}

/// `metrics.latency_total` (or a floor's) as `(q, µs)` points: p50 … p99.9 (p99.99 when the
/// file has it) and the maximum at `1 − 1/count`.
fn latency_points(latency: &serde_json::Value) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = [
        (0.5, "p50_us"),
        (0.9, "p90_us"),
        (0.95, "p95_us"),
        (0.99, "p99_us"),
        (0.999, "p999_us"),
        (0.9999, "p9999_us"),
    ]
    .into_iter()
    .filter_map(|(q, key)| Some((q, latency.get(key)?.as_f64()?)))
    .collect();
    let count = latency.get("count").and_then(|c| c.as_f64()).unwrap_or(0.0);
    if let Some(max) = latency.get("max_us").and_then(|m| m.as_f64()) {
        let q = 1.0 - 1.0 / count.max(1.0);
        if points.last().is_some_and(|(last, _)| q > *last) {
            points.push((q, max));
        }
    }
    points
}

fn loadtest_section(out: &mut String, l: &LoadFile) {
    let _ = write!(out, "<h3>{}</h3>", esc(&l.path.display().to_string()));
    let mut curves = Vec::new();
    let mut limits = Vec::new();
    for (k, run) in l.runs.iter().enumerate() {
        let rate = run
            .pointer("/profile/rate")
            .and_then(|r| r.as_f64())
            .map_or_else(String::new, |r| format!(" at {} ticks/s", significant(r)));
        let label = if l.runs.len() > 1 {
            format!("run {}{rate}", k + 1)
        } else {
            format!("run{rate}")
        };
        if let Some(lat) = run.pointer("/metrics/latency_total") {
            curves.push(Curve {
                label,
                points: latency_points(lat),
            });
        }
        if l.runs.len() == 1 {
            if let Some(lat) = run.pointer("/floor/metrics/latency_total") {
                curves.push(Curve {
                    label: "machine floor (same schedule, shorter)".into(),
                    points: latency_points(lat),
                });
            }
        }
        if k == 0 {
            for (q, key, name) in [(0.95, "max_p95_ms", "p95"), (0.99, "max_p99_ms", "p99")] {
                if let Some(ms) = run.pointer(&format!("/sla/{key}")).and_then(|v| v.as_f64()) {
                    limits.push((
                        q,
                        ms * 1000.0,
                        format!("SLA: {name} ≤ {} ms", significant(ms)),
                    ));
                }
            }
        }
    }
    out.push_str(&svg::percentiles(&curves, &limits));
    if !limits.is_empty() {
        let listed: Vec<&str> = limits.iter().map(|l| l.2.as_str()).collect();
        let _ = write!(out, "<p>{}</p>", esc(&listed.join("; ")));
    }
    out.push_str("<p>Latency from each tick's planned send time to processed (no coordinated omission); x: percentile on a log scale of 1/(1 − q), y: latency. Red marks: the SLA's limits.</p><ul>");
    for (k, run) in l.runs.iter().enumerate() {
        let passed = run.pointer("/verdict/passed").and_then(|p| p.as_bool());
        let breaches: Vec<String> = run
            .pointer("/verdict/breaches")
            .and_then(|b| b.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|b| b.get("message").and_then(|m| m.as_str()))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let _ = write!(
            out,
            "<li>run {}: SLA <b class=\"{}\">{}</b>{}</li>",
            k + 1,
            if passed == Some(true) {
                "improved"
            } else {
                "regressed"
            },
            match passed {
                Some(true) => "holds",
                Some(false) => "breached",
                None => "not judged",
            },
            if breaches.is_empty() {
                String::new()
            } else {
                format!(": {}", esc(&breaches.join("; ")))
            }
        );
    }
    out.push_str("</ul>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_are_relative() {
        assert_eq!(
            href(Path::new("/a/b/report"), Path::new("/a/b/criterion/x/y")),
            "../criterion/x/y"
        );
        assert_eq!(href(Path::new("/a"), Path::new("/a/c#d")), "c%23d");
    }

    #[test]
    fn an_empty_page_says_so_and_is_complete() {
        let page = render(&Inputs::default(), Path::new("."));
        assert!(page.contains("Nothing to show"));
        assert!(page.ends_with("</html>\n"));
    }

    #[test]
    fn max_latency_is_placed_at_its_quantile() {
        let v = serde_json::json!({"count": 1000, "p50_us": 10.0, "p95_us": 20.0, "p99_us": 30.0,
            "p999_us": 40.0, "max_us": 50.0});
        let p = latency_points(&v);
        assert_eq!(p.len(), 4, "{p:?}");
        let v =
            serde_json::json!({"count": 1000000, "p50_us": 10.0, "p999_us": 40.0, "max_us": 50.0});
        let p = latency_points(&v);
        assert_eq!(p.last(), Some(&(1.0 - 1e-6, 50.0)));
    }
}
