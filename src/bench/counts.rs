//! `tickbench bench --counts`: the suite's countable benchmarks under callgrind, compared with
//! the machine-independent `baselines/counts.json` (basis `exact`), with the functions that
//! changed and a differential flamegraph for every changed benchmark.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};

use super::cli::{finish, program_name, say, shell_word, BenchArgs, Ending};
use super::runner::{self, Suite};
use crate::baseline::compare::{self, Comparison, Verdict};
use crate::baseline::{self, common_metric, Loaded, Warning};
use crate::counts::flame;
use crate::counts::session::{self, Request};
use crate::policy::Metric;
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
    let ending = Ending::new(
        args,
        Metric::Instructions,
        &name,
        &stored_spec,
        stored.is_some(),
        &metadata.target_directory,
        None,
    );
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
        return finish(&ending, &new, None, ExitCode::from(code));
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
    finish(
        &ending,
        &new,
        Some((&comparison, &stored)),
        ExitCode::from(code),
    )
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
    for row in &mut comparison.benchmarks {
        if !matches!(row.verdict, Verdict::Regressed | Verdict::Improved) {
            continue;
        }
        let (Some((op, os)), Some((np, ns))) = (profile_of(old, &row.id), profile_of(new, &row.id))
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
            .and_then(|()| flame::write_diff(&path, &title, op, os, np, ns));
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

/// The stored profile of benchmark `id` in the first run of `side` that has one, with the
/// iterations it covers.
fn profile_of<'a>(side: &'a Loaded, id: &str) -> Option<(&'a crate::counts::Profile, u64)> {
    side.runs.iter().find_map(|r| {
        r.benchmarks
            .iter()
            .find(|b| b.id == id)
            .and_then(|b| b.counts.as_ref())
            .and_then(|c| c.profile.as_ref().map(|p| (p, c.span())))
    })
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
