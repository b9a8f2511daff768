//! The machine fingerprint stored with every saved run, and the git commit `save` records with
//! it (the timestamp comes from `crate::timestamp`).
//!
//! Timings are only comparable on the same kind of machine, so a stored baseline records the CPU
//! model, core count, OS and rustc version, and `compare` warns when the two sides differ.
//! [`Machine::id`] turns the fingerprint into a file-name-safe key (`baselines/<id>.json` is
//! where `tickbench bench` looks for "the stored baseline for this machine").

use std::process::Command;

use serde::{Deserialize, Serialize};

/// What measured a run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Machine {
    /// CPU model name (`/proc/cpuinfo`), or `unknown`.
    pub cpu: String,
    /// Logical cores available to the process.
    pub cores: usize,
    /// OS name and kernel release, e.g. `linux 6.8.0`.
    pub os: String,
    /// `rustc --version`, or `unknown`.
    pub rustc: String,
}

impl Machine {
    /// Fingerprints the machine this process runs on (computed once per process).
    pub fn current() -> Self {
        static CURRENT: std::sync::OnceLock<Machine> = std::sync::OnceLock::new();
        CURRENT.get_or_init(Self::probe).clone()
    }

    fn probe() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: format!("{} {kernel}", std::env::consts::OS)
                .trim()
                .to_string(),
            rustc: command_output("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
        }
    }

    /// A file-name-safe key for the kind of machine: lower-case CPU model and core count, e.g.
    /// `amd-epyc-7b13-2c`. The OS and rustc are left out on purpose: a new rustc on the same
    /// machine is exactly the kind of change a baseline should catch.
    pub fn id(&self) -> String {
        let mut slug = String::new();
        for c in self.cpu.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') {
                slug.push('-');
            }
        }
        format!("{}-{}c", slug.trim_matches('-'), self.cores)
    }

    /// Whether two fingerprints describe machines whose timings can be compared (same CPU model
    /// and core count).
    pub fn comparable(&self, other: &Machine) -> bool {
        self.cpu == other.cpu && self.cores == other.cores
    }
}

impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} cores), {}, {}",
            self.cpu, self.cores, self.os, self.rustc
        )
    }
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The current git commit (`git rev-parse HEAD`), with `-dirty` when the tree has uncommitted
/// changes; `None` outside a git checkout.
pub fn git_commit() -> Option<String> {
    let head = command_output("git", &["rev-parse", "HEAD"])?;
    let dirty = command_output("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_a_safe_slug() {
        let m = Machine {
            cpu: "Intel(R) Xeon(R) CPU @ 2.20GHz".into(),
            cores: 2,
            os: "linux".into(),
            rustc: "rustc".into(),
        };
        assert_eq!(m.id(), "intel-r-xeon-r-cpu-2-20ghz-2c");
    }
}
