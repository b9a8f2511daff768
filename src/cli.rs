//! The `tickbench` command line: argument definitions (clap derive) and one function per
//! command. `main.rs` only parses, calls [`run`], prints errors and maps exit codes.
//!
//! Adding a command is one enum variant and one match arm; `loadtest` lives in
//! [`tickbench::load::cli`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use tickbench::baseline::compare::{self, Options};
use tickbench::baseline::stats::Estimator;
use tickbench::baseline::stored::{self, Existing};
use tickbench::baseline::{self, criterion, summary, Machine, Run};
use tickbench::report::{write_output, FormatKind};

/// Exit code: at least one benchmark regressed.
pub const EXIT_REGRESSION: u8 = 1;

const AFTER_HELP: &str = "\
Examples:
  tickbench bench                            # run the suite, compare with this machine's baseline
  cargo bench -- --save-baseline before      # on the old code
  cargo bench -- --save-baseline after       # on the new code
  tickbench compare before after             # exit 1 if anything regressed
  tickbench list
  tickbench summary after --format markdown --out summary.md
  tickbench save after --as main             # → baselines/main.json
  tickbench save after2 --as main --append   # add a repeated run to it
  tickbench compare baselines/main.json after
  tickbench loadtest --profile quick         # open-loop load test, SLA verdict

Exit codes: 0 no regression, 1 at least one regression, 2 bad input or usage.";

/// Regression tracking for Criterion benchmarks: summaries, stored baselines and a statistical
/// compare that can fail a build.
#[derive(Debug, Parser)]
#[command(name = "tickbench", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List Criterion baselines and stored baselines with their benchmark counts.
    #[command(after_help = "Example:\n  tickbench list --criterion-dir target/criterion")]
    List(ListArgs),
    /// Summarise one baseline: mean, median, std dev, confidence interval, throughput.
    #[command(after_help = "Examples:\n  tickbench summary base\n  \
        tickbench summary baselines/main.json --format json --out summary.json")]
    Summary(SummaryArgs),
    /// Copy a Criterion baseline into baselines/NAME.json (samples, machine, commit, time).
    #[command(
        after_help = "Examples:\n  tickbench save before                 # → baselines/before.json\n  \
        tickbench save base --as \"$(tickbench machine --id)\" --force\n  \
        tickbench save run2 --as main --append   # add a repeated run"
    )]
    Save(SaveArgs),
    /// Compare two baselines; exit 1 if any benchmark regressed.
    #[command(after_help = "Examples:\n  tickbench compare before after\n  \
        tickbench compare before1,before2 after --threshold 3\n  \
        tickbench compare baselines/main.json after --format markdown --out pr-comment.md\n\n\
        OLD and NEW are Criterion baseline names or stored baseline files, or comma-separated\n\
        lists of repeated runs of the same code. With two or more runs on a side, the verdict\n\
        uses the spread between runs (basis 'runs'); with one run per side it corrects machine\n\
        drift (anchored by canary/ benchmarks) and requires threshold x single-run-factor\n\
        (basis 'single-run'). Exit codes: 0 no regression, 1 regression, 2 bad input.")]
    Compare(CompareArgs),
    /// Print this machine's fingerprint (or, with --id, the key used for baselines/<id>.json).
    Machine(MachineArgs),
    /// Run the open-loop load test against the pipeline and judge it against the SLA
    /// (exit 0 SLA holds, 1 breached, 2 bad input).
    Loadtest(tickbench::load::cli::LoadtestArgs),
    /// Run the suite (cargo bench, canaries included) with progress, compare it with this
    /// machine's stored baseline and confirm regressions with a second run (exit 0/1/2).
    Bench(tickbench::bench::cli::BenchArgs),
}

/// Where Criterion's files are.
#[derive(Debug, Args)]
pub struct CriterionDir {
    /// Criterion's output directory [default: $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion,
    /// else target/criterion].
    #[arg(long, value_name = "DIR")]
    pub criterion_dir: Option<PathBuf>,
}

/// Report output options.
#[derive(Debug, Args)]
pub struct Output {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatKind,
    /// Write the report to FILE (atomically) instead of stdout; `-` is stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `tickbench list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    criterion: CriterionDir,
    /// Directory of stored baselines.
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    baselines_dir: PathBuf,
}

/// `tickbench summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// A Criterion baseline name or a stored baseline file.
    baseline: String,
    #[command(flatten)]
    criterion: CriterionDir,
    #[command(flatten)]
    output: Output,
}

/// `tickbench save`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// The Criterion baseline to store.
    baseline: String,
    /// Name of the stored baseline [default: BASELINE].
    #[arg(long = "as", value_name = "NAME")]
    name: Option<String>,
    /// Replace an existing stored baseline.
    #[arg(long, conflicts_with = "append")]
    force: bool,
    /// Add this run to an existing stored baseline (creating it if missing).
    #[arg(long)]
    append: bool,
    /// Directory of stored baselines.
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    baselines_dir: PathBuf,
    #[command(flatten)]
    criterion: CriterionDir,
}

/// `tickbench compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Old side: Criterion baseline(s) and/or stored baseline file(s), comma-separated.
    old: String,
    /// New side, same forms.
    new: String,
    /// Smallest change (in %) that counts as a regression.
    #[arg(long, value_name = "PCT", default_value_t = 5.0, value_parser = positive_f64)]
    threshold: f64,
    /// p-value below which a change is significant.
    #[arg(long, value_name = "ALPHA", default_value_t = 0.05, value_parser = probability)]
    significance: f64,
    /// With one run per side, require threshold × this factor.
    #[arg(long, value_name = "X", default_value_t = 2.0, value_parser = positive_f64)]
    single_run_factor: f64,
    /// Id prefix of the fixed-code benchmarks that anchor the machine-drift estimate.
    #[arg(long, value_name = "PREFIX", default_value = "canary/")]
    canary: String,
    /// Do not correct machine-wide drift.
    #[arg(long)]
    no_drift: bool,
    /// How each run of a benchmark is summarised: `min` (robust to a busy machine, which only
    /// adds time) or `median`.
    #[arg(long, value_enum, default_value = "min")]
    estimator: Estimator,
    /// Bootstrap resamples for single-run intervals (fewer is faster and rougher).
    #[arg(long, value_name = "N", default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(100..))]
    resamples: u32,
    #[command(flatten)]
    criterion: CriterionDir,
    #[command(flatten)]
    output: Output,
}

/// `tickbench machine`.
#[derive(Debug, Args)]
pub struct MachineArgs {
    /// Print only the machine id (`baselines/<id>.json` is this machine's stored baseline).
    #[arg(long)]
    id: bool,
}

fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a non-negative number")),
    }
}

fn probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("'{s}' is not a probability between 0 and 1")),
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::List(args) => list(args),
        Command::Summary(args) => summary_cmd(args),
        Command::Save(args) => save(args),
        Command::Compare(args) => compare_cmd(args),
        Command::Machine(args) => machine(args),
        Command::Loadtest(args) => tickbench::load::cli::run(args),
        Command::Bench(args) => tickbench::bench::cli::run(args),
    }
}

fn warn_all(warnings: &[baseline::Warning]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let root = criterion::root(args.criterion.criterion_dir.as_deref());
    println!("Criterion baselines in {}:", root.display());
    match criterion::list(&root) {
        Ok(names) if names.is_empty() => println!("  (none)"),
        Ok(names) => {
            for (name, count) in names {
                println!("  {name:<24} {count} benchmarks");
            }
        }
        Err(e) => println!("  (none: {e:#})"),
    }
    println!("Stored baselines in {}:", args.baselines_dir.display());
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&args.baselines_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    if files.is_empty() {
        println!("  (none)");
    }
    for path in files {
        match stored::read(&path) {
            Ok(b) => println!(
                "  {:<24} {} benchmarks, {} run(s)",
                path.display(),
                b.runs.last().map_or(0, |r| r.benchmarks.len()),
                b.runs.len()
            ),
            Err(e) => eprintln!("warning: {e:#}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn summary_cmd(args: SummaryArgs) -> anyhow::Result<ExitCode> {
    let root = criterion::root(args.criterion.criterion_dir.as_deref());
    let loaded = baseline::load_spec(&args.baseline, &root)?;
    let report = summary::summarise(&args.baseline, &loaded);
    if report.benchmarks.is_empty() {
        warn_all(&report.warnings);
        anyhow::bail!("baseline '{}' has no readable benchmark", args.baseline);
    }
    warn_all(&report.warnings);
    let text = args.output.format.formatter().summary(&report)?;
    write_output(args.output.out.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn save(args: SaveArgs) -> anyhow::Result<ExitCode> {
    let name = args.name.as_deref().unwrap_or(&args.baseline);
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        anyhow::bail!("--as '{name}' is not a plain file name");
    }
    let root = criterion::root(args.criterion.criterion_dir.as_deref());
    let mut loaded = criterion::load_baseline(&root, &args.baseline)?;
    warn_all(&loaded.warnings);
    let mut run: Run = loaded.runs.pop().context("no run read")?;
    if run.benchmarks.is_empty() {
        anyhow::bail!(
            "Criterion baseline '{}' has no readable benchmark; nothing saved",
            args.baseline
        );
    }
    run.machine = Some(Machine::current());
    run.git_commit = baseline::machine::git_commit();
    run.created = Some(baseline::machine::now_rfc3339());
    run.source = format!("Criterion baseline '{}'", args.baseline);
    let count = run.benchmarks.len();
    let path = args.baselines_dir.join(format!("{name}.json"));
    let existing = match (args.force, args.append) {
        (true, _) => Existing::Overwrite,
        (_, true) => Existing::Append,
        _ => Existing::Refuse,
    };
    let (runs, warnings) = stored::save(&path, name, run, existing)?;
    warn_all(&warnings);
    println!(
        "saved {count} benchmarks to {} ({runs} run(s))",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn compare_cmd(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let root = criterion::root(args.criterion.criterion_dir.as_deref());
    let old = baseline::load_spec(&args.old, &root)
        .with_context(|| format!("cannot read OLD '{}'", args.old))?;
    let new = baseline::load_spec(&args.new, &root)
        .with_context(|| format!("cannot read NEW '{}'", args.new))?;
    let options = Options {
        threshold_pct: args.threshold,
        significance: args.significance,
        single_run_factor: args.single_run_factor,
        canary_prefix: args.canary,
        drift: !args.no_drift,
        resamples: args.resamples as usize,
        estimator: args.estimator,
        ..Options::default()
    };
    let comparison = compare::compare(&args.old, &old, &args.new, &new, &options);
    if comparison.benchmarks.iter().all(|b| b.change_pct.is_none()) {
        warn_all(&comparison.warnings);
        anyhow::bail!(
            "'{}' and '{}' have no benchmark in common that can be compared",
            args.old,
            args.new
        );
    }
    warn_all(&comparison.warnings);
    let text = args.output.format.formatter().compare(&comparison)?;
    write_output(args.output.out.as_deref(), &text)?;
    Ok(if comparison.summary.regressed > 0 {
        ExitCode::from(EXIT_REGRESSION)
    } else {
        ExitCode::SUCCESS
    })
}

fn machine(args: MachineArgs) -> anyhow::Result<ExitCode> {
    let m = Machine::current();
    if args.id {
        println!("{}", m.id());
    } else {
        println!("{m}\nid: {}", m.id());
    }
    Ok(ExitCode::SUCCESS)
}
