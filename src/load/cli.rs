//! `tickbench loadtest`: arguments ([`LoadtestArgs`]) and the command ([`run`]).
//!
//! Exit codes: `0` the SLA held (or a calibration ran), `1` it was breached, `2` bad input or a
//! failure of the tool (map every `Err` from [`run`] to [`ERROR_EXIT_CODE`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::floor::DEFAULT_FLOOR_S;
use super::live::display_for_stderr;
use super::output::{self, Format};
use super::profile::{LoadProfile, ProfileError, MAX_SECONDS};
use super::run::{CalibrationReport, LoadReport, RunOptions};
use super::sla::Sla;

/// Exit code for a breached SLA.
pub const BREACH_EXIT_CODE: u8 = 1;
/// Exit code for bad input or a tool failure.
pub const ERROR_EXIT_CODE: u8 = 2;
/// Most runs `--repeat` makes.
pub const MAX_REPEAT: u32 = 1000;

/// Arguments of `tickbench loadtest`.
#[derive(Clone, Debug, clap::Args)]
#[command(after_help = "Examples:
  tickbench loadtest                                 # 5 s floor, then quick: 6 s at 1 M ticks/s
  tickbench loadtest --rate 200000 --duration 30     # quick profile, other rate and length
  tickbench loadtest --profile my.toml --out run.json
  tickbench loadtest --progressive --format json     # quick, then full (10 min) if quick passed
  tickbench loadtest --calibrate                     # this machine's floor only, no pipeline
  tickbench loadtest --floor 0                       # no floor before the run
  tickbench loadtest --repeat 5 --out runs.json      # five quick runs in a row, then a summary

The floor is the same schedule handed by the same producer to an empty consumer: what the
machine and the harness alone cost. The report puts it beside the run's latency; the verdict
is the SLA's alone.

Exit status: 0 SLA held (or calibrated), 1 SLA breached, 2 bad input or error.")]
pub struct LoadtestArgs {
    /// Load profile: `quick` (6 s), `full` (10 min 30 s) or a TOML/JSON profile file.
    #[arg(long, value_name = "quick|full|FILE")]
    pub profile: Option<String>,
    /// Override the steady rate, ticks per second.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Override the measured duration, seconds.
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// Override the warm-up, seconds.
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub warmup: Option<f64>,
    /// Override the number of producer threads.
    #[arg(long, value_name = "N")]
    pub producers: Option<u32>,
    /// Override the number of pipeline shards.
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,
    /// Also write the JSON report to FILE (atomically; `-` means stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Format of the report on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Run `quick`, then `full` only if `quick` met the SLA.
    #[arg(long, conflicts_with = "profile")]
    pub progressive: bool,
    /// SLA: largest p95 latency from planned send time, ms.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 100.0,
        allow_negative_numbers = true
    )]
    pub sla_p95_ms: f64,
    /// SLA: largest p99 latency from planned send time, ms (off by default).
    #[arg(long, value_name = "MS")]
    pub sla_p99_ms: Option<f64>,
    /// SLA: largest mean CPU of the system under test (the harness's threads excluded), % of
    /// all cores.
    #[arg(long, value_name = "PCT", default_value_t = 80.0)]
    pub sla_cpu_pct: f64,
    /// SLA: largest RSS growth after the warm-up, MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64.0)]
    pub sla_memory_mib: f64,
    /// SLA: smallest achieved / offered rate.
    #[arg(long, value_name = "RATIO", default_value_t = 0.99)]
    pub sla_min_rate: f64,
    /// Seconds of this machine's floor to measure before each run (at most the run's measured
    /// window; 0 = none).
    #[arg(
        long,
        value_name = "S",
        default_value_t = DEFAULT_FLOOR_S,
        allow_negative_numbers = true
    )]
    pub floor: f64,
    /// Measure only this machine's floor on the profile's schedule (its whole warm-up and
    /// window, no pipeline) and report it; no SLA.
    #[arg(long, conflicts_with = "progressive")]
    pub calibrate: bool,
    /// Run the profile this many times in a row (each with its own floor) and end with a
    /// summary of all runs; every run is judged.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        conflicts_with_all = ["progressive", "calibrate"]
    )]
    pub repeat: u32,
    /// No live status line on stderr.
    #[arg(long)]
    pub quiet: bool,
}

impl LoadtestArgs {
    /// The profiles to run, in order, with the overrides applied and validated.
    pub fn profiles(&self) -> Result<Vec<LoadProfile>, ProfileError> {
        let bases = if self.progressive {
            vec![LoadProfile::quick(), LoadProfile::full()]
        } else {
            vec![LoadProfile::resolve(
                self.profile.as_deref().unwrap_or("quick"),
            )?]
        };
        bases.into_iter().map(|p| self.apply(p)).collect()
    }

    fn apply(&self, mut p: LoadProfile) -> Result<LoadProfile, ProfileError> {
        let overrides = [
            ("rate", "--rate", self.rate.is_some()),
            ("duration_s", "--duration", self.duration.is_some()),
            ("warmup_s", "--warmup", self.warmup.is_some()),
            ("producers", "--producers", self.producers.is_some()),
            ("shards", "--shards", self.shards.is_some()),
        ];
        p.rate = self.rate.unwrap_or(p.rate);
        p.duration_s = self.duration.unwrap_or(p.duration_s);
        p.warmup_s = self.warmup.unwrap_or(p.warmup_s);
        p.producers = self.producers.unwrap_or(p.producers);
        p.shards = self.shards.unwrap_or(p.shards);
        p.validate().map_err(|e| match e {
            // Name the flag when the bad value came from one.
            ProfileError::Invalid { field, problem } => ProfileError::Invalid {
                field: overrides
                    .iter()
                    .find(|(f, _, given)| *f == field && *given)
                    .map_or(field, |(_, flag, _)| flag),
                problem,
            },
            other => other,
        })?;
        Ok(p)
    }

    /// How to run: the SLA, the status display, the floor.
    pub fn options(&self) -> Result<RunOptions, ProfileError> {
        if !(1..=MAX_REPEAT).contains(&self.repeat) {
            return Err(ProfileError::Invalid {
                field: "--repeat",
                problem: format!("must be 1..={MAX_REPEAT}, got {}", self.repeat),
            });
        }
        if !(self.floor.is_finite() && (0.0..=MAX_SECONDS).contains(&self.floor)) {
            return Err(ProfileError::Invalid {
                field: "--floor",
                problem: format!("must be 0..={MAX_SECONDS} seconds, got {}", self.floor),
            });
        }
        Ok(RunOptions {
            sla: self.sla()?,
            display: display_for_stderr(self.quiet),
            floor_s: self.floor,
            ..RunOptions::default()
        })
    }

    /// The SLA from the `--sla-*` flags.
    pub fn sla(&self) -> Result<Sla, ProfileError> {
        let check = |flag: &'static str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(ProfileError::Invalid {
                    field: flag,
                    problem: format!("must be a number ≥ 0, got {v}"),
                })
            }
        };
        Ok(Sla {
            max_p95_ms: Some(check("--sla-p95-ms", self.sla_p95_ms)?),
            max_p99_ms: self
                .sla_p99_ms
                .map(|v| check("--sla-p99-ms", v))
                .transpose()?,
            max_failures: Some(0),
            max_cpu_pct: Some(check("--sla-cpu-pct", self.sla_cpu_pct)?),
            max_memory_growth_mib: Some(check("--sla-memory-mib", self.sla_memory_mib)?),
            min_rate_ratio: Some(check("--sla-min-rate", self.sla_min_rate)?),
        })
    }
}

/// Runs `tickbench loadtest` against the tokio pipeline and the signal engine (or, with
/// `--calibrate`, measures the floor alone).
pub fn run(args: LoadtestArgs) -> anyhow::Result<ExitCode> {
    if args.calibrate {
        calibrate_with(args, super::target::calibrate_floor)
    } else {
        run_with(args, super::target::run_pipeline)
    }
}

/// `--calibrate` with the floor's runner supplied (tests use fakes): prints the floor, writes
/// `--out`, returns exit code 0.
pub fn calibrate_with(
    args: LoadtestArgs,
    calibrator: impl FnOnce(&LoadProfile, &RunOptions) -> anyhow::Result<CalibrationReport>,
) -> anyhow::Result<ExitCode> {
    let profiles = args.profiles()?;
    let options = args.options()?;
    if let Some(out) = &args.out {
        check_out_path(out)?;
    }
    let profile = profiles.first().context("no profile to calibrate on")?;
    let report = calibrator(profile, &options)
        .with_context(|| format!("calibration on '{}' failed to run", profile.name))?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(args.format.render_calibration(&report)?.as_bytes())?;
    match &args.out {
        Some(out) if out.as_os_str() == "-" => {
            stdout.write_all(output::calibration_json(&report)?.as_bytes())?
        }
        Some(out) => crate::fsio::write_atomic(out, output::calibration_json(&report)?.as_bytes())?,
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// [`run`] with the runner of one profile supplied (tests use fakes). Prints the report(s) to
/// stdout (with `--repeat`, then a summary of the runs), writes `--out`, and returns exit code
/// 0 or 1.
pub fn run_with(
    args: LoadtestArgs,
    runner: impl FnMut(&LoadProfile, &RunOptions) -> anyhow::Result<LoadReport>,
) -> anyhow::Result<ExitCode> {
    let profiles = args.profiles()?;
    let options = args.options()?;
    if let Some(out) = &args.out {
        check_out_path(out)?;
    }
    let repeated = args.repeat > 1;
    let reports = if repeated {
        repeat(&profiles[0], args.repeat, &options, runner)?
    } else {
        progressive(&profiles, &options, runner)?
    };
    let passed = reports.iter().all(|r| r.verdict.passed);
    let array = args.progressive || repeated;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(args.format.render(&reports, array)?.as_bytes())?;
    if repeated && args.format == Format::Table {
        stdout.write_all(output::runs_summary(&reports).as_bytes())?;
    }
    if profiles.len() > reports.len() {
        writeln!(
            stdout,
            "stopped after '{}': it breached the SLA, so the longer profiles were not run",
            reports.last().map_or("", |r| r.profile.name.as_str())
        )?;
    }
    match &args.out {
        Some(out) if out.as_os_str() == "-" => {
            stdout.write_all(output::json(&reports, array)?.as_bytes())?
        }
        Some(out) => crate::fsio::write_atomic(out, output::json(&reports, array)?.as_bytes())?,
        None => {}
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(BREACH_EXIT_CODE)
    })
}

/// Runs `profile` `times` times in a row, whatever the verdicts.
pub fn repeat(
    profile: &LoadProfile,
    times: u32,
    options: &RunOptions,
    mut runner: impl FnMut(&LoadProfile, &RunOptions) -> anyhow::Result<LoadReport>,
) -> anyhow::Result<Vec<LoadReport>> {
    (1..=times)
        .map(|k| {
            runner(profile, options)
                .with_context(|| format!("run {k} of '{}' failed to run", profile.name))
        })
        .collect()
}

/// Runs `profiles` in order and stops after the first one whose verdict is a failure.
pub fn progressive(
    profiles: &[LoadProfile],
    options: &RunOptions,
    mut runner: impl FnMut(&LoadProfile, &RunOptions) -> anyhow::Result<LoadReport>,
) -> anyhow::Result<Vec<LoadReport>> {
    let mut reports = Vec::with_capacity(profiles.len());
    for profile in profiles {
        let report = runner(profile, options)
            .with_context(|| format!("load test '{}' failed to run", profile.name))?;
        let passed = report.verdict.passed;
        reports.push(report);
        if !passed {
            break;
        }
    }
    Ok(reports)
}

/// Fails early (before a long run) if `--out` cannot be written: a directory, or a missing
/// parent directory.
fn check_out_path(out: &Path) -> Result<(), ProfileError> {
    if out.as_os_str() == "-" {
        return Ok(());
    }
    let bad = |problem: String| ProfileError::Invalid {
        field: "--out",
        problem,
    };
    if out.is_dir() {
        return Err(bad(format!("{} is a directory", out.display())));
    }
    match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(bad(format!(
            "{}: directory {} does not exist",
            out.display(),
            dir.display()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: LoadtestArgs,
    }

    fn args(argv: &[&str]) -> LoadtestArgs {
        Cli::try_parse_from(std::iter::once("loadtest").chain(argv.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn defaults_are_the_quick_profile_and_the_seed_sla() {
        let a = args(&[]);
        assert_eq!(a.profiles().unwrap(), vec![LoadProfile::quick()]);
        assert_eq!(a.sla().unwrap(), Sla::default());
    }

    #[test]
    fn overrides_apply_and_bad_values_name_the_flag() {
        let p = args(&["--rate", "500", "--duration", "2"])
            .profiles()
            .unwrap();
        assert_eq!((p[0].rate, p[0].duration_s), (500.0, 2.0));
        for (argv, flag) in [
            (&["--rate", "0"][..], "--rate"),
            (&["--duration", "-3"][..], "--duration"),
            (&["--shards", "0"][..], "--shards"),
        ] {
            let msg = args(argv).profiles().unwrap_err().to_string();
            assert!(msg.contains(flag), "{argv:?}: {msg}");
        }
        let msg = args(&["--sla-p95-ms", "-1"]).sla().unwrap_err().to_string();
        assert!(msg.contains("--sla-p95-ms"), "{msg}");
        for bad in ["-1", "NaN", "100000"] {
            let msg = args(&["--floor", bad]).options().unwrap_err().to_string();
            assert!(msg.contains("--floor") && msg.contains(bad), "{bad}: {msg}");
        }
    }

    #[test]
    fn the_floor_runs_by_default_and_quiet_turns_the_display_off() {
        let o = args(&["--quiet"]).options().unwrap();
        assert_eq!(o.floor_s, DEFAULT_FLOOR_S);
        assert_eq!(o.display, crate::load::live::Display::Off);
        assert_eq!(args(&["--floor", "0"]).options().unwrap().floor_s, 0.0);
        assert!(Cli::try_parse_from(["loadtest", "--calibrate", "--progressive"]).is_err());
        assert!(Cli::try_parse_from(["loadtest", "--repeat", "2", "--progressive"]).is_err());
        let msg = args(&["--repeat", "0"]).options().unwrap_err().to_string();
        assert!(msg.contains("--repeat") && msg.contains("got 0"), "{msg}");
    }

    #[test]
    fn repeat_runs_every_time_even_after_a_breach() {
        let mut runs = 0;
        let reports = repeat(&LoadProfile::quick(), 3, &RunOptions::default(), |p, _| {
            runs += 1;
            anyhow::ensure!(runs < 3, "third run breaks");
            let mut r = crate::load::output::fixtures::report(runs == 1);
            r.profile = p.clone();
            Ok(r)
        });
        let err = reports.unwrap_err();
        assert_eq!(runs, 3);
        assert!(format!("{err:#}").contains("run 3 of 'quick'"), "{err:#}");
    }

    #[test]
    fn progressive_is_quick_then_full_and_excludes_profile() {
        let p = args(&["--progressive", "--rate", "1000"])
            .profiles()
            .unwrap();
        assert_eq!(
            p.iter()
                .map(|p| (p.name.as_str(), p.rate))
                .collect::<Vec<_>>(),
            [("quick", 1000.0), ("full", 1000.0)]
        );
        let cli = Cli::try_parse_from(["loadtest", "--progressive", "--profile", "full"]);
        assert!(cli.is_err());
    }

    #[test]
    fn out_path_is_checked_before_running() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_out_path(dir.path()).is_err());
        assert!(check_out_path(&dir.path().join("nope/r.json")).is_err());
        assert!(check_out_path(&dir.path().join("r.json")).is_ok());
        let out = dir.path().join("nope/r.json");
        let a = args(&["--out", out.to_str().unwrap(), "--quiet"]);
        let mut ran = false;
        let err = run_with(a, |_, _| {
            ran = true;
            anyhow::bail!("must not run")
        })
        .unwrap_err();
        assert!(!ran && format!("{err:#}").contains("nope"), "{err:#}");
    }
}
