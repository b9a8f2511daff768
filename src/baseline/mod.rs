//! Baselines: Criterion's saved files, tickbench's stored baselines, the statistics and the
//! comparison built on them.
//!
//! Data flows `criterion.rs` (Criterion's files) or `stored.rs` (`baselines/*.json`) → [`Run`]s
//! → `compare.rs` (with `stats.rs`) → a [`compare::Comparison`] that `crate::report` renders.
//! A baseline is one or more [`Run`]s of the same code: a live Criterion baseline is one run; a
//! stored baseline holds as many runs as were appended to it.

pub mod compare;
pub mod criterion;
pub mod machine;
pub mod stats;
pub mod stored;
pub mod summary;

use serde::{Deserialize, Serialize};

pub use self::criterion::{Estimate, Estimates, Throughput};
pub use self::machine::Machine;

/// One benchmark of one run: Criterion's metadata, estimates and raw samples.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Benchmark {
    /// Criterion's full id, e.g. `probe/collatz/2500`: the key a comparison matches on.
    pub id: String,
    /// Criterion's group id (the part before the first `/` of most ids).
    pub group_id: String,
    /// Function id inside the group, if any.
    pub function_id: Option<String>,
    /// Parameter of a `BenchmarkId::new(name, param)` sweep, if any.
    pub value_str: Option<String>,
    /// Work per iteration the bench declared, if any.
    pub throughput: Option<Throughput>,
    /// Criterion's estimates (nanoseconds per iteration).
    pub estimates: Estimates,
    /// Raw samples: `times[i]` is the total time of `iters[i]` iterations, in nanoseconds.
    pub sample: Sample,
}

/// Criterion's raw samples for one benchmark.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    /// Iterations in each sample.
    #[serde(deserialize_with = "criterion::nans_if_null")]
    pub iters: Vec<f64>,
    /// Total time of each sample, in nanoseconds (NaN is stored as `null`).
    #[serde(deserialize_with = "criterion::nans_if_null")]
    pub times: Vec<f64>,
}

impl Sample {
    /// Per-iteration time of every sample (`times[i] / iters[i]`), in nanoseconds.
    pub fn per_iteration(&self) -> Vec<f64> {
        self.iters
            .iter()
            .zip(&self.times)
            .map(|(i, t)| t / i)
            .collect()
    }

    /// Why these samples cannot be compared, if they cannot: empty, unequal lengths, or a
    /// per-iteration time that is not a positive finite number (NaN, zero, negative).
    pub fn problem(&self) -> Option<String> {
        if self.iters.is_empty() {
            return Some("no samples".into());
        }
        if self.iters.len() != self.times.len() {
            return Some(format!(
                "{} iteration counts but {} times",
                self.iters.len(),
                self.times.len()
            ));
        }
        let bad = self
            .per_iteration()
            .iter()
            .filter(|t| !(t.is_finite() && **t > 0.0))
            .count();
        (bad > 0).then(|| {
            format!(
                "{bad} of {} samples are NaN, zero or negative",
                self.iters.len()
            )
        })
    }
}

/// One run of a suite: every benchmark it measured, where it came from and on what machine.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Run {
    /// Where the run was read from: a Criterion baseline name or a stored file and run index.
    pub source: String,
    /// The machine that measured it, when known.
    pub machine: Option<Machine>,
    /// `git rev-parse HEAD` when it was saved (with `-dirty` for uncommitted changes), if known.
    pub git_commit: Option<String>,
    /// When it was saved (RFC 3339, UTC), if known.
    pub created: Option<String>,
    /// The benchmarks, sorted by id.
    pub benchmarks: Vec<Benchmark>,
}

/// A problem with part of the input that did not stop the rest from being used.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Warning(pub String);

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Runs read for one side of a command, with the problems met on the way.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// The runs, in the order they were named.
    pub runs: Vec<Run>,
    /// Files that were skipped and why.
    pub warnings: Vec<Warning>,
}

/// Reads a baseline spec: a comma-separated list of Criterion baseline names (looked up under
/// `criterion_root`) and paths to stored baseline files. A name that is an existing file is read
/// as a stored baseline; anything else as a Criterion baseline.
pub fn load_spec(spec: &str, criterion_root: &std::path::Path) -> anyhow::Result<Loaded> {
    let mut loaded = Loaded::default();
    for item in spec.split(',').map(str::trim) {
        if item.is_empty() {
            anyhow::bail!("empty baseline name in '{spec}'");
        }
        let path = std::path::Path::new(item);
        let mut part = if path.is_file() {
            stored::read(path)?.into_loaded(path)
        } else {
            criterion::load_baseline(criterion_root, item)?
        };
        loaded.runs.append(&mut part.runs);
        loaded.warnings.append(&mut part.warnings);
    }
    Ok(loaded)
}
