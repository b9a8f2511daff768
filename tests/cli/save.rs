//! `save`, `list` and the output formats: stored baselines are self-contained, never
//! overwritten by accident, can hold repeated runs, and compare like live Criterion baselines.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const GOOD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/synthetic/good");

fn tickbench(baselines: &Path) -> Command {
    let mut cmd = Command::cargo_bin("tickbench").unwrap();
    cmd.env_remove("CRITERION_HOME")
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(baselines.parent().unwrap());
    cmd
}

fn save(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    tickbench(dir)
        .arg("save")
        .args(args)
        .args(["--criterion-dir", GOOD, "--baselines-dir"])
        .arg(dir)
        .assert()
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn save_writes_a_self_contained_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("baselines");
    save(&dir, &["a", "--as", "main"])
        .success()
        .stdout(predicate::str::contains("saved 8 benchmarks"));
    let v = read(&dir.join("main.json"));
    assert_eq!(v["schema"], "tickbench.baseline.v1");
    assert_eq!(v["name"], "main");
    let run = &v["runs"][0];
    assert!(run["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(run["machine"]["cpu"].is_string());
    assert!(run["machine"]["rustc"]
        .as_str()
        .unwrap()
        .starts_with("rustc"));
    assert!(run["created"].as_str().unwrap().ends_with('Z'));
    let b = run["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == "both/x")
        .unwrap();
    assert_eq!(b["sample"]["times"].as_array().unwrap().len(), 100);
    assert_eq!(b["throughput"]["ElementsAndBytes"]["bytes"], 80);
    assert!(b["estimates"]["slope"].is_null());
    // No temporary file left behind.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn save_refuses_to_overwrite_without_force_and_appends_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("baselines");
    let file = dir.join("a.json");
    save(&dir, &["a"]).success();
    let first = std::fs::read(&file).unwrap();

    save(&dir, &["b", "--as", "a"])
        .code(2)
        .stderr(predicate::str::contains("already exists"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        first,
        "refused save changed the file"
    );

    // The same run again is refused; a different run (here: b, which differs far beyond the
    // stored run's spread) needs --accept-outliers.
    save(&dir, &["a", "--append"])
        .code(2)
        .stderr(predicate::str::contains("already stored"));
    save(&dir, &["b", "--as", "a", "--append"])
        .code(2)
        .stderr(predicate::str::contains("far beyond their spread"));
    save(&dir, &["b", "--as", "a", "--append", "--accept-outliers"])
        .success()
        .stdout(predicate::str::contains("(2 run(s))"));
    assert_eq!(read(&file)["runs"].as_array().unwrap().len(), 2);

    save(&dir, &["b", "--as", "a", "--force"]).success();
    let v = read(&file);
    assert_eq!(v["runs"].as_array().unwrap().len(), 1);
    assert!(v["runs"][0]["source"].as_str().unwrap().contains("'b'"));

    save(&dir, &["a", "--force", "--append"]).code(2);
}

#[test]
fn save_rejects_bad_names_and_unknown_baselines_without_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("baselines");
    save(&dir, &["a", "--as", "../escape"])
        .code(2)
        .stderr(predicate::str::contains("--as '../escape'"));
    save(&dir, &["missing"])
        .code(2)
        .stderr(predicate::str::contains("a (8 benchmarks)"));
    assert!(!dir.exists() || std::fs::read_dir(&dir).unwrap().count() == 0);
}

#[test]
fn appending_to_a_corrupt_file_fails_and_keeps_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("baselines");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a.json");
    std::fs::write(&file, "{ truncated").unwrap();
    save(&dir, &["a", "--append"])
        .code(2)
        .stderr(predicate::str::contains("a.json is not valid JSON"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{ truncated");
}

#[test]
fn stored_runs_compare_like_criterion_baselines_and_list_shows_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("baselines");
    // A repeated run of the old code: a's samples, every time 0.2 % longer (a run of identical
    // samples would be the same run, which is refused).
    save(&dir, &["a", "--as", "old"]).success();
    let stored = dir.join("old.json");
    let mut v = read(&stored);
    for b in v["runs"][0]["benchmarks"].as_array_mut().unwrap() {
        for t in b["sample"]["times"].as_array_mut().unwrap() {
            *t = (t.as_f64().unwrap() * 1.002).into();
        }
    }
    std::fs::write(&stored, serde_json::to_string(&v).unwrap()).unwrap();
    save(&dir, &["a", "--as", "old", "--append"]).success();

    // Two runs on the old side: the verdict rests on the spread between runs.
    let out = tickbench(&dir)
        .arg("compare")
        .arg(&stored)
        .args(["b", "--format", "json", "--criterion-dir", GOOD])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let plain = v["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == "grp/plain")
        .unwrap();
    assert_eq!(plain["verdict"], "regressed");
    assert_eq!(plain["basis"], "runs");
    assert_eq!(plain["old"]["runs"], 2);

    // Comma-separated lists mix stored files and Criterion names; a run listed twice (the
    // stored copy of a beside a itself) is refused.
    save(&dir, &["a", "--as", "first"]).success();
    let first = dir.join("first.json");
    let mut v = read(&first);
    for b in v["runs"][0]["benchmarks"].as_array_mut().unwrap() {
        for t in b["sample"]["times"].as_array_mut().unwrap() {
            *t = (t.as_f64().unwrap() * 0.999).into();
        }
    }
    std::fs::write(&first, serde_json::to_string(&v).unwrap()).unwrap();
    tickbench(&dir)
        .arg("compare")
        .arg(format!("{},a", first.display()))
        .args(["b", "--criterion-dir", GOOD])
        .assert()
        .code(1);
    tickbench(&dir)
        .arg("compare")
        .arg(format!("{},a", stored.display()))
        .args(["b", "--criterion-dir", GOOD])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("listed twice"));

    tickbench(&dir)
        .args(["list", "--criterion-dir", GOOD, "--baselines-dir"])
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "a                        8 benchmarks",
        ))
        .stdout(predicate::str::contains("old.json"))
        .stdout(predicate::str::contains("8 benchmarks, 2 run(s)"));
}

#[test]
fn every_format_renders_and_out_writes_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("baselines");
    let compare = |format: &str| {
        let out = tickbench(&dir)
            .args([
                "compare",
                "a",
                "b",
                "--format",
                format,
                "--criterion-dir",
                GOOD,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        String::from_utf8(out.stdout).unwrap()
    };
    let md = compare("markdown");
    assert!(md.contains(
        "| benchmark | old | new | change | CI | p | detectable | basis | policy | verdict |"
    ));
    assert!(md.contains("🔴 **regressed**"));
    let bmf: Value = serde_json::from_str(&compare("bmf")).unwrap();
    assert!(bmf["grp/plain"]["latency"]["value"].as_f64().unwrap() > 1200.0);
    assert!(bmf.get("only_old").is_none(), "bmf exports the new side");
    let gh: Value = serde_json::from_str(&compare("github")).unwrap();
    let entry = gh
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "grp/plain")
        .unwrap();
    assert_eq!(entry["unit"], "ns/iter");
    assert!(entry["extra"].as_str().unwrap().starts_with("regressed"));

    let summary_bmf: Value = serde_json::from_slice(
        &tickbench(&dir)
            .args(["summary", "a", "--format", "bmf", "--criterion-dir", GOOD])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        summary_bmf["grp/plain"]["throughput"]["value"]
            .as_f64()
            .unwrap()
            > 1e8
    );
    assert!(summary_bmf["noput"].get("throughput").is_none());

    let report = tmp.path().join("out/report.md");
    tickbench(&dir)
        .args([
            "summary",
            "a",
            "--format",
            "markdown",
            "--criterion-dir",
            GOOD,
            "--out",
        ])
        .arg(&report)
        .assert()
        .success()
        .stdout("");
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("| `grp/with space/1` |"));
}

#[test]
fn machine_id_is_a_file_name() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tickbench(&tmp.path().join("x"))
        .args(["machine", "--id"])
        .output()
        .unwrap();
    let id = String::from_utf8(out.stdout).unwrap();
    let id = id.trim();
    assert!(id.ends_with('c') && !id.is_empty());
    assert!(
        id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "{id}"
    );
}

#[test]
fn baselines_from_different_machines_are_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("baselines");
    save(&dir, &["a", "--as", "elsewhere"]).success();
    let file = dir.join("elsewhere.json");
    let mut v = read(&file);
    v["runs"][0]["machine"]["cpu"] = "Some Other CPU 9000".into();
    std::fs::write(&file, serde_json::to_string(&v).unwrap()).unwrap();
    tickbench(&dir)
        .arg("compare")
        .arg(&file)
        .args(["b", "--criterion-dir", GOOD])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "baselines come from different machines",
        ))
        .stderr(predicate::str::contains("Some Other CPU 9000"));
    // The same machine: no warning.
    save(&dir, &["a", "--as", "here"]).success();
    tickbench(&dir)
        .arg("compare")
        .arg(dir.join("here.json"))
        .args(["b", "--criterion-dir", GOOD])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("different machines").not());
}
