//! `tickbench loadtest` end to end: exit codes, error messages, the JSON report.

use assert_cmd::Command;
use predicates::prelude::*;

fn loadtest() -> Command {
    let mut cmd = Command::cargo_bin("tickbench").unwrap();
    cmd.arg("loadtest").arg("--quiet");
    cmd
}

/// A short, light run: 0.3 s at 5 000 ticks/s.
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
