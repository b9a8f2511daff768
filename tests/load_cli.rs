//! `tickbench loadtest` end to end: exit codes, error messages, the JSON report.

use assert_cmd::Command;
use predicates::prelude::*;

fn loadtest() -> Command {
    let mut cmd = Command::cargo_bin("tickbench").unwrap();
    cmd.arg("loadtest").arg("--quiet");
    cmd
}

/// A short, light run: 0.3 s at 5 000 ticks/s (after a floor of as long, by default).
fn short(cmd: &mut Command) -> &mut Command {
    cmd.args(["--rate", "5000", "--duration", "0.3", "--warmup", "0.1"])
}

#[test]
fn a_short_run_writes_a_v2_json_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    // CPU, rate and latency depend on the shared test machine; judge failures only.
    let assert = short(&mut loadtest())
        .args([
            "--sla-cpu-pct",
            "100",
            "--sla-min-rate",
            "0",
            "--sla-p95-ms",
            "1e9",
        ])
        .args(["--sla-memory-mib", "1e9"])
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("SLA: PASS"));
    drop(assert);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["schema"], "tickbench.loadtest.v2");
    assert!(report["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(report["profile"]["rate"], 5000.0);
    assert!(
        report["metrics"]["latency_total"]["p99_us"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(report["monitor"]["samples"].as_u64().unwrap() >= 2);
    assert_eq!(report["verdict"]["passed"], true);
    assert_eq!(report["kind"], "run");

    // The host's figures, in total and per sampling interval.
    let monitor = &report["monitor"];
    for field in [
        "steal_ms",
        "others_cpu_mean_pct",
        "sut_switches",
        "harness_switches",
        "sut_wait_ms",
        "sut_max_gap_us",
        "harness_max_gap_us",
    ] {
        assert!(monitor.get(field).is_some(), "monitor.{field} missing");
    }
    let series = monitor["series"].as_array().expect("monitor.series");
    assert!(!series.is_empty());
    assert!(series[0].get("steal_ms").is_some() && series[0].get("end_s").is_some());

    // The per-second latency covers every measured tick.
    let seconds = report["metrics"]["latency_per_second"]
        .as_array()
        .expect("latency_per_second");
    let counted: u64 = seconds.iter().map(|s| s["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, report["metrics"]["completed"].as_u64().unwrap());
    assert!(seconds[0]["p99_us"].as_f64().unwrap() > 0.0);

    // The floor ran first (by default), on the same schedule, and is compared with the run.
    let floor = &report["floor"];
    assert_eq!(floor["profile"]["rate"], 5000.0);
    assert_eq!(floor["profile"]["name"], "quick floor");
    assert!(
        floor["metrics"]["latency_total"]["p99_us"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(floor["run_p99_over_floor"].as_f64().unwrap() > 0.0);
    assert!(floor["p99_explained_pct"].as_f64().unwrap() <= 100.0);
}

#[test]
fn calibrate_reports_the_floor_alone_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("floor.json");
    short(&mut loadtest())
        .args(["--calibrate", "--sla-p95-ms", "0", "--out"])
        .arg(&out)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("floor of this machine"))
        .stdout(predicate::str::contains("SLA").not());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["schema"], "tickbench.loadtest.v2");
    assert_eq!(report["kind"], "calibration");
    let m = &report["floor"]["metrics"];
    assert_eq!(m["completed"], m["planned"]);
    assert!(report["floor"]["run_p99_over_floor"].is_null());
    // The calibration keeps the profile's whole window and warm-up.
    let profile = &report["floor"]["profile"];
    assert_eq!(
        (profile["duration_s"].as_f64(), profile["warmup_s"].as_f64()),
        (Some(0.3), Some(0.1))
    );
    assert_eq!(profile["name"], "quick floor");
}

#[test]
fn the_status_line_goes_to_stderr_unless_quiet() {
    // stderr is a pipe here, not a terminal: plain lines, the last one when the run ends.
    let mut cmd = Command::cargo_bin("tickbench").unwrap();
    cmd.args(["loadtest", "--floor", "0", "--sla-min-rate", "0"]);
    let output = short(&mut cmd).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("[quick] "))
        .unwrap_or_else(|| panic!("no status line in {stderr:?}"));
    for part in ["/0.4 s", "sent ", "p99 ", "CPU ", "RSS ", "steal "] {
        assert!(line.contains(part), "{part:?} missing from {line:?}");
    }
    assert!(
        !stderr.contains('\r'),
        "no terminal control on a pipe: {stderr:?}"
    );
    let quiet = short(&mut loadtest())
        .args(["--floor", "0"])
        .output()
        .unwrap();
    assert!(
        quiet.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&quiet.stderr)
    );
}

#[test]
fn repeat_runs_the_profile_n_times_and_ends_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs.json");
    short(&mut loadtest())
        .args([
            "--repeat",
            "2",
            "--floor",
            "0.2",
            "--sla-p95-ms",
            "0",
            "--out",
        ])
        .arg(&out)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("2 runs of 'quick':"))
        .stdout(predicate::str::contains("floor p99"));
    let runs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let runs = runs.as_array().expect("repeated runs are an array");
    assert_eq!(runs.len(), 2, "both runs ran although the first breached");
    assert!(runs
        .iter()
        .all(|r| r["floor"]["profile"]["duration_s"] == 0.2));
}

#[test]
fn an_impossible_sla_exits_1_and_lists_the_breach() {
    short(&mut loadtest())
        .args(["--sla-p95-ms", "0", "--format", "json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"check\": \"p95_ms\""));
}

#[test]
fn progressive_stops_after_quick_fails() {
    // The quick profile (shortened by --duration) cannot meet a zero p95, so full never runs.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs.json");
    short(&mut loadtest())
        .args(["--progressive", "--sla-p95-ms", "0", "--out"])
        .arg(&out)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("stopped after 'quick'"))
        .stdout(predicate::str::contains("'full'").not());
    let runs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let runs = runs.as_array().expect("a progressive report is an array");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["profile"]["name"], "quick");
    assert_eq!(runs[0]["verdict"]["passed"], false);
}

#[test]
fn bad_input_exits_2_naming_the_flag_or_file() {
    loadtest()
        .args(["--rate", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--rate"));
    loadtest()
        .args(["--duration", "-1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--duration"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-profile.toml");
    std::fs::write(&bad, "rate = 0\nduration_s = 1\n").unwrap();
    loadtest()
        .arg("--profile")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad-profile.toml"));
    loadtest()
        .args(["--profile", "no-such-profile.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-profile.toml"));
    for (flag, value) in [("--floor", "-1"), ("--floor", "inf"), ("--repeat", "0")] {
        loadtest()
            .args([flag, value])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(flag));
    }
    loadtest()
        .args(["--calibrate", "--progressive"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--calibrate"));
}

#[test]
fn an_existing_report_is_not_touched_when_the_input_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("keep.json");
    std::fs::write(&out, "precious").unwrap();
    loadtest()
        .args(["--rate", "-5", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--rate must be a positive number of ticks/s, got -5",
        ));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious");
}
