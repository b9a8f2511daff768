//! Criterion's saved files, mirrored field for field with serde.
//!
//! Layout (Criterion 0.5 – 0.8):
//!
//! ```text
//! <root>/<directory_name>/<baseline>/benchmark.json   id, group, function, value, throughput
//! <root>/<directory_name>/<baseline>/estimates.json   mean, median, median_abs_dev, slope, std_dev
//! <root>/<directory_name>/<baseline>/sample.json      sampling_mode, iters[], times[]
//! <root>/<directory_name>/<baseline>/tukey.json       (not read)
//! <root>/<directory_name>/change/estimates.json       (not read: Criterion's own verdict)
//! ```
//!
//! `<root>` is `--criterion-dir`, else `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else
//! `target/criterion`. `<directory_name>` is one to three path parts (group / function / value),
//! each sanitised and cut at 64 bytes by Criterion, so it is not always derivable from the id: a
//! baseline is found by walking the tree for directories named `<baseline>` that hold a
//! `benchmark.json`, and the id is read from that file. `new/` is the last run and `base/` the
//! default saved name; both are ordinary baselines here. Times are nanoseconds; `times[i]` is
//! the total for `iters[i]` iterations. Files written by old Criterion versions use PascalCase
//! keys (`Mean`, `StdDev`, …), accepted through serde aliases; `slope` is `null` unless the bench
//! used linear sampling.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::{Benchmark, Loaded, Run, Sample, Unreadable};

/// `benchmark.json`: who the benchmark is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchmarkFile {
    /// The group (`c.benchmark_group(name)`, or the function name for `bench_function`).
    pub group_id: String,
    /// Function id inside the group.
    pub function_id: Option<String>,
    /// Parameter string of a parameterised benchmark.
    pub value_str: Option<String>,
    /// Declared throughput per iteration.
    pub throughput: Option<Throughput>,
    /// `group/function/value`, the id users see.
    pub full_id: String,
    /// The directory under the root (sanitised, possibly cut).
    pub directory_name: String,
    /// Display title.
    #[serde(default)]
    pub title: Option<String>,
}

/// Work per iteration as Criterion declares it (`Throughput` in `benchmark.json`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Throughput {
    /// Bytes per iteration, reported in binary units (KiB/s).
    Bytes(u64),
    /// Bytes per iteration, reported in decimal units (kB/s).
    BytesDecimal(u64),
    /// Elements per iteration.
    Elements(u64),
    /// Bits per iteration.
    Bits(u64),
    /// Elements and bytes per iteration; elements are the primary rate.
    ElementsAndBytes {
        /// Elements per iteration.
        elements: u64,
        /// Bytes per iteration.
        bytes: u64,
    },
}

impl Throughput {
    /// The primary amount per iteration and its unit (`elem`, `B`, `bit`).
    pub fn amount(&self) -> (u64, &'static str) {
        match *self {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => (n, "B"),
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => {
                (n, "elem")
            }
            Throughput::Bits(n) => (n, "bit"),
        }
    }

    /// The rate per second at `ns_per_iter` nanoseconds per iteration, with its unit, e.g.
    /// `(2.5e6, "elem/s")`.
    pub fn per_second(&self, ns_per_iter: f64) -> (f64, String) {
        let (n, unit) = self.amount();
        (n as f64 * 1e9 / ns_per_iter, format!("{unit}/s"))
    }
}

/// `estimates.json`: Criterion's bootstrap estimates, in nanoseconds per iteration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Estimates {
    /// Mean per-iteration time.
    #[serde(alias = "Mean")]
    pub mean: Estimate,
    /// Median per-iteration time.
    #[serde(alias = "Median")]
    pub median: Estimate,
    /// Median absolute deviation.
    #[serde(alias = "MedianAbsDev")]
    pub median_abs_dev: Estimate,
    /// Slope of the linear regression of time on iterations (`null` unless linear sampling).
    #[serde(alias = "Slope", default)]
    pub slope: Option<Estimate>,
    /// Standard deviation of the per-iteration times.
    #[serde(alias = "StdDev")]
    pub std_dev: Estimate,
}

/// One estimate: a point and its bootstrap confidence interval.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Estimate {
    /// The confidence interval.
    #[serde(alias = "ConfidenceInterval")]
    pub confidence_interval: ConfidenceInterval,
    /// The point estimate.
    #[serde(alias = "PointEstimate", deserialize_with = "nan_if_null")]
    pub point_estimate: f64,
    /// Its standard error.
    #[serde(alias = "StandardError", deserialize_with = "nan_if_null")]
    pub standard_error: f64,
}

/// A confidence interval.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ConfidenceInterval {
    /// e.g. 0.95.
    #[serde(alias = "ConfidenceLevel")]
    pub confidence_level: f64,
    /// Lower bound.
    #[serde(alias = "LowerBound", deserialize_with = "nan_if_null")]
    pub lower_bound: f64,
    /// Upper bound.
    #[serde(alias = "UpperBound", deserialize_with = "nan_if_null")]
    pub upper_bound: f64,
}

/// `sample.json`: the raw measurements.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SampleFile {
    /// `Linear` or `Flat` (absent in very old files).
    #[serde(default)]
    pub sampling_mode: Option<String>,
    /// Iterations per sample.
    #[serde(deserialize_with = "nans_if_null")]
    pub iters: Vec<f64>,
    /// Total nanoseconds per sample.
    #[serde(deserialize_with = "nans_if_null")]
    pub times: Vec<f64>,
}

/// serde_json writes a NaN as `null`; read it back as NaN so the sample checks can name it.
pub(crate) fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// [`nan_if_null`] for every element of an array.
pub(crate) fn nans_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let values = Vec::<Option<f64>>::deserialize(d)?;
    Ok(values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// The Criterion root: `explicit`, else `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else `target/criterion`.
pub fn root(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    if let Some(home) = std::env::var_os("CRITERION_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(target).join("criterion");
    }
    PathBuf::from("target/criterion")
}

/// The files of one benchmark of one baseline.
const FILES: [&str; 3] = ["benchmark.json", "estimates.json", "sample.json"];

/// Whether `dir` is one benchmark of one baseline: it holds `benchmark.json` or `sample.json`
/// (as anything: a file, a directory, a dangling link — a damaged benchmark is still a
/// benchmark), or only `estimates.json` under a name other than `change` (Criterion's own
/// verdict directory holds just that file).
fn is_benchmark_dir(dir: &Path) -> bool {
    let present = |f: &str| fs::symlink_metadata(dir.join(f)).is_ok();
    present("benchmark.json")
        || present("sample.json")
        || (present("estimates.json") && dir.file_name().is_some_and(|n| n != "change"))
}

/// Every directory under `root` that is one benchmark of one baseline. Sorted, so output is
/// stable. Symbolic links to directories are not followed (a link loop cannot hang the walk).
fn baseline_dirs(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !root.is_dir() {
        bail!(
            "Criterion directory {} does not exist (run `cargo bench` first, or pass \
             --criterion-dir / set CRITERION_HOME)",
            root.display()
        );
    }
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir)
            .with_context(|| format!("cannot read directory {}", dir.display()))?;
        for entry in entries {
            let entry =
                entry.with_context(|| format!("cannot read directory {}", dir.display()))?;
            let kind = entry
                .file_type()
                .with_context(|| format!("cannot read {}", entry.path().display()))?;
            if kind.is_dir() {
                let path = entry.path();
                if dir != root && is_benchmark_dir(&path) {
                    found.push(path.clone());
                }
                stack.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The Criterion baselines under `root` with their benchmark counts (damaged ones included).
pub fn list(root: &Path) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut names = BTreeMap::new();
    for dir in baseline_dirs(root)? {
        if let Some(name) = dir.file_name().and_then(|n| n.to_str()) {
            *names.entry(name.to_string()).or_insert(0) += 1;
        }
    }
    Ok(names)
}

/// Every benchmark's directory under `root` (`<root>/<directory_name>`), by id, from the
/// `benchmark.json` of any of its baselines; for links to Criterion's files and flamegraphs.
/// Benchmarks whose `benchmark.json` cannot be read are left out.
pub fn benchmark_dirs(root: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut dirs = BTreeMap::new();
    for dir in baseline_dirs(root)? {
        if let (Ok(meta), Some(parent)) = (
            read_json::<BenchmarkFile>(&dir.join(FILES[0])),
            dir.parent(),
        ) {
            dirs.entry(meta.full_id)
                .or_insert_with(|| parent.to_path_buf());
        }
    }
    Ok(dirs)
}

/// Why a file could not be read: the message says what the file is (missing, a directory, a
/// link loop, not JSON, cut short, the wrong shape).
#[derive(Debug)]
struct FileError {
    file: PathBuf,
    reason: String,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, FileError> {
    let fail = |reason: String| FileError {
        file: path.to_path_buf(),
        reason,
    };
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(match fs::symlink_metadata(path) {
                Ok(_) => "a dangling symbolic link".into(),
                Err(_) => "missing".into(),
            }))
        }
        Err(e) => {
            let what = match fs::metadata(path) {
                Ok(m) if m.is_dir() => "a directory, not a file".to_string(),
                _ => format!("cannot be read: {e}"),
            };
            return Err(fail(what));
        }
    };
    serde_json::from_str(&text).map_err(|e| {
        fail(if e.is_eof() {
            format!("cut short ({} bytes): {e}", text.len())
        } else {
            format!("not valid Criterion JSON: {e}")
        })
    })
}

/// Checks the estimates a summary shows: every point estimate a finite, non-negative number.
fn estimates_problem(e: &Estimates) -> Option<String> {
    [
        ("mean", &e.mean),
        ("median", &e.median),
        ("std_dev", &e.std_dev),
    ]
    .into_iter()
    .find(|(_, x)| !(x.point_estimate.is_finite() && x.point_estimate >= 0.0))
    .map(|(name, x)| format!("{name} is {}", x.point_estimate))
}

/// Reads one benchmark directory (`<root>/<directory_name>/<baseline>/`), checking every file:
/// a benchmark is either whole or [`Unreadable`], never half-read.
pub fn read_benchmark(dir: &Path) -> Result<Benchmark, Unreadable> {
    let unreadable = |id: String, e: FileError| Unreadable {
        id,
        file: e.file.display().to_string(),
        reason: e.reason,
    };
    // The id of a benchmark whose benchmark.json is damaged: its directory under the root.
    let dir_id = || {
        dir.parent()
            .and_then(|p| p.to_str())
            .unwrap_or_default()
            .to_string()
    };
    let meta: BenchmarkFile =
        read_json(&dir.join(FILES[0])).map_err(|e| unreadable(dir_id(), e))?;
    if meta.full_id.is_empty() {
        return Err(Unreadable {
            id: dir_id(),
            file: dir.join(FILES[0]).display().to_string(),
            reason: "full_id is empty".into(),
        });
    }
    let id = meta.full_id.clone();
    let estimates: Estimates =
        read_json(&dir.join(FILES[1])).map_err(|e| unreadable(id.clone(), e))?;
    if let Some(problem) = estimates_problem(&estimates) {
        return Err(Unreadable {
            id,
            file: dir.join(FILES[1]).display().to_string(),
            reason: problem,
        });
    }
    let sample: SampleFile =
        read_json(&dir.join(FILES[2])).map_err(|e| unreadable(id.clone(), e))?;
    let sample = Sample {
        iters: sample.iters,
        times: sample.times,
    };
    if let Some(problem) = sample.problem() {
        return Err(Unreadable {
            id,
            file: dir.join(FILES[2]).display().to_string(),
            reason: problem,
        });
    }
    Ok(Benchmark {
        id: meta.full_id,
        group_id: meta.group_id,
        function_id: meta.function_id,
        value_str: meta.value_str,
        throughput: meta.throughput,
        estimates,
        sample,
        counts: None,
    })
}

/// Reads Criterion baseline `name` under `root` as one [`Run`]. A benchmark whose files are
/// missing or damaged is kept as [`Unreadable`] with the file and the reason; an unknown name
/// is an error that lists the baselines that exist; two directories claiming the same id are
/// an error naming both.
pub fn load_baseline(root: &Path, name: &str) -> anyhow::Result<Loaded> {
    let dirs = baseline_dirs(root)?;
    let mine: Vec<&PathBuf> = dirs
        .iter()
        .filter(|d| d.file_name().and_then(|n| n.to_str()) == Some(name))
        .collect();
    if mine.is_empty() {
        let existing = list(root)?;
        let existing = if existing.is_empty() {
            "none (the directory holds no benchmark.json)".to_string()
        } else {
            existing
                .iter()
                .map(|(n, c)| format!("{n} ({c} benchmarks)"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        bail!(
            "no Criterion baseline named '{name}' under {} and no stored baseline file of that \
             name; Criterion baselines there: {existing}",
            root.display()
        );
    }
    let mut benchmarks = Vec::new();
    let mut unreadable = Vec::new();
    let mut dir_of: BTreeMap<String, &PathBuf> = BTreeMap::new();
    for dir in mine {
        match read_benchmark(dir) {
            Ok(b) => {
                if let Some(other) = dir_of.insert(b.id.clone(), dir) {
                    bail!(
                        "benchmark id '{}' appears twice in Criterion baseline '{name}': {} and {}",
                        b.id,
                        other.display(),
                        dir.display()
                    );
                }
                benchmarks.push(b);
            }
            Err(mut u) => {
                if let Ok(rel) = Path::new(&u.id).strip_prefix(root) {
                    u.id = rel.display().to_string();
                }
                unreadable.push(u)
            }
        }
    }
    benchmarks.sort_by(|a, b| a.id.cmp(&b.id));
    let mut loaded = Loaded::default();
    loaded.runs.push(Run {
        source: format!("Criterion baseline '{name}' in {}", root.display()),
        // Criterion's directory is local: its runs were measured here.
        machine: Some(super::Machine::current()),
        git_commit: None,
        created: None,
        metric: super::Metric::Time,
        benchmarks,
        unreadable,
        not_counted: Vec::new(),
    });
    Ok(loaded)
}
