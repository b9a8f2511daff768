//! The `tickbench` command line: argument definitions (clap derive) and one function per
//! command. `main.rs` only parses, calls [`run`], prints errors and maps exit codes.
//!
//! Adding a command is one enum variant and one match arm; `loadtest` lives in
//! [`tickbench::load::cli`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use tickbench::baseline::compare;
use tickbench::baseline::stored::{self, Existing};
use tickbench::baseline::{self, criterion, summary, Machine, Run};
use tickbench::bench::cli::{CompareFlags, EXIT_BAD_INPUT};
use tickbench::history;
use tickbench::policy::Metric;
use tickbench::report::{html, write_output, FormatKind};

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
  tickbench history engine/                  # trend and steps of this machine's history
  tickbench history record after             # add a Criterion baseline to the history
  tickbench report --html report --new after --old baselines/main.json

Exit codes: 0 no regression, 1 at least one regression, 2 bad input, usage or an unreadable
benchmark, 3 (with --fail-inconclusive) nothing regressed but some benchmarks inconclusive.";

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
        tickbench compare baselines/main.json after --format markdown --out pr-comment.md\n  \
        tickbench compare criterion:main ./main     # a Criterion baseline vs a file of that name\n\n\
        OLD and NEW are Criterion baseline names or stored baseline files, or comma-separated\n\
        lists of repeated runs of the same code (each run once: a run listed twice is refused).\n\
        A bare name that is both a file here and a Criterion baseline is refused as ambiguous.\n\n\
        Columns: change = the drift-corrected change of the per-run estimate (--estimator);\n\
        CI = its confidence interval; p = the p-value of that same change (Student's t on the\n\
        change over its standard error); detectable = the smallest change this compare could\n\
        tell from noise (the CI's half-width); basis = runs (spread between repeated runs),\n\
        single-run (one run per side: the suite's spread of changes stands in for it, and the\n\
        threshold is multiplied by --single-run-factor) or few-samples; policy = the row's\n\
        threshold from tickbench.toml or --threshold, and whether it is advisory.\n\
        Verdicts: regressed / improved (significant and beyond the threshold), unchanged,\n\
        inconclusive (too few samples, a run that changed speed while it ran, or noise larger\n\
        than the threshold can resolve: never counted as regressed or improved), added /\n\
        removed (on one side only), unreadable (damaged files: exit 2).\n\
        Exit codes: 0 no regression, 1 regression, 2 bad input or an unreadable benchmark,\n\
        3 with --fail-inconclusive when nothing regressed but some benchmarks are inconclusive.")]
    Compare(CompareArgs),
    /// Print this machine's fingerprint (or, with --id, the key used for baselines/<id>.json).
    Machine(MachineArgs),
    /// Run the open-loop load test against the pipeline and judge it against the SLA
    /// (exit 0 SLA holds, 1 breached, 2 bad input).
    Loadtest(tickbench::load::cli::LoadtestArgs),
    /// Run the suite (cargo bench, canaries included) with progress, compare it with this
    /// machine's stored baseline and confirm regressions with a second run (exit 0/1/2).
    Bench(tickbench::bench::cli::BenchArgs),
    /// Per benchmark of this machine's history: the latest value, the trend of the last runs
    /// and the steps (change points) with their commit ranges; `history record NAME` adds a run.
    #[command(
        after_help = "Examples:\n  tickbench history                      # every benchmark\n  \
        tickbench history engine/ db_            # ids containing engine/ or db_\n  \
        tickbench history --file baselines/history/counts.jsonl\n  \
        tickbench history record run-20261202T101500Z   # record a Criterion baseline\n\n\
        A step is where a benchmark's level changed: a penalised piecewise-constant fit of the\n\
        log figures (PELT), noise estimated from successive runs; its run range is where the\n\
        step may be (the commits to search). Exit codes: 0, 2 bad input."
    )]
    History(HistoryArgs),
    /// Write the HTML report: the latest compare (or run), the history with its change points,
    /// load-test percentile curves; one static page that opens from file:// with no network.
    #[command(
        after_help = "Examples:\n  tickbench report --html report --new after --old before\n  \
        tickbench report --html report --new after          # one run, no compare\n  \
        tickbench report --html report --loadtest load.json # add a load test\n\n\
        Without --history, this machine's history (BASELINES/history/<machine-id>.jsonl) is\n\
        shown when it exists. Prints the path of the page it wrote."
    )]
    Report(ReportArgs),
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
    /// The run to store: a Criterion baseline, or a count run (`counts:NAME`, or the file that
    /// `tickbench bench --counts` printed).
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
    /// With --append: store the run even when it differs from the stored runs far beyond their
    /// spread (by default such a run is refused as disturbed).
    #[arg(long, requires = "append")]
    accept_outliers: bool,
    /// Store the readable benchmarks even when some cannot be read (the skip is recorded in
    /// the stored run); by default nothing is saved then.
    #[arg(long)]
    allow_unreadable: bool,
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
    #[command(flatten)]
    flags: CompareFlags,
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

/// `tickbench history`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HistoryArgs {
    #[command(subcommand)]
    action: Option<HistoryAction>,
    /// Only benchmarks whose id contains one of these [default: all].
    #[arg(value_name = "FILTER")]
    filters: Vec<String>,
    /// The history file [default: BASELINES/history/<machine-id>.jsonl].
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Runs shown in the trend.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..))]
    last: u16,
    /// Directory of stored baselines.
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    baselines_dir: PathBuf,
}

/// `tickbench history record`.
#[derive(Debug, Subcommand)]
enum HistoryAction {
    /// Record Criterion baseline NAME into the history (refused if that run is already there).
    Record {
        /// The Criterion baseline.
        name: String,
        /// The history file [default: BASELINES/history/<machine-id>.jsonl].
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Directory of stored baselines.
        #[arg(long, value_name = "DIR", default_value = "baselines")]
        baselines_dir: PathBuf,
        #[command(flatten)]
        criterion: CriterionDir,
    },
}

/// `tickbench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Write the page set to DIR (DIR/index.html).
    #[arg(long, value_name = "DIR")]
    html: PathBuf,
    /// The latest run: a Criterion baseline or stored file, or a comma-separated list.
    #[arg(long, value_name = "SPEC")]
    new: Option<String>,
    /// Compare --new with this (same forms); the page then shows the verdict table.
    #[arg(long, value_name = "SPEC", requires = "new")]
    old: Option<String>,
    /// History file(s) to chart; repeatable [default: this machine's, when it exists].
    #[arg(long, value_name = "FILE")]
    history: Vec<PathBuf>,
    /// Load-test report(s) from `tickbench loadtest --out`; repeatable.
    #[arg(long, value_name = "FILE")]
    loadtest: Vec<PathBuf>,
    /// Directory of stored baselines.
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    baselines_dir: PathBuf,
    #[command(flatten)]
    flags: CompareFlags,
    #[command(flatten)]
    criterion: CriterionDir,
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
        Command::History(args) => history_cmd(args),
        Command::Report(args) => report_cmd(args),
    }
}

fn warn_all(warnings: &[baseline::Warning]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let root = criterion::root(args.criterion.criterion_dir.as_deref());
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "Criterion baselines in {}:", root.display());
    match criterion::list(&root) {
        Ok(names) if names.is_empty() => {
            let _ = writeln!(out, "  (none)");
        }
        Ok(names) => {
            for (name, count) in names {
                let _ = writeln!(out, "  {name:<24} {count} benchmarks");
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  (none: {e:#})");
        }
    }
    let _ = writeln!(out, "Stored baselines in {}:", args.baselines_dir.display());
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&args.baselines_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    if files.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for path in files {
        match stored::read(&path) {
            Ok(b) => {
                let metric = b.runs.last().map(|r| r.metric).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {:<24} {} benchmarks, {} run(s){}",
                    path.display(),
                    b.runs.last().map_or(0, |r| r.benchmarks.len()),
                    b.runs.len(),
                    if metric.is_time() {
                        ""
                    } else {
                        ", instruction counts"
                    }
                );
            }
            Err(e) => eprintln!("warning: {e:#}"),
        }
    }
    // Through write_output: a closed stdout (`tickbench list | head`) ends quietly.
    write_output(None, &out)?;
    Ok(ExitCode::SUCCESS)
}

fn summary_cmd(args: SummaryArgs) -> anyhow::Result<ExitCode> {
    let root = criterion::root(args.criterion.criterion_dir.as_deref());
    let loaded = baseline::load_spec(&args.baseline, &root)?;
    let report = summary::summarise(&args.baseline, &loaded);
    warn_all(&report.warnings);
    let unreadable: Vec<&baseline::Unreadable> = loaded
        .runs
        .last()
        .map(|r| r.unreadable.iter().collect())
        .unwrap_or_default();
    if report.benchmarks.is_empty() {
        anyhow::bail!("baseline '{}' has no readable benchmark", args.baseline);
    }
    let text = args.output.format.formatter().summary(&report)?;
    write_output(args.output.out.as_deref(), &text)?;
    for u in &unreadable {
        eprintln!("error: unreadable benchmark {u}");
    }
    Ok(if unreadable.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// The stored baseline's name: `--as NAME`, else the Criterion baseline's, without one `.json`
/// (it is added again for the file). It must be a plain file name: one that stays inside the
/// baselines directory, is not hidden, and prints on one line.
fn stored_name<'a>(as_name: Option<&'a str>, baseline: &'a str) -> anyhow::Result<&'a str> {
    let raw = as_name.unwrap_or(baseline);
    let name = raw.strip_suffix(".json").unwrap_or(raw);
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if name.trim() != name {
        Some("it starts or ends with white space")
    } else if name.chars().any(char::is_control) {
        Some("it holds a control character")
    } else if name.contains(['/', '\\']) {
        Some("it holds a path separator")
    } else if name.starts_with('.') {
        Some("it starts with '.'")
    } else {
        None
    };
    match (problem, as_name) {
        (None, _) => Ok(name),
        (Some(why), Some(_)) => anyhow::bail!(
            "--as '{}' is not a plain file name: {why}",
            raw.escape_debug()
        ),
        (Some(why), None) => anyhow::bail!(
            "baseline '{}' is not a plain file name: {why}; pass --as NAME",
            raw.escape_debug()
        ),
    }
}

fn save(args: SaveArgs) -> anyhow::Result<ExitCode> {
    let name = stored_name(args.name.as_deref(), &args.baseline)?;
    let root = criterion::root(args.criterion.criterion_dir.as_deref());
    // A Criterion baseline, or a one-run file such as a count run (`counts:NAME`).
    let mut loaded = baseline::load_spec(&args.baseline, &root)?;
    warn_all(&loaded.warnings);
    if loaded.runs.len() != 1 {
        anyhow::bail!(
            "'{}' holds {} runs; save stores one run at a time",
            args.baseline,
            loaded.runs.len()
        );
    }
    let mut run: Run = loaded.runs.pop().context("no run read")?;
    if !run.unreadable.is_empty() {
        let list: Vec<String> = run.unreadable.iter().map(|u| format!("  {u}")).collect();
        if !args.allow_unreadable {
            anyhow::bail!(
                "{} benchmark(s) of Criterion baseline '{}' cannot be read; nothing saved \
                 (--allow-unreadable stores the rest and records the skip in the baseline):\n{}",
                run.unreadable.len(),
                args.baseline,
                list.join("\n")
            );
        }
        eprintln!(
            "warning: skipping {} unreadable benchmark(s), recorded in the stored run:\n{}",
            run.unreadable.len(),
            list.join("\n")
        );
    }
    if run.benchmarks.is_empty() {
        anyhow::bail!(
            "Criterion baseline '{}' has no readable benchmark; nothing saved",
            args.baseline
        );
    }
    run.machine = Some(Machine::current());
    if run.metric.is_time() || run.created.is_none() {
        // A count run keeps when and on what commit it was counted: that is what tells two
        // count runs of identical code apart (`Run::fingerprint`).
        run.git_commit = baseline::machine::git_commit();
        run.created = Some(tickbench::timestamp::now_rfc3339());
    }
    run.source = match run.metric {
        baseline::Metric::Time => format!("Criterion baseline '{}'", args.baseline),
        baseline::Metric::Instructions => format!("count run '{}'", args.baseline),
    };
    let count = run.benchmarks.len();
    let path = args.baselines_dir.join(format!("{name}.json"));
    let existing = match (args.force, args.append) {
        (true, _) => Existing::Overwrite,
        (_, true) => Existing::Append,
        _ => Existing::Refuse,
    };
    if existing == Existing::Append && path.is_file() {
        check_append(&path, &run, &args)?;
    }
    let (runs, warnings) = stored::save(&path, name, run, existing)?;
    warn_all(&warnings);
    write_output(
        None,
        &format!(
            "saved {count} benchmarks to {} ({runs} run(s))",
            path.display()
        ),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Refuses to append a run that is already stored, or one whose benchmarks differ from the
/// stored runs far beyond their spread (a disturbed run would widen every later compare's
/// noise estimate, or shift the reference): regressed or improved against the stored runs.
fn check_append(path: &std::path::Path, run: &Run, args: &SaveArgs) -> anyhow::Result<()> {
    let stored = stored::read(path)?.into_loaded(path);
    if let Some((_, at)) = baseline::same_run(std::slice::from_ref(run), &stored.runs) {
        anyhow::bail!("this run is already stored as {at}; nothing saved");
    }
    if args.accept_outliers {
        return Ok(());
    }
    let options = CompareFlags::defaults().options(Path::new("."))?;
    let new = baseline::Loaded {
        runs: vec![run.clone()],
        warnings: Vec::new(),
    };
    let c = compare::compare(
        &path.display().to_string(),
        &stored,
        "this run",
        &new,
        &options,
    );
    // Benchmarks under an advisory policy swing by nature: reported, never refusing the run.
    let moved = |advisory: bool| -> Vec<String> {
        c.benchmarks
            .iter()
            .filter(|b| b.policy.advisory == advisory)
            .filter(|b| {
                matches!(
                    b.verdict,
                    compare::Verdict::Regressed | compare::Verdict::Improved
                )
            })
            .map(|b| format!("  {} {:+.1} %", b.id, b.change_pct.unwrap_or(f64::NAN)))
            .collect()
    };
    let advisory = moved(true);
    if !advisory.is_empty() {
        eprintln!(
            "warning: benchmarks under an advisory policy moved beyond their spread:\n{}",
            advisory.join("\n")
        );
    }
    let off = moved(false);
    if !off.is_empty() {
        anyhow::bail!(
            "this run differs from the {} stored run(s) of {} far beyond their spread, so it \
             looks disturbed (or the code changed); nothing saved. Re-run it, or pass \
             --accept-outliers to store it anyway:\n{}",
            stored.runs.len(),
            path.display(),
            off.join("\n")
        );
    }
    Ok(())
}

fn compare_cmd(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let root = criterion::root(args.criterion.criterion_dir.as_deref());
    let old = baseline::load_spec(&args.old, &root)
        .with_context(|| format!("cannot read OLD '{}'", args.old))?;
    let new = baseline::load_spec(&args.new, &root)
        .with_context(|| format!("cannot read NEW '{}'", args.new))?;
    let metric = baseline::common_metric(&args.old, &old, &args.new, &new)?;
    baseline::check_distinct(&old, &new)?;
    let options = args.flags.options(Path::new("."))?;
    let ids: std::collections::BTreeSet<String> = old
        .runs
        .iter()
        .chain(&new.runs)
        .flat_map(|r| r.benchmarks.iter().map(|b| b.id.clone()))
        .collect();
    options.check(&ids)?;
    let mut comparison = compare::compare(&args.old, &old, &args.new, &new, &options);
    if metric == baseline::Metric::Instructions {
        // Beside the report when it goes to a file, else with the count runs.
        let dir = match args.output.out.as_deref().filter(|p| *p != Path::new("-")) {
            Some(out) => {
                let mut name = out.file_stem().unwrap_or_default().to_os_string();
                name.push("-flamegraphs");
                out.with_file_name(name)
            }
            None => tickbench::counts::session::counts_root(
                root.parent().unwrap_or(Path::new("target")),
            )
            .join("diff"),
        };
        let failed = tickbench::bench::counts::write_flamegraphs(&mut comparison, &old, &new, &dir);
        comparison.warnings.extend(failed);
    }
    if comparison.benchmarks.iter().all(|b| b.change_pct.is_none())
        && comparison.summary.unreadable == 0
    {
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
    Ok(ExitCode::from(args.flags.gate(&comparison)))
}

fn machine(args: MachineArgs) -> anyhow::Result<ExitCode> {
    let m = Machine::current();
    if args.id {
        write_output(None, &m.id())?;
    } else {
        write_output(None, &format!("{m}\nid: {}", m.id()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn history_cmd(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    if let Some(HistoryAction::Record {
        name,
        file,
        baselines_dir,
        criterion: dir,
    }) = args.action
    {
        let root = criterion::root(dir.criterion_dir.as_deref());
        let path = file.unwrap_or_else(|| {
            history::path_for(&baselines_dir, &Machine::current().id(), Metric::Time)
        });
        let loaded = criterion::load_baseline(&root, &name)?;
        warn_all(&loaded.warnings);
        let run = loaded.runs.last().context("no run read")?;
        if run.benchmarks.is_empty() {
            anyhow::bail!(
                "Criterion baseline '{name}' has no readable benchmark; nothing recorded"
            );
        }
        for u in &run.unreadable {
            eprintln!("warning: not recorded: unreadable benchmark {u}");
        }
        let record = history::Record::from_run(
            run,
            &name,
            Metric::Time,
            history::Commit::of(Path::new(".")),
            Some(Machine::current().id()),
        );
        let runs = history::append(&path, &record)?;
        write_output(
            None,
            &format!(
                "recorded {} benchmarks of '{name}' in {} ({runs} run(s))",
                record.benchmarks.len(),
                path.display()
            ),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = args.file.unwrap_or_else(|| {
        history::path_for(&args.baselines_dir, &Machine::current().id(), Metric::Time)
    });
    if !path.exists() {
        anyhow::bail!(
            "no history at {} (tickbench bench records one when it compares with a stored \
             baseline; or: tickbench history record NAME)",
            path.display()
        );
    }
    let records = history::read(&path)?;
    let series = history::series(&records, &args.filters);
    if series.is_empty() && !args.filters.is_empty() {
        anyhow::bail!(
            "FILTER {} matches no benchmark in {}",
            args.filters.join(" "),
            path.display()
        );
    }
    let text = history::text::render(
        &path.display().to_string(),
        &records,
        &series,
        usize::from(args.last),
    );
    write_output(None, &text)?;
    Ok(ExitCode::SUCCESS)
}

fn report_cmd(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let root = criterion::root(args.criterion.criterion_dir.as_deref());
    let new = args
        .new
        .as_deref()
        .map(|spec| {
            baseline::load_spec(spec, &root).with_context(|| format!("cannot read --new '{spec}'"))
        })
        .transpose()?;
    let old = args
        .old
        .as_deref()
        .map(|spec| {
            baseline::load_spec(spec, &root).with_context(|| format!("cannot read --old '{spec}'"))
        })
        .transpose()?;
    let comparison = match (&old, &new, &args.old, &args.new) {
        (Some(old), Some(new), Some(old_spec), Some(new_spec)) => {
            let metric = baseline::common_metric(old_spec, old, new_spec, new)?;
            baseline::check_distinct(old, new)?;
            let options = args.flags.options(Path::new("."))?;
            warn_all(&old.warnings);
            warn_all(&new.warnings);
            let mut c = compare::compare(old_spec, old, new_spec, new, &options);
            if metric == Metric::Instructions {
                // Beside the page, which links them.
                let dir = args.html.join("flamegraphs");
                let failed = tickbench::bench::counts::write_flamegraphs(&mut c, old, new, &dir);
                warn_all(&failed);
            }
            Some(c)
        }
        _ => None,
    };
    let history_files = if args.history.is_empty() {
        let own = history::path_for(&args.baselines_dir, &Machine::current().id(), Metric::Time);
        if own.is_file() {
            vec![own]
        } else {
            Vec::new()
        }
    } else {
        args.history.clone()
    };
    let mut inputs = html::Inputs {
        criterion_root: Some(root.clone()),
        ..html::Inputs::default()
    };
    for path in &history_files {
        inputs.histories.push(html::History::read(path)?);
    }
    for path in &args.loadtest {
        inputs.loadtests.push(html::LoadFile::read(path)?);
    }
    match (&comparison, &old, &new) {
        (Some(c), Some(old), Some(new)) => inputs.comparison = Some((c, old, new)),
        (_, _, Some(new)) => inputs.run = Some((args.new.as_deref().unwrap_or_default(), new)),
        _ => {}
    }
    let index = html::write(&args.html, &inputs)?;
    write_output(None, &format!("report: {}", index.display()))?;
    Ok(match &comparison {
        Some(c) => ExitCode::from(args.flags.gate(c)),
        None => ExitCode::SUCCESS,
    })
}
