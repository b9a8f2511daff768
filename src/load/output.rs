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
         {} producer(s), {} shard(s), {} symbols, released on a {} µs grid\n",
        p.name,
        r.timestamp,
        p.rate,
        p.burst_size,
        p.burst_interval_ms,
        p.duration_s,
        p.warmup_s,
        p.producers,
        p.shards,
        p.symbols,
        p.release_interval_us
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::metrics::PerformanceMetrics;
    use crate::load::monitor::MonitorReport;
    use crate::load::profile::LoadProfile;
    use crate::load::run::SCHEMA;
    use crate::load::sla::{Breach, Verdict};

    fn summary(p99_us: f64) -> LatencySummary {
        LatencySummary {
            count: 1000,
            mean_us: 10.0,
            p50_us: 8.0,
            p95_us: 20.0,
            p99_us,
            p999_us: 50_000.0,
            max_us: 60_000.0,
        }
    }

    fn report(passed: bool) -> LoadReport {
        LoadReport {
            schema: SCHEMA.to_owned(),
            timestamp: "2026-11-27T22:00:00Z".to_owned(),
            profile: LoadProfile::quick(),
            sla: crate::load::Sla::default(),
            metrics: PerformanceMetrics {
                latency_total: summary(30.0),
                latency_queue: summary(25.0),
                latency_service: summary(5.0),
                send_lag: summary(1.0),
                target_rate: 1_000_500.0,
                achieved_rate: 999_000.0,
                achieved_ratio: 0.9985,
                planned: 5_002_500,
                sent: 5_002_500,
                completed: 5_002_500,
                late_sends: 7,
                late_threshold_us: 1000.0,
                errors: 0,
                dropped: 0,
                lost: 0,
                signals: 539_267,
                wall_s: 6.01,
            },
            monitor: MonitorReport {
                interval_ms: 100.0,
                samples: 61,
                cores: 2,
                cpu_mean_pct: 60.0,
                cpu_max_pct: 70.0,
                sut_cpu_mean_pct: 10.0,
                sut_cpu_max_pct: 12.0,
                harness_cpu_mean_pct: 50.0,
                rss_start_bytes: 32 << 20,
                rss_end_bytes: 33 << 20,
                rss_max_bytes: 34 << 20,
                rss_growth_bytes: 1 << 20,
                self_cpu_pct: 0.08,
            },
            verdict: Verdict {
                passed,
                breaches: if passed {
                    vec![]
                } else {
                    vec![Breach {
                        check: "p95_ms".to_owned(),
                        limit: 100.0,
                        actual: 150.0,
                        message: "p95 latency 150.000 ms is above the limit 100 ms".to_owned(),
                    }]
                },
            },
        }
    }

    #[test]
    fn table_shows_latency_rate_resources_and_verdict() {
        let text = table(&report(true));
        for needle in [
            "load test 'quick' at 2026-11-27T22:00:00Z: 1000000 ticks/s",
            "│ total                     │ 1000  │ 8.0 µs │ 20.0 µs │ 30.0 µs │ 50.0 ms │ 60.0 ms │",
            "│ achieved rate                 │ 999000 /s (99.85 %)",
            "│ CPU of the system / harness   │ 10.0 % (max 12.0 %) / 50.0 %",
            "│ RSS growth                    │ 1.0 MiB",
            "SLA: PASS",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        let failed = table(&report(false));
        assert!(failed.contains("SLA: FAIL (1 breach(es))\n  - p95_ms: p95 latency 150.000 ms"));
    }

    #[test]
    fn json_is_an_object_for_one_run_and_an_array_for_progressive() {
        let one: serde_json::Value =
            serde_json::from_str(&json(&[report(true)], false).unwrap()).unwrap();
        assert_eq!(one["schema"], "tickbench.loadtest.v1");
        assert_eq!(one["metrics"]["latency_total"]["p99_us"], 30.0);
        assert_eq!(one["monitor"]["rss_growth_bytes"], 1 << 20);
        let back: LoadReport = serde_json::from_value(one).unwrap();
        assert_eq!(back, report(true));
        let runs: serde_json::Value =
            serde_json::from_str(&json(&[report(true)], true).unwrap()).unwrap();
        assert_eq!(runs.as_array().map(Vec::len), Some(1));
    }
}
