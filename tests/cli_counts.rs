//! `tickbench bench --counts` end to end, under the real valgrind: this suite's canary bench
//! counted twice gives identical counts, the first run says how to store it, the second is
//! compared with the stored one (basis exact), recorded in the count history, and its HTML
//! report written. Needs valgrind (`.ci/run` installs it); builds the bench profile once.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn tickbench() -> Command {
    let mut cmd = Command::cargo_bin("tickbench").unwrap();
    cmd.env_remove("CRITERION_HOME")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test-{tag}-{}-{nanos}", std::process::id())
}

#[test]
fn counting_the_canaries_twice_gives_identical_counts_and_a_clean_compare() {
    let which = std::process::Command::new("valgrind")
        .arg("--version")
        .output();
    assert!(
        which.is_ok_and(|o| o.status.success()),
        "valgrind is needed for this test: apt-get install -y valgrind (.ci/run does)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let baselines = tmp.path().join("baselines");
    let html = tmp.path().join("report");
    let (first, second) = (unique("a"), unique("b"));
    let run = |name: &str| {
        let mut cmd = tickbench();
        cmd.args([
            "bench",
            "--counts",
            "--bench",
            "canary",
            "^canary/",
            "--history",
        ])
        .args(["--name", name, "--baselines-dir"])
        .arg(&baselines)
        .arg("--html")
        .arg(&html);
        cmd.assert()
    };

    run(&first)
        .success()
        .stdout(predicate::str::contains("No stored count baseline"))
        .stdout(
            predicate::str::contains(format!("counts:{first}"))
                .or(predicate::str::contains(format!("counts/{first}.json"))),
        )
        .stdout(predicate::str::contains("report:"));
    tickbench()
        .args(["save", &format!("counts:{first}"), "--as", "counts"])
        .arg("--baselines-dir")
        .arg(&baselines)
        .assert()
        .success();

    let out = run(&second).success().get_output().stdout.clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("basis exact"), "{text}");
    assert!(
        text.contains("0 regressed, 0 improved, 0 inconclusive, 3 unchanged"),
        "{text}"
    );
    assert!(text.contains("history: appended to"), "{text}");
    assert!(html.join("index.html").is_file());

    // The two runs' counts, bit for bit.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let root = target.join("tickbench/counts");
    let counts = |name: &str| -> Vec<(String, f64)> {
        let v: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(v["runs"][0]["metric"], "instructions");
        v["runs"][0]["benchmarks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["id"].as_str().unwrap().to_string(),
                    b["sample"]["times"][0].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let (a, b) = (counts(&first), counts(&second));
    assert_eq!(a.len(), 3, "{a:?}");
    assert_eq!(a, b);
    for name in [first, second] {
        let _ = std::fs::remove_file(root.join(format!("{name}.json")));
        let _ = std::fs::remove_dir_all(root.join(&name));
    }
}
