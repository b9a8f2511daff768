//! Running the suite: which `cargo bench` command lines, and running them with their output
//! streamed line by line.
//!
//! ```text
//! cargo bench [--manifest-path P] [CARGO_ARG…] (--benches | --bench F… [--bench canary])
//!       -- --save-baseline NAME [--quick] [CRITERION_ARG…] [FILTER|…|^canary/]
//! ```
//!
//! The canaries always run: the compare anchors its machine-drift correction on them. With
//! `--bench` the suite's `canary` bench file is added (when it has one); with filters,
//! `^canary/` joins them. The child gets `CRITERION_HOME` set to the directory the compare
//! reads, so both agree whatever the working directory of the bench binaries.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context};

/// Name of the bench file that holds the canaries, if a suite has one.
pub const CANARY_BENCH: &str = "canary";

/// How to reach the suite: where cargo runs and with what.
#[derive(Clone, Debug, Default)]
pub struct Suite {
    /// Working directory of cargo (`-C DIR`), else the current one.
    pub dir: Option<PathBuf>,
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// Extra arguments for cargo, before `--`.
    pub cargo_args: Vec<String>,
    /// `CRITERION_HOME` for the benches (absolute).
    pub criterion_home: Option<PathBuf>,
}

/// What `cargo metadata` says about the suite.
#[derive(Clone, Debug)]
pub struct Metadata {
    /// Cargo's target directory.
    pub target_directory: PathBuf,
    /// Names of the bench targets of the workspace's packages.
    pub benches: Vec<String>,
}

impl Suite {
    pub(crate) fn cargo(&self) -> Command {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut cmd = Command::new(cargo);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// Reads `cargo metadata --no-deps` of the suite.
    pub fn metadata(&self) -> anyhow::Result<Metadata> {
        let mut cmd = self.cargo();
        cmd.args(["metadata", "--format-version", "1", "--no-deps"]);
        if let Some(path) = &self.manifest_path {
            cmd.arg("--manifest-path").arg(path);
        }
        let out = cmd
            .stderr(Stdio::inherit())
            .output()
            .context("cannot run `cargo metadata` (is cargo on PATH?)")?;
        if !out.status.success() {
            bail!(
                "`cargo metadata` failed ({}){}",
                out.status,
                self.where_hint()
            );
        }
        parse_metadata(&out.stdout).context("cannot read the output of `cargo metadata`")
    }

    fn where_hint(&self) -> String {
        match (&self.manifest_path, &self.dir) {
            (Some(p), _) => format!(" for --manifest-path {}", p.display()),
            (None, Some(d)) => format!(" in -C {}", d.display()),
            _ => String::new(),
        }
    }

    /// The `cargo` arguments for `bench_files` and everything after `--`.
    pub fn bench_args(&self, bench_files: &[String], after: &[String]) -> Vec<String> {
        let mut args = vec!["bench".to_string()];
        if let Some(path) = &self.manifest_path {
            args.push("--manifest-path".into());
            args.push(path.display().to_string());
        }
        args.extend(self.cargo_args.iter().cloned());
        if bench_files.is_empty() {
            args.push("--benches".into());
        }
        for file in bench_files {
            args.push("--bench".into());
            args.push(file.clone());
        }
        args.push("--".into());
        args.extend(after.iter().cloned());
        args
    }

    /// A `cargo` command with `args`, ready to spawn.
    pub fn command(&self, args: &[String]) -> Command {
        let mut cmd = self.cargo();
        cmd.args(args);
        if let Some(home) = &self.criterion_home {
            cmd.env("CRITERION_HOME", home);
        }
        cmd
    }
}

/// Reads the parts of `cargo metadata --format-version 1` this module needs.
pub fn parse_metadata(json: &[u8]) -> anyhow::Result<Metadata> {
    #[derive(serde::Deserialize)]
    struct Root {
        target_directory: PathBuf,
        packages: Vec<Package>,
    }
    #[derive(serde::Deserialize)]
    struct Package {
        targets: Vec<Target>,
    }
    #[derive(serde::Deserialize)]
    struct Target {
        name: String,
        kind: Vec<String>,
    }
    let root: Root = serde_json::from_slice(json)?;
    let mut benches: Vec<String> = root
        .packages
        .iter()
        .flat_map(|p| &p.targets)
        .filter(|t| t.kind.iter().any(|k| k == "bench"))
        .map(|t| t.name.clone())
        .collect();
    benches.sort();
    benches.dedup();
    Ok(Metadata {
        target_directory: root.target_directory,
        benches,
    })
}

/// The bench files to pass: none (all) when none were asked for; else the asked ones plus the
/// canary file when the suite has one. Unknown names are an error naming `--bench`.
pub fn bench_files(asked: &[String], available: &[String]) -> anyhow::Result<Vec<String>> {
    for name in asked {
        if !available.contains(name) {
            bail!(
                "--bench {name}: the suite has no such bench target (it has: {})",
                if available.is_empty() {
                    "none".to_string()
                } else {
                    available.join(", ")
                }
            );
        }
    }
    let mut files: Vec<String> = Vec::new();
    for name in asked {
        if !files.contains(name) {
            files.push(name.clone());
        }
    }
    if !files.is_empty()
        && available.iter().any(|b| b == CANARY_BENCH)
        && !files.iter().any(|b| b == CANARY_BENCH)
    {
        files.push(CANARY_BENCH.into());
    }
    Ok(files)
}

/// Criterion's filter for `filters` (regexes, any may match) plus the canaries; `None` runs
/// everything.
pub fn filter(filters: &[String], canary_prefix: &str) -> Option<String> {
    if filters.is_empty() {
        return None;
    }
    let mut parts = filters.to_vec();
    parts.push(format!("^{}", escape_regex(canary_prefix)));
    Some(parts.join("|"))
}

/// The filter that re-runs exactly `ids` (and the canaries).
pub fn exact_filter(ids: &[String], canary_prefix: &str) -> String {
    let mut parts: Vec<String> = ids
        .iter()
        .map(|id| format!("^{}$", escape_regex(id)))
        .collect();
    parts.push(format!("^{}", escape_regex(canary_prefix)));
    parts.join("|")
}

/// Escapes the characters the `regex` crate (Criterion's) treats as syntax.
pub fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The ids in the output of `cargo bench -- --list` (`<id>: benchmark` lines).
pub fn parse_list(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_suffix(": benchmark"))
        .map(str::to_string)
        .collect()
}

/// A line of the child's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// From its stdout.
    Stdout(String),
    /// From its stderr.
    Stderr(String),
}

/// Runs `cmd`, handing every output line to `on` as it arrives, and `None` whenever `tick`
/// passes without one. Returns the exit status.
pub fn stream(
    mut cmd: Command,
    tick: Option<Duration>,
    mut on: impl FnMut(Option<Line>),
) -> anyhow::Result<ExitStatus> {
    let program = format!("{:?}", cmd.get_program());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().context("no stdout pipe")?;
    let err = child.stderr.take().context("no stderr pipe")?;
    let readers = [
        spawn_reader(out, tx.clone(), Line::Stdout),
        spawn_reader(err, tx, Line::Stderr),
    ];
    loop {
        let next = match tick {
            Some(t) => rx.recv_timeout(t),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(line) => on(Some(line)),
            Err(mpsc::RecvTimeoutError::Timeout) => on(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    for reader in readers {
        let _ = reader.join();
    }
    child
        .wait()
        .with_context(|| format!("cannot wait for {program}"))
}

fn spawn_reader<R: Read + Send + 'static>(
    source: R,
    tx: mpsc::Sender<Line>,
    wrap: fn(String) -> Line,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    let text = text.trim_end_matches(['\n', '\r']).to_string();
                    if tx.send(wrap(text)).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

/// Runs `cmd` with its stderr passed through and returns its stdout.
pub fn capture(mut cmd: Command) -> anyhow::Result<(ExitStatus, String)> {
    let program = format!("{:?}", cmd.get_program());
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {program}"))?;
    Ok((
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// `path` made absolute against the current directory (without touching the file system).
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn all_benches_unless_files_are_named() {
        let suite = Suite::default();
        assert_eq!(
            suite.bench_args(&[], &strings(&["--save-baseline", "x"])),
            strings(&["bench", "--benches", "--", "--save-baseline", "x"])
        );
        let suite = Suite {
            manifest_path: Some("t/Cargo.toml".into()),
            cargo_args: strings(&["--features", "f"]),
            ..Suite::default()
        };
        assert_eq!(
            suite.bench_args(&strings(&["signal", "canary"]), &strings(&["--list"])),
            strings(&[
                "bench",
                "--manifest-path",
                "t/Cargo.toml",
                "--features",
                "f",
                "--bench",
                "signal",
                "--bench",
                "canary",
                "--",
                "--list"
            ])
        );
    }

    #[test]
    fn the_canary_file_joins_named_bench_files() {
        let available = strings(&["canary", "signal", "store"]);
        assert!(bench_files(&[], &available).unwrap().is_empty());
        assert_eq!(
            bench_files(&strings(&["signal"]), &available).unwrap(),
            strings(&["signal", "canary"])
        );
        assert_eq!(
            bench_files(&strings(&["canary"]), &available).unwrap(),
            strings(&["canary"])
        );
        // A suite without a canary file gets nothing added.
        assert_eq!(
            bench_files(&strings(&["tiny"]), &strings(&["tiny"])).unwrap(),
            strings(&["tiny"])
        );
        let err = bench_files(&strings(&["nope"]), &available).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--bench nope: the suite has no such bench target (it has: canary, signal, store)"
        );
    }

    #[test]
    fn filters_are_joined_with_the_canaries() {
        assert_eq!(filter(&[], "canary/"), None);
        assert_eq!(
            filter(&strings(&["engine/", "^store"]), "canary/").unwrap(),
            "engine/|^store|^canary/"
        );
        assert_eq!(
            exact_filter(&strings(&["a/b(1)", "c.d"]), "canary/"),
            r"^a/b\(1\)$|^c\.d$|^canary/"
        );
    }

    #[test]
    fn regex_escape_covers_the_syntax() {
        assert_eq!(
            escape_regex("x-1 [2]{3}^$|.*+?#&~\\"),
            r"x\-1 \[2\]\{3\}\^\$\|\.\*\+\?\#\&\~\\"
        );
    }

    #[test]
    fn reads_criterions_list() {
        let out = "tiny/sum: benchmark\ntiny/sort: benchmark\n\ncanary/x: benchmark\nnoise\n";
        assert_eq!(
            parse_list(out),
            strings(&["tiny/sum", "tiny/sort", "canary/x"])
        );
    }

    #[test]
    fn reads_cargo_metadata() {
        let json = br#"{"target_directory":"/t","packages":[{"targets":[
            {"name":"lib","kind":["lib"]},{"name":"tiny","kind":["bench"]},
            {"name":"canary","kind":["bench"]}]}]}"#;
        let m = parse_metadata(json).unwrap();
        assert_eq!(m.target_directory, PathBuf::from("/t"));
        assert_eq!(m.benches, strings(&["canary", "tiny"]));
    }

    #[test]
    fn streams_both_pipes_and_reports_the_status() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let mut lines = Vec::new();
        let status = stream(cmd, None, |l| lines.extend(l)).unwrap();
        assert_eq!(status.code(), Some(3));
        lines.sort_by_key(|l| format!("{l:?}"));
        assert_eq!(
            lines,
            vec![Line::Stderr("err".into()), Line::Stdout("out".into())]
        );
    }
}
