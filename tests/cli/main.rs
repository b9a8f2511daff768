//! The `tickbench` command line end to end (`assert_cmd` against fixture directories), and each
//! output format against its snapshot (`formats`).
//!
//! One binary for all of them: every file directly under `tests/` is a binary of its own that
//! links SQLite, tokio and clap again. One topic: `cargo test --test cli recorded::`.
//!
//! `tickbench bench` end to end stays in `tests/cli_bench.rs`: it times real Criterion runs,
//! which the tests here, running beside it, would disturb.

mod counts;
mod files;
mod formats;
mod history;
#[path = "../support/history_gen.rs"]
mod history_gen;
mod inputs;
mod recorded;
mod save;
mod verdict;
