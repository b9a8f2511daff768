//! The SQLite signal store: signals (and ticks) on disk, queried by symbol and time.
//!
//! Built on rusqlite with the `bundled` feature, so nothing has to be installed.
//!
//! # Schema and why
//!
//! ```sql
//! CREATE TABLE signal_chunks (id INTEGER PRIMARY KEY,            -- insertion order
//!                             symbol INTEGER NOT NULL,
//!                             first_ts INTEGER NOT NULL, last_ts INTEGER NOT NULL,
//!                             rows INTEGER NOT NULL, data BLOB NOT NULL);
//! CREATE INDEX signal_chunks_by_symbol ON signal_chunks(symbol, last_ts);
//! CREATE TABLE ticks   (symbol, ts_ns, seq, price REAL, size INTEGER,
//!                       PRIMARY KEY (symbol, ts_ns, seq)) WITHOUT ROWID;
//! CREATE TABLE symbols (symbol INTEGER PRIMARY KEY, max_span INTEGER NOT NULL);
//! CREATE TABLE meta    (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
//! ```
//!
//! **Signals are stored in chunks.** A batch's signals of one symbol, in `(ts_ns, seq)` order,
//! are packed [`CHUNK_ROWS`] at a time into one row: `data` holds each signal as 25 bytes
//! (`ts_ns`, `seq`, `kind` = side | reason << 1, the strength's exact bits), `first_ts` and
//! `last_ts` bound it. `seq` is a store-wide counter kept in `meta`, so equal timestamps keep
//! their insertion order. A symbol's run shorter than a chunk (small batches) first fills up
//! the symbol's newest chunk, when it starts at or after that chunk's last timestamp, so a
//! stream of small batches still makes full chunks; longer runs make chunks of their own.
//!
//! Why: a batch spreads over many symbols, and with one B-tree row per signal (version 1 of this
//! schema: `WITHOUT ROWID`, clustered on `(symbol, ts_ns, seq)`) every signal was a B-tree
//! insert in the middle of the tree, at the end of its symbol's slice. Callgrind showed where
//! that goes (10 000-row batches on 64 symbols, in memory): a full descent per row (32 % of the
//! instructions) and a page rebalance about every ten rows (24 %), because SQLite packs the
//! pages it rebalances full, so the next append to the same slice overflows again. On file,
//! each commit then wrote about 360 WAL frames for 300 KB of rows. Chunks turn 10 000 inserts
//! into about 190, all appended at the right edge of the table (SQLite's cheap append path),
//! plus as many small index entries. By `cargo bench --bench database` medians on the 2-core
//! VM, a 10 000-row batch into a file went 6.7 → 1.4 ms (1.5 → 7 M rows/s), in memory
//! 4.4 → 0.41 ms.
//!
//! Queries read chunks through the index on `(symbol, last_ts)` and decode them in Rust:
//!
//! - **Latest N**: chunks newest `last_ts` first, taking up to N rows from the end of each (rows
//!   in a chunk are in order), until N rows are newer than the next chunk's `last_ts`. Usually
//!   one chunk: 3.0 µs at 1 M rows (3.7 µs with one row per signal).
//! - **Time range `[from, to)`**: a chunk holds rows of the window only if `last_ts >= from`
//!   and `first_ts < to`. Batches may arrive out of time order, so chunks can overlap; a bound
//!   on the widest chunk of each symbol (`symbols.max_span`, rounded up to a power of two so
//!   a growing chunk rarely rewrites it) limits the index range on `last_ts` to below
//!   `to + max_span`. Rows are filtered, and sorted only when overlapping chunks left
//!   them out of order: a 100-row range at 1 M rows takes 6.5 µs (17–19 µs before).
//! - **Aggregates**: for each symbol in `symbols`, the same range seek, decoding and summing in
//!   Rust: 0.23 ms for a window of 1 % of 1 M rows (2.3 ms before).
//!
//! The price: signals are not rows that plain SQL can select (the `sqlite3` shell shows chunks),
//! and small batches cost more than with one row per signal, because each run of one or two
//! signals rewrites its symbol's newest chunk (up to 1.6 KB) and moves its index entry:
//! `tickbench compare` against the stored one-row-per-signal runs, by minima, found
//! `db_insert/file/1` +43 %, `file/100` +50 %, `memory/1` +33 %, `memory/100` +48 %. Ticks are
//! still one row per tick, inserted by cached multi-row statements ([`ROWS_PER_INSERT`] rows
//! each) after the same counting sort.
//!
//! - **All or nothing.** A batch is one `IMMEDIATE` transaction; after an error it is never
//!   committed, so no chunk of a failed batch remains.
//! - **Query planner stability guarantee (QPSG).** The bundled SQLite is built with STAT4, which
//!   marks a statement binding `symbol = ?` or `LIMIT ?` for re-preparation whenever the bound
//!   value changes, so a "cached" statement was parsed and planned again on every query (9 µs
//!   instead of 2 µs for latest-10 in memory). QPSG turns that off; our plans do not depend on
//!   the values.
//!
//! Connections run with `journal_mode=WAL` (readers never block the writer and vice versa),
//! `synchronous=NORMAL` (a committed transaction survives a process crash; after a power loss
//! the last transactions may roll back, but never partially), a 5 s busy timeout, and a 64 MiB
//! page cache (16 MiB for a reader). The schema version lives in `PRAGMA user_version`; a file
//! from a newer version is refused with an error that names it, a version-0 file with foreign
//! tables is refused too. A version-1 file (one row per signal) is upgraded when the writer
//! opens it, in the same transaction as the version check: its rows are moved into chunks. A
//! reader refuses it until then ([`StoreError::OlderSchema`]).
//!
//! # Measured
//!
//! Figures, with the commands and commits that produced them, are in `docs/measurements/`, one
//! file per measuring date; among them a comparison of version 1 of this schema with the
//! straightforward one (rowid table + index on `(symbol, ts)`, one `INSERT` per row).

//!
//! # Parts
//!
//! - `schema.rs`: the tables, the version check on open, the upgrade from version 1;
//! - `writer.rs`: inserting batches of signals (into chunks) and of ticks;
//! - `chunk.rs`: a chunk's bytes, encoded and decoded, and a damaged chunk refused;
//! - `sort.rs`: the counting sort that orders a batch by symbol and time;
//! - `query.rs`: latest-N, time ranges, aggregates and tick ranges.

mod chunk;
mod query;
mod schema;
mod sort;
mod writer;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use super::signal::{Side, Signal};
use super::tick::{SymbolId, Tick};
use query::{aggregates, count, latest, range, tick_range};
use writer::set_span;

/// Schema version written to `PRAGMA user_version`; bump it with a migration in
/// `schema::migrate`.
pub const SCHEMA_VERSION: i64 = 2;

/// Rows per multi-row `INSERT` statement in a batch of ticks (the remainder goes one row at a
/// time).
pub const ROWS_PER_INSERT: usize = 32;

/// Most signals in one stored chunk: a batch's signals of one symbol are stored as chunks of at
/// most this many, each one row of `signal_chunks` (1 600 bytes of data, so a chunk stays inside
/// its table page).
pub const CHUNK_ROWS: usize = 64;

/// Largest timestamp the store accepts: SQLite integers are signed 64-bit.
pub const MAX_TS_NS: u64 = i64::MAX as u64;

/// Busy timeout of every connection, in milliseconds.
const BUSY_TIMEOUT_MS: u64 = 5_000;

/// What went wrong, always naming the database file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or created (missing directory, no permission, a directory).
    #[error("cannot open signal store {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The file exists but is not an SQLite database, or is damaged.
    #[error("{} is not a usable signal store (corrupt or not an SQLite database): {source}", path.display())]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The file was written by a newer tickbench whose schema this one cannot read.
    #[error(
        "{} has schema version {found}, newer than version {supported} that this tickbench \
         understands; open it with a newer tickbench",
        path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// [`SCHEMA_VERSION`].
        supported: i64,
    },
    /// A reader opened a store of an older schema version; the writer upgrades it on open.
    #[error(
        "{} has schema version {found}, older than version {supported}; open it once with \
         SignalStore::open (the writer), which upgrades it, before opening readers",
        path.display()
    )]
    OlderSchema {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// [`SCHEMA_VERSION`].
        supported: i64,
    },
    /// A valid SQLite database that holds other tables and no tickbench schema.
    #[error("{} is an SQLite database but not a tickbench signal store (it has table {table:?})", path.display())]
    Foreign {
        /// The database file.
        path: PathBuf,
        /// One of its tables.
        table: String,
    },
    /// A timestamp above [`MAX_TS_NS`] cannot be stored.
    #[error("signal store {}: timestamp {ts_ns} is above the storable maximum {MAX_TS_NS}", path.display())]
    TimestampRange {
        /// The database file.
        path: PathBuf,
        /// The offending timestamp.
        ts_ns: u64,
    },
    /// Any other SQLite failure while using the store.
    #[error("signal store {}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
}

/// Count and mean strength of the signals of one side of one symbol inside a time window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SideAggregate {
    /// The symbol.
    pub symbol: SymbolId,
    /// The side.
    pub side: Side,
    /// Number of signals.
    pub count: u64,
    /// Mean of their strengths.
    pub mean_strength: f64,
}

/// The writer: one connection that inserts batches and can also query.
///
/// `Send` but not `Sync`, like the connection inside it. Readers on other threads use
/// [`SignalStore::open_reader`], one per thread.
pub struct SignalStore {
    conn: Connection,
    path: PathBuf,
    next_seq: i64,
    /// `max_span` of every symbol in the `symbols` table, by symbol; `None` for the others.
    spans: Vec<Option<i64>>,
}

/// A read-only connection for one reader thread, concurrent with the writer (WAL mode).
pub struct StoreReader {
    conn: Connection,
    path: PathBuf,
}

impl SignalStore {
    /// Opens or creates the database file at `path`, applies the pragmas and creates or checks
    /// the schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(&path, flags).map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        Self::init(conn, path, true)
    }

    /// An in-memory store (no file, nothing survives the process); same schema and queries.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        Self::init(conn, path, false)
    }

    /// Opens a read-only connection to an existing store for one reader thread.
    pub fn open_reader(path: impl AsRef<Path>) -> Result<StoreReader, StoreError> {
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(&path, flags).map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        let fail = |e| classify(&path, e);
        configure(&conn).map_err(fail)?;
        conn.pragma_update(None, "cache_size", -16_384)
            .map_err(fail)?;
        schema::check_readable(&conn, &path)?;
        Ok(StoreReader { conn, path })
    }

    fn init(mut conn: Connection, path: PathBuf, wal: bool) -> Result<Self, StoreError> {
        let fail = |e| classify(&path, e);
        configure(&conn).map_err(fail)?;
        if wal {
            // Returns the new mode; also the first read of the file, so a corrupt file fails here.
            let _: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                .map_err(fail)?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail)?;
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(fail)?;

        conn.set_prepared_statement_cache_capacity(32);

        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        schema::check_and_upgrade(&tx, &path)?;
        tx.commit().map_err(fail)?;

        let next_seq: i64 = conn
            .query_row("SELECT value FROM meta WHERE key = 'next_seq'", [], |r| {
                r.get(0)
            })
            .map_err(fail)?;
        let mut spans = Vec::new();
        {
            let mut stmt = conn
                .prepare("SELECT symbol, max_span FROM symbols")
                .map_err(fail)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)?)))
                .map_err(fail)?;
            for row in rows {
                let (symbol, span) = row.map_err(fail)?;
                set_span(&mut spans, symbol, span);
            }
        }
        Ok(Self {
            conn,
            path,
            next_seq,
            spans,
        })
    }

    /// The database file (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The newest `n` signals of `symbol`, newest first.
    pub fn latest(&self, symbol: SymbolId, n: usize) -> Result<Vec<Signal>, StoreError> {
        latest(&self.conn, symbol, n).map_err(|e| classify(&self.path, e))
    }

    /// Signals of `symbol` with `from_ns <= ts_ns < to_ns`, oldest first.
    pub fn range(
        &self,
        symbol: SymbolId,
        from_ns: u64,
        to_ns: u64,
    ) -> Result<Vec<Signal>, StoreError> {
        range(&self.conn, symbol, from_ns, to_ns).map_err(|e| classify(&self.path, e))
    }

    /// Count and mean strength per symbol and side of the signals with `from_ns <= ts_ns <
    /// to_ns`, ordered by symbol then side (buy first); sides without signals are left out.
    pub fn aggregates(&self, from_ns: u64, to_ns: u64) -> Result<Vec<SideAggregate>, StoreError> {
        aggregates(&self.conn, from_ns, to_ns).map_err(|e| classify(&self.path, e))
    }

    /// Number of stored signals (a full scan; for tests and tools, not hot paths).
    pub fn signal_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT coalesce(sum(rows), 0) FROM signal_chunks",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| classify(&self.path, e))
    }

    /// Number of stored ticks (a full scan; for tests and tools, not hot paths).
    pub fn tick_count(&self) -> Result<u64, StoreError> {
        count(&self.conn, "ticks").map_err(|e| classify(&self.path, e))
    }

    /// Ticks of `symbol` with `from_ns <= ts_ns < to_ns`, oldest first.
    pub fn tick_range(
        &self,
        symbol: SymbolId,
        from_ns: u64,
        to_ns: u64,
    ) -> Result<Vec<Tick>, StoreError> {
        tick_range(&self.conn, symbol, from_ns, to_ns).map_err(|e| classify(&self.path, e))
    }
}

impl StoreReader {
    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The newest `n` signals of `symbol`, newest first.
    pub fn latest(&self, symbol: SymbolId, n: usize) -> Result<Vec<Signal>, StoreError> {
        latest(&self.conn, symbol, n).map_err(|e| classify(&self.path, e))
    }

    /// Signals of `symbol` with `from_ns <= ts_ns < to_ns`, oldest first.
    pub fn range(
        &self,
        symbol: SymbolId,
        from_ns: u64,
        to_ns: u64,
    ) -> Result<Vec<Signal>, StoreError> {
        range(&self.conn, symbol, from_ns, to_ns).map_err(|e| classify(&self.path, e))
    }

    /// See [`SignalStore::aggregates`].
    pub fn aggregates(&self, from_ns: u64, to_ns: u64) -> Result<Vec<SideAggregate>, StoreError> {
        aggregates(&self.conn, from_ns, to_ns).map_err(|e| classify(&self.path, e))
    }
}

/// Settings every connection gets: the busy timeout, and the query planner stability guarantee.
///
/// Without QPSG, SQLite (built with STAT4, as `bundled` is) marks statements whose plan could
/// depend on a bound value (`symbol = ?`, `LIMIT ?`) for re-preparation on every new binding,
/// so a cached statement would be parsed and planned again on each query: measured 9 µs instead
/// of 2 µs for a latest-10 query. Our plans never depend on the values.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// Tells "this file is not a database" apart from other failures.
fn classify(path: &Path, source: rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::Corrupt { path, source }
        }
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => {
            StoreError::Open { path, source }
        }
        _ => StoreError::Sqlite { path, source },
    }
}
