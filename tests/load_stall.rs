//! A stalled system under test must fail the SLA, and a progressive run must stop after a
//! failing quick run.

mod load_support;

use std::cell::RefCell;
use std::time::Duration;

use load_support::{pool, QueueTarget, Worker};
use tickbench::load::cli::progressive;
use tickbench::load::{run_load, LoadProfile, RunOptions};

fn short(name: &str) -> LoadProfile {
    LoadProfile {
        name: name.to_owned(),
        rate: 5_000.0,
        duration_s: 0.5,
        warmup_s: 0.1,
        burst_size: 10,
        burst_interval_ms: 50.0,
        producers: 1,
        symbols: 8,
        shards: 1,
        release_interval_us: 20.0,
    }
}

fn worker(stall: Option<(Duration, Duration)>) -> Worker {
    Worker {
        per_tick: Duration::ZERO,
        capacity: None,
        stall,
    }
}

/// A worker that stops for 300 ms, 150 ms into a 500 ms measured window.
fn stalled() -> Worker {
    worker(Some((
        Duration::from_millis(250),
        Duration::from_millis(300),
    )))
}

#[test]
fn a_stalled_engine_fails_the_sla() {
    let report = run_load(&short("stall"), &RunOptions::default(), pool(), |rec| {
        Ok(QueueTarget::start(rec, stalled()))
    })
    .unwrap();
    let m = &report.metrics;
    // Every tick planned during the stall waits for its end: 60 % of the window is charged
    // 0..300 ms, so p95 is far above 100 ms although the worker is idle most of the time.
    assert!(m.latency_total.p95_us > 150_000.0, "{m:?}");
    assert!(m.latency_total.max_us > 250_000.0, "{m:?}");
    assert!(!report.verdict.passed);
    assert!(
        report.verdict.breaches.iter().any(|b| b.check == "p95_ms"),
        "{:?}",
        report.verdict
    );
    // The generator did not stall with it: the schedule kept its rate.
    assert!(m.achieved_ratio > 0.8, "{m:?}");
}

#[test]
fn the_same_run_without_the_stall_passes_its_latency_checks() {
    let report = run_load(&short("healthy"), &RunOptions::default(), pool(), |rec| {
        Ok(QueueTarget::start(rec, worker(None)))
    })
    .unwrap();
    let checks = report.verdict.breached_checks();
    assert!(
        !checks.contains(&"p95_ms") && !checks.contains(&"failures"),
        "{checks:?}"
    );
}

#[test]
fn progressive_stops_after_a_failing_quick_run() {
    let ran = RefCell::new(Vec::new());
    let reports = progressive(
        &[short("quick"), short("full")],
        &RunOptions::default(),
        |profile, options| {
            ran.borrow_mut().push(profile.name.clone());
            run_load(profile, options, pool(), |rec| {
                Ok(QueueTarget::start(rec, stalled()))
            })
        },
    )
    .unwrap();
    assert_eq!(
        *ran.borrow(),
        ["quick"],
        "full must not run after quick failed"
    );
    assert_eq!(reports.len(), 1);
    assert!(!reports[0].verdict.passed);
}

#[test]
fn progressive_runs_full_after_a_passing_quick_run() {
    let ran = RefCell::new(Vec::new());
    // Judge failures and gross latency only: CPU, rate and fine latency on a shared test
    // machine are not ours.
    let options = RunOptions {
        sla: tickbench::load::Sla {
            max_p95_ms: Some(1000.0),
            max_cpu_pct: None,
            min_rate_ratio: None,
            max_memory_growth_mib: None,
            ..Default::default()
        },
        ..RunOptions::default()
    };
    let reports = progressive(
        &[short("quick"), short("full")],
        &options,
        |profile, options| {
            ran.borrow_mut().push(profile.name.clone());
            run_load(profile, options, pool(), |rec| {
                Ok(QueueTarget::start(rec, worker(None)))
            })
        },
    )
    .unwrap();
    assert_eq!(*ran.borrow(), ["quick", "full"]);
    assert!(
        reports.iter().all(|r| r.verdict.passed),
        "{:?}",
        reports[0].verdict
    );
}
