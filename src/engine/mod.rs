//! The engine under test: ticks flow through per-symbol indicators into rules that emit signals,
//! which are stored in SQLite and appended to a rotating journal; a tokio pipeline shards the work.

pub mod crc32;
pub mod indicators;
pub mod journal;
pub mod pipeline;
pub mod signal;
pub mod store;
pub mod tick;
