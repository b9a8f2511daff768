//! Stored baselines: `baselines/<name>.json`, schema `tickbench.baseline.v1`.
//!
//! A stored baseline is self-contained, so it can be compared long after `target/` is gone and
//! on another checkout: per run the machine fingerprint, git commit, timestamp, and for every
//! benchmark Criterion's metadata, estimates **and raw samples** (statistics need samples, not
//! just means). It holds a list of runs so `tickbench save --append` can add repeated runs of the
//! same code, which is what lets `compare` measure run-to-run noise.
//!
//! ```json
//! { "schema": "tickbench.baseline.v1", "name": "main",
//!   "runs": [ { "source": "...", "machine": {...}, "git_commit": "...", "created": "...",
//!               "benchmarks": [ { "id": "...", "estimates": {...}, "sample": {...}, ... } ] } ] }
//! ```
//!
//! JSON keeps the files diffable and readable by other tools; ~3 KB per benchmark per run.
//! Files are written with [`crate::fsio::write_atomic`], so an interrupted `save` never leaves a
//! half-written baseline behind. `save` reads, changes and writes a file under an exclusive lock
//! on the sidecar `<file>.lock`, so concurrent saves to one file neither lose runs nor both
//! create it.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::{Loaded, Run, Unreadable, Warning};
use crate::fsio::{self, FileLock};

/// The value of the `schema` field this version reads and writes.
pub const SCHEMA: &str = "tickbench.baseline.v1";

/// A stored baseline file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredBaseline {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The name it was saved under.
    pub name: String,
    /// Repeated runs of the same code, oldest first.
    pub runs: Vec<Run>,
}

impl StoredBaseline {
    /// The runs as a compare side. A stored benchmark whose samples are unusable becomes
    /// [`Unreadable`], like a damaged Criterion file: it is shown, never silently dropped.
    pub fn into_loaded(self, path: &Path) -> Loaded {
        let runs = self
            .runs
            .into_iter()
            .enumerate()
            .map(|(i, mut run)| {
                run.source = format!("{} run {}", path.display(), i + 1);
                let (good, bad): (Vec<_>, Vec<_>) = run
                    .benchmarks
                    .into_iter()
                    .partition(|b| b.sample.problem().is_none());
                run.benchmarks = good;
                for b in bad {
                    run.unreadable.push(Unreadable {
                        file: run.source.clone(),
                        reason: b.sample.problem().unwrap_or_default(),
                        id: b.id,
                    });
                }
                run
            })
            .collect();
        Loaded {
            runs,
            warnings: Vec::<Warning>::new(),
        }
    }
}

/// Reads and checks a stored baseline file.
pub fn read(path: &Path) -> anyhow::Result<StoredBaseline> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => bail!(
            "{} has schema '{other}', expected '{SCHEMA}'",
            path.display()
        ),
        None => bail!(
            "{} is not a tickbench stored baseline (no \"schema\" field)",
            path.display()
        ),
    }
    let stored: StoredBaseline = serde_json::from_value(value)
        .with_context(|| format!("{} is not a valid {SCHEMA} file", path.display()))?;
    if stored.runs.is_empty() {
        bail!("{} holds no runs", path.display());
    }
    if let Some(other) = stored
        .runs
        .iter()
        .find(|r| r.metric != stored.runs[0].metric)
    {
        bail!(
            "{} mixes metrics ({} and {}); a stored baseline holds one",
            path.display(),
            stored.runs[0].metric.as_str(),
            other.metric.as_str()
        );
    }
    for (i, run) in stored.runs.iter().enumerate() {
        if let Some(id) = run.duplicate_id() {
            bail!(
                "{} run {} holds benchmark '{id}' twice; a stored run holds each id once",
                path.display(),
                i + 1
            );
        }
    }
    Ok(stored)
}

/// What `save` should do when the file exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Refuse.
    Refuse,
    /// Replace it.
    Overwrite,
    /// Add the run to its runs.
    Append,
}

/// Saves `run` as stored baseline `name` at `path`; returns the number of runs now in the file
/// and warnings (e.g. an appended run from a different machine). Waits for other saves to the
/// same file, so each sees the file as the one before it left it.
pub fn save(
    path: &Path,
    name: &str,
    run: Run,
    existing: Existing,
) -> anyhow::Result<(usize, Vec<Warning>)> {
    let _lock = FileLock::exclusive(path)?;
    let mut warnings = Vec::new();
    let exists = path
        .try_exists()
        .with_context(|| format!("cannot check whether {} exists", path.display()))?;
    let stored = if exists {
        match existing {
            Existing::Refuse => bail!(
                "{} already exists; pass --force to replace it or --append to add this run to it",
                path.display()
            ),
            Existing::Overwrite => StoredBaseline {
                schema: SCHEMA.into(),
                name: name.into(),
                runs: vec![run],
            },
            Existing::Append => {
                let mut stored = read(path).context("cannot --append")?;
                if let Some(first) = stored.runs.first().filter(|f| f.metric != run.metric) {
                    bail!(
                        "{} holds {} runs and this run measures {}: a baseline holds one metric \
                         (count runs go to their own file, e.g. --as counts)",
                        path.display(),
                        first.metric.as_str(),
                        run.metric.as_str()
                    );
                }
                if let (Some(first), Some(new)) = (
                    stored.runs.first().and_then(|r| r.machine.as_ref()),
                    run.machine.as_ref(),
                ) {
                    if !first.comparable(new) {
                        warnings.push(Warning(format!(
                            "appending a run from a different machine ({new}) to {} ({first})",
                            path.display()
                        )));
                    }
                }
                stored.runs.push(run);
                stored
            }
        }
    } else {
        StoredBaseline {
            schema: SCHEMA.into(),
            name: name.into(),
            runs: vec![run],
        }
    };
    let json = serde_json::to_vec_pretty(&stored).context("cannot serialise the baseline")?;
    fsio::write_atomic(path, &json)?;
    Ok((stored.runs.len(), warnings))
}
