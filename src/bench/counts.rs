//! `tickbench bench --counts`: the suite's countable benchmarks under callgrind, compared with
//! the machine-independent `baselines/counts.json` (basis `exact`), with the functions that
//! changed and a differential flamegraph for every changed benchmark.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use super::cli::{program_name, say, shell_word, BenchArgs};
use super::runner::{self, Suite};
use crate::baseline::compare::{self, Comparison, Verdict};
use crate::baseline::{self, common_metric, Loaded, Warning};
use crate::counts::flame;
use crate::counts::session::{self, Request};
use crate::history;
use crate::policy::Metric;
use crate::report::html;
use crate::report::{fmt_count, write_output, FormatKind};

/// The stored count baseline's name: one file for every machine.
pub const COUNTS_BASELINE: &str = "counts";

/// Runs `tickbench bench --counts`.
pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    for (given, flag) in [
        (args.quick, "--quick"),
        (!args.criterion_arg.is_empty(), "--criterion-arg"),
        (args.warm_up_time.is_some(), "--warm-up-time"),
        (args.criterion_dir.is_some(), "--criterion-dir"),
    ] {
        if given {
            bail!("{flag} is for the time metric; --counts runs callgrind, not Criterion");
        }
    }
    let name = args.run_name()?;
    let here = |p: &Path| args.here(p);
    let suite = Suite {
        dir: args.dir.clone(),
        manifest_path: args.manifest_path.clone(),
        cargo_args: args.cargo_arg.clone(),
        criterion_home: None,
    };
    let metadata = suite.metadata()?;
    let bench_files = if args.benches.is_empty() {
        Vec::new()
    } else {
        runner::bench_files(&args.benches, &metadata.benches)?
    };
    let stored_path = here(&args.baselines_dir).join(format!("{COUNTS_BASELINE}.json"));
    let stored_spec = stored_path.display().to_string();
    let stored = if stored_path.is_file() {
        Some(
            baseline::stored::read(&stored_path)
                .with_context(|| format!("cannot read the stored count baseline {stored_spec}"))?
                .into_loaded(&stored_path),
        )
    } else {
        None
    };
    let options = args
        .compare
        .options(args.dir.as_deref().unwrap_or(Path::new(".")))?;
    let filter = (!args.filters.is_empty()).then(|| args.filters.join("|"));

    let started = std::time::Instant::now();
    let outcome = session::measure(&Request {
        suite,
        target_directory: metadata.target_directory.clone(),
        bench_files,
        filter,
        name: name.clone(),
    })?;
    eprintln!(
        "== counted {} benchmark(s) in {:.0} s; run written to {}",
        outcome.run.benchmarks.len(),
        started.elapsed().as_secs_f64(),
        outcome.run_file.display()
    );
    if !outcome.run.not_counted.is_empty() {
        say("\nNot counted (time only):")?;
        for n in &outcome.run.not_counted {
            say(&format!("  {}: {}", n.what, n.reason))?;
        }
    }
    let new_spec = outcome.run_file.display().to_string();
    let ending = Ending {
        name: name.clone(),
        baselines_dir: here(&args.baselines_dir),
        html: args.html.as_ref().map_or_else(
            || metadata.target_directory.join("tickbench-report"),
            |d| here(d),
        ),
        suite_dir: args.dir.clone().unwrap_or_else(|| PathBuf::from(".")),
        stored_spec: stored_spec.clone(),
    };
    let new = Loaded {
        runs: vec![outcome.run.clone()],
        warnings: Vec::new(),
    };

    let Some(stored) = stored else {
        say(&format!(
            "\n== counts of '{name}' (instructions per iteration)"
        ))?;
        for b in &outcome.run.benchmarks {
            let per = b.sample.times[0] / b.sample.iters[0];
            say(&format!("  {:<44} {}", b.id, fmt_count(per)))?;
        }
        for u in &outcome.run.unreadable {
            say(&format!(
                "  {:<44} UNREADABLE: {}: {}",
                u.id, u.file, u.reason
            ))?;
        }
        say(&format!(
            "No stored count baseline ({stored_spec}); to make this run the baseline of every \
             machine:"
        ))?;
        let mut command = vec![
            program_name(),
            "save".into(),
            new_spec.clone(),
            "--as".into(),
            COUNTS_BASELINE.into(),
        ];
        if here(&args.baselines_dir) != Path::new("baselines") {
            command.push("--baselines-dir".into());
            command.push(here(&args.baselines_dir).display().to_string());
        }
        let words: Vec<String> = command.iter().map(|w| shell_word(w)).collect();
        say(&format!("  {}", words.join(" ")))?;
        let code = if outcome.run.unreadable.is_empty() {
            0
        } else {
            super::cli::EXIT_BAD_INPUT
        };
        return finish(args, &ending, &new, None, code);
    };

    common_metric(&stored_spec, &stored, &new_spec, &new)?;
    baseline::check_distinct(&stored, &new)?;
    let mut comparison = compare::compare(&stored_spec, &stored, &new_spec, &new, &options);
    let written = write_flamegraphs(&mut comparison, &stored, &new, &outcome.dir.join("diff"));
    say(&format!("\n== tickbench compare {stored_spec} {new_spec}"))?;
    for w in comparison.warnings.iter().chain(&written) {
        eprintln!("warning: {w}");
    }
    write_output(None, &FormatKind::Table.formatter().compare(&comparison)?)?;
    let code = args.compare.gate(&comparison);
    finish(args, &ending, &new, Some((&comparison, &stored)), code)
}

/// Where a count run ends up besides the terminal.
struct Ending {
    name: String,
    baselines_dir: PathBuf,
    html: PathBuf,
    suite_dir: PathBuf,
    stored_spec: String,
}

/// Records the run in the count history (`baselines/history/counts.jsonl`: counts do not
/// depend on the machine) when it was compared with the stored counts or `--history` asks, never
/// on CI unless asked; writes the HTML report; prints both paths. A history that cannot be
/// written makes the exit code 2 unless a regression already made it 1.
fn finish(
    args: &BenchArgs,
    ending: &Ending,
    run: &Loaded,
    compared: Option<(&Comparison, &Loaded)>,
    code: u8,
) -> anyhow::Result<ExitCode> {
    let mut code = code;
    let on_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    let record = args.history || (compared.is_some() && !on_ci && !args.no_history);
    let mut notes = vec![format!("tickbench bench --counts: run '{}'", ending.name)];
    let path = history::path_for(&ending.baselines_dir, "", Metric::Instructions);
    let mut appended = None;
    if let (true, Some(last)) = (record, run.runs.last()) {
        let entry = history::Record::from_run(
            last,
            &ending.name,
            Metric::Instructions,
            history::Commit::of(&ending.suite_dir),
            None,
        );
        match history::append(&path, &entry) {
            Ok(runs) => {
                notes.push(format!(
                    "history: appended to {} ({runs} runs)",
                    path.display()
                ));
                appended = Some(runs);
            }
            Err(e) => {
                eprintln!("error: the run was not recorded in the history: {e:#}");
                if code == 0 {
                    code = super::cli::EXIT_BAD_INPUT;
                }
            }
        }
    }
    let mut inputs = html::Inputs::default();
    match compared {
        Some((c, old)) => {
            notes.push(format!("compared with {}", ending.stored_spec));
            inputs.comparison = Some((c, old, run));
        }
        None => inputs.run = Some((&ending.name, run)),
    }
    if path.is_file() {
        match html::History::read(&path) {
            Ok(h) => inputs.histories.push(h),
            Err(e) => eprintln!("warning: history left out of the report: {e:#}"),
        }
    }
    inputs.notes = notes;
    let index = html::write(&ending.html, &inputs)?;
    say("")?;
    say(&format!("report: {}", index.display()))?;
    if let Some(runs) = appended {
        say(&format!(
            "history: appended to {} ({runs} runs)",
            path.display()
        ))?;
    }
    Ok(ExitCode::from(code))
}

/// Writes a differential flamegraph for every regressed or improved row whose sides both have
/// a profile, into `dir`, and records its path in the row. Returns warnings for the ones that
/// could not be written (the verdict stands without them).
pub fn write_flamegraphs(
    comparison: &mut Comparison,
    old: &Loaded,
    new: &Loaded,
    dir: &Path,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let profile = |side: &Loaded, id: &str| {
        side.runs.iter().find_map(|r| {
            r.benchmarks
                .iter()
                .find(|b| b.id == id)
                .and_then(|b| b.counts.as_ref())
                .and_then(|c| c.profile.as_ref().map(|p| (p.clone(), c.span())))
        })
    };
    for row in &mut comparison.benchmarks {
        if !matches!(row.verdict, Verdict::Regressed | Verdict::Improved) {
            continue;
        }
        let (Some((op, os)), Some((np, ns))) = (profile(old, &row.id), profile(new, &row.id))
        else {
            continue;
        };
        let path = dir.join(format!("{}.svg", file_name(&row.id)));
        let title = format!(
            "{}: {:+.2} % instructions per iteration",
            row.id,
            row.change_pct.unwrap_or(0.0)
        );
        let written = std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create {}", dir.display()))
            .and_then(|()| flame::write_diff(&path, &title, &op, os, &np, ns));
        match written {
            Ok(()) => row.diff_flamegraph = Some(path.display().to_string()),
            Err(e) => warnings.push(Warning(format!(
                "{}: no differential flamegraph: {e:#}",
                row.id
            ))),
        }
    }
    warnings
}

/// A benchmark id as one file name: `/` and anything unusual become `_`.
pub fn file_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
