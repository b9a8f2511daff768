//! The CLI against synthetic Criterion directories (`tests/fixtures/synthetic/`, made by
//! `make.py` there): every kind of bad input gives a clear message naming the file, exit code 2
//! when nothing usable is left, and a report for the rest when something is.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/synthetic");

fn tickbench() -> Command {
    let mut cmd = Command::cargo_bin("tickbench").unwrap();
    cmd.env_remove("CRITERION_HOME")
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

fn dir(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

fn json_stdout(cmd: &mut Command) -> Value {
    let out = cmd.output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn missing_criterion_dir_is_a_clear_error() {
    tickbench()
        .args([
            "compare",
            "a",
            "b",
            "--criterion-dir",
            "/nonexistent/criterion",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "Criterion directory /nonexistent/criterion does not exist",
        ));
}

#[test]
fn empty_criterion_dir_says_it_holds_nothing() {
    let empty = tempfile::tempdir().unwrap();
    tickbench()
        .args(["summary", "base", "--criterion-dir"])
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no Criterion baseline named 'base'",
        ))
        .stderr(predicate::str::contains(
            "none (the directory holds no benchmark.json)",
        ));
}

#[test]
fn criterion_home_and_cargo_target_dir_are_honoured() {
    tickbench()
        .env("CRITERION_HOME", dir("pascal"))
        .args(["summary", "old"])
        .assert()
        .success()
        .stdout(predicate::str::contains("legacy/bench"));
    let target = tempfile::tempdir().unwrap();
    std::fs::create_dir(target.path().join("criterion")).unwrap();
    tickbench()
        .env("CARGO_TARGET_DIR", target.path())
        .args(["summary", "old"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            target.path().join("criterion").display().to_string(),
        ));
}

#[test]
fn unknown_baseline_lists_the_existing_ones() {
    tickbench()
        .args(["compare", "a", "nope", "--criterion-dir", &dir("good")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no Criterion baseline named 'nope'",
        ))
        .stderr(predicate::str::contains(
            "a (8 benchmarks), b (8 benchmarks)",
        ));
}

#[test]
fn corrupt_files_are_named_the_rest_is_reported_and_the_exit_code_is_2() {
    tickbench()
        .args(["summary", "x", "--criterion-dir", &dir("corrupt")])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("ok/one"))
        .stdout(predicate::str::contains("bad/").not())
        .stderr(predicate::str::contains(
            "bad/truncated/x/estimates.json: cut short",
        ))
        .stderr(predicate::str::contains(
            "bad/notjson/x/sample.json: not valid Criterion JSON",
        ))
        .stderr(predicate::str::contains(
            "bad/missing/x/sample.json: missing",
        ));
}

#[test]
fn pascal_case_estimates_are_read() {
    let v = json_stdout(tickbench().args([
        "summary",
        "old",
        "--format",
        "json",
        "--criterion-dir",
        &dir("pascal"),
    ]));
    assert_eq!(v["schema"], "tickbench.summary.v1");
    let b = &v["benchmarks"][0];
    assert_eq!(b["id"], "legacy/bench");
    assert!(b["mean_ns"].as_f64().unwrap() > 1000.0);
    assert!(b["ci_ns"][0].as_f64().unwrap() < b["ci_ns"][1].as_f64().unwrap());
}

#[test]
fn every_throughput_variant_and_odd_ids_are_summarised() {
    let v = json_stdout(tickbench().args([
        "summary",
        "a",
        "--format",
        "json",
        "--criterion-dir",
        &dir("good"),
    ]));
    let rows = v["benchmarks"].as_array().unwrap();
    let unit = |id: &str| {
        let row = rows
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"));
        row["throughput"]["unit"].as_str().map(str::to_string)
    };
    assert_eq!(unit("grp/plain").as_deref(), Some("elem/s"));
    assert_eq!(unit("grp/with space/1").as_deref(), Some("B/s"));
    assert_eq!(unit("grp/ünïcödé/2").as_deref(), Some("B/s"));
    assert_eq!(unit("bits/x").as_deref(), Some("bit/s"));
    assert_eq!(unit("both/x").as_deref(), Some("elem/s"));
    assert_eq!(unit("noput"), None);
    // The id comes from benchmark.json, not from the (cut, sanitised) directory name.
    assert!(unit("deep/a/b/c").is_none());
    // 1000 elements in ~1000 ns → ~1e9 elements per second.
    let plain = rows.iter().find(|r| r["id"] == "grp/plain").unwrap();
    let rate = plain["throughput"]["per_second"].as_f64().unwrap();
    assert!((0.95e9..1.05e9).contains(&rate), "{rate}");
}

#[test]
fn nan_and_zero_times_make_the_benchmark_unreadable() {
    tickbench()
        .args(["summary", "x", "--criterion-dir", &dir("nan")])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("ok/one"))
        .stderr(predicate::str::contains("'nan/times'"))
        .stderr(predicate::str::contains("'zero/times'"))
        .stderr(predicate::str::contains(
            "null, NaN, zero, negative or infinite",
        ));
}

#[test]
fn a_real_regression_fails_with_exit_code_1() {
    let v = json_stdout(tickbench().args([
        "compare",
        "a",
        "b",
        "--format",
        "json",
        "--criterion-dir",
        &dir("good"),
    ]));
    assert_eq!(v["schema"], "tickbench.compare.v2");
    let by_id = |id: &str| {
        v["benchmarks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"))
            .clone()
    };
    let plain = by_id("grp/plain");
    assert_eq!(plain["verdict"], "regressed");
    let change = plain["change_pct"].as_f64().unwrap();
    assert!((25.0..35.0).contains(&change), "{change}");
    assert!(plain["p_value"].as_f64().unwrap() < 0.05);
    assert!(
        plain["ci_pct"][0].as_f64().unwrap() <= change
            && change <= plain["ci_pct"][1].as_f64().unwrap()
    );
    assert_eq!(plain["basis"], "single-run");
    // Different sample sizes (100 vs 50), ids with spaces and non-ASCII compare fine. With one
    // run per side and six benchmarks, one of which moved 30 %, the suite's spread cannot
    // vouch for a small change: unchanged or inconclusive, never a verdict either way.
    for id in ["grp/with space/1", "grp/ünïcödé/2", "deep/a/b/c"] {
        let row = by_id(id);
        let verdict = row["verdict"].as_str().unwrap();
        assert!(["unchanged", "inconclusive"].contains(&verdict), "{row}");
        assert!(row["change_pct"].as_f64().unwrap().abs() < 3.0, "{row}");
    }
    // One-sided benchmarks.
    assert_eq!(by_id("only_new")["verdict"], "added");
    assert_eq!(by_id("only_old")["verdict"], "removed");
    assert_eq!(v["summary"]["regressed"], 1);
    assert_eq!(v["summary"]["added"], 1);
    assert_eq!(v["summary"]["removed"], 1);

    tickbench()
        .args(["compare", "a", "b", "--criterion-dir", &dir("good")])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("REGRESSED"));
}

#[test]
fn the_same_run_on_both_sides_is_refused() {
    tickbench()
        .args(["compare", "a", "a", "--criterion-dir", &dir("good")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("OLD and NEW share a run"));
}

#[test]
fn a_higher_threshold_lets_the_regression_pass() {
    // 30 % is below a 20 % × 2 single-run requirement: the threshold flag is really used.
    tickbench()
        .args([
            "compare",
            "a",
            "b",
            "--threshold",
            "20",
            "--criterion-dir",
            &dir("good"),
        ])
        .assert()
        .code(0);
}

#[test]
fn nothing_in_common_is_bad_input() {
    let both = tempfile::tempdir().unwrap();
    copy_dir(&format!("{}/ok", dir("corrupt")), &both.path().join("ok"));
    copy_dir(
        &format!("{}/legacy", dir("pascal")),
        &both.path().join("legacy"),
    );
    tickbench()
        .args(["compare", "x", "old", "--criterion-dir"])
        .arg(both.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no benchmark in common"));
}

fn copy_dir(from: &str, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(entry.path().to_str().unwrap(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

#[test]
fn usage_errors_exit_2_and_help_shows_examples() {
    tickbench().args(["compare", "a"]).assert().code(2);
    tickbench().args(["frobnicate"]).assert().code(2);
    tickbench()
        .args(["compare", "a", "b", "--threshold=-3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--threshold"));
    tickbench()
        .args(["compare", "a", "b", "--significance", "1.5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--significance"));
    tickbench()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("tickbench compare before after"));
    tickbench()
        .args(["compare", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("before1,before2"));
}

#[test]
fn corrupt_stored_baseline_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("main.json");
    std::fs::write(
        &file,
        r#"{"schema": "tickbench.baseline.v1", "name": "main", "runs": [{"sou"#,
    )
    .unwrap();
    tickbench()
        .args(["compare"])
        .arg(&file)
        .args(["a", "--criterion-dir", &dir("good")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(file.display().to_string()))
        .stderr(predicate::str::contains("not valid JSON"));
    std::fs::write(&file, r#"{"schema": "something.else.v9"}"#).unwrap();
    tickbench()
        .arg("summary")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("expected 'tickbench.baseline.v1'"));
}
