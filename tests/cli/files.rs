//! The files and streams the CLI writes: concurrent `save`s lose no run and let only one
//! creator win, `--as` names stay plain file names, a closed stdout ends quietly, `--out`
//! keeps a file's mode and writes special files in place, and exports refuse a NaN estimate.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const SYNTHETIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/synthetic");

/// The binary, run in `cwd` (a temp dir, so `git` finds no repository and adds no time) with no
/// Criterion location from the environment.
fn tickbench(cwd: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("tickbench"));
    cmd.env_remove("CRITERION_HOME")
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(cwd);
    cmd
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

/// A Criterion directory under `root` with one benchmark (`noput`) in baseline `a`: small, so
/// that many saves stay fast.
fn tiny_criterion(root: &Path) -> PathBuf {
    let crit = root.join("criterion");
    copy_dir(
        &Path::new(SYNTHETIC).join("good/noput/a"),
        &crit.join("noput/a"),
    );
    crit
}

fn save(cwd: &Path, crit: &Path, args: &[&str]) -> Output {
    tickbench(cwd)
        .arg("save")
        .args(args)
        .arg("--criterion-dir")
        .arg(crit)
        .args(["--baselines-dir", "baselines"])
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn runs_in(path: &Path) -> usize {
    let v: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    v["runs"].as_array().unwrap().len()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn concurrent_appends_keep_every_run() {
    let tmp = tempfile::tempdir().unwrap();
    let crit = tiny_criterion(tmp.path());
    // Forty distinct runs (the same run twice is refused as a duplicate): each one's times
    // scaled by a hair, far below any threshold.
    let sample: Value =
        serde_json::from_str(&fs::read_to_string(crit.join("noput/a/sample.json")).unwrap())
            .unwrap();
    for k in 0..40 {
        let dir = crit.join(format!("noput/a{k}"));
        copy_dir(&crit.join("noput/a"), &dir);
        let mut v = sample.clone();
        for t in v["times"].as_array_mut().unwrap() {
            *t = (t.as_f64().unwrap() * (1.0 + 1e-9 * (k + 1) as f64)).into();
        }
        fs::write(dir.join("sample.json"), v.to_string()).unwrap();
    }
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (cwd, crit) = (tmp.path().to_path_buf(), crit.clone());
            std::thread::spawn(move || {
                for i in 0..20 {
                    let name = format!("a{}", w * 20 + i);
                    let out = save(&cwd, &crit, &[&name, "--as", "shared", "--append"]);
                    assert!(out.status.success(), "{}", stderr(&out));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let dir = tmp.path().join("baselines");
    assert_eq!(runs_in(&dir.join("shared.json")), 40);
    // Neither temporary files nor the lock file are left behind.
    assert_eq!(names(&dir), ["shared.json"]);
}

#[test]
fn of_two_racing_saves_exactly_one_creates_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let crit = tiny_criterion(tmp.path());
    // Several rounds: one race may not overlap, all of them rarely do not.
    for round in 0..6 {
        let name = format!("r{round}");
        let racers: Vec<_> = (0..2)
            .map(|_| {
                tickbench(tmp.path())
                    .args(["save", "a", "--as", &name, "--criterion-dir"])
                    .arg(&crit)
                    .args(["--baselines-dir", "baselines"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outs: Vec<Output> = racers
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let codes: Vec<_> = outs.iter().map(|o| o.status.code()).collect();
        let winners = codes.iter().filter(|&&c| c == Some(0)).count();
        assert_eq!(winners, 1, "round {round}: exit codes {codes:?}");
        let loser = outs.iter().find(|o| !o.status.success()).unwrap();
        assert_eq!(loser.status.code(), Some(2));
        let msg = stderr(loser);
        assert!(
            msg.contains(&format!("{name}.json already exists")) && msg.contains("--force"),
            "{msg}"
        );
        assert_eq!(
            runs_in(&tmp.path().join(format!("baselines/{name}.json"))),
            1
        );
    }
}

fn summary_to(cwd: &Path, out: &Path) -> Output {
    tickbench(cwd)
        .args(["summary", "a", "--format", "json", "--criterion-dir"])
        .arg(format!("{SYNTHETIC}/good"))
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn out_keeps_the_mode_and_follows_symlinks() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report.json");
    fs::write(&report, "old").unwrap();
    fs::set_permissions(&report, fs::Permissions::from_mode(0o600)).unwrap();
    let out = summary_to(tmp.path(), &report);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fs::read_to_string(&report)
        .unwrap()
        .contains("tickbench.summary.v1"));
    assert_eq!(
        fs::metadata(&report).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let link = tmp.path().join("latest.json");
    std::os::unix::fs::symlink("report.json", &link).unwrap();
    fs::write(&report, "old").unwrap();
    let out = summary_to(tmp.path(), &link);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::read_to_string(&report)
        .unwrap()
        .contains("tickbench.summary.v1"));
    assert_eq!(names(tmp.path()), ["latest.json", "report.json"]);
}

#[test]
fn out_to_a_directory_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reports");
    fs::create_dir(&dir).unwrap();
    let out = summary_to(tmp.path(), &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{} is a directory", dir.display())),
        "{}",
        stderr(&out)
    );
}

#[test]
fn out_writes_fifos_and_devices_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let cpath = |p: &Path| std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    let fifo = tmp.path().join("pipe");
    assert_eq!(unsafe { libc::mkfifo(cpath(&fifo).as_ptr(), 0o600) }, 0);
    // The reading end is opened first and without blocking, so the writer's open succeeds and
    // the report waits in the pipe; had the FIFO been replaced, this end would read nothing.
    let mut reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let out = summary_to(tmp.path(), &fifo);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut read = String::new();
    reader.read_to_string(&mut read).unwrap();
    assert!(read.contains("tickbench.summary.v1"), "{read:?}");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());

    if unsafe { libc::geteuid() } != 0 {
        eprintln!("device part skipped: making a device node needs root");
        return;
    }
    let null = tmp.path().join("null");
    let dev = libc::makedev(1, 3);
    assert_eq!(
        unsafe { libc::mknod(cpath(&null).as_ptr(), libc::S_IFCHR | 0o666, dev) },
        0
    );
    let out = summary_to(tmp.path(), &null);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fs::symlink_metadata(&null)
        .unwrap()
        .file_type()
        .is_char_device());
    assert_eq!(names(tmp.path()), ["null", "pipe"]);
}

/// Runs `cmd` with a stdout pipe whose reading end is already closed, so its first write fails
/// with `EPIPE`.
fn with_closed_stdout(cmd: &mut Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(writer).stderr(Stdio::piped()).output().unwrap()
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let good = format!("{SYNTHETIC}/good");
    for format in ["table", "markdown", "json", "bmf"] {
        let out = with_closed_stdout(tickbench(tmp.path()).args([
            "summary",
            "a",
            "--criterion-dir",
            &good,
            "--format",
            format,
        ]));
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{format}");
    }
    for args in [
        vec!["list", "--criterion-dir", good.as_str()],
        vec!["machine"],
        vec!["machine", "--id"],
    ] {
        let out = with_closed_stdout(tickbench(tmp.path()).args(&args));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    // A regression still exits 1: the verdict does not depend on anyone reading the report.
    let out = with_closed_stdout(tickbench(tmp.path()).args([
        "compare",
        "a",
        "b",
        "--criterion-dir",
        &good,
        "--format",
        "markdown",
    ]));
    assert_eq!(out.status.code(), Some(1), "compare: {}", stderr(&out));
    assert!(!stderr(&out).contains("Error"), "compare: {}", stderr(&out));
    // loadtest writes its report itself; main maps the error.
    let out = with_closed_stdout(tickbench(tmp.path()).args([
        "loadtest",
        "--quiet",
        "--rate",
        "2000",
        "--duration",
        "0.2",
        "--warmup",
        "0.05",
        "--sla-cpu-pct",
        "100",
        "--sla-min-rate",
        "0",
        "--sla-p95-ms",
        "1e9",
        "--sla-memory-mib",
        "1e9",
    ]));
    assert_eq!(out.status.code(), Some(0), "loadtest: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "loadtest");
}

#[test]
fn save_as_strips_one_json_suffix() {
    let tmp = tempfile::tempdir().unwrap();
    let crit = tiny_criterion(tmp.path());
    for (name, file, stored_name) in [
        ("x.json", "x.json", "x"),
        ("y.json.json", "y.json.json", "y.json"),
    ] {
        let out = save(tmp.path(), &crit, &["a", "--as", name]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let v: Value = serde_json::from_str(
            &fs::read_to_string(tmp.path().join("baselines").join(file)).unwrap(),
        )
        .unwrap();
        assert_eq!(v["name"], stored_name);
    }
    assert_eq!(
        names(&tmp.path().join("baselines")),
        ["x.json", "y.json.json"]
    );
}

#[test]
fn save_as_rejects_names_that_are_not_plain_file_names() {
    let tmp = tempfile::tempdir().unwrap();
    let crit = tiny_criterion(tmp.path());
    for (name, why) in [
        ("", "empty"),
        (".json", "empty"),
        (" ", "white space"),
        (" main", "white space"),
        ("two\nlines", "control character"),
        ("bell\u{7}", "control character"),
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        (".hidden", "starts with '.'"),
        ("..", "starts with '.'"),
    ] {
        let out = save(tmp.path(), &crit, &["a", "--as", name]);
        let msg = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name:?}: {msg}");
        assert!(
            msg.contains("--as '") && msg.contains(why),
            "{name:?}: {msg}"
        );
        assert_eq!(msg.lines().count(), 1, "{name:?}: {msg}");
    }
    assert!(!tmp.path().join("baselines").exists());
}

/// A Criterion directory whose baseline `x` has a good benchmark and one whose mean estimate is
/// `null` (NaN).
fn criterion_with_nan_mean(root: &Path) -> PathBuf {
    let crit = root.join("criterion");
    let ok = Path::new(SYNTHETIC).join("nan/ok/one/x");
    copy_dir(&ok, &crit.join("ok/one/x"));
    let bad = crit.join("bad/mean/x");
    copy_dir(&ok, &bad);
    let mut meta: Value =
        serde_json::from_str(&fs::read_to_string(bad.join("benchmark.json")).unwrap()).unwrap();
    meta["full_id"] = "bad/mean".into();
    meta["group_id"] = "bad".into();
    meta["function_id"] = "mean".into();
    meta["directory_name"] = "bad/mean".into();
    meta["title"] = "bad/mean".into();
    fs::write(bad.join("benchmark.json"), meta.to_string()).unwrap();
    let mut estimates: Value =
        serde_json::from_str(&fs::read_to_string(bad.join("estimates.json")).unwrap()).unwrap();
    estimates["mean"]["point_estimate"] = Value::Null;
    fs::write(bad.join("estimates.json"), estimates.to_string()).unwrap();
    crit
}

#[test]
fn exports_refuse_a_nan_estimate_and_name_the_benchmark() {
    let tmp = tempfile::tempdir().unwrap();
    let crit = criterion_with_nan_mean(tmp.path());
    let summary = |format: &str| {
        tickbench(tmp.path())
            .args(["summary", "x", "--format", format, "--criterion-dir"])
            .arg(&crit)
            .output()
            .unwrap()
    };
    for format in ["bmf", "github"] {
        let out = summary(format);
        let msg = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{format}: {msg}");
        assert!(
            msg.contains("'bad/mean'") && msg.contains("NaN"),
            "{format}: {msg}"
        );
        // The benchmark never reaches the export as a null: it is unreadable.
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("null"),
            "{format}: wrote a null"
        );
    }
    // The text formats name it too, and exit 2 as well.
    let out = summary("table");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("bad/mean"));
}
