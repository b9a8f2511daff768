//! `tickbench` (temporary wiring of `loadtest` on branch `load`; the CLI branch owns this file).

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(name = "tickbench", version, about)]
enum Cli {
    /// Open-loop load test of the pipeline with an SLA verdict.
    Loadtest(tickbench::load::cli::LoadtestArgs),
}

fn main() -> ExitCode {
    let Cli::Loadtest(args) = Cli::parse();
    match tickbench::load::cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(tickbench::load::cli::ERROR_EXIT_CODE)
        }
    }
}
