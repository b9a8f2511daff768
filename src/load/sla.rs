//! [`Sla`]: the thresholds a run is judged against, and the [`Verdict`] listing every breach.
//!
//! Defaults come from the seed this project grew from: p95 latency under 100 ms, no failures,
//! CPU under 80 % of the machine, bounded memory growth — plus the open-loop requirement that
//! the achieved rate reach 99 % of the offered rate (a harness that falls behind its schedule has
//! not offered the load it claims). Every threshold is checked; the verdict lists all breaches,
//! not only the first.

use serde::{Deserialize, Serialize};

use super::metrics::PerformanceMetrics;
use super::monitor::MonitorReport;

/// Thresholds for one run. `None` disables a check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sla {
    /// Largest allowed p95 of total latency (planned send → processed), ms.
    pub max_p95_ms: Option<f64>,
    /// Largest allowed p99 of total latency, ms.
    pub max_p99_ms: Option<f64>,
    /// Largest allowed count of errors + drops + lost ticks.
    pub max_failures: Option<u64>,
    /// Largest allowed mean CPU of the system under test after the warm-up, % of all cores
    /// (the harness's own threads are not counted).
    pub max_cpu_pct: Option<f64>,
    /// Largest allowed RSS growth after the warm-up, MiB.
    pub max_memory_growth_mib: Option<f64>,
    /// Smallest allowed achieved / offered rate.
    pub min_rate_ratio: Option<f64>,
}

impl Default for Sla {
    /// p95 < 100 ms, 0 failures, CPU < 80 %, memory growth ≤ 64 MiB, achieved ≥ 99 % of offered.
    fn default() -> Self {
        Sla {
            max_p95_ms: Some(100.0),
            max_p99_ms: None,
            max_failures: Some(0),
            max_cpu_pct: Some(80.0),
            max_memory_growth_mib: Some(64.0),
            min_rate_ratio: Some(0.99),
        }
    }
}

/// One threshold that was not met.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    /// Which check: `p95_ms`, `p99_ms`, `failures`, `cpu_pct`, `memory_growth_mib`, `rate_ratio`.
    pub check: String,
    /// The threshold.
    pub limit: f64,
    /// The measured value.
    pub actual: f64,
    /// A sentence for humans.
    pub message: String,
}

/// Whether a run met its SLA, and every breach if not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// `true` when there is no breach.
    pub passed: bool,
    /// Every threshold not met, in the order of [`Sla`]'s fields.
    pub breaches: Vec<Breach>,
}

impl Verdict {
    /// The names of the breached checks (`p95_ms`, `cpu_pct`, …), in order.
    pub fn breached_checks(&self) -> Vec<&str> {
        self.breaches.iter().map(|b| b.check.as_str()).collect()
    }
}

impl Sla {
    /// Judges a run's metrics and monitor figures.
    pub fn judge(&self, metrics: &PerformanceMetrics, monitor: &MonitorReport) -> Verdict {
        let mut breaches = Vec::new();
        let mut above = |check: &str, what: &str, unit: &str, limit: Option<f64>, actual: f64| {
            if let Some(limit) = limit {
                if actual > limit {
                    breaches.push(Breach {
                        check: check.to_owned(),
                        limit,
                        actual,
                        message: format!(
                            "{what} {actual:.3}{unit} is above the limit {limit}{unit}"
                        ),
                    });
                }
            }
        };
        above(
            "p95_ms",
            "p95 latency",
            " ms",
            self.max_p95_ms,
            metrics.latency_total.p95_us / 1000.0,
        );
        above(
            "p99_ms",
            "p99 latency",
            " ms",
            self.max_p99_ms,
            metrics.latency_total.p99_us / 1000.0,
        );
        above(
            "failures",
            "failures (errors + dropped + lost)",
            "",
            self.max_failures.map(|n| n as f64),
            metrics.failures() as f64,
        );
        above(
            "cpu_pct",
            "mean CPU of the system under test",
            " %",
            self.max_cpu_pct,
            monitor.sut_cpu_mean_pct,
        );
        above(
            "memory_growth_mib",
            "memory growth after warm-up",
            " MiB",
            self.max_memory_growth_mib,
            monitor.rss_growth_bytes as f64 / (1 << 20) as f64,
        );
        if let Some(limit) = self.min_rate_ratio {
            if metrics.achieved_ratio < limit {
                breaches.push(Breach {
                    check: "rate_ratio".to_owned(),
                    limit,
                    actual: metrics.achieved_ratio,
                    message: format!(
                        "achieved rate {:.0}/s is {:.1} % of the offered {:.0}/s, below {:.1} %",
                        metrics.achieved_rate,
                        metrics.achieved_ratio * 100.0,
                        metrics.target_rate,
                        limit * 100.0
                    ),
                });
            }
        }
        if metrics.completed == 0 {
            breaches.push(Breach {
                check: "completed".to_owned(),
                limit: 1.0,
                actual: 0.0,
                message: "no measured tick was processed: nothing to judge".to_owned(),
            });
        }
        Verdict {
            passed: breaches.is_empty(),
            breaches,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::metrics::LatencySummary;

    fn latency(p95_us: f64) -> LatencySummary {
        LatencySummary {
            count: 100,
            mean_us: p95_us / 2.0,
            p50_us: p95_us / 2.0,
            p95_us,
            p99_us: p95_us * 1.5,
            p999_us: p95_us * 2.0,
            max_us: p95_us * 3.0,
        }
    }

    fn metrics(p95_us: f64, errors: u64, ratio: f64) -> PerformanceMetrics {
        PerformanceMetrics {
            latency_total: latency(p95_us),
            latency_queue: latency(p95_us),
            latency_service: latency(1.0),
            send_lag: latency(1.0),
            target_rate: 1000.0,
            achieved_rate: 1000.0 * ratio,
            achieved_ratio: ratio,
            planned: 100,
            sent: 100,
            completed: 100,
            late_sends: 0,
            late_threshold_us: 1000.0,
            errors,
            dropped: 0,
            lost: 0,
            signals: 0,
            wall_s: 1.0,
            latency_per_second: Vec::new(),
        }
    }

    fn monitor(cpu: f64, growth_mib: i64) -> MonitorReport {
        MonitorReport {
            interval_ms: 100.0,
            samples: 10,
            cores: 2,
            cpu_mean_pct: cpu,
            cpu_max_pct: cpu,
            sut_cpu_mean_pct: cpu,
            sut_cpu_max_pct: cpu,
            harness_cpu_mean_pct: 0.0,
            rss_start_bytes: 1 << 20,
            rss_end_bytes: 1 << 20,
            rss_max_bytes: 1 << 20,
            rss_growth_bytes: growth_mib << 20,
            self_cpu_pct: 0.01,
            steal_ms: Some(0.0),
            steal_pct: Some(0.0),
            steal_max_pct: Some(0.0),
            others_cpu_mean_pct: Some(0.0),
            others_cpu_max_pct: Some(0.0),
            sut_switches: 0,
            harness_switches: 0,
            sut_wait_ms: Some(0.0),
            harness_wait_ms: Some(0.0),
            sut_max_gap_us: 0.0,
            harness_max_gap_us: 0.0,
            series: Vec::new(),
        }
    }

    #[test]
    fn the_cpu_check_judges_the_system_under_test_not_the_load_generator() {
        // A busy harness: a process at 95 % of which 60 points are the harness's own threads
        // has a system under test at 35 %, within the limit; the same SUT at 85 % breaches it.
        let mut busy_harness = monitor(95.0, 1);
        busy_harness.sut_cpu_mean_pct = 35.0;
        busy_harness.harness_cpu_mean_pct = 60.0;
        let m = metrics(50_000.0, 0, 1.0);
        assert!(Sla::default().judge(&m, &busy_harness).passed);
        busy_harness.sut_cpu_mean_pct = 85.0;
        let v = Sla::default().judge(&m, &busy_harness);
        assert_eq!(v.breaches.len(), 1, "{v:?}");
        assert_eq!(
            (v.breaches[0].check.as_str(), v.breaches[0].actual),
            ("cpu_pct", 85.0)
        );
    }

    #[test]
    fn a_good_run_passes() {
        let v = Sla::default().judge(&metrics(50_000.0, 0, 1.0), &monitor(40.0, 1));
        assert!(v.passed && v.breaches.is_empty(), "{v:?}");
    }

    #[test]
    fn every_breach_is_listed() {
        let v = Sla::default().judge(&metrics(150_000.0, 3, 0.5), &monitor(95.0, 100));
        let checks = v.breached_checks();
        assert!(!v.passed);
        assert_eq!(
            checks,
            [
                "p95_ms",
                "failures",
                "cpu_pct",
                "memory_growth_mib",
                "rate_ratio"
            ]
        );
        assert_eq!(v.breaches[0].actual, 150.0);
        assert!(
            v.breaches[0].message.contains("150.000 ms"),
            "{}",
            v.breaches[0].message
        );
    }

    #[test]
    fn limits_are_exclusive_of_equal_values_and_none_disables() {
        let m = metrics(100_000.0, 0, 0.99);
        assert!(Sla::default().judge(&m, &monitor(80.0, 64)).passed);
        let off = Sla {
            max_p95_ms: None,
            max_p99_ms: None,
            max_failures: None,
            max_cpu_pct: None,
            max_memory_growth_mib: None,
            min_rate_ratio: None,
        };
        assert!(
            off.judge(&metrics(1e9, 99, 0.0), &monitor(100.0, 1000))
                .passed
        );
    }

    #[test]
    fn a_run_with_nothing_processed_fails() {
        let mut m = metrics(0.0, 0, 1.0);
        m.completed = 0;
        let v = Sla::default().judge(&m, &monitor(1.0, 0));
        assert_eq!(v.breaches.len(), 1);
        assert_eq!(v.breaches[0].check, "completed");
    }
}
