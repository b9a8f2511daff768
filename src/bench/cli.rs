//! `tickbench bench`: arguments ([`BenchArgs`]) and the command ([`run`]).
//!
//! Exit codes like `compare`: `0` no (confirmed) regression, [`EXIT_REGRESSION`] a regression
//! that reproduced, `2` bad input or a tool failure, `cargo bench` failing included (map every
//! `Err` from [`run`] to 2).

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use super::confirm;
use super::progress::{self, Display, Progress, StoredCost, Timing};
use super::runner::{self, Line, Suite};
use crate::baseline::compare::{self, Comparison, Options};
use crate::baseline::stats::Estimator;
use crate::baseline::{self, criterion, summary, Loaded, Machine, Warning};
use crate::policy::{Metric, Policy};
use crate::report::{write_output, FormatKind};

/// Exit code: a regression reproduced in both runs (or, with `--no-confirm`, was found once).
pub const EXIT_REGRESSION: u8 = 1;

/// Arguments of `tickbench bench`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  tickbench bench                          # whole suite, compare with this machine's baseline
  tickbench bench --quick engine/          # rough run of the ids matching engine/ (and canaries)
  tickbench bench --bench signal --bench store
  tickbench bench -C tests/fixtures/tiny-suite --no-confirm
  tickbench save run-20261202T101500Z --as \"$(tickbench machine --id)\"   # store a run

The canary benchmarks (ids canary/*, benches/canary.rs) always run: they anchor the compare's
machine-drift correction. Criterion writes under $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion,
else the suite's target/criterion; the compare reads the same directory.
When baselines/<machine-id>.json exists (`tickbench machine --id`), the run is compared with it;
benchmarks flagged as regressed are run again (NAME-confirm) and stay regressed only if the
stored baseline compared with that second run flags them too. Otherwise the run is summarised
and the command that stores it is printed.
A run compared with a stored baseline is recorded in baselines/history/<machine-id>.jsonl,
except when $CI is set, for a --quick run, or with --no-history; --history records any run.
At the end the HTML report is written (--html DIR) and its path printed.

Exit codes: 0 no regression, 1 confirmed regression, 2 bad input or failure (cargo bench too).")]
pub struct BenchArgs {
    /// Criterion id filters (regexes): a benchmark runs when any matches [default: all].
    #[arg(value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Pass --quick to Criterion: fast and rough; never store such a run.
    #[arg(long)]
    pub quick: bool,
    /// Only this bench file (benches/FILE.rs); repeatable [default: all].
    #[arg(long = "bench", value_name = "FILE")]
    pub benches: Vec<String>,
    /// Criterion baseline to save the run as [default: run-<UTC timestamp>].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Do not re-run flagged benchmarks to confirm a regression.
    #[arg(long)]
    pub no_confirm: bool,
    /// Show no progress lines.
    #[arg(long, short)]
    pub quiet: bool,
    /// Directory of stored baselines; this machine's is DIR/<machine-id>.json.
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    pub baselines_dir: PathBuf,
    /// Criterion's output directory [default: $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion,
    /// else the suite's target/criterion].
    #[arg(long, value_name = "DIR")]
    pub criterion_dir: Option<PathBuf>,
    /// Work in DIR, as if started there: cargo runs there and relative paths start there.
    #[arg(short = 'C', value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The suite's Cargo.toml (passed to cargo).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// One more argument for `cargo bench` (before `--`), e.g. `--cargo-arg=--features=x`;
    /// repeatable.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub cargo_arg: Vec<String>,
    /// One more argument for Criterion (after `--`), e.g. `--criterion-arg=--noplot`;
    /// repeatable.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub criterion_arg: Vec<String>,
    /// Criterion's warm-up per benchmark, in seconds [default: the bench's own; Criterion's is 3].
    #[arg(long, value_name = "S", value_parser = positive_seconds)]
    pub warm_up_time: Option<f64>,
    /// Count instructions under callgrind instead of timing: deterministic, one run decides a
    /// 1 % change on any machine; compared with DIR/counts.json (see docs/counts.md).
    #[arg(long)]
    pub counts: bool,
    /// Record the run in this machine's history (baselines/history/<machine-id>.jsonl) even
    /// without a stored baseline, on CI, or for a --quick run.
    #[arg(long, conflicts_with = "no_history")]
    pub history: bool,
    /// Do not record the run in the history.
    #[arg(long)]
    pub no_history: bool,
    /// Write the HTML report to DIR [default: the suite's target/tickbench-report].
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub compare: CompareFlags,
}

impl BenchArgs {
    /// `--name`, or a UTC stamp, checked.
    pub fn run_name(&self) -> anyhow::Result<String> {
        let name = self.name.clone().unwrap_or_else(default_name);
        if let Some(problem) = name_problem(&name) {
            bail!("--name '{name}' {problem}");
        }
        if let Some(dir) = &self.dir {
            if !dir.is_dir() {
                bail!("-C {}: not a directory", dir.display());
            }
        }
        Ok(name)
    }

    /// `path` as given on the command line: relative paths start in -C DIR, like cargo's own.
    pub fn here(&self, path: &Path) -> PathBuf {
        match &self.dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }
}

/// The compare's knobs: one definition for `tickbench compare` and `tickbench bench`.
#[derive(Debug, clap::Args)]
pub struct CompareFlags {
    /// Smallest change (in %) that counts as a regression [default: the policy file's
    /// [defaults] threshold, else 5]. A policy rule for a benchmark beats it.
    #[arg(long, value_name = "PCT", value_parser = non_negative)]
    pub threshold: Option<f64>,
    /// p-value below which a change is significant.
    #[arg(long, value_name = "ALPHA", default_value_t = 0.05, value_parser = probability)]
    pub significance: f64,
    /// With one run per side, require threshold × this factor.
    #[arg(long, value_name = "X", default_value_t = 2.0, value_parser = non_negative)]
    pub single_run_factor: f64,
    /// Id prefix of the fixed-code benchmarks that anchor the machine-drift estimate.
    #[arg(long, value_name = "PREFIX", default_value = "canary/")]
    pub canary: String,
    /// Do not correct machine-wide drift.
    #[arg(long)]
    pub no_drift: bool,
    /// How each run of a benchmark is summarised: `low` (the k-th fastest sample: robust to a
    /// busy machine, which only adds time, and to one glitch sample), `min` or `median`.
    #[arg(long, value_enum, default_value = "low")]
    pub estimator: Estimator,
    /// Per-benchmark policy file [default: tickbench.toml, or Cargo.toml's
    /// [package.metadata.tickbench], found from the current directory up to the project root].
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Judge the benchmarks that can be read even when others cannot (they are still listed
    /// as unreadable); without it any unreadable benchmark makes the exit code 2.
    #[arg(long)]
    pub allow_unreadable: bool,
    /// Exit 3 when nothing regressed but some benchmarks are inconclusive.
    #[arg(long)]
    pub fail_inconclusive: bool,
}

impl CompareFlags {
    /// The flags at their defaults, as a command line without any of them gives.
    pub fn defaults() -> CompareFlags {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            flags: CompareFlags,
        }
        <Only as clap::Parser>::parse_from(["tickbench"]).flags
    }

    /// The compare's options, with the policy file (`--policy`, else the one found from
    /// `start`, else none).
    pub fn options(&self, start: &Path) -> anyhow::Result<Options> {
        let policy = match &self.policy {
            Some(path) => Some(Policy::load(path)?),
            None => Policy::discover(start)?,
        };
        let policy_file = policy
            .as_ref()
            .and_then(|p| p.source().map(|s| s.display().to_string()));
        Ok(Options {
            threshold_pct: self.threshold,
            significance: self.significance,
            single_run_factor: self.single_run_factor,
            canary_prefix: self.canary.clone(),
            drift: !self.no_drift,
            estimator: self.estimator,
            policy: policy.unwrap_or_else(Policy::empty),
            policy_file,
            ..Options::default()
        })
    }

    /// The exit code of `comparison` under these flags (see [`gate`]).
    pub fn gate(&self, comparison: &Comparison) -> u8 {
        gate(comparison, self.allow_unreadable, self.fail_inconclusive)
    }
}

/// Exit code: bad input, usage, or a benchmark that cannot be read.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code with `--fail-inconclusive`: nothing regressed, but some benchmarks could not be
/// judged.
pub const EXIT_INCONCLUSIVE: u8 = 3;

/// The exit code of a comparison: 2 when a benchmark cannot be read (unless allowed), else 1
/// when a benchmark regressed under a policy that is not advisory, else 3 when asked to fail
/// on inconclusive ones and there are some, else 0. Unreadable rows are named on stderr too,
/// whatever the format, so a machine-readable report on stdout cannot hide them.
pub fn gate(comparison: &Comparison, allow_unreadable: bool, strict: bool) -> u8 {
    let unreadable: Vec<_> = comparison
        .benchmarks
        .iter()
        .filter(|b| b.verdict == compare::Verdict::Unreadable)
        .collect();
    for b in &unreadable {
        eprintln!(
            "{}: unreadable benchmark '{}': {}",
            if allow_unreadable { "warning" } else { "error" },
            b.id,
            b.reason.as_deref().unwrap_or("")
        );
    }
    if !unreadable.is_empty() && !allow_unreadable {
        return EXIT_BAD_INPUT;
    }
    if comparison.failing().next().is_some() {
        EXIT_REGRESSION
    } else if strict && comparison.summary.inconclusive > 0 {
        EXIT_INCONCLUSIVE
    } else {
        0
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a non-negative number")),
    }
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive number of seconds")),
    }
}

fn probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("'{s}' is not a probability between 0 and 1")),
    }
}

/// Why `name` cannot be a Criterion baseline name for this command, if it cannot.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
        Some("is not a plain directory name")
    } else if name.contains(',') {
        Some("contains ',' (tickbench compare reads it as a list of runs)")
    } else if name == "new" || name == "change" {
        Some("is a directory Criterion writes on every run")
    } else {
        None
    }
}

/// The default run name: `run-<UTC timestamp>`, e.g. `run-20261202T101500Z`.
pub fn default_name() -> String {
    let stamp: String = crate::timestamp::now_rfc3339()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    format!("run-{stamp}")
}

/// `text` as one shell word (single-quoted unless it is plain).
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c));
    if plain {
        text.into()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Everything one `bench` invocation works with.
struct Session {
    suite: Suite,
    bench_files: Vec<String>,
    root: PathBuf,
    timing: Timing,
    costs: std::collections::BTreeMap<String, StoredCost>,
    display: Display,
    /// `--warm-up-time`, when given (else the bench's own configuration applies).
    warm_up_time: Option<f64>,
    criterion_args: Vec<String>,
}

impl Session {
    /// The ids `filter` selects, in run order (`cargo bench … -- --list`; builds the benches).
    fn list(&self, filter: Option<&str>) -> anyhow::Result<Vec<String>> {
        let mut after = vec!["--list".to_string()];
        after.extend(filter.map(str::to_string));
        let args = self.suite.bench_args(&self.bench_files, &after);
        let (status, listed) = runner::capture(self.suite.command(&args))?;
        if !status.success() {
            bail!(
                "listing the benchmarks failed: `cargo {}` exited with {status}",
                args.join(" ")
            );
        }
        Ok(runner::parse_list(&listed))
    }

    /// Lists, then runs the benchmarks `filter` selects, saved as Criterion baseline `name`.
    fn measure(&self, name: &str, filter: Option<&str>, what: &str) -> anyhow::Result<Loaded> {
        let ids = self.list(filter)?;
        if ids.is_empty() {
            bail!("no benchmark to run (check --bench)");
        }

        let mut after = vec!["--save-baseline".to_string(), name.to_string()];
        if self.timing.quick {
            after.push("--quick".into());
        }
        if let Some(seconds) = self.warm_up_time {
            after.push("--warm-up-time".into());
            after.push(seconds.to_string());
        }
        after.extend(self.criterion_args.iter().cloned());
        after.extend(filter.map(str::to_string));
        let args = self.suite.bench_args(&self.bench_files, &after);
        eprintln!(
            "== {what}: {} benchmark(s): cargo {}",
            ids.len(),
            args.iter()
                .map(|a| shell_word(a))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut progress = Progress::new(ids, self.costs.clone(), self.timing, self.display);
        let tick = progress.tick();
        let mut stdout = std::io::stdout();
        let status = runner::stream(self.suite.command(&args), tick, |line| match line {
            Some(Line::Stdout(text)) => {
                progress.clear();
                // A closed stdout must not stop the run; the report at the end will say so.
                let _ = writeln!(stdout, "{text}");
                progress.redraw();
            }
            Some(Line::Stderr(text)) => {
                if !progress.on_stderr_line(&text) {
                    progress.clear();
                    eprintln!("{text}");
                    progress.redraw();
                }
            }
            None => progress.redraw(),
        })?;
        progress.clear();
        if !status.success() {
            bail!(
                "cargo bench failed ({status}); the run '{name}' is incomplete and was not \
                 compared"
            );
        }
        eprintln!(
            "== saved as Criterion baseline '{name}' under {}",
            self.root.display()
        );
        criterion::load_baseline(&self.root, name)
    }
}

fn warn_all(warnings: &[Warning]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// Prints `text` and a newline on stdout; an error (a closed pipe) ends the command.
pub(crate) fn say(text: &str) -> anyhow::Result<()> {
    writeln!(std::io::stdout().lock(), "{text}").context("cannot write to stdout")
}

fn print_comparison(old: &str, new: &str, comparison: &Comparison) -> anyhow::Result<()> {
    say(&format!("\n== tickbench compare {old} {new}"))?;
    warn_all(&comparison.warnings);
    let text = FormatKind::Table.formatter().compare(comparison)?;
    write_output(None, &text)
}

/// Runs `tickbench bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.counts {
        return super::counts::run(&args);
    }
    let name = args.run_name()?;
    let here = |p: &Path| args.here(p);
    let mut suite = Suite {
        dir: args.dir.clone(),
        manifest_path: args.manifest_path.clone(),
        cargo_args: args.cargo_arg.clone(),
        criterion_home: None,
    };
    let metadata = suite.metadata()?;
    let from_env = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
    let root = match &args.criterion_dir {
        Some(dir) => here(dir),
        None if from_env("CRITERION_HOME") || from_env("CARGO_TARGET_DIR") => {
            here(&criterion::root(None))
        }
        None => metadata.target_directory.join("criterion"),
    };
    let root = runner::absolute(&root);
    suite.criterion_home = Some(root.clone());
    let bench_files = runner::bench_files(&args.benches, &metadata.benches)?;

    let machine_id = Machine::current().id();
    let baselines_dir = here(&args.baselines_dir);
    let stored_path = baselines_dir.join(format!("{machine_id}.json"));
    let stored_spec = stored_path.display().to_string();
    let ending = Ending::new(
        &args,
        Metric::Time,
        &name,
        &stored_spec,
        stored_path.is_file(),
        &metadata.target_directory,
        Some(root.clone()),
    );
    let stored = if stored_path.is_file() {
        let loaded = baseline::load_spec(&stored_spec, &root)
            .with_context(|| format!("cannot read this machine's stored baseline {stored_spec}"))?;
        Some(loaded)
    } else {
        None
    };

    let options = args
        .compare
        .options(args.dir.as_deref().unwrap_or(Path::new(".")))?;
    let session = Session {
        suite,
        bench_files,
        root: root.clone(),
        timing: Timing {
            warm_up_s: args.warm_up_time.unwrap_or(progress::DEFAULT_WARM_UP_S),
            quick: args.quick,
            ..Timing::default()
        },
        costs: stored
            .as_ref()
            .map(progress::stored_costs)
            .unwrap_or_default(),
        display: if args.quiet {
            Display::Off
        } else if std::io::stderr().is_terminal() {
            Display::Terminal
        } else {
            Display::Lines
        },
        warm_up_time: args.warm_up_time,
        criterion_args: args.criterion_arg.clone(),
    };

    if !args.filters.is_empty() {
        // The canaries join every filter, so a FILTER that matches nothing would still run them.
        let own = args.filters.join("|");
        if session.list(Some(&own))?.is_empty() {
            bail!("FILTER '{own}' matches no benchmark of the suite");
        }
    }
    let filter = runner::filter(&args.filters, &options.canary_prefix);
    let run = session.measure(&name, filter.as_deref(), "run")?;

    let Some(stored) = stored else {
        let report = summary::summarise(&name, &run);
        warn_all(&report.warnings);
        if report.benchmarks.is_empty() {
            bail!("the run '{name}' has no readable benchmark");
        }
        say(&format!("\n== tickbench summary {name}"))?;
        write_output(None, &FormatKind::Table.formatter().summary(&report)?)?;
        let mut command = vec![
            program_name(),
            "save".into(),
            name.clone(),
            "--as".into(),
            machine_id.clone(),
        ];
        if runner::absolute(&criterion::root(None)) != root {
            command.push("--criterion-dir".into());
            command.push(root.display().to_string());
        }
        if baselines_dir != Path::new("baselines") {
            command.push("--baselines-dir".into());
            command.push(baselines_dir.display().to_string());
        }
        let rough = if args.quick {
            " (a --quick run is rough: better store a full one)"
        } else {
            ""
        };
        say(&format!(
            "No stored baseline for machine {machine_id} ({stored_spec}); to make this run its \
             baseline{rough}:"
        ))?;
        let command: Vec<String> = command.iter().map(|w| shell_word(w)).collect();
        say(&format!("  {}", command.join(" ")))?;
        return finish(&ending, &run, None, ExitCode::SUCCESS);
    };

    let first = compare::compare(&stored_spec, &stored, &name, &run, &options);
    if first.benchmarks.iter().all(|b| b.change_pct.is_none()) {
        warn_all(&first.warnings);
        bail!(
            "{stored_spec} and the run '{name}' have no benchmark in common that can be compared"
        );
    }
    let measured = |loaded: &Loaded| -> BTreeSet<String> {
        loaded
            .runs
            .iter()
            .flat_map(|r| r.benchmarks.iter().map(|b| b.id.clone()))
            .collect()
    };
    if args.filters.is_empty() && args.benches.is_empty() {
        print_comparison(&stored_spec, &name, &first)?;
    } else {
        // A partial run: the stored benchmarks it left out are not `removed` from the suite.
        print_comparison(&stored_spec, &name, &confirm::only(&first, &measured(&run)))?;
    }
    let flagged = confirm::regressed_ids(&first);
    if flagged.is_empty() || args.no_confirm {
        let code = ExitCode::from(args.compare.gate(&first));
        return finish(&ending, &run, Some((&first, &stored)), code);
    }

    let confirm_name = format!("{name}-confirm");
    say(&format!(
        "\n== confirming {} flagged benchmark(s) with a second run ({confirm_name})",
        flagged.len()
    ))?;
    let filter = runner::exact_filter(&flagged, &options.canary_prefix);
    let again = session.measure(&confirm_name, Some(&filter), "confirm")?;
    let second = compare::compare(&stored_spec, &stored, &confirm_name, &again, &options);
    print_comparison(
        &stored_spec,
        &confirm_name,
        &confirm::only(&second, &measured(&again)),
    )?;

    let merged = confirm::merge(&first, &second);
    say("")?;
    if !merged.confirmed.is_empty() {
        say(&format!(
            "Confirmed regressed (in both runs): {}",
            merged.confirmed.join(", ")
        ))?;
    }
    if !merged.not_confirmed.is_empty() {
        say(&format!(
            "Not confirmed (regressed in the first run only, now inconclusive): {}",
            merged.not_confirmed.join(", ")
        ))?;
    }
    let code = ExitCode::from(args.compare.gate(&merged.comparison));
    finish(&ending, &run, Some((&merged.comparison, &stored)), code)
}

/// What the end of a `bench` run needs: where to record and where to write the report.
pub(super) struct Ending {
    name: String,
    metric: Metric,
    /// The history file to append to, when this run is to be recorded.
    history: Option<PathBuf>,
    /// The history of this metric (and, for time, this machine), shown in the report when it
    /// exists.
    own_history: PathBuf,
    /// The suite's directory (its git commit is recorded).
    suite_dir: PathBuf,
    html: PathBuf,
    /// Criterion's directory, for the report's links (none for counts).
    root: Option<PathBuf>,
    stored_spec: String,
}

impl Ending {
    /// The end of run `name` of `metric`; `stored`: it is compared with `stored_spec`.
    pub(super) fn new(
        args: &BenchArgs,
        metric: Metric,
        name: &str,
        stored_spec: &str,
        stored: bool,
        target_directory: &Path,
        root: Option<PathBuf>,
    ) -> Ending {
        let own_history = crate::history::path_for(
            &args.here(&args.baselines_dir),
            &Machine::current().id(),
            metric,
        );
        // Recording is explicit on CI: a CI machine's timings are not the team's history.
        let on_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        let record = args.history || (stored && !on_ci && !args.quick && !args.no_history);
        Ending {
            name: name.to_string(),
            metric,
            history: record.then(|| own_history.clone()),
            own_history,
            suite_dir: args.dir.clone().unwrap_or_else(|| PathBuf::from(".")),
            html: args.html.as_ref().map_or_else(
                || target_directory.join("tickbench-report"),
                |d| args.here(d),
            ),
            root,
            stored_spec: stored_spec.to_string(),
        }
    }
}

/// Records the run in the history (when asked), writes the HTML report and prints both paths.
/// A history that cannot be written is an error (exit 2 unless a regression already set 1),
/// but the report is still written.
pub(super) fn finish(
    ending: &Ending,
    run: &Loaded,
    compared: Option<(&Comparison, &Loaded)>,
    code: ExitCode,
) -> anyhow::Result<ExitCode> {
    let mut code = code;
    let command = match ending.metric {
        Metric::Time => "tickbench bench",
        Metric::Instructions => "tickbench bench --counts",
    };
    let mut notes = vec![format!("{command}: run '{}'", ending.name)];
    let mut appended = None;
    if let (Some(path), Some(last)) = (&ending.history, run.runs.last()) {
        let record = crate::history::Record::from_run(
            last,
            &ending.name,
            ending.metric,
            crate::history::Commit::of(&ending.suite_dir),
            // Counts do not depend on the machine: their history is every machine's.
            ending.metric.is_time().then(|| Machine::current().id()),
        );
        match crate::history::append(path, &record) {
            Ok(runs) => {
                notes.push(format!(
                    "history: appended to {} ({runs} runs)",
                    path.display()
                ));
                appended = Some((path, runs));
            }
            Err(e) => {
                eprintln!("error: the run was not recorded in the history: {e:#}");
                if code == ExitCode::SUCCESS {
                    code = ExitCode::from(EXIT_BAD_INPUT);
                }
            }
        }
    }
    let mut inputs = crate::report::html::Inputs {
        criterion_root: ending.root.clone(),
        ..Default::default()
    };
    match compared {
        Some((c, old)) => {
            notes.push(format!("compared with {}", ending.stored_spec));
            inputs.comparison = Some((c, old, run));
        }
        None => inputs.run = Some((&ending.name, run)),
    }
    if ending.own_history.is_file() {
        match crate::report::html::History::read(&ending.own_history) {
            Ok(h) => inputs.histories.push(h),
            Err(e) => eprintln!("warning: history left out of the report: {e:#}"),
        }
    }
    inputs.notes = notes;
    let index = crate::report::html::write(&ending.html, &inputs)?;
    say("")?;
    say(&format!("report: {}", index.display()))?;
    if let Some((path, runs)) = appended {
        say(&format!(
            "history: appended to {} ({runs} runs)",
            path.display()
        ))?;
    }
    Ok(code)
}

/// How this program was started (`target/release/tickbench`, `tickbench`, …), so the printed
/// command runs as shown from the same directory.
pub(crate) fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "tickbench".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_are_checked() {
        assert_eq!(name_problem("run-20261202T101500Z"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem("a/b").is_some());
        assert!(name_problem(".hidden").is_some());
        assert!(name_problem("a,b").is_some());
        assert!(name_problem("new").is_some());
    }

    #[test]
    fn default_name_is_a_utc_stamp() {
        let name = default_name();
        assert!(name.starts_with("run-"), "{name}");
        assert_eq!(name.len(), "run-20261202T101500Z".len(), "{name}");
        assert!(name.ends_with('Z'));
        assert_eq!(name_problem(&name), None);
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(
            shell_word("target/release/tickbench"),
            "target/release/tickbench"
        );
        assert_eq!(shell_word("my dir"), "'my dir'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
