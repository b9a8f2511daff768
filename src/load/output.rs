//! Load reports as a human table or as JSON.
//!
//! # JSON schema `tickbench.loadtest.v2`
//!
//! A single run is one object; a progressive run is an array of them, in the order run (an
//! array even when it stopped after the first). `tickbench loadtest --calibrate` writes one
//! calibration object. Times are µs unless a field's name says otherwise (`_ms`, `_s`,
//! `_ns`); CPU and steal percentages are of *all* cores (100 = every core busy) and never exceed
//! 100. Every field is always present; `null` means unknown (steal where `/proc/stat` has none)
//! or not measured.
//!
//! ```text
//! run object
//!   schema            "tickbench.loadtest.v2"
//!   kind              "run"
//!   timestamp         RFC 3339 UTC, when the run started
//!   profile           name, rate, duration_s, warmup_s, burst_size, burst_interval_ms,
//!                     producers, symbols, shards, release_interval_us (as in profile files)
//!   sla               max_p95_ms, max_p99_ms, max_failures, max_cpu_pct,
//!                     max_memory_growth_mib, min_rate_ratio (null = not checked)
//!   metrics
//!     latency_total     {count, mean_us, p50_us, p95_us, p99_us, p999_us, max_us}:
//!                       planned send → processed, every measured tick
//!     latency_queue     same shape: planned send → taken off a shard's queue
//!     latency_service   same shape: taken off the queue → processed
//!     send_lag          same shape: planned → actually released by the generator
//!     target_rate, achieved_rate (ticks/s), achieved_ratio
//!     planned, sent, completed, late_sends, late_threshold_us,
//!     errors, dropped, lost, signals, wall_s
//!     latency_per_second  [{second, count, p50_us, p99_us, max_us}]: total latency of the
//!                       ticks *completed* in each second of the measured window (second 0
//!                       starts when the warm-up ends; 1 % precision; seconds without a
//!                       completion are left out)
//!   monitor
//!     interval_ms, samples, cores
//!     cpu_mean_pct, cpu_max_pct            the process
//!     sut_cpu_mean_pct, sut_cpu_max_pct    the system under test (process − harness)
//!     harness_cpu_mean_pct                 producers, live status, monitor
//!     rss_start_bytes, rss_end_bytes, rss_max_bytes, rss_growth_bytes, self_cpu_pct
//!     steal_ms, steal_pct, steal_max_pct   hypervisor steal after the warm-up: total ms over
//!                                          all CPUs, % of all CPU time, worst interval
//!     others_cpu_mean_pct, others_cpu_max_pct  CPU of other processes on the machine
//!     sut_switches, harness_switches       involuntary context switches after the warm-up
//!     sut_wait_ms, harness_wait_ms         time their threads waited for a CPU (run queue)
//!     sut_max_gap_us, harness_max_gap_us   longest gap: between two completed batches of a
//!                                          shard / of a producer waking after it should have
//!     series            [{end_s, wall_ms, cpu_pct, sut_cpu_pct, harness_cpu_pct, rss_bytes,
//!                         steal_ms, steal_pct, others_cpu_pct, sut_switches,
//!                         harness_switches,
//!                         sut_wait_ms, harness_wait_ms, sut_max_gap_us,
//!                         harness_max_gap_us}]: every sampling interval after
//!                       the warm-up; end_s counts from the end of the warm-up like
//!                       latency_per_second's seconds
//!   floor             null, or the machine's floor measured just before the run:
//!     profile           the run's schedule with a shorter window (shards = 1)
//!     metrics           as above; metrics.latency_total is the floor
//!     monitor           as above, during the floor run
//!     run_p99_over_floor  the run's p99 / the floor's p99
//!     p99_explained_pct   100 × floor p99 / run p99, at most 100
//!   verdict           {passed, breaches: [{check, limit, actual, message}]}
//!
//! calibration object
//!   schema, kind ("calibration"), timestamp
//!   floor             as in a run, with run_p99_over_floor and p99_explained_pct null
//! ```
//!
//! Changes from `tickbench.loadtest.v1`: `kind`, `metrics.latency_per_second`, the monitor's
//! steal, other processes' CPU, switch, run-queue wait, gap and `series` fields, and `floor`
//! are new; `cpu_max_pct` and
//! `sut_cpu_max_pct` are now taken over intervals of at least half the sampling interval and
//! capped at 100.

use tabled::builder::Builder;
use tabled::settings::Style;

use super::metrics::{LatencySummary, SecondSummary};
use super::monitor::MonitorReport;
use super::run::{CalibrationReport, LoadReport};

/// An output format for load reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables for people.
    Table,
    /// The `tickbench.loadtest.v2` JSON report.
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

    /// Renders a calibration in this format, ending with a newline.
    pub fn render_calibration(self, c: &CalibrationReport) -> anyhow::Result<String> {
        match self {
            Format::Table => Ok(calibration_table(c)),
            Format::Json => calibration_json(c),
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

/// The JSON document of a calibration.
pub fn calibration_json(c: &CalibrationReport) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(c)?;
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

fn latency_header() -> [&'static str; 7] {
    [
        "latency from planned send",
        "count",
        "p50",
        "p95",
        "p99",
        "p99.9",
        "max",
    ]
}

/// Steal, switches and gaps as table rows.
fn host_rows(mon: &MonitorReport) -> Vec<(&'static str, String)> {
    vec![
        (
            "steal (hypervisor)",
            match (mon.steal_ms, mon.steal_pct, mon.steal_max_pct) {
                (Some(ms), Some(pct), Some(max)) => format!(
                    "{ms:.0} ms = {pct:.2} % of CPU time (worst {:.0} ms: {max:.1} %)",
                    mon.interval_ms
                ),
                _ => "unknown (no steal column in /proc/stat)".to_owned(),
            },
        ),
        (
            "CPU of other processes mean / max",
            match (mon.others_cpu_mean_pct, mon.others_cpu_max_pct) {
                (Some(mean), Some(max)) => format!("{mean:.1} % / {max:.1} %"),
                _ => "unknown (no /proc/stat)".to_owned(),
            },
        ),
        (
            "involuntary switches SUT / harness",
            format!("{} / {}", mon.sut_switches, mon.harness_switches),
        ),
        (
            "waited for a CPU SUT / harness",
            match (mon.sut_wait_ms, mon.harness_wait_ms) {
                (Some(sut), Some(harness)) => format!("{sut:.1} ms / {harness:.1} ms"),
                _ => "unknown (no schedstat in /proc)".to_owned(),
            },
        ),
        (
            "longest gap SUT / harness",
            format!(
                "{} / {}",
                us(mon.sut_max_gap_us),
                us(mon.harness_max_gap_us)
            ),
        ),
    ]
}

/// What the monitor saw in the intervals that end in second `second` of the measured window:
/// steal ms (if known), longest SUT gap and longest harness gap, µs.
fn host_in_second(mon: &MonitorReport, second: u64) -> (Option<f64>, f64, f64) {
    let (from, to) = (second as f64, second as f64 + 1.0);
    let within = mon
        .series
        .iter()
        .filter(|i| i.end_s > from && i.end_s <= to);
    let mut steal = Some(0.0);
    let (mut sut, mut harness) = (0.0f64, 0.0f64);
    for i in within {
        steal = steal.zip(i.steal_ms).map(|(a, b)| a + b);
        sut = sut.max(i.sut_max_gap_us);
        harness = harness.max(i.harness_max_gap_us);
    }
    (steal, sut, harness)
}

/// Most seconds listed under "slowest seconds".
const SLOWEST_SECONDS: usize = 3;

/// The seconds with the largest max latency, with what the host did in them.
fn slowest_seconds(seconds: &[SecondSummary], mon: &MonitorReport) -> String {
    let mut worst: Vec<&SecondSummary> = seconds.iter().collect();
    worst.sort_by(|a, b| b.max_us.total_cmp(&a.max_us));
    worst.truncate(SLOWEST_SECONDS);
    let mut t = Builder::new();
    t.push_record([
        "slowest seconds",
        "count",
        "p50",
        "p99",
        "max",
        "steal",
        "gap SUT",
        "gap harness",
    ]);
    for s in worst {
        let (steal, sut, harness) = host_in_second(mon, s.second);
        t.push_record([
            format!("second {}", s.second),
            s.count.to_string(),
            us(s.p50_us),
            us(s.p99_us),
            us(s.max_us),
            steal.map_or("?".to_owned(), |ms| format!("{ms:.0} ms")),
            us(sut),
            us(harness),
        ]);
    }
    t.build().with(Style::sharp()).to_string()
}

/// One run as text: latency table (with the floor's), rate and resources, host, slowest
/// seconds, verdict.
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
    lat.push_record(latency_header());
    lat.push_record(latency_row("total", &m.latency_total));
    lat.push_record(latency_row("queue delay", &m.latency_queue));
    lat.push_record(latency_row("service", &m.latency_service));
    lat.push_record(latency_row("send lag (generator)", &m.send_lag));
    if let Some(f) = &r.floor {
        lat.push_record(latency_row("floor (no pipeline)", &f.metrics.latency_total));
    }
    out += &lat.build().with(Style::sharp()).to_string();
    out.push('\n');
    if let Some(f) = &r.floor {
        out += &format!(
            "floor: {} s of the same schedule handed to an empty consumer just before; ",
            f.profile.duration_s
        );
        out += &match (f.run_p99_over_floor, f.p99_explained_pct) {
            (Some(ratio), Some(pct)) => format!(
                "the run's p99 is {ratio:.1}× the floor's: the floor explains {pct:.0} % of it\n"
            ),
            _ => "no p99 to compare\n".to_owned(),
        };
    }

    let mut kv = Builder::new();
    kv.push_record(["rate and resources", "value"]);
    let mut rows: Vec<(&str, String)> = vec![
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
    ];
    rows.extend(host_rows(mon));
    if let Some(f) = &r.floor {
        if let Some(ms) = f.monitor.steal_ms {
            rows.push(("steal during the floor", format!("{ms:.0} ms")));
        }
    }
    rows.push((
        "monitor cost",
        format!(
            "{:.3} % of a core ({} samples)",
            mon.self_cpu_pct, mon.samples
        ),
    ));
    rows.push(("wall time", format!("{:.2} s", m.wall_s)));
    for (k, v) in rows {
        kv.push_record([k.to_owned(), v]);
    }
    out += &kv.build().with(Style::sharp()).to_string();
    out.push('\n');
    if !m.latency_per_second.is_empty() {
        out += &slowest_seconds(&m.latency_per_second, mon);
        out.push('\n');
    }

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

/// Several runs of one profile side by side (`--repeat`): p99 and p99.9 of each run and of its
/// floor, the host's share, the achieved rate and the verdict.
pub fn runs_summary(reports: &[LoadReport]) -> String {
    let mut t = Builder::new();
    t.push_record([
        "run",
        "p99",
        "p99.9",
        "floor p99",
        "floor p99.9",
        "p99 / floor",
        "steal",
        "others' CPU",
        "achieved",
        "SLA",
    ]);
    for (k, r) in reports.iter().enumerate() {
        let m = &r.metrics;
        let floor = r.floor.as_ref();
        let floor_us = |f: fn(&LatencySummary) -> f64| {
            floor.map_or("-".to_owned(), |f2| us(f(&f2.metrics.latency_total)))
        };
        t.push_record([
            (k + 1).to_string(),
            us(m.latency_total.p99_us),
            us(m.latency_total.p999_us),
            floor_us(|s| s.p99_us),
            floor_us(|s| s.p999_us),
            floor
                .and_then(|f| f.run_p99_over_floor)
                .map_or("-".to_owned(), |x| format!("{x:.1}×")),
            r.monitor
                .steal_ms
                .map_or("?".to_owned(), |ms| format!("{ms:.0} ms")),
            r.monitor
                .others_cpu_mean_pct
                .map_or("?".to_owned(), |pct| format!("{pct:.1} %")),
            format!("{:.2} %", m.achieved_ratio * 100.0),
            if r.verdict.passed { "pass" } else { "FAIL" }.to_owned(),
        ]);
    }
    let mut out = format!(
        "{} runs of '{}':\n",
        reports.len(),
        reports.first().map_or("", |r| r.profile.name.as_str())
    );
    out += &t.build().with(Style::sharp()).to_string();
    out.push('\n');
    out
}

/// A calibration as text: the floor's latency, rate and host figures.
pub fn calibration_table(c: &CalibrationReport) -> String {
    let f = &c.floor;
    let p = &f.profile;
    let m = &f.metrics;
    let mut out = format!(
        "floor of this machine at {}: {:.0} ticks/s + bursts of {} every {} ms, {} s after {} s \
         warm-up, {} producer(s) handing batches to one empty consumer on a {} µs grid\n",
        c.timestamp,
        p.rate,
        p.burst_size,
        p.burst_interval_ms,
        p.duration_s,
        p.warmup_s,
        p.producers,
        p.release_interval_us
    );
    let mut lat = Builder::new();
    lat.push_record(latency_header());
    lat.push_record(latency_row("floor", &m.latency_total));
    lat.push_record(latency_row("send lag (generator)", &m.send_lag));
    out += &lat.build().with(Style::sharp()).to_string();
    out.push('\n');
    let mut kv = Builder::new();
    kv.push_record(["rate and host", "value"]);
    kv.push_record([
        "achieved rate".to_owned(),
        format!(
            "{:.0} /s ({:.2} %)",
            m.achieved_rate,
            m.achieved_ratio * 100.0
        ),
    ]);
    for (k, v) in host_rows(&f.monitor) {
        kv.push_record([k.to_owned(), v]);
    }
    out += &kv.build().with(Style::sharp()).to_string();
    out.push('\n');
    if !m.latency_per_second.is_empty() {
        out += &slowest_seconds(&m.latency_per_second, &f.monitor);
        out.push('\n');
    }
    out
}

/// Reports with made-up figures, for tests of the output and the CLI.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::load::floor::FloorReport;
    use crate::load::metrics::PerformanceMetrics;
    use crate::load::monitor::{MonitorInterval, MonitorReport};
    use crate::load::profile::LoadProfile;
    use crate::load::run::SCHEMA;
    use crate::load::sla::{Breach, Verdict};

    pub(crate) fn summary(p99_us: f64) -> LatencySummary {
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

    pub(crate) fn second(second: u64, max_us: f64) -> SecondSummary {
        SecondSummary {
            second,
            count: 1_000_500,
            p50_us: 8.0,
            p99_us: 30.0,
            max_us,
        }
    }

    pub(crate) fn interval(end_s: f64, steal_ms: f64, harness_gap_us: f64) -> MonitorInterval {
        MonitorInterval {
            end_s,
            wall_ms: 100.0,
            cpu_pct: 60.0,
            sut_cpu_pct: 10.0,
            harness_cpu_pct: 50.0,
            rss_bytes: 33 << 20,
            steal_ms: Some(steal_ms),
            steal_pct: Some(steal_ms / 2.0),
            others_cpu_pct: Some(3.0),
            sut_switches: 3,
            harness_switches: 1,
            sut_wait_ms: Some(0.5),
            harness_wait_ms: Some(2.0),
            sut_max_gap_us: 12.0,
            harness_max_gap_us: harness_gap_us,
        }
    }

    pub(crate) fn metrics() -> PerformanceMetrics {
        PerformanceMetrics {
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
            latency_per_second: vec![second(0, 90.0), second(1, 60_000.0), second(2, 80.0)],
        }
    }

    pub(crate) fn monitor() -> MonitorReport {
        MonitorReport {
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
            steal_ms: Some(40.0),
            steal_pct: Some(0.4),
            steal_max_pct: Some(15.0),
            others_cpu_mean_pct: Some(2.5),
            others_cpu_max_pct: Some(48.0),
            sut_switches: 120,
            harness_switches: 45,
            sut_wait_ms: Some(12.0),
            harness_wait_ms: Some(340.5),
            sut_max_gap_us: 59_000.0,
            harness_max_gap_us: 58_000.0,
            series: vec![
                interval(0.5, 0.0, 10.0),
                interval(1.0, 0.0, 11.0),
                interval(1.5, 30.0, 58_000.0),
                interval(2.0, 10.0, 12.0),
            ],
        }
    }

    pub(crate) fn report(passed: bool) -> LoadReport {
        LoadReport {
            schema: SCHEMA.to_owned(),
            kind: "run".to_owned(),
            timestamp: "2026-11-27T22:00:00Z".to_owned(),
            profile: LoadProfile::quick(),
            sla: crate::load::Sla::default(),
            metrics: metrics(),
            monitor: monitor(),
            floor: Some(
                FloorReport {
                    profile: LoadProfile::quick(),
                    metrics: PerformanceMetrics {
                        latency_total: summary(20.0),
                        ..metrics()
                    },
                    monitor: monitor(),
                    run_p99_over_floor: None,
                    p99_explained_pct: None,
                }
                .compared_with(&metrics()),
            ),
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
}

#[cfg(test)]
mod tests {
    use super::fixtures::report;
    use super::*;
    use crate::load::floor::FloorReport;
    use crate::load::run::SCHEMA;

    #[test]
    fn table_shows_latency_floor_rate_resources_host_and_verdict() {
        let text = table(&report(true));
        for needle in [
            "load test 'quick' at 2026-11-27T22:00:00Z: 1000000 ticks/s",
            "│ total                     │ 1000  │ 8.0 µs │ 20.0 µs │ 30.0 µs │ 50.0 ms │ 60.0 ms │",
            "│ floor (no pipeline)       │ 1000  │ 8.0 µs │ 20.0 µs │ 20.0 µs │ 50.0 ms │ 60.0 ms │",
            "the run's p99 is 1.5× the floor's: the floor explains 67 % of it",
            "│ achieved rate                      │ 999000 /s (99.85 %)",
            "│ CPU of the system / harness        │ 10.0 % (max 12.0 %) / 50.0 %",
            "│ RSS growth                         │ 1.0 MiB",
            "│ steal (hypervisor)                 │ 40 ms = 0.40 % of CPU time (worst 100 ms: 15.0 %)",
            "│ CPU of other processes mean / max  │ 2.5 % / 48.0 %",
            "│ involuntary switches SUT / harness │ 120 / 45",
            "│ waited for a CPU SUT / harness     │ 12.0 ms / 340.5 ms",
            "│ longest gap SUT / harness          │ 59.0 ms / 58.0 ms",
            "SLA: PASS",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        // The slowest second comes first, with the steal and gaps of the intervals ending in it.
        let slowest = text.find("│ second 1 ").expect(&text);
        assert!(slowest < text.find("│ second 0 ").expect(&text));
        assert!(
            text.contains(
                "│ 1000500 │ 8.0 µs │ 30.0 µs │ 60.0 ms │ 40 ms │ 12.0 µs │ 58.0 ms     │"
            ),
            "{text}"
        );
        let failed = table(&report(false));
        assert!(failed.contains("SLA: FAIL (1 breach(es))\n  - p95_ms: p95 latency 150.000 ms"));
    }

    #[test]
    fn the_runs_summary_puts_each_run_beside_its_floor() {
        let mut second = report(false);
        second.floor = None;
        let text = runs_summary(&[report(true), second]);
        assert!(text.starts_with("2 runs of 'quick':"), "{text}");
        assert!(
            text.contains("│ 1   │ 30.0 µs │ 50.0 ms │ 20.0 µs   │ 50.0 ms     │ 1.5×        │ 40 ms │ 2.5 %       │ 99.85 %  │ pass │"),
            "{text}"
        );
        assert!(
            text.contains("│ 2   │ 30.0 µs │ 50.0 ms │ -         │ -           │ -           │"),
            "{text}"
        );
        assert!(text.contains("│ FAIL │"), "{text}");
    }

    #[test]
    fn unknown_steal_is_said_to_be_unknown() {
        let mut r = report(true);
        r.monitor.steal_ms = None;
        r.monitor.steal_pct = None;
        r.monitor.steal_max_pct = None;
        r.monitor.series[2].steal_ms = None;
        let text = table(&r);
        assert!(
            text.contains("unknown (no steal column in /proc/stat)"),
            "{text}"
        );
        assert!(text.contains("│ 60.0 ms │ ?     │"), "{text}");
    }

    #[test]
    fn json_is_an_object_for_one_run_and_an_array_for_progressive() {
        let one: serde_json::Value =
            serde_json::from_str(&json(&[report(true)], false).unwrap()).unwrap();
        assert_eq!(one["schema"], "tickbench.loadtest.v2");
        assert_eq!(one["kind"], "run");
        assert_eq!(one["metrics"]["latency_total"]["p99_us"], 30.0);
        assert_eq!(one["metrics"]["latency_per_second"][1]["max_us"], 60_000.0);
        assert_eq!(one["monitor"]["rss_growth_bytes"], 1 << 20);
        assert_eq!(one["monitor"]["steal_ms"], 40.0);
        assert_eq!(one["monitor"]["series"][2]["harness_max_gap_us"], 58_000.0);
        assert_eq!(one["floor"]["run_p99_over_floor"], 1.5);
        let back: LoadReport = serde_json::from_value(one).unwrap();
        assert_eq!(back, report(true));
        let runs: serde_json::Value =
            serde_json::from_str(&json(&[report(true)], true).unwrap()).unwrap();
        assert_eq!(runs.as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn a_calibration_shows_the_floor_alone() {
        let floor = report(true).floor.unwrap();
        let c = CalibrationReport {
            schema: SCHEMA.to_owned(),
            kind: "calibration".to_owned(),
            timestamp: "2026-11-27T22:00:00Z".to_owned(),
            floor: FloorReport {
                run_p99_over_floor: None,
                p99_explained_pct: None,
                ..floor
            },
        };
        let text = Format::Table.render_calibration(&c).unwrap();
        assert!(
            text.starts_with("floor of this machine at 2026-11-27T22:00:00Z"),
            "{text}"
        );
        assert!(text.contains("│ floor                     │ 1000  │ 8.0 µs │ 20.0 µs │ 20.0 µs │"));
        assert!(text.contains("steal (hypervisor)"), "{text}");
        let v: serde_json::Value =
            serde_json::from_str(&Format::Json.render_calibration(&c).unwrap()).unwrap();
        assert_eq!(
            (v["kind"].as_str(), v["schema"].as_str()),
            (Some("calibration"), Some(SCHEMA))
        );
        assert!(v["floor"]["run_p99_over_floor"].is_null());
    }
}
