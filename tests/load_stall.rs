//! A stalled system under test must fail the SLA, a progressive run must stop after a failing
//! quick run, and a frozen process must show in the report at the second it happened.
//!
//! The tests take one lock: the freeze stops the whole test process, which would disturb any
//! run going on beside it.

mod load_support;

use std::cell::RefCell;
use std::sync::{Mutex, MutexGuard};
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
        freeze: None,
    }
}

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn alone() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
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
    let _alone = alone();
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
    let _alone = alone();
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
    let _alone = alone();
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
    let _alone = alone();
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

#[test]
fn a_frozen_process_shows_at_the_second_it_happened() {
    let _alone = alone();
    // The whole process stops for 300 ms when the tick planned at 1.8 s arrives: 1.3 s into the
    // measured window (warm-up 0.5 s), so the freeze starts and ends in its second 1.
    let p = LoadProfile {
        name: "freeze".to_owned(),
        rate: 20_000.0,
        duration_s: 2.5,
        warmup_s: 0.5,
        ..short("freeze")
    };
    let frozen = Worker {
        freeze: Some((Duration::from_millis(1_800), Duration::from_millis(300))),
        ..worker(None)
    };
    let report = run_load(&p, &RunOptions::default(), pool(), |rec| {
        Ok(QueueTarget::start(rec, frozen))
    })
    .unwrap();
    let (m, mon) = (&report.metrics, &report.monitor);
    let freeze_us = 250_000.0;

    // Latency per second: only second 1 holds the ticks that waited out the freeze.
    let spiked: Vec<u64> = m
        .latency_per_second
        .iter()
        .filter(|s| s.max_us > freeze_us)
        .map(|s| s.second)
        .collect();
    assert_eq!(spiked, [1], "{:#?}", m.latency_per_second);
    let counted: u64 = m.latency_per_second.iter().map(|s| s.count).sum();
    assert_eq!(counted, m.completed, "every measured tick is in one second");

    // The monitor: the interval that saw the longest gaps, and the one the monitor itself
    // overslept, end in the same second; both the producer and the worker saw the freeze.
    let in_second_1 = |end_s: f64| end_s > 1.0 && end_s <= 2.0;
    let by = |f: fn(&tickbench::load::monitor::MonitorInterval) -> f64| {
        mon.series
            .iter()
            .max_by(|a, b| f(a).total_cmp(&f(b)))
            .expect("intervals")
    };
    let harness = by(|i| i.harness_max_gap_us);
    assert!(harness.harness_max_gap_us > freeze_us, "{harness:?}");
    assert!(in_second_1(harness.end_s), "{harness:?}");
    let sut = by(|i| i.sut_max_gap_us);
    assert!(sut.sut_max_gap_us > freeze_us, "{sut:?}");
    assert!(in_second_1(sut.end_s), "{sut:?}");
    let overslept = by(|i| i.wall_ms);
    assert!(overslept.wall_ms > 250.0, "{overslept:?}");
    assert!(in_second_1(overslept.end_s), "{overslept:?}");
    assert!(mon.harness_max_gap_us > freeze_us && mon.sut_max_gap_us > freeze_us);

    // CPU never above all cores, whatever the freeze did to the sampling.
    assert!(
        mon.cpu_max_pct <= 100.0 && mon.sut_cpu_max_pct <= 100.0,
        "{mon:#?}"
    );
    assert!(mon.series.iter().all(|i| i.cpu_pct <= 100.0), "{mon:#?}");
}
