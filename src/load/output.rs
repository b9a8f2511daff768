//! Load reports as a human table or as JSON (`tickbench.loadtest.v1`).
//!
//! JSON: a single run is one object; a progressive run is an array of them, in the order run
//! (an array even when it stopped after the first).

use tabled::builder::Builder;
use tabled::settings::Style;

use super::metrics::LatencySummary;
use super::run::LoadReport;

/// An output format for load reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables for people.
    Table,
    /// The `tickbench.loadtest.v1` JSON report.
    Json,
}

impl Format {
    /// Renders `reports` (one per run; `progressive` if they came from a progressive run) in
    /// this format, ending with a newline.
    pub fn render(self, reports: &[LoadReport], progressive: bool) -> anyhow::Result<String> {
        match self {
            Format::Table => Ok(reports.iter().map(table).collect::<Vec<_>>().join("\n")),
            Format::Json => json(reports, progressive),
        }
    }
}

/// The JSON document for `reports`: an object for a single run, an array for a progressive
/// run (or for several reports).
pub fn json(reports: &[LoadReport], progressive: bool) -> anyhow::Result<String> {
    let mut text = match reports {
        [one] if !progressive => serde_json::to_string_pretty(one)?,
        many => serde_json::to_string_pretty(many)?,
    };
    text.push('\n');
    Ok(text)
}

fn us(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1} ms", v / 1000.0)
    } else {
        format!("{v:.1} µs")
    }
}

fn latency_row(name: &str, s: &LatencySummary) -> Vec<String> {
    vec![
        name.to_owned(),
        s.count.to_string(),
        us(s.p50_us),
        us(s.p95_us),
        us(s.p99_us),
        us(s.p999_us),
        us(s.max_us),
    ]
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1u64 << 20) as f64)
}

/// One run as text: latency table, rate and resources, verdict.
pub fn table(r: &LoadReport) -> String {
    let p = &r.profile;
    let m = &r.metrics;
    let mon = &r.monitor;
    let mut out = format!(
        "load test '{}' at {}: {:.0} ticks/s + bursts of {} every {} ms, {} s after {} s warm-up, \
         {} producer(s), {} shard(s), {} symbols\n",
        p.name,
        r.timestamp,
        p.rate,
        p.burst_size,
        p.burst_interval_ms,
        p.duration_s,
        p.warmup_s,
        p.producers,
        p.shards,
        p.symbols
    );

    let mut lat = Builder::new();
    lat.push_record([
        "latency from planned send",
        "count",
        "p50",
        "p95",
        "p99",
        "p99.9",
        "max",
    ]);
    lat.push_record(latency_row("total", &m.latency_total));
    lat.push_record(latency_row("queue delay", &m.latency_queue));
    lat.push_record(latency_row("service", &m.latency_service));
    lat.push_record(latency_row("send lag (generator)", &m.send_lag));
    out += &lat.build().with(Style::sharp()).to_string();
    out.push('\n');

    let mut kv = Builder::new();
    kv.push_record(["rate and resources", "value"]);
    let rows: [(&str, String); 13] = [
        ("offered rate", format!("{:.0} /s", m.target_rate)),
        (
            "achieved rate",
            format!(
                "{:.0} /s ({:.2} %)",
                m.achieved_rate,
                m.achieved_ratio * 100.0
            ),
        ),
        (
            "planned / sent / completed",
            format!("{} / {} / {}", m.planned, m.sent, m.completed),
        ),
        (
            "late sends",
            format!("{} (> {:.0} µs late)", m.late_sends, m.late_threshold_us),
        ),
        (
            "errors / dropped / lost",
            format!("{} / {} / {}", m.errors, m.dropped, m.lost),
        ),
        ("signals", m.signals.to_string()),
        (
            "CPU of the process mean / max",
            format!(
                "{:.1} % / {:.1} % of {} cores",
                mon.cpu_mean_pct, mon.cpu_max_pct, mon.cores
            ),
        ),
        (
            "CPU of the system / harness",
            format!(
                "{:.1} % (max {:.1} %) / {:.1} %",
                mon.sut_cpu_mean_pct, mon.sut_cpu_max_pct, mon.harness_cpu_mean_pct
            ),
        ),
        ("RSS after warm-up", mib(mon.rss_start_bytes as f64)),
        (
            "RSS at end (max)",
            format!(
                "{} ({})",
                mib(mon.rss_end_bytes as f64),
                mib(mon.rss_max_bytes as f64)
            ),
        ),
        ("RSS growth", mib(mon.rss_growth_bytes as f64)),
        (
            "monitor cost",
            format!(
                "{:.3} % of a core ({} samples)",
                mon.self_cpu_pct, mon.samples
            ),
        ),
        ("wall time", format!("{:.2} s", m.wall_s)),
    ];
    for (k, v) in rows {
        kv.push_record([k.to_owned(), v]);
    }
    out += &kv.build().with(Style::sharp()).to_string();
    out.push('\n');

    if r.verdict.passed {
        out += "SLA: PASS\n";
    } else {
        out += &format!("SLA: FAIL ({} breach(es))\n", r.verdict.breaches.len());
        for b in &r.verdict.breaches {
            out += &format!("  - {}: {}\n", b.check, b.message);
        }
    }
    out
}
