//! `tickbench`: parse, run, print errors, map exit codes (0 ok, 1 regression, 2 bad input).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help / --version print and exit 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    match cli::run(cli) {
        Ok(code) => code,
        // The reader of our output went away (`tickbench … | head`): it has what it wanted.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(tickbench::bench::cli::EXIT_BAD_INPUT)
        }
    }
}

/// Whether `e` comes from writing to a pipe whose reading end was closed.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
