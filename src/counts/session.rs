//! One count run: build the bench binaries, ask each whether it can be counted, run those under
//! callgrind, read the profiles back into a [`Run`] with `metric: instructions`.
//!
//! Files, under `<target>/tickbench/counts/`:
//! - `NAME.json`: the run, in the stored-baseline format (`tickbench compare baselines/counts.json
//!   target/tickbench/counts/NAME.json` works on it directly);
//! - `NAME/raw/`: callgrind's profiles (`FILE.PID.N`, readable by `callgrind_annotate` and
//!   KCachegrind), valgrind's log and the driver's manifest of each bench file;
//! - `NAME/diff/`: differential flamegraphs written by a compare of this run.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::callgrind;
use super::inline::DebugInfo;
use super::profile::{Counted, Profile};
use crate::baseline::stored::{StoredBaseline, SCHEMA};
use crate::baseline::{machine, Benchmark, Machine, Metric, Run, Sample, Throughput, Unreadable};
use crate::bench::runner::Suite;

/// The oldest valgrind this was tested with; older ones are refused rather than trusted.
pub const MIN_VALGRIND: (u32, u32) = (3, 19);

/// Environment variables of the bench-side driver (`benches/common/harness.rs`).
const COUNTS_ENV: &str = "TICKBENCH_COUNTS";
const COUNTS_FILTER_ENV: &str = "TICKBENCH_COUNTS_FILTER";
const COUNTS_HELLO_ENV: &str = "TICKBENCH_COUNTS_HELLO";
const HELLO: &str = "tickbench-counts 1";

/// Callers kept per function context (callgrind `--separate-callers`): deep enough to reach the
/// benchmark's loop from the engine's inner functions.
const CALLER_DEPTH: u32 = 12;

/// A benchmark or bench file that has no count, and why.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NotCounted {
    /// The benchmark id, or `bench file NAME` for a whole file.
    pub what: String,
    /// Why.
    pub reason: String,
}

/// What to count.
pub struct Request {
    /// Where cargo runs.
    pub suite: Suite,
    /// Cargo's target directory.
    pub target_directory: PathBuf,
    /// Bench files to build and count; empty: all.
    pub bench_files: Vec<String>,
    /// Regex over benchmark ids; `None`: all.
    pub filter: Option<String>,
    /// The run's name.
    pub name: String,
}

/// A finished count run.
pub struct Outcome {
    /// The run.
    pub run: Run,
    /// Where it was written.
    pub run_file: PathBuf,
    /// The run's directory (raw profiles, flamegraphs).
    pub dir: PathBuf,
}

/// Where count runs live.
pub fn counts_root(target_directory: &Path) -> PathBuf {
    target_directory.join("tickbench").join("counts")
}

/// The valgrind to run: `$TICKBENCH_VALGRIND` when set, else `valgrind` from PATH.
pub fn valgrind() -> std::ffi::OsString {
    std::env::var_os("TICKBENCH_VALGRIND")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "valgrind".into())
}

/// Checks that valgrind is installed and recent enough; returns its version line.
pub fn check_valgrind() -> anyhow::Result<String> {
    let how = "install it (Debian/Ubuntu: `apt-get install -y valgrind`; Fedora: `dnf install \
               valgrind`; macOS has no usable valgrind) or run the time metric without --counts";
    let out = match Command::new(valgrind()).arg("--version").output() {
        Ok(out) if out.status.success() => out,
        Ok(out) => bail!("`valgrind --version` failed ({}); {how}", out.status),
        Err(e) => bail!("valgrind is not installed or not on PATH ({e}); {how}"),
    };
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let version = parse_version(&text)
        .with_context(|| format!("cannot read valgrind's version from '{text}'"))?;
    if version < MIN_VALGRIND {
        bail!(
            "{text} is too old: count mode needs valgrind {}.{} or newer (it runs x86-64-v3 \
             code: AVX2, FMA, BMI2); {how}",
            MIN_VALGRIND.0,
            MIN_VALGRIND.1
        );
    }
    Ok(text)
}

/// `valgrind-3.19.0` → `(3, 19)`.
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let v = text.trim().strip_prefix("valgrind-")?;
    let mut parts = v.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Builds the bench binaries (`cargo bench --no-run`): `(bench target, executable)`.
fn build(req: &Request) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut cmd = req.suite.cargo();
    cmd.arg("bench");
    if let Some(path) = &req.suite.manifest_path {
        cmd.arg("--manifest-path").arg(path);
    }
    cmd.args(&req.suite.cargo_args);
    cmd.args(["--no-run", "--message-format=json-render-diagnostics"]);
    if req.bench_files.is_empty() {
        cmd.arg("--benches");
    }
    for f in &req.bench_files {
        cmd.arg("--bench").arg(f);
    }
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run `cargo bench --no-run`")?;
    if !out.status.success() {
        bail!("`cargo bench --no-run` failed ({})", out.status);
    }
    parse_artifacts(&String::from_utf8_lossy(&out.stdout))
}

/// The bench executables in cargo's JSON messages.
pub fn parse_artifacts(stdout: &str) -> anyhow::Result<Vec<(String, PathBuf)>> {
    #[derive(Deserialize)]
    struct Message {
        reason: String,
        target: Option<Target>,
        executable: Option<PathBuf>,
    }
    #[derive(Deserialize)]
    struct Target {
        name: String,
        kind: Vec<String>,
    }
    let mut out = BTreeMap::new();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let m: Message = serde_json::from_str(line)
            .with_context(|| format!("cannot read cargo's message: {line}"))?;
        if m.reason != "compiler-artifact" {
            continue;
        }
        if let (Some(t), Some(exe)) = (m.target, m.executable) {
            if t.kind.iter().any(|k| k == "bench") {
                out.insert(t.name, exe);
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// What a bench binary says it supports.
#[derive(Debug, PartialEq)]
enum Support {
    Counted,
    TimeOnly(String),
    Unknown,
}

fn hello(exe: &Path, cwd: &Path) -> anyhow::Result<Support> {
    let out = Command::new(exe)
        .arg("--list")
        .env(COUNTS_HELLO_ENV, "1")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(parse_hello(&text))
}

fn parse_hello(text: &str) -> Support {
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(HELLO) {
            let rest = rest.trim();
            if rest == "counted" {
                return Support::Counted;
            }
            if let Some(reason) = rest.strip_prefix("time-only:") {
                return Support::TimeOnly(reason.trim().to_string());
            }
        }
    }
    Support::Unknown
}

/// One line of a driver's manifest.
#[derive(Deserialize)]
struct Entry {
    id: String,
    time_only: Option<String>,
    group_id: Option<String>,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<Throughput>,
    iterations: Option<[u64; 2]>,
    labels: Option<[String; 2]>,
}

/// Runs the count.
pub fn measure(req: &Request) -> anyhow::Result<Outcome> {
    check_valgrind()?;
    let root = counts_root(&req.target_directory);
    let run_file = root.join(format!("{}.json", req.name));
    let dir = root.join(&req.name);
    if run_file.exists() {
        bail!(
            "a count run named '{}' exists ({}); pick another --name or remove it",
            req.name,
            run_file.display()
        );
    }
    if dir.exists() {
        // Left by a run that failed before writing its run file: its profiles are stale.
        eprintln!(
            "note: removing {}, left by an earlier count run of that name that did not finish",
            dir.display()
        );
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    let raw = dir.join("raw");
    std::fs::create_dir_all(&raw).with_context(|| format!("cannot create {}", raw.display()))?;
    let cwd = match (&req.suite.manifest_path, &req.suite.dir) {
        (Some(m), _) => m
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
        (None, Some(d)) => d.clone(),
        (None, None) => PathBuf::from("."),
    };
    let cwd = crate::bench::runner::absolute(&cwd);

    let binaries = build(req)?;
    if binaries.is_empty() {
        bail!("the suite has no bench target to count");
    }
    let mut not_counted = Vec::new();
    let mut counted = Vec::new();
    for (name, exe) in &binaries {
        match hello(exe, &cwd)? {
            Support::Counted => counted.push((name.clone(), exe.clone())),
            Support::TimeOnly(reason) => not_counted.push(NotCounted {
                what: format!("bench file {name}"),
                reason,
            }),
            Support::Unknown => not_counted.push(NotCounted {
                what: format!("bench file {name}"),
                reason: "it does not use tickbench's count harness (see docs/counts.md for what a \
                         bench file needs)"
                    .into(),
            }),
        }
    }
    if counted.is_empty() {
        bail!(
            "no bench file of the suite can be counted: {}",
            not_counted
                .iter()
                .map(|n| format!("{}: {}", n.what, n.reason))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }

    let mut benchmarks = Vec::new();
    let mut unreadable = Vec::new();
    let mut debug = DebugInfo::new(counted.iter().map(|(_, exe)| exe.display().to_string()));
    for (name, exe) in &counted {
        let manifest = raw.join(format!("{name}.manifest.jsonl"));
        let log = raw.join(format!("{name}.valgrind.log"));
        eprintln!("== counting bench file {name} under callgrind");
        let mut cmd = Command::new(valgrind());
        cmd.args([
            "--tool=callgrind",
            "--instr-atstart=no",
            "--collect-atstart=no",
            "--dump-instr=yes",
            &format!("--separate-callers={CALLER_DEPTH}"),
        ])
        .arg(format!(
            "--callgrind-out-file={}",
            raw.join(format!("{name}.%p")).display()
        ))
        .arg(format!("--log-file={}", log.display()))
        .arg(exe)
        .arg("--bench")
        .env(COUNTS_ENV, &manifest)
        .current_dir(&cwd)
        .stdin(Stdio::null());
        match &req.filter {
            Some(f) => cmd.env(COUNTS_FILTER_ENV, f),
            None => cmd.env_remove(COUNTS_FILTER_ENV),
        };
        let status = cmd.status().context("cannot start valgrind")?;
        if !status.success() {
            let tail = std::fs::read_to_string(&log)
                .map(|t| {
                    let lines: Vec<&str> = t.lines().collect();
                    lines[lines.len().saturating_sub(15)..].join("\n")
                })
                .unwrap_or_default();
            bail!(
                "counting bench file {name} failed ({status}); valgrind's log {}:\n{tail}",
                log.display()
            );
        }
        let (mut found, mut bad, mut skipped) = read_file_run(name, &raw, &manifest, &mut debug)?;
        benchmarks.append(&mut found);
        unreadable.append(&mut bad);
        not_counted.append(&mut skipped);
    }
    if benchmarks.is_empty() && unreadable.is_empty() {
        bail!(
            "no benchmark was counted{}",
            req.filter
                .as_ref()
                .map(|f| format!(" (filter '{f}' matched none that can be)"))
                .unwrap_or_default()
        );
    }
    benchmarks.sort_by(|a: &Benchmark, b| a.id.cmp(&b.id));
    let run = Run {
        source: run_file.display().to_string(),
        machine: Some(Machine::current()),
        git_commit: machine::git_commit(),
        created: Some(crate::timestamp::now_rfc3339()),
        metric: Metric::Instructions,
        benchmarks,
        unreadable,
        not_counted,
    };
    if let Some(id) = run.duplicate_id() {
        bail!("benchmark '{id}' was counted twice: two bench files define the same id");
    }
    let stored = StoredBaseline {
        schema: SCHEMA.into(),
        name: req.name.clone(),
        runs: vec![run.clone()],
    };
    let json = serde_json::to_vec_pretty(&stored).context("cannot serialise the count run")?;
    crate::fsio::write_atomic(&run_file, &json)?;
    Ok(Outcome { run, run_file, dir })
}

/// Reads what one bench file's driver counted.
fn read_file_run(
    file: &str,
    raw: &Path,
    manifest: &Path,
    debug: &mut DebugInfo,
) -> anyhow::Result<(Vec<Benchmark>, Vec<Unreadable>, Vec<NotCounted>)> {
    let text = std::fs::read_to_string(manifest).with_context(|| {
        format!(
            "bench file {file} wrote no count manifest ({})",
            manifest.display()
        )
    })?;
    let dumps = dumps_by_label(raw, file)?;
    let (mut found, mut bad, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate() {
        let e: Entry = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a manifest line", manifest.display(), n + 1))?;
        if let Some(reason) = e.time_only {
            skipped.push(NotCounted { what: e.id, reason });
            continue;
        }
        let (Some(iterations), Some(labels)) = (e.iterations, e.labels) else {
            bail!(
                "{}:{}: a counted entry without iterations or labels",
                manifest.display(),
                n + 1
            );
        };
        let read = |label: &str| -> anyhow::Result<callgrind::Dump> {
            let path = dumps.get(label).with_context(|| {
                format!(
                    "no callgrind profile labelled '{label}' in {}",
                    raw.display()
                )
            })?;
            callgrind::read(path)
        };
        let (first, second) = match (read(&labels[0]), read(&labels[1])) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(err), _) | (_, Err(err)) => {
                bad.push(Unreadable {
                    id: e.id.clone(),
                    file: raw.display().to_string(),
                    reason: format!("{err:#}"),
                });
                continue;
            }
        };
        let counted = Counted {
            iterations,
            totals: [first.total, second.total],
            profile: Some(Profile::difference(&first, &second, debug)),
        };
        let Some(per_iteration) = counted.per_iteration() else {
            bad.push(Unreadable {
                id: e.id.clone(),
                file: dumps
                    .get(&labels[1])
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                reason: format!(
                    "nothing was counted ({} then {} instructions for {} then {} iterations): an \
                     iter_custom closure must time with common::Timer, which is what count mode \
                     counts",
                    counted.totals[0], counted.totals[1], iterations[0], iterations[1]
                ),
            });
            continue;
        };
        found.push(Benchmark {
            group_id: e.group_id.unwrap_or_default(),
            function_id: e.function_id,
            value_str: e.value_str,
            throughput: e.throughput,
            estimates: exact_estimates(per_iteration),
            sample: Sample {
                iters: vec![counted.span() as f64],
                times: vec![(counted.totals[1] - counted.totals[0]) as f64],
            },
            counts: Some(counted),
            id: e.id,
        });
    }
    Ok((found, bad, skipped))
}

/// Estimates of an exact figure: every estimate is the figure, every interval has width 0.
fn exact_estimates(value: f64) -> crate::baseline::Estimates {
    let e = serde_json::json!({
        "confidence_interval": {"confidence_level": 0.95, "lower_bound": value, "upper_bound": value},
        "point_estimate": value, "standard_error": 0.0
    });
    serde_json::from_value(serde_json::json!({
        "mean": e, "median": e, "median_abs_dev": {
            "confidence_interval": {"confidence_level": 0.95, "lower_bound": 0.0, "upper_bound": 0.0},
            "point_estimate": 0.0, "standard_error": 0.0
        }, "slope": null, "std_dev": {
            "confidence_interval": {"confidence_level": 0.95, "lower_bound": 0.0, "upper_bound": 0.0},
            "point_estimate": 0.0, "standard_error": 0.0
        }
    }))
    .expect("estimates of a finite value")
}

/// Callgrind's profiles of bench file `file` in `raw`, by the label of the client request that
/// dumped them (profiles without one, e.g. the dump at exit, are left out).
fn dumps_by_label(raw: &Path, file: &str) -> anyhow::Result<HashMap<String, PathBuf>> {
    let prefix = format!("{file}.");
    let mut out = HashMap::new();
    let entries =
        std::fs::read_dir(raw).with_context(|| format!("cannot list {}", raw.display()))?;
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        if !rest.chars().all(|c| c.is_ascii_digit() || c == '.') {
            continue; // the manifest and valgrind's log
        }
        let file = std::fs::File::open(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        for line in BufReader::new(file).lines().take(40) {
            let line = line.with_context(|| format!("cannot read {}", path.display()))?;
            if let Some(label) = line.strip_prefix("desc: Trigger: Client Request: ") {
                if let Some(old) = out.insert(label.trim().to_string(), path.clone()) {
                    bail!(
                        "two callgrind profiles carry the label '{}': {} and {}",
                        label.trim(),
                        old.display(),
                        path.display()
                    );
                }
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valgrind_versions_are_read() {
        assert_eq!(parse_version("valgrind-3.19.0"), Some((3, 19)));
        assert_eq!(parse_version("valgrind-3.22.0.GIT"), Some((3, 22)));
        assert_eq!(parse_version("valgrind-3.9"), Some((3, 9)));
        assert!(parse_version("3.19").is_none());
        assert!(parse_version("valgrind-x").is_none());
        assert!((3, 9) < MIN_VALGRIND && (3, 20) >= MIN_VALGRIND);
    }

    #[test]
    fn hello_lines_say_what_a_bench_file_supports() {
        assert_eq!(
            parse_hello("tickbench-counts 1 counted\n"),
            Support::Counted
        );
        assert_eq!(
            parse_hello("tickbench-counts 1 time-only: threads\n"),
            Support::TimeOnly("threads".into())
        );
        // A plain Criterion binary answers --list with its ids.
        assert_eq!(parse_hello("a/b: benchmark\n"), Support::Unknown);
    }

    #[test]
    fn bench_executables_are_read_from_cargo_messages() {
        let text = r#"{"reason":"compiler-artifact","target":{"name":"signal","kind":["bench"]},"executable":"/t/signal-1"}
{"reason":"compiler-artifact","target":{"name":"tickbench","kind":["lib"]},"executable":null}
{"reason":"build-finished","success":true}"#;
        let got = parse_artifacts(text).unwrap();
        assert_eq!(
            got,
            vec![("signal".to_string(), PathBuf::from("/t/signal-1"))]
        );
    }
}
