//! The `tickbench` command line end to end (`assert_cmd` against fixture directories), and each
//! output format against its snapshot (`formats`).
//!
//! One binary for all of them: every file directly under `tests/` is a binary of its own that
//! links SQLite, tokio and clap again. One topic: `cargo test --test cli recorded::`.

mod bench;
mod files;
mod formats;
mod inputs;
mod recorded;
mod save;
mod verdict;
