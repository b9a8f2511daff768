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

use super::{Benchmark, Loaded, Run, Sample, Warning};

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

/// Every directory under `root` that holds a `benchmark.json`, i.e. one benchmark of one
/// baseline. Sorted, so output is stable.
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
            let kind = entry.file_type()?;
            if kind.is_dir() {
                let path = entry.path();
                if path.join("benchmark.json").is_file() {
                    found.push(path.clone());
                }
                stack.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The Criterion baselines under `root` with their benchmark counts.
pub fn list(root: &Path) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut names = BTreeMap::new();
    for dir in baseline_dirs(root)? {
        if let Some(name) = dir.file_name().and_then(|n| n.to_str()) {
            *names.entry(name.to_string()).or_insert(0) += 1;
        }
    }
    Ok(names)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid Criterion JSON", path.display()))
}

/// Reads one benchmark directory (`<root>/<directory_name>/<baseline>/`).
pub fn read_benchmark(dir: &Path) -> anyhow::Result<Benchmark> {
    let meta: BenchmarkFile = read_json(&dir.join("benchmark.json"))?;
    let estimates: Estimates = read_json(&dir.join("estimates.json"))?;
    let sample: SampleFile = read_json(&dir.join("sample.json"))?;
    Ok(Benchmark {
        id: meta.full_id,
        group_id: meta.group_id,
        function_id: meta.function_id,
        value_str: meta.value_str,
        throughput: meta.throughput,
        estimates,
        sample: Sample {
            iters: sample.iters,
            times: sample.times,
        },
    })
}

/// Reads Criterion baseline `name` under `root` as one [`Run`]. A benchmark whose files are
/// missing or corrupt is skipped with a warning naming the file; an unknown name is an error
/// that lists the baselines that exist.
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
    let mut loaded = Loaded::default();
    let mut benchmarks = Vec::new();
    for dir in mine {
        match read_benchmark(dir) {
            Ok(b) => benchmarks.push(b),
            Err(e) => loaded
                .warnings
                .push(Warning(format!("skipped benchmark: {e:#}"))),
        }
    }
    benchmarks.sort_by(|a, b| a.id.cmp(&b.id));
    loaded.runs.push(Run {
        source: format!("Criterion baseline '{name}' in {}", root.display()),
        // Criterion's directory is local: its runs were measured here.
        machine: Some(super::Machine::current()),
        git_commit: None,
        created: None,
        benchmarks,
    });
    Ok(loaded)
}
