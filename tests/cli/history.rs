//! The history and the HTML report from the command line: `history record` under concurrent
//! writers loses no run and refuses the same run twice, `history` names the step of a
//! generated history at its run, damaged files are named (exit 2), and `report --html`
//! draws every sample, history point and change point its data has.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::history_gen::generated_history;
use tickbench::history;

const SYNTHETIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/synthetic");
const RECORDED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/recorded");
const LOADTEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/loadtest/run.json"
);

fn tickbench(cwd: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("tickbench"));
    cmd.env_remove("CRITERION_HOME")
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(cwd);
    cmd
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// The value of attribute `name` in the tag that starts at `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> &'a str {
    let key = format!(" {name}=\"");
    let start = tag.find(&key).unwrap_or_else(|| panic!("no {name}")) + key.len();
    tag[start..].split('"').next().unwrap()
}

/// Every `<svg class="chart"…>…</svg>` of a page.
fn charts(page: &str) -> Vec<&str> {
    page.match_indices("<svg class=\"chart\"")
        .map(|(i, _)| {
            let end = page[i..].find("</svg>").unwrap() + i;
            &page[i..end]
        })
        .collect()
}

#[test]
fn concurrent_records_keep_every_run_and_the_same_run_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let crit = tmp.path().join("criterion");
    copy_dir(
        &Path::new(SYNTHETIC).join("good/noput/a"),
        &crit.join("noput/a"),
    );
    let sample: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(crit.join("noput/a/sample.json")).unwrap())
            .unwrap();
    for k in 0..20 {
        let dir = crit.join(format!("noput/a{k}"));
        copy_dir(&crit.join("noput/a"), &dir);
        let mut v = sample.clone();
        for t in v["times"].as_array_mut().unwrap() {
            *t = (t.as_f64().unwrap() * (1.0 + 1e-9 * (k + 1) as f64)).into();
        }
        fs::write(dir.join("sample.json"), v.to_string()).unwrap();
    }
    let file = tmp.path().join("baselines/history/m.jsonl");
    let (cwd, file2, crit2) = (tmp.path().to_path_buf(), file.clone(), crit.clone());
    let record = move |name: &str| {
        let (file, crit) = (&file2, &crit2);
        tickbench(&cwd)
            .args(["history", "record", name, "--file"])
            .arg(file)
            .arg("--criterion-dir")
            .arg(crit)
            .output()
            .unwrap()
    };
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let record = record.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let out = record(&format!("a{}", w * 10 + i));
                    assert!(out.status.success(), "{}", show(&out));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let records = history::read(&file).unwrap();
    assert_eq!(records.len(), 20);
    let before = fs::read(&file).unwrap();
    let out = record("a3");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(show(&out).contains("already in"), "{}", show(&out));
    assert_eq!(fs::read(&file).unwrap(), before);
    let mut left: Vec<String> = fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["m.jsonl"], "temporary or lock files left behind");
}

#[test]
fn history_names_the_step_at_its_run_and_damaged_lines_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("h.jsonl");
    generated_history(&file, 60, 3, 30);
    let out = tickbench(tmp.path())
        .args(["history", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let step_line = stdout
        .lines()
        .find(|l| l.starts_with("gen/step/0"))
        .unwrap();
    // Run numbers are 1-based: the first slower run (index 30) is run 31, at the step or in
    // the range of runs it may be at.
    let range = step_line
        .split("somewhere in runs ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|r| r.split_once('–'))
        .map(|(a, b)| (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()));
    match range {
        Some((a, b)) => assert!(a <= 31 && 31 <= b, "{step_line}"),
        None => assert!(step_line.contains("at run 31 ("), "{step_line}"),
    }
    assert!(step_line.contains("+5."), "{stdout}");
    for l in stdout.lines().filter(|l| l.starts_with("gen/flat/")) {
        assert!(l.contains("none (noise"), "{l}");
    }

    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str("{\"schema\": \"tickbench.history.v1\", \"metric\": \"time\"}\n");
    fs::write(&file, text).unwrap();
    let out = tickbench(tmp.path())
        .args(["history", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(show(&out).contains("h.jsonl:61"), "{}", show(&out));
}

/// `tickbench report --html` on the recorded fixtures, a generated history and the load-test
/// fixture; returns the page's path.
pub fn write_report(dir: &Path) -> PathBuf {
    let history = dir.join("history.jsonl");
    generated_history(&history, 200, 100, 120);
    let out = tickbench(dir)
        .args([
            "report", "--html", "report", "--old", "r1,r2", "--new", "s1",
        ])
        .arg("--criterion-dir")
        .arg(RECORDED)
        .arg("--history")
        .arg(&history)
        .args(["--loadtest", LOADTEST])
        .output()
        .unwrap();
    // s1 is the 10 % slower run: exit 1 for its regressions.
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let index = dir.join("report/index.html");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("report: {}", "report/index.html")),
        "{}",
        show(&out)
    );
    index
}

#[test]
fn the_report_draws_every_point_and_marks_the_step_at_its_run() {
    let tmp = tempfile::tempdir().unwrap();
    let page = fs::read_to_string(write_report(tmp.path())).unwrap();
    let charts = charts(&page);
    let samples: Vec<&&str> = charts
        .iter()
        .filter(|c| attr(c, "data-kind") == "samples")
        .collect();
    let trends: Vec<&&str> = charts
        .iter()
        .filter(|c| attr(c, "data-kind") == "trend")
        .collect();
    // 8 recorded benchmarks (5 probes, 3 canaries) × (2 old runs + 1 new) × 100 samples.
    assert_eq!(samples.len(), 8);
    for c in &samples {
        assert_eq!(attr(c, "data-old"), "200");
        assert_eq!(attr(c, "data-new"), "100");
        assert_eq!(attr(c, "data-points"), "300");
        assert_eq!(c.matches("class=\"pt ").count(), 300);
    }
    assert_eq!(trends.len(), 100);
    for c in &trends {
        assert_eq!(attr(c, "data-points"), "200");
        assert_eq!(c.matches("<circle class=\"pt\"").count(), 200);
        assert_eq!(attr(c, "data-x-max"), "199");
    }
    let step = trends
        .iter()
        .find(|c| c.contains("run-000") && c.contains("data-marks=\"1\""))
        .expect("a trend with one change point");
    let (from, to): (usize, usize) = (
        attr(step, "data-from").parse().unwrap(),
        attr(step, "data-to").parse().unwrap(),
    );
    assert!(
        from <= 120 && 120 <= to,
        "change point in runs {from}..={to}, not at 120"
    );
    let marked = trends
        .iter()
        .filter(|c| attr(c, "data-marks") != "0")
        .count();
    assert!(
        marked <= 2,
        "{marked} of 100 trends show a step; one has one"
    );
    // The y axis covers gen/step/0's intervals, and not much more (round ticks).
    let records = history::read(&tmp.path().join("history.jsonl")).unwrap();
    let own = || records.iter().map(|r| &r.benchmarks[0]);
    let lo = own().map(|p| p.lower).fold(f64::INFINITY, f64::min);
    let hi = own().map(|p| p.upper).fold(0.0, f64::max);
    let (y0, y1): (f64, f64) = (
        attr(step, "data-y-min").parse().unwrap(),
        attr(step, "data-y-max").parse().unwrap(),
    );
    assert!(y0 <= lo && hi <= y1, "axis {y0}..{y1}, data {lo}..{hi}");
    assert!(
        y1 - y0 <= 2.0 * (hi - lo),
        "axis {y0}..{y1}, data {lo}..{hi}"
    );
    assert_eq!(attr(step, "data-unit"), "ns");

    let load = charts
        .iter()
        .find(|c| attr(c, "data-kind") == "percentiles")
        .expect("a percentile chart");
    // p50, p95, p99, p99.9 and the maximum, for the run and its floor.
    assert_eq!(attr(load, "data-points"), "10");
    assert!(page.contains("SLA <b class=\"improved\">holds</b>"));
}

#[test]
fn report_refuses_a_file_as_its_directory_and_a_bad_loadtest() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("taken"), "keep me").unwrap();
    let out = tickbench(tmp.path())
        .args(["report", "--html", "taken"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(show(&out).contains("taken"), "{}", show(&out));
    assert_eq!(
        fs::read_to_string(tmp.path().join("taken")).unwrap(),
        "keep me"
    );

    fs::write(tmp.path().join("load.json"), "{\"schema\": \"other\"}").unwrap();
    let out = tickbench(tmp.path())
        .args(["report", "--html", "out", "--loadtest", "load.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(show(&out).contains("load.json"), "{}", show(&out));
    assert!(!tmp.path().join("out").exists());
}
