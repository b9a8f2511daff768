//! History: one line per recorded run, per machine, so a benchmark's level can be followed
//! across commits and its steps found ([`changepoint`]).
//!
//! # File layout: `baselines/history/<machine-id>.jsonl`, schema `tickbench.history.v1`
//!
//! JSON Lines, one run per line, oldest first (the order they were recorded). Keys are written in
//! the fixed order below and benchmarks sorted by id, so a file diffs line by line and two
//! branches that each recorded runs merge by keeping both sides' lines. Instruction counts go to
//! `baselines/history/counts.jsonl` (machine-independent); both files hold a `metric` field.
//!
//! ```text
//! { "schema": "tickbench.history.v1", "metric": "time" | "instructions",
//!   "run": "run-20261202T101500Z",          the Criterion baseline name it was read from
//!   "fingerprint": "0f3a…",                 Run::fingerprint in hex: the same run twice is refused
//!   "commit": "…" | null, "commit_time": RFC 3339 | null, "dirty": bool | null,
//!   "recorded": RFC 3339 UTC,               when the line was written
//!   "machine": "amd-epyc-2c" | null,        Machine::id
//!   "benchmarks": [ { "id", "estimate", "lower", "upper", "samples", "throughput"? } ] }
//! ```
//!
//! `estimate` is the run's robust minimum (the estimator `compare` uses by default, see
//! `baseline::stats::Estimator::Low`), in ns per iteration (instructions per iteration for
//! `metric: instructions`); `lower`/`upper` its 95 % interval from the exact bootstrap variance
//! of that order statistic. Summaries, not samples: about 100 bytes per benchmark per run, so a
//! year of daily runs of 100 benchmarks is under 4 MB.
//!
//! Appending takes the sidecar lock of [`crate::fsio::FileLock`] and rewrites the whole file with
//! [`crate::fsio::write_atomic`]: concurrent recorders lose no line, and a crash leaves the old
//! file or the new one.

pub mod changepoint;
pub mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::baseline::stats::{self, Estimator};
use crate::baseline::{Run, Throughput};
use crate::fsio::{self, FileLock};
use crate::policy::Metric;

/// The value of every line's `schema` field.
pub const SCHEMA: &str = "tickbench.history.v1";

/// The history file of `metric` under `baselines_dir`: `history/<machine_id>.jsonl` for times,
/// `history/counts.jsonl` for instruction counts (they do not depend on the machine).
pub fn path_for(baselines_dir: &Path, machine_id: &str, metric: Metric) -> PathBuf {
    let dir = baselines_dir.join("history");
    match metric {
        Metric::Time => dir.join(format!("{machine_id}.jsonl")),
        Metric::Instructions => dir.join("counts.jsonl"),
    }
}

/// One recorded run: a line of the history file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// What the estimates measure.
    pub metric: Metric,
    /// The run's name (the Criterion baseline it was read from).
    pub run: String,
    /// [`Run::fingerprint`] in hex.
    pub fingerprint: String,
    /// The commit the suite was at (`git rev-parse HEAD`), if known.
    pub commit: Option<String>,
    /// Its committer date (`git log -1 --format=%cI`), if known.
    pub commit_time: Option<String>,
    /// Whether tracked files had uncommitted changes, if known.
    pub dirty: Option<bool>,
    /// When the line was written (RFC 3339, UTC).
    pub recorded: String,
    /// The machine's id ([`crate::baseline::Machine::id`]), if known.
    pub machine: Option<String>,
    /// Per benchmark, sorted by id.
    pub benchmarks: Vec<Point>,
}

/// One benchmark in one recorded run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Point {
    /// Criterion's full id.
    pub id: String,
    /// The run's robust minimum per iteration (ns, or instructions).
    pub estimate: f64,
    /// Lower end of its 95 % interval.
    pub lower: f64,
    /// Upper end of its 95 % interval.
    pub upper: f64,
    /// Samples the run took.
    pub samples: usize,
    /// Work per iteration the bench declared, if any (for rates in reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
}

/// Where a run's code came from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Commit {
    /// `git rev-parse HEAD`.
    pub commit: Option<String>,
    /// `git log -1 --format=%cI`.
    pub commit_time: Option<String>,
    /// Uncommitted changes to tracked files.
    pub dirty: Option<bool>,
}

impl Commit {
    /// The commit checked out in `dir`; all `None` outside a git checkout or without git (not an
    /// error: a suite need not live in git).
    pub fn of(dir: &Path) -> Commit {
        let git = |args: &[&str]| -> Option<String> {
            let out = Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(args)
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        };
        let Some(commit) = git(&["rev-parse", "HEAD"]) else {
            return Commit::default();
        };
        Commit {
            commit: Some(commit),
            commit_time: git(&["log", "-1", "--format=%cI"]),
            dirty: git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty()),
        }
    }
}

impl Record {
    /// The line for `run`: its readable benchmarks summarised, sorted by id.
    pub fn from_run(
        run: &Run,
        name: &str,
        metric: Metric,
        commit: Commit,
        machine: Option<String>,
    ) -> Record {
        let mut benchmarks: Vec<Point> = run
            .benchmarks
            .iter()
            .filter(|b| b.sample.problem().is_none())
            .map(|b| {
                if metric == Metric::Instructions {
                    // An exact figure: one value, no interval.
                    let value =
                        b.sample.times.iter().sum::<f64>() / b.sample.iters.iter().sum::<f64>();
                    return Point {
                        id: b.id.clone(),
                        estimate: value,
                        lower: value,
                        upper: value,
                        samples: 1,
                        throughput: b.throughput,
                    };
                }
                let sorted = stats::sorted(&b.sample.per_iteration());
                let estimate = Estimator::Low.of_sorted(&sorted);
                let half = 1.96 * stats::within_run_log_variance(&sorted, Estimator::Low).sqrt();
                Point {
                    id: b.id.clone(),
                    estimate,
                    lower: estimate * (-half).exp(),
                    upper: estimate * half.exp(),
                    samples: sorted.len(),
                    throughput: b.throughput,
                }
            })
            .collect();
        benchmarks.sort_by(|a, b| a.id.cmp(&b.id));
        Record {
            schema: SCHEMA.into(),
            metric,
            run: name.into(),
            fingerprint: format!("{:016x}", run.fingerprint()),
            commit: commit.commit,
            commit_time: commit.commit_time,
            dirty: commit.dirty,
            recorded: crate::timestamp::now_rfc3339(),
            machine,
            benchmarks,
        }
    }

    /// The commit as people read it: 8 hex digits, `+` when dirty, `?` when unknown.
    pub fn short_commit(&self) -> String {
        match &self.commit {
            Some(c) => format!(
                "{}{}",
                &c[..c.len().min(8)],
                if self.dirty == Some(true) { "+" } else { "" }
            ),
            None => "?".into(),
        }
    }
}

/// Reads a history file. A line that is not a [`SCHEMA`] record, a benchmark listed twice in
/// one line, or the same run (fingerprint) on two lines is an error naming the file and line:
/// a history that silently skipped or doubled runs would move its change points.
pub fn read(path: &Path) -> anyhow::Result<Vec<Record>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text, path)
}

/// [`read`] on text already in memory; `path` only names it in errors.
pub fn parse(text: &str, path: &Path) -> anyhow::Result<Vec<Record>> {
    let mut records = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let at = || format!("{}:{}", path.display(), i + 1);
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{} is not valid JSON", at()))?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) => {}
            Some(other) => bail!("{} has schema '{other}', expected '{SCHEMA}'", at()),
            None => bail!("{} is not a tickbench history line (no \"schema\")", at()),
        }
        let record: Record = serde_json::from_value(value)
            .with_context(|| format!("{} is not a valid {SCHEMA} line", at()))?;
        let mut ids = BTreeSet::new();
        if let Some(p) = record.benchmarks.iter().find(|p| !ids.insert(&p.id)) {
            bail!("{} lists benchmark '{}' twice", at(), p.id);
        }
        if let Some(first) = seen.insert(record.fingerprint.clone(), i + 1) {
            bail!(
                "{} repeats the run of line {first} (fingerprint {}); remove one of the two lines",
                at(),
                record.fingerprint
            );
        }
        records.push(record);
    }
    Ok(records)
}

/// Appends `record` to the history at `path` (created with its directory if missing) and returns
/// the number of runs now in it. Refuses a run already recorded (same fingerprint), a record of
/// another metric than the file's, and a file that does not read back (nothing is written then).
pub fn append(path: &Path, record: &Record) -> anyhow::Result<usize> {
    let _lock = FileLock::exclusive(path)?;
    let mut text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let records = parse(&text, path).context("nothing recorded")?;
    if let Some(old) = records.iter().find(|r| r.fingerprint == record.fingerprint) {
        bail!(
            "run '{}' is already in {} (as '{}', same fingerprint {}); nothing recorded",
            record.run,
            path.display(),
            old.run,
            record.fingerprint
        );
    }
    if let Some(other) = records.iter().find(|r| r.metric != record.metric) {
        bail!(
            "{} holds '{}' runs; a '{}' run belongs in its own file; nothing recorded",
            path.display(),
            other.metric.as_str(),
            record.metric.as_str()
        );
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&serde_json::to_string(record).context("cannot serialise the history line")?);
    text.push('\n');
    fsio::write_atomic(path, text.as_bytes())?;
    Ok(records.len() + 1)
}

/// One benchmark's history: its points in run order, with the record index of each.
#[derive(Clone, Debug, PartialEq)]
pub struct Series<'a> {
    /// Criterion's full id.
    pub id: &'a str,
    /// `(index into the records, the point)`, oldest first.
    pub points: Vec<(usize, &'a Point)>,
}

impl Series<'_> {
    /// The estimates, oldest first.
    pub fn values(&self) -> Vec<f64> {
        self.points.iter().map(|(_, p)| p.estimate).collect()
    }
}

/// Every benchmark's series, sorted by id; only ids containing one of `filters` (all when
/// empty). Points that are not positive finite numbers are left out (they have no logarithm).
pub fn series<'a>(records: &'a [Record], filters: &[String]) -> Vec<Series<'a>> {
    let mut by_id: BTreeMap<&str, Vec<(usize, &Point)>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        for p in &r.benchmarks {
            if p.estimate.is_finite() && p.estimate > 0.0 {
                by_id.entry(&p.id).or_default().push((i, p));
            }
        }
    }
    by_id
        .into_iter()
        .filter(|(id, _)| filters.is_empty() || filters.iter().any(|f| id.contains(f.as_str())))
        .map(|(id, points)| Series { id, points })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(run: &str, fp: &str, values: &[(&str, f64)]) -> Record {
        Record {
            schema: SCHEMA.into(),
            metric: Metric::Time,
            run: run.into(),
            fingerprint: fp.into(),
            commit: Some("0123456789abcdef".into()),
            commit_time: None,
            dirty: Some(false),
            recorded: "2026-12-02T10:00:00Z".into(),
            machine: Some("m-2c".into()),
            benchmarks: values
                .iter()
                .map(|(id, v)| Point {
                    id: (*id).into(),
                    estimate: *v,
                    lower: v * 0.99,
                    upper: v * 1.01,
                    samples: 100,
                    throughput: None,
                })
                .collect(),
        }
    }

    #[test]
    fn lines_keep_their_key_order_and_read_back() {
        let r = record("r1", "00000000000000aa", &[("a/x", 10.0)]);
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.starts_with(
            r#"{"schema":"tickbench.history.v1","metric":"time","run":"r1","fingerprint":"#
        ));
        let back = parse(&format!("{line}\n"), Path::new("h.jsonl")).unwrap();
        assert_eq!(back, vec![r]);
    }

    #[test]
    fn append_refuses_the_same_run_and_keeps_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history/m.jsonl");
        assert_eq!(
            append(&path, &record("r1", "aa", &[("a", 1.0)])).unwrap(),
            1
        );
        assert_eq!(
            append(&path, &record("r2", "bb", &[("a", 2.0)])).unwrap(),
            2
        );
        let before = std::fs::read(&path).unwrap();
        let err = append(&path, &record("r3", "aa", &[("a", 1.0)])).unwrap_err();
        assert!(format!("{err:#}").contains("already in"), "{err:#}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let mut counted = record("c1", "cc", &[("a", 1.0)]);
        counted.metric = Metric::Instructions;
        let err = append(&path, &counted).unwrap_err();
        assert!(format!("{err:#}").contains("own file"), "{err:#}");
    }

    #[test]
    fn damaged_and_doubled_lines_are_named() {
        let ok = serde_json::to_string(&record("r1", "aa", &[("a", 1.0)])).unwrap();
        let err = parse(&format!("{ok}\n{{not json\n"), Path::new("h.jsonl")).unwrap_err();
        assert!(format!("{err:#}").contains("h.jsonl:2"), "{err:#}");
        let err = parse(&format!("{ok}\n{ok}\n"), Path::new("h.jsonl")).unwrap_err();
        assert!(
            format!("{err:#}").contains("repeats the run of line 1"),
            "{err:#}"
        );
        let twice = serde_json::to_string(&record("r", "dd", &[("a", 1.0), ("a", 2.0)])).unwrap();
        let err = parse(&twice, Path::new("h.jsonl")).unwrap_err();
        assert!(format!("{err:#}").contains("twice"), "{err:#}");
    }

    #[test]
    fn series_follow_each_benchmark_in_run_order() {
        let records = vec![
            record("r1", "aa", &[("a", 1.0), ("b", 5.0)]),
            record("r2", "bb", &[("b", 6.0)]),
            record("r3", "cc", &[("a", 2.0), ("b", f64::NAN)]),
        ];
        let all = series(&records, &[]);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].id, "a");
        assert_eq!(all[0].values(), [1.0, 2.0]);
        assert_eq!(all[0].points[1].0, 2);
        assert_eq!(all[1].values(), [5.0, 6.0]);
        assert_eq!(series(&records, &["b".into()]).len(), 1);
    }
}
