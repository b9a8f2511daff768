//! The verdict has no holes: damaged, duplicated, ambiguous and degenerate input never passes
//! the gate quietly. Each test works on a copy of the recorded Criterion runs
//! (`tests/fixtures/recorded/`: r1–r4 identical code, s1–s2 with every `probe/*` 10 % slower)
//! and damages the copy the way a real file system or a real run does.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const RECORDED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/recorded");
const VICTIM: &str = "probe/collatz/2500";
/// Every probe of the recorded suite (the benchmarks `SLOW=1` made 10 % slower).
const PROBES: [&str; 5] = [
    "probe/btree_insert/2000",
    "probe/collatz/2500",
    "probe/format_strings/1500",
    "probe/sort_clone/4000",
    "probe/sqrt_sum/20000",
];

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// A writable copy of the recorded runs, and a scratch directory to run in.
struct Fixture {
    root: tempfile::TempDir,
    cwd: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let root = tempfile::tempdir().unwrap();
        copy_tree(Path::new(RECORDED), root.path());
        Fixture {
            root,
            cwd: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, id: &str, run: &str, name: &str) -> PathBuf {
        self.root.path().join(id).join(run).join(name)
    }

    /// `tickbench COMMAND --criterion-dir ROOT ARGS…`.
    fn run(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("tickbench").unwrap();
        cmd.env_remove("CRITERION_HOME")
            .env_remove("CARGO_TARGET_DIR")
            .current_dir(self.cwd.path())
            .arg(args[0])
            .arg("--criterion-dir")
            .arg(self.root.path())
            .args(&args[1..]);
        cmd
    }

    /// Rewrites a run's `sample.json` of `id` through `edit`.
    fn edit_sample(&self, id: &str, run: &str, edit: impl FnOnce(&mut Value)) {
        let path = self.file(id, run, "sample.json");
        let mut v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        edit(&mut v);
        fs::write(path, serde_json::to_string(&v).unwrap()).unwrap();
    }

    /// Multiplies every sample time of `id` in `run` by `by`: the run as if the benchmark (or
    /// the machine, for it) were that much slower.
    fn scale(&self, id: &str, run: &str, by: f64) {
        self.edit_sample(id, run, |v| {
            for t in v["times"].as_array_mut().unwrap() {
                *t = (t.as_f64().unwrap() * by).into();
            }
        });
    }

    /// The JSON report of a compare, and its exit code.
    fn compare_json(&self, old: &str, new: &str, extra: &[&str]) -> (Value, i32) {
        let mut args = vec!["compare", old, new, "--format", "json"];
        args.extend_from_slice(extra);
        let out = self.run(&args).output().unwrap();
        let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (v, out.status.code().unwrap())
    }
}

fn row<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing from {report}"))
}

/// Damages the files of [`VICTIM`] in one run of a fixture.
type Damage = Box<dyn Fn(&Fixture, &str)>;

/// Every way the files of one benchmark are found damaged, each applied to `run`.
fn damages() -> Vec<(&'static str, Damage)> {
    let sample = |f: &Fixture, run: &str| f.file(VICTIM, run, "sample.json");
    vec![
        (
            "truncated sample.json",
            Box::new(move |f, run| {
                let p = sample(f, run);
                let text = fs::read_to_string(&p).unwrap();
                fs::write(&p, &text[..text.len() / 2]).unwrap();
            }),
        ),
        (
            "missing sample.json",
            Box::new(move |f, run| fs::remove_file(sample(f, run)).unwrap()),
        ),
        (
            "missing estimates.json",
            Box::new(|f, run| fs::remove_file(f.file(VICTIM, run, "estimates.json")).unwrap()),
        ),
        (
            "missing benchmark.json",
            Box::new(|f, run| fs::remove_file(f.file(VICTIM, run, "benchmark.json")).unwrap()),
        ),
        (
            "a zero iteration count",
            Box::new(|f, run| f.edit_sample(VICTIM, run, |v| v["iters"][3] = 0.0.into())),
        ),
        (
            "a negative count with a negative time",
            Box::new(|f, run| {
                f.edit_sample(VICTIM, run, |v| {
                    let (i, t) = (
                        v["iters"][3].as_f64().unwrap(),
                        v["times"][3].as_f64().unwrap(),
                    );
                    v["iters"][3] = (-i).into();
                    v["times"][3] = (-t).into();
                })
            }),
        ),
        (
            "a negative time",
            Box::new(|f, run| f.edit_sample(VICTIM, run, |v| v["times"][3] = (-5.0).into())),
        ),
        (
            "a null time",
            Box::new(|f, run| f.edit_sample(VICTIM, run, |v| v["times"][3] = Value::Null)),
        ),
        (
            "iters and times of different lengths",
            Box::new(|f, run| {
                f.edit_sample(VICTIM, run, |v| {
                    v["times"].as_array_mut().unwrap().pop();
                })
            }),
        ),
        (
            "a directory where sample.json should be",
            Box::new(move |f, run| {
                let p = sample(f, run);
                fs::remove_file(&p).unwrap();
                fs::create_dir(&p).unwrap();
            }),
        ),
        (
            "a symlink loop where sample.json should be",
            Box::new(move |f, run| {
                let p = sample(f, run);
                fs::remove_file(&p).unwrap();
                std::os::unix::fs::symlink(&p, &p).unwrap();
            }),
        ),
    ]
}

#[test]
fn every_damage_on_either_side_is_unreadable_and_exits_2() {
    for (what, damage) in damages() {
        for (side, run) in [("NEW", "s1"), ("OLD", "r2")] {
            let f = Fixture::new();
            damage(&f, run);
            let (report, code) = f.compare_json("r1,r2", "s1", &[]);
            assert_eq!(code, 2, "{what} on {side}: {report}");
            // Without benchmark.json the id is the directory; either way one row says why.
            let rows: Vec<&Value> = report["benchmarks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|b| b["verdict"] == "unreadable")
                .collect();
            assert_eq!(rows.len(), 1, "{what} on {side}: {report}");
            assert!(
                rows[0]["reason"].as_str().unwrap().contains(run),
                "{what} on {side}: the reason names the file: {}",
                rows[0]["reason"]
            );
            assert_eq!(report["summary"]["unreadable"], 1, "{what} on {side}");
            // Damage is never passed off as a benchmark that exists on one side only.
            assert_eq!(report["summary"]["removed"], 0, "{what} on {side}");
            assert_eq!(report["summary"]["added"], 0, "{what} on {side}");
        }
    }
}

#[test]
fn thirteen_of_fourteen_damaged_still_exits_2_and_every_format_shows_it() {
    let f = Fixture::new();
    let ids = [
        "canary/collatz_2k",
        "canary/fnv1a_4k",
        "canary/small_vecs_1k",
        "probe/btree_insert/2000",
        "probe/collatz/2500",
        "probe/format_strings/1500",
        "probe/sort_clone/4000",
    ];
    for id in ids {
        fs::write(f.file(id, "s1", "sample.json"), "{\"iters\": [1, 2").unwrap();
    }
    let (report, code) = f.compare_json("r1", "s1", &[]);
    assert_eq!(code, 2);
    assert_eq!(report["summary"]["unreadable"], 7);
    f.run(&["compare", "r1", "s1"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("UNREADABLE"))
        .stdout(predicate::str::contains("cut short"));
    f.run(&["compare", "r1", "s1", "--format", "markdown"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("unreadable"));
    for format in ["bmf", "github"] {
        f.run(&["compare", "r1", "s1", "--format", format])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "unreadable benchmark 'probe/collatz/2500'",
            ));
    }
    // An explicit flag judges the rest; the damage is still listed.
    let (report, code) = f.compare_json("r1", "s1", &["--allow-unreadable"]);
    assert!(code == 0 || code == 1, "{code}");
    assert_eq!(report["summary"]["unreadable"], 7);
}

#[test]
fn save_of_a_damaged_run_stores_nothing_unless_told_and_then_records_the_skip() {
    let f = Fixture::new();
    fs::remove_file(f.file(VICTIM, "r1", "estimates.json")).unwrap();
    let dir = f.cwd.path().join("baselines");
    f.run(&["save", "r1", "--as", "ref", "--baselines-dir"])
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("estimates.json: missing"))
        .stderr(predicate::str::contains("nothing saved"));
    assert!(!dir.join("ref.json").exists());
    f.run(&[
        "save",
        "r1",
        "--as",
        "ref",
        "--allow-unreadable",
        "--baselines-dir",
    ])
    .arg(&dir)
    .assert()
    .success();
    let stored: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("ref.json")).unwrap()).unwrap();
    assert_eq!(stored["runs"][0]["unreadable"][0]["id"], VICTIM);
    let stored_path = dir.join("ref.json").display().to_string();
    let (report, code) = f.compare_json(&stored_path, "r2", &[]);
    assert_eq!(
        code, 2,
        "a skip recorded at save is still a hole in the reference"
    );
    assert_eq!(row(&report, VICTIM)["verdict"], "unreadable");
}

#[test]
fn the_same_run_twice_is_refused() {
    let f = Fixture::new();
    for (old, new) in [("r1,r1", "s1"), ("r1,r1", "s1,s1"), ("r1", "r1")] {
        f.run(&["compare", old, new])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("identical samples"));
    }
    // A stored run beside the Criterion baseline it was saved from.
    let dir = f.cwd.path().join("baselines");
    f.run(&["save", "r1", "--as", "ref", "--baselines-dir"])
        .arg(&dir)
        .assert()
        .success();
    let stored = dir.join("ref.json").display().to_string();
    f.run(&["compare", &format!("{stored},r1"), "s1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("listed twice"));
    // Appending the same run again is refused too.
    f.run(&["save", "r1", "--as", "ref", "--append", "--baselines-dir"])
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already stored"));
}

#[test]
fn a_stored_run_with_a_benchmark_twice_is_refused() {
    let f = Fixture::new();
    let dir = f.cwd.path().join("baselines");
    f.run(&["save", "r1", "--as", "ref", "--baselines-dir"])
        .arg(&dir)
        .assert()
        .success();
    let path = dir.join("ref.json");
    let mut v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let first = v["runs"][0]["benchmarks"][0].clone();
    v["runs"][0]["benchmarks"]
        .as_array_mut()
        .unwrap()
        .push(first);
    fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    f.run(&["compare", &path.display().to_string(), "s1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("twice"));
}

#[test]
fn one_glitch_sample_does_not_decide_the_verdict() {
    let f = Fixture::new();
    // Identical code, one sample's time scaled by 1e-6 (a timer glitch).
    f.edit_sample(VICTIM, "r2", |v| {
        let t = v["times"][40].as_f64().unwrap();
        v["times"][40] = (t * 1e-6).into();
    });
    let (report, code) = f.compare_json("r1", "r2", &[]);
    let r = row(&report, VICTIM);
    assert_eq!(code, 0, "{r}");
    assert_ne!(r["verdict"], "improved", "{r}");
    assert!(r["change_pct"].as_f64().unwrap().abs() < 3.0, "{r}");
}

#[test]
fn a_run_cut_to_one_sample_is_inconclusive_with_the_reason() {
    let f = Fixture::new();
    f.edit_sample(VICTIM, "s1", |v| {
        v["iters"] = serde_json::json!([v["iters"][50]]);
        v["times"] = serde_json::json!([v["times"][50]]);
    });
    let (report, _) = f.compare_json("r1", "s1", &[]);
    let r = row(&report, VICTIM);
    assert_eq!(r["verdict"], "inconclusive", "{r}");
    assert_eq!(r["basis"], "few-samples", "{r}");
    assert!(
        r["reason"].as_str().unwrap().contains("only 1 samples"),
        "{r}"
    );
}

#[test]
fn an_empty_or_all_matching_canary_prefix_is_refused() {
    let f = Fixture::new();
    for prefix in ["", " "] {
        f.run(&["compare", "r1", "s1", "--canary", prefix])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--canary"));
    }
    // A suite of canaries only: the prefix matches every benchmark.
    fs::remove_dir_all(f.root.path().join("probe")).unwrap();
    f.run(&["compare", "r1", "s1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("matches every benchmark"));
}

#[test]
fn a_name_that_is_both_a_file_and_a_criterion_baseline_is_ambiguous() {
    let f = Fixture::new();
    f.run(&["save", "s1", "--as", "s1", "--baselines-dir", "."])
        .assert()
        .success();
    fs::rename(f.cwd.path().join("s1.json"), f.cwd.path().join("s1")).unwrap();
    f.run(&["compare", "r1", "s1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ambiguous"))
        .stderr(predicate::str::contains("'./s1'"))
        .stderr(predicate::str::contains("'criterion:s1'"));
    let (by_file, _) = f.compare_json("r1", "./s1", &[]);
    assert!(by_file["new"]["runs"][0]
        .as_str()
        .unwrap()
        .contains("s1 run 1"));
    let (by_name, _) = f.compare_json("r1", "criterion:s1", &[]);
    assert!(by_name["new"]["runs"][0]
        .as_str()
        .unwrap()
        .contains("Criterion baseline 's1'"));
}

#[test]
fn change_interval_and_p_value_agree_on_every_row() {
    let f = Fixture::new();
    for (old, new) in [("r1", "r2"), ("r1", "s1"), ("r1,r2", "r3"), ("r1,r2", "s2")] {
        let (report, _) = f.compare_json(old, new, &[]);
        for b in report["benchmarks"].as_array().unwrap() {
            let [lo, hi] = [
                b["ci_pct"][0].as_f64().unwrap(),
                b["ci_pct"][1].as_f64().unwrap(),
            ];
            let change = b["change_pct"].as_f64().unwrap();
            let p = b["p_value"].as_f64().unwrap();
            assert!(lo <= change && change <= hi, "{old} vs {new}: {b}");
            // The interval excludes no change exactly when the test is significant.
            assert_eq!(lo > 0.0 || hi < 0.0, p < 0.05, "{old} vs {new}: {b}");
            assert!(b["detectable_pct"].as_f64().unwrap() > 0.0, "{b}");
        }
    }
}

#[test]
fn a_disturbed_run_is_refused_by_save_append_and_one_bad_stored_run_cannot_move_the_reference() {
    let f = Fixture::new();
    // r3 with every probe 60 % slower: a run disturbed from its first sample to its last.
    for id in PROBES {
        f.scale(id, "r3", 1.6);
    }
    let dir = f.cwd.path().join("baselines");
    let save = |run: &str, extra: &[&str]| {
        let mut cmd = f.run(&["save", run, "--as", "ref", "--append", "--baselines-dir"]);
        cmd.arg(&dir).args(extra);
        cmd
    };
    save("r1", &[]).assert().success();
    save("r2", &[]).assert().success();
    save("r3", &[])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("far beyond their spread"))
        .stderr(predicate::str::contains("probe/collatz/2500"));
    save("r3", &["--accept-outliers"]).assert().success();
    // The reference now holds one bad run of three: identical code still passes quietly,
    // and the real 10 % slowdown is still caught.
    let stored = dir.join("ref.json").display().to_string();
    let (quiet, code) = f.compare_json(&stored, "r4", &[]);
    assert_eq!(code, 0, "{quiet}");
    assert_eq!(quiet["summary"]["improved"], 0, "{quiet}");
    let (slow, code) = f.compare_json(&stored, "s1", &[]);
    assert_eq!(code, 1, "{slow}");
    assert_eq!(row(&slow, VICTIM)["verdict"], "regressed", "{slow}");
}

#[test]
fn a_partial_re_run_does_not_set_the_noise_of_the_others() {
    let f = Fixture::new();
    // s2 re-ran only the victim (as a confirmation run does).
    for entry in fs::read_dir(f.root.path().join("probe")).unwrap() {
        let dir = entry.unwrap().path();
        for sub in fs::read_dir(&dir).unwrap() {
            let sub = sub.unwrap().path();
            if !sub.starts_with(f.root.path().join(VICTIM)) {
                let _ = fs::remove_dir_all(sub.join("s2"));
            }
        }
    }
    for c in [
        "canary/collatz_2k",
        "canary/fnv1a_4k",
        "canary/small_vecs_1k",
    ] {
        fs::remove_dir_all(f.file(c, "s2", "")).unwrap();
    }
    f.run(&["compare", "r1", "s1,s2"])
        .assert()
        .stderr(predicate::str::contains("partial re-run"));
}

#[test]
fn a_policy_file_sets_thresholds_and_advisory_rows_and_every_format_shows_it() {
    let f = Fixture::new();
    let policy = f.cwd.path().join("tickbench.toml");
    fs::write(
        &policy,
        "[[rule]]\nmatch = \"probe/*\"\nadvisory = true\nnote = \"reference code\"\n\n\
         [[rule]]\nmatch = \"probe/collatz/*\"\nthreshold = 50\n\n\
         [[rule]]\nmatch = \"nothing/*\"\nthreshold = 1\n",
    )
    .unwrap();
    // Every probe is 10 % slower in s1: advisory rows are reported but do not fail the gate,
    // and collatz's own 50 % threshold keeps it unchanged.
    let (report, code) = f.compare_json("r1,r2", "s1", &[]);
    assert_eq!(code, 0, "{report}");
    let sort = row(&report, "probe/sort_clone/4000");
    assert_eq!(sort["verdict"], "regressed", "{sort}");
    assert_eq!(sort["policy"]["advisory"], true, "{sort}");
    let collatz = row(&report, VICTIM);
    assert_eq!(collatz["policy"]["threshold_pct"], 50.0, "{collatz}");
    assert_ne!(collatz["verdict"], "regressed", "{collatz}");
    assert!(report["options"]["policy_file"]
        .as_str()
        .unwrap()
        .ends_with("tickbench.toml"));
    f.run(&["compare", "r1,r2", "s1"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("REGRESSED ▲ (advisory)"))
        .stdout(predicate::str::contains("50 % advisory"))
        .stdout(predicate::str::contains(
            "under an advisory policy: not failing",
        ))
        .stderr(predicate::str::contains("nothing/*"));
    f.run(&["compare", "r1,r2", "s1", "--format", "markdown"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("5 % advisory"));
    // Without the policy the same data fails the gate.
    fs::remove_file(&policy).unwrap();
    f.run(&["compare", "r1,r2", "s1"]).assert().code(1);
    // A policy file it cannot read is exit 2 naming the file and line.
    fs::write(&policy, "[[rule]]\nmatch = \"probe/*\"\ntreshold = 5\n").unwrap();
    f.run(&["compare", "r1,r2", "s1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tickbench.toml:3"));
}

#[test]
fn inconclusive_rows_exit_0_by_default_and_3_when_asked() {
    let f = Fixture::new();
    // One benchmark of the new run disturbed throughout: its fastest quarter spreads wide.
    f.edit_sample(VICTIM, "s1", |v| {
        for (i, t) in v["times"].as_array_mut().unwrap().iter_mut().enumerate() {
            *t = (t.as_f64().unwrap() * (1.0 + 0.02 * (i % 40) as f64)).into();
        }
    });
    let policy = f.cwd.path().join("tickbench.toml");
    fs::write(&policy, "[[rule]]\nmatch = \"probe/*\"\nadvisory = true\n").unwrap();
    let (report, code) = f.compare_json("r1,r2", "s1", &[]);
    let r = row(&report, VICTIM);
    assert_eq!(r["verdict"], "inconclusive", "{r}");
    assert!(r["reason"].as_str().unwrap().contains("disturbed"), "{r}");
    assert_eq!(code, 0);
    let (_, code) = f.compare_json("r1,r2", "s1", &["--fail-inconclusive"]);
    assert_eq!(code, 3);
}

#[test]
fn canaries_that_disagree_make_the_drift_uncertain_instead_of_faking_changes() {
    let f = Fixture::new();
    // r3 as if measured on another host of the same CPU name: the canaries moved +33 %, +35 %
    // and +15 %, the probes +25 %. Corrected by the canaries' median (+33 %), the probes would
    // read 6 % faster.
    f.scale("canary/collatz_2k", "r3", 1.33);
    f.scale("canary/small_vecs_1k", "r3", 1.35);
    f.scale("canary/fnv1a_4k", "r3", 1.15);
    for id in PROBES {
        f.scale(id, "r3", 1.25);
    }
    let (report, code) = f.compare_json("r1,r2", "r3", &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["summary"]["improved"], 0, "{report}");
    assert_eq!(report["summary"]["regressed"], 0, "{report}");
    assert!(report["drift"]["anchor_spread_pct"].as_f64().unwrap() > 5.0);
    f.run(&["compare", "r1,r2", "r3"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("different machine"));
    // On one host the canaries agree, and the same data without the host change is judged.
    let (quiet, _) = f.compare_json("r1,r2", "s1", &[]);
    assert!(
        quiet["drift"]["anchor_spread_pct"].as_f64().unwrap() < 2.0,
        "{quiet}"
    );
    assert_eq!(quiet["summary"]["regressed"], 5, "{quiet}");
}
