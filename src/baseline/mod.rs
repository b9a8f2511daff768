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
pub use crate::policy::Metric;

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
    /// Raw samples: `times[i]` is the total time of `iters[i]` iterations, in nanoseconds (for
    /// the instructions metric: one sample, the instructions of `iters[0]` iterations).
    pub sample: Sample,
    /// For the instructions metric: the raw counts and the profile behind the sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<crate::counts::Counted>,
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

    /// Why these samples cannot be compared, if they cannot: empty, unequal lengths, an
    /// iteration count that is not a positive finite number, or a time that is not (NaN, null,
    /// zero, negative, infinite). A negative count times a negative time would give a plausible
    /// per-iteration time, so each array is checked on its own.
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
        let positive = |x: &&f64| x.is_finite() && **x > 0.0;
        let bad_iters = self.iters.len() - self.iters.iter().filter(positive).count();
        if bad_iters > 0 {
            return Some(format!(
                "{bad_iters} of {} iteration counts are zero, negative or not a number",
                self.iters.len()
            ));
        }
        let bad_times = self.times.len() - self.times.iter().filter(positive).count();
        (bad_times > 0).then(|| {
            format!(
                "{bad_times} of {} times are null, NaN, zero, negative or infinite",
                self.times.len()
            )
        })
    }
}

/// A benchmark that could not be read. It is never dropped: a compare shows it with the verdict
/// `unreadable` and exits 2, and `save` refuses the run unless told to skip it, in which case
/// the stored run keeps this record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Unreadable {
    /// The benchmark's id when its `benchmark.json` could be read, else its directory under the
    /// Criterion root.
    pub id: String,
    /// The file (or directory) that failed.
    pub file: String,
    /// Why it failed.
    pub reason: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}': {}: {}", self.id, self.file, self.reason)
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
    /// What the figures measure: time (absent in files from before counts) or instructions.
    #[serde(default, skip_serializing_if = "Metric::is_time")]
    pub metric: Metric,
    /// The benchmarks, sorted by id.
    pub benchmarks: Vec<Benchmark>,
    /// Benchmarks of this run that could not be read (in a stored baseline: the ones skipped at
    /// `save --allow-unreadable`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<Unreadable>,
    /// Instructions metric: the benchmarks and bench files that have no count, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_counted: Vec<crate::counts::session::NotCounted>,
}

impl Run {
    /// A fingerprint of the measurements (ids and raw samples, bit for bit; for counts also the
    /// time the run was made): two runs with the same fingerprint are the same run read twice,
    /// e.g. a Criterion baseline and its stored copy, whatever their sources say.
    pub fn fingerprint(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        if self.metric == Metric::Instructions {
            // Counts of identical code are identical by design: two count runs are told apart
            // by when they ran; the same run read twice still has the same fingerprint.
            eat(self.created.as_deref().unwrap_or("").as_bytes());
            eat(&[0xfe]);
        }
        for b in &self.benchmarks {
            eat(b.id.as_bytes());
            eat(&[0xff]);
            for x in b.sample.iters.iter().chain(&b.sample.times) {
                eat(&x.to_bits().to_le_bytes());
            }
        }
        h
    }

    /// The first benchmark id that occurs twice, if any.
    pub fn duplicate_id(&self) -> Option<&str> {
        let mut seen = std::collections::BTreeSet::new();
        self.benchmarks
            .iter()
            .map(|b| b.id.as_str())
            .chain(self.unreadable.iter().map(|u| u.id.as_str()))
            .find(|id| !seen.insert(*id))
    }
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

/// Where one name of a baseline spec points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A stored baseline file.
    File(std::path::PathBuf),
    /// A Criterion baseline under the Criterion root.
    Criterion(String),
}

/// Resolves one name of a spec. `criterion:NAME` is always a Criterion baseline; a name with a
/// path separator is always a file; a bare name is whichever of the two exists, and a bare name
/// that is both is an error that shows both and how to pick one (a file in the current
/// directory must not silently shadow a Criterion baseline, or the other way round).
pub fn resolve(item: &str, criterion_root: &std::path::Path) -> anyhow::Result<Source> {
    if let Some(name) = item.strip_prefix("criterion:") {
        return Ok(Source::Criterion(name.to_string()));
    }
    if let Some(name) = item.strip_prefix("counts:") {
        // Count runs live beside the Criterion root: <target>/tickbench/counts/NAME.json.
        let target = criterion_root
            .parent()
            .unwrap_or(std::path::Path::new("target"));
        return Ok(Source::File(
            crate::counts::session::counts_root(target).join(format!("{name}.json")),
        ));
    }
    let path = std::path::Path::new(item);
    if item.contains(std::path::MAIN_SEPARATOR) || item.contains('/') {
        return Ok(Source::File(path.to_path_buf()));
    }
    let is_file = path.is_file();
    let is_criterion = criterion_root.is_dir()
        && criterion::list(criterion_root).is_ok_and(|names| names.contains_key(item));
    match (is_file, is_criterion) {
        (true, true) => anyhow::bail!(
            "'{item}' is ambiguous: it is a file in the current directory ({}) and a Criterion \
             baseline under {}; write './{item}' for the file or 'criterion:{item}' for the \
             Criterion baseline",
            std::env::current_dir()
                .map(|d| d.join(item).display().to_string())
                .unwrap_or_else(|_| item.to_string()),
            criterion_root.display()
        ),
        (true, false) => Ok(Source::File(path.to_path_buf())),
        _ => Ok(Source::Criterion(item.to_string())),
    }
}

/// Reads a baseline spec: a comma-separated list of Criterion baseline names (looked up under
/// `criterion_root`) and paths to stored baseline files (see [`resolve`]). The same run named
/// twice (`a,a`, or a stored run beside the Criterion baseline it was saved from) is an error:
/// counted twice it would pass for two runs and fake a measured run-to-run spread.
pub fn load_spec(spec: &str, criterion_root: &std::path::Path) -> anyhow::Result<Loaded> {
    let mut loaded = Loaded::default();
    for item in spec.split(',').map(str::trim) {
        if item.is_empty() {
            anyhow::bail!("empty baseline name in '{spec}'");
        }
        let mut part = match resolve(item, criterion_root)? {
            Source::File(path) => stored::read(&path)?.into_loaded(&path),
            Source::Criterion(name) => criterion::load_baseline(criterion_root, &name)?,
        };
        loaded.runs.append(&mut part.runs);
        loaded.warnings.append(&mut part.warnings);
    }
    if let Some((a, b)) = same_run(&loaded.runs, &loaded.runs) {
        anyhow::bail!(
            "the same run is listed twice in '{spec}': {a} and {b} hold identical samples; list \
             each run once"
        );
    }
    Ok(loaded)
}

/// Two runs, one from each list (or two different ones of one list), that are the same
/// measurements: their sources.
pub fn same_run(a: &[Run], b: &[Run]) -> Option<(String, String)> {
    let same_list = std::ptr::eq(a, b);
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            if same_list && j <= i {
                continue;
            }
            if !x.benchmarks.is_empty() && x.fingerprint() == y.fingerprint() {
                return Some((x.source.clone(), y.source.clone()));
            }
        }
    }
    None
}

/// The one metric of every run of `loaded` (time when there are none); two metrics in one spec
/// are an error naming the runs.
pub fn metric_of(spec: &str, loaded: &Loaded) -> anyhow::Result<Metric> {
    let mut runs = loaded.runs.iter();
    let Some(first) = runs.next() else {
        return Ok(Metric::Time);
    };
    if let Some(other) = runs.find(|r| r.metric != first.metric) {
        anyhow::bail!(
            "'{spec}' mixes metrics: {} measures {} and {} measures {}; a baseline holds one \
             metric",
            first.source,
            first.metric.as_str(),
            other.source,
            other.metric.as_str()
        );
    }
    Ok(first.metric)
}

/// The metric OLD and NEW share; different metrics are an error (a count compared with a time
/// would read as a change of orders of magnitude).
pub fn common_metric(
    old_spec: &str,
    old: &Loaded,
    new_spec: &str,
    new: &Loaded,
) -> anyhow::Result<Metric> {
    let (a, b) = (metric_of(old_spec, old)?, metric_of(new_spec, new)?);
    if a != b {
        anyhow::bail!(
            "OLD '{old_spec}' measures {} and NEW '{new_spec}' measures {}: they cannot be \
             compared; compare a count baseline with a count run (tickbench bench --counts) and \
             a time baseline with a time run",
            a.as_str(),
            b.as_str()
        );
    }
    Ok(a)
}

/// Refuses an OLD and a NEW side that share a run: a run compared with itself says nothing.
pub fn check_distinct(old: &Loaded, new: &Loaded) -> anyhow::Result<()> {
    if let Some((a, b)) = same_run(&old.runs, &new.runs) {
        anyhow::bail!(
            "OLD and NEW share a run: {a} and {b} hold identical samples; a run compared with \
             itself says nothing about a change"
        );
    }
    Ok(())
}
