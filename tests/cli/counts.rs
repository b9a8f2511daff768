//! Instruction counts on recorded count runs (`tests/fixtures/counts/`, see its README): the
//! exact verdict, the functions that changed, the differential flamegraph, and the refusals
//! (time against counts, mixed metrics, counts that differ between repeats).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const COUNTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/counts");
const GOOD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/synthetic/good");

fn fixture(name: &str) -> String {
    format!("{COUNTS}/{name}.json")
}

fn tickbench(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("tickbench").unwrap();
    cmd.env_remove("CRITERION_HOME")
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(dir);
    cmd
}

/// `compare OLD NEW --format json --out DIR/report.json`: (exit code, report, flamegraph dir).
fn compare(old: &str, new: &str, extra: &[&str]) -> (i32, Value, PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report.json");
    let assert = tickbench(tmp.path())
        .args(["compare", old, new, "--format", "json", "--out"])
        .arg(&out)
        .args(extra)
        .assert();
    let code = assert.get_output().status.code().unwrap();
    let report = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (code, report, tmp.path().join("report-flamegraphs"), tmp)
}

fn row<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .unwrap_or_else(|| panic!("no row {id}"))
}

fn per_iteration(file: &str, id: &str) -> f64 {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let b = v["runs"][0]["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .unwrap();
    b["sample"]["times"][0].as_f64().unwrap() / b["sample"]["iters"][0].as_f64().unwrap()
}

#[test]
fn one_more_instruction_in_rsi_is_flagged_there_and_shown_exactly_on_the_engine() {
    let (code, report, flames, _tmp) = compare(&fixture("base"), &fixture("rsi"), &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["metric"], "instructions");
    let rsi = row(&report, "indicator/rsi");
    assert_eq!(rsi["verdict"], "regressed");
    assert_eq!(rsi["basis"], "exact");
    let expected = (per_iteration(&fixture("rsi"), "indicator/rsi")
        / per_iteration(&fixture("base"), "indicator/rsi")
        - 1.0)
        * 100.0;
    assert!((rsi["change_pct"].as_f64().unwrap() - expected).abs() < 1e-9);
    assert!(expected > 1.0, "the injected change is {expected} %");

    let mut engine_rows = 0;
    for b in report["benchmarks"].as_array().unwrap() {
        let id = b["id"].as_str().unwrap();
        let change = b["change_pct"].as_f64().unwrap();
        if id == "indicator/rsi" {
            continue;
        }
        if id.starts_with("engine/") || id.starts_with("six_indicators/engine/") {
            // The engine runs RSI once per tick among ~120 instructions: shown, below 1 %.
            engine_rows += 1;
            assert!(change > 0.3 && change < 1.0, "{id}: {change}");
            assert_eq!(b["verdict"], "unchanged", "{id}");
            assert_eq!(b["significant"], true, "{id}");
        } else {
            assert_eq!(change, 0.0, "{id} must not move");
            assert_eq!(b["verdict"], "unchanged", "{id}");
        }
    }
    assert_eq!(engine_rows, 8);

    // Where: the function whose own code changed comes first, an inlined one.
    let functions = rsi["functions"].as_array().unwrap();
    let first = functions[0]["function"].as_str().unwrap();
    assert!(first.ends_with("rsi_step"), "{functions:#?}");
    assert_eq!(functions[0]["self_change"].as_f64().unwrap().round(), 2.0);
    let svg_path = rsi["diff_flamegraph"].as_str().unwrap();
    assert!(Path::new(svg_path).starts_with(&flames));
    let svg = std::fs::read_to_string(svg_path).unwrap();
    assert!(svg.contains("rsi_step") && svg.contains("<svg"));
    // Unchanged rows get no flamegraph.
    assert!(row(&report, "indicator/ema")["diff_flamegraph"].is_null());
}

#[test]
fn a_lower_threshold_flags_the_engine_rows_the_change_crosses() {
    let (code, report, _, _tmp) =
        compare(&fixture("base"), &fixture("rsi"), &["--threshold", "0.7"]);
    assert_eq!(code, 1);
    for b in report["benchmarks"].as_array().unwrap() {
        let change = b["change_pct"].as_f64().unwrap();
        let expected = if change > 0.7 {
            "regressed"
        } else {
            "unchanged"
        };
        assert_eq!(b["verdict"], expected, "{}: {change}", b["id"]);
    }
    assert_eq!(row(&report, "engine/throughput")["verdict"], "regressed");
    assert_eq!(row(&report, "engine/symbols/65536")["verdict"], "unchanged");
}

#[test]
fn code_that_only_moved_changes_no_count() {
    let (code, report, flames, _tmp) = compare(&fixture("base"), &fixture("moved"), &[]);
    assert_eq!(code, 0, "{report:#}");
    for b in report["benchmarks"].as_array().unwrap() {
        assert_eq!(b["verdict"], "unchanged", "{}", b["id"]);
        assert_eq!(b["change_pct"].as_f64().unwrap(), 0.0, "{}", b["id"]);
    }
    assert!(!flames.exists());
}

#[test]
fn the_table_names_the_function_and_the_flamegraph() {
    let tmp = tempfile::tempdir().unwrap();
    tickbench(tmp.path())
        .args(["compare", &fixture("base"), &fixture("rsi")])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("REGRESSED"))
        .stdout(predicate::str::contains("+2.70 %"))
        .stdout(predicate::str::contains("rsi_step"))
        .stdout(predicate::str::contains("differential flamegraph:"))
        .stdout(predicate::str::contains("basis exact"));
}

#[test]
fn counts_are_never_compared_with_times() {
    let tmp = tempfile::tempdir().unwrap();
    tickbench(tmp.path())
        .args(["compare", "a", &fixture("base"), "--criterion-dir", GOOD])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be compared"))
        .stderr(predicate::str::contains("instructions"));
    // Nor stored in one file.
    let dir = tmp.path().join("baselines");
    tickbench(tmp.path())
        .args(["save", &fixture("base"), "--as", "mixed", "--baselines-dir"])
        .arg(&dir)
        .assert()
        .success();
    tickbench(tmp.path())
        .args([
            "save",
            "a",
            "--as",
            "mixed",
            "--append",
            "--criterion-dir",
            GOOD,
        ])
        .arg("--baselines-dir")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("one metric"));
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("mixed.json")).unwrap()).unwrap();
    assert_eq!(
        stored["runs"].as_array().unwrap().len(),
        1,
        "nothing appended"
    );
    assert_eq!(stored["runs"][0]["metric"], "instructions");
}

#[test]
fn counts_that_differ_between_repeats_make_their_spread_the_uncertainty() {
    // A stored baseline of two runs of the base, where repeated counts of engine/throughput
    // differ by 2 %: that benchmark cannot be judged at 1 %; the others still are.
    let tmp = tempfile::tempdir().unwrap();
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("base")).unwrap()).unwrap();
    let mut second = v["runs"][0].clone();
    for b in second["benchmarks"].as_array_mut().unwrap() {
        if b["id"] == "engine/throughput" {
            let t = b["sample"]["times"][0].as_f64().unwrap();
            b["sample"]["times"][0] = (t * 1.02).into();
        }
    }
    v["runs"].as_array_mut().unwrap().push(second);
    let two = tmp.path().join("two.json");
    std::fs::write(&two, v.to_string()).unwrap();
    let (code, report, _, _t) = compare(two.to_str().unwrap(), &fixture("rsi"), &[]);
    assert_eq!(code, 1, "indicator/rsi still regressed");
    let t = row(&report, "engine/throughput");
    assert_eq!(t["verdict"], "inconclusive");
    assert!(t["reason"].as_str().unwrap().contains("differ by 2.00 %"));
    assert!(report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("engine/throughput")));
    assert_eq!(row(&report, "indicator/rsi")["verdict"], "regressed");
}

#[test]
fn a_damaged_profile_or_count_is_refused_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("base")).unwrap()).unwrap();
    v["runs"][0]["benchmarks"][0]["counts"]["profile"]["data"] = "bm90IGd6aXA=".into();
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, v.to_string()).unwrap();
    tickbench(tmp.path())
        .args(["compare"])
        .arg(&bad)
        .arg(fixture("rsi"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.json"))
        .stderr(predicate::str::contains("gzip"));
}

#[test]
fn a_missing_or_old_valgrind_is_exit_2_with_how_to_install() {
    let tmp = tempfile::tempdir().unwrap();
    tickbench(tmp.path())
        .env("TICKBENCH_VALGRIND", tmp.path().join("no-such-valgrind"))
        .args(["bench", "--counts", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("valgrind is not installed"))
        .stderr(predicate::str::contains("apt-get install -y valgrind"));
    let old = tmp.path().join("valgrind");
    std::fs::write(&old, "#!/bin/sh\necho valgrind-3.15.0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    tickbench(tmp.path())
        .env("TICKBENCH_VALGRIND", &old)
        .args(["bench", "--counts", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("valgrind-3.15.0 is too old"));
}
