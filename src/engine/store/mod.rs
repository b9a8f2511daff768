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

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use super::signal::{Reason, Side, Signal};
use super::tick::{SymbolId, Tick};

/// Schema version written to `PRAGMA user_version`; bump it with a migration in `migrate`.
pub const SCHEMA_VERSION: i64 = 2;

/// Rows per multi-row `INSERT` statement in a batch of ticks (the remainder goes one row at a
/// time).
pub const ROWS_PER_INSERT: usize = 32;

/// Most signals in one stored chunk: a batch's signals of one symbol are stored as chunks of at
/// most this many, each one row of `signal_chunks` (1 600 bytes of data, so a chunk stays inside
/// its table page).
pub const CHUNK_ROWS: usize = 64;

/// Bytes of one signal inside a chunk: `ts_ns` and `seq` (u64, little-endian), `kind` (u8),
/// the strength's IEEE-754 bits (u64, little-endian).
const CHUNK_ROW_BYTES: usize = 25;

/// Largest timestamp the store accepts: SQLite integers are signed 64-bit.
pub const MAX_TS_NS: u64 = i64::MAX as u64;

/// Batches are ordered by a counting sort on symbol when symbol numbers stay below this (or
/// below the batch size); see `sorted_order`.
const COUNTING_SORT_SYMBOLS: usize = 1 << 16;

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
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(fail)?;
        if version > SCHEMA_VERSION {
            return Err(newer(&path, version));
        }
        if (1..SCHEMA_VERSION).contains(&version) {
            return Err(StoreError::OlderSchema {
                path,
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version < SCHEMA_VERSION {
            let table = first_table(&conn).map_err(fail)?;
            return Err(StoreError::Foreign {
                path,
                table: table.unwrap_or_else(|| "<none>".into()),
            });
        }
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
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(fail)?;
        if version > SCHEMA_VERSION {
            return Err(newer(&path, version));
        }
        if version == 0 {
            if let Some(table) = first_table(&tx).map_err(fail)? {
                return Err(StoreError::Foreign { path, table });
            }
        }
        migrate(&tx, version).map_err(fail)?;
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

    /// Inserts `signals` in one transaction: after `Ok`, all of them are committed; after `Err`,
    /// none of them are.
    pub fn insert_signals(&mut self, signals: &[Signal]) -> Result<(), StoreError> {
        if let Some(s) = signals.iter().find(|s| s.ts_ns > MAX_TS_NS) {
            return Err(StoreError::TimestampRange {
                path: self.path.clone(),
                ts_ns: s.ts_ns,
            });
        }
        let order = sorted_order(signals.len(), |i| (signals[i].symbol, signals[i].ts_ns));
        let path = &self.path;
        let fail = |e| classify(path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let mut seq = self.next_seq;
        // (symbol, its new max_span) for the symbols whose row in `symbols` must change.
        let mut grown: Vec<(SymbolId, i64)> = Vec::new();
        {
            let mut stmt = tx.prepare_cached(INSERT_CHUNK).map_err(fail)?;
            let mut tail_of = tx.prepare_cached(TAIL_CHUNK).map_err(fail)?;
            let mut extend = tx.prepare_cached(EXTEND_CHUNK).map_err(fail)?;
            let mut data = Vec::with_capacity(CHUNK_ROWS * CHUNK_ROW_BYTES);
            for run in
                order.chunk_by(|&a, &b| signals[a as usize].symbol == signals[b as usize].symbol)
            {
                let symbol = signals[run[0] as usize].symbol;
                let mut row_of = |i: u32| {
                    let s = &signals[i as usize];
                    seq += 1;
                    (s.ts_ns, seq - 1, encode_kind(s.side, s.reason), s.strength)
                };
                // Small batches would leave many small chunks (and every query would read more
                // of them): a run shorter than a chunk first fills up the symbol's newest chunk
                // when it starts at or after that chunk's last timestamp. Longer runs make full
                // chunks of their own and leave at most one partial one.
                let known = self.spans.get(symbol as usize).copied().flatten();
                let mut span = 0;
                let mut rest = run;
                if run.len() < CHUNK_ROWS && known.is_some() {
                    let first_ts = signals[run[0] as usize].ts_ns;
                    let tail =
                        open_tail(&mut tail_of, &mut data, symbol, first_ts).map_err(fail)?;
                    if let Some((id, tail_first, held)) = tail {
                        let (taken, more) = run.split_at(run.len().min(CHUNK_ROWS - held));
                        let mut last = 0;
                        for &i in taken {
                            let (ts, seq, kind, strength) = row_of(i);
                            last = ts as i64;
                            push_row(&mut data, ts, seq, kind, strength);
                        }
                        let rows = (held + taken.len()) as i64;
                        extend.execute((id, last, rows, &data[..])).map_err(fail)?;
                        span = last - tail_first;
                        rest = more;
                    }
                }
                for chunk in rest.chunks(CHUNK_ROWS) {
                    let rows = chunk.iter().map(|&i| row_of(i));
                    span = span.max(write_chunk(&mut stmt, &mut data, symbol, rows).map_err(fail)?);
                }
                match known {
                    Some(known) if known >= span => {}
                    _ => grown.push((symbol, span_bound(span))),
                }
            }
        }
        if !grown.is_empty() {
            let mut stmt = tx.prepare_cached(RECORD_SPAN).map_err(fail)?;
            for &(symbol, span) in &grown {
                stmt.execute((symbol, span)).map_err(fail)?;
            }
        }
        tx.execute("UPDATE meta SET value = ?1 WHERE key = 'next_seq'", [seq])
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        self.next_seq = seq;
        for (symbol, span) in grown {
            set_span(&mut self.spans, symbol, span);
        }
        Ok(())
    }

    /// Inserts `ticks` in one transaction (all or none), like [`SignalStore::insert_signals`].
    pub fn insert_ticks(&mut self, ticks: &[Tick]) -> Result<(), StoreError> {
        if let Some(t) = ticks.iter().find(|t| t.ts_ns > MAX_TS_NS) {
            return Err(StoreError::TimestampRange {
                path: self.path.clone(),
                ts_ns: t.ts_ns,
            });
        }
        let order = sorted_order(ticks.len(), |i| (ticks[i].symbol, ticks[i].ts_ns));
        let path = &self.path;
        let fail = |e| classify(path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let mut seq = self.next_seq;
        insert_rows(
            &tx,
            "ticks(symbol, ts_ns, seq, price, size)",
            5,
            &order,
            |stmt, p, i| {
                let t = &ticks[i as usize];
                stmt.raw_bind_parameter(p, t.symbol)?;
                stmt.raw_bind_parameter(p + 1, t.ts_ns as i64)?;
                stmt.raw_bind_parameter(p + 2, seq)?;
                stmt.raw_bind_parameter(p + 3, t.price)?;
                stmt.raw_bind_parameter(p + 4, t.size)?;
                seq += 1;
                Ok(())
            },
        )
        .map_err(fail)?;
        tx.execute("UPDATE meta SET value = ?1 WHERE key = 'next_seq'", [seq])
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        self.next_seq = seq;
        Ok(())
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
        let (from, to) = (clamp_ts(from_ns), clamp_ts(to_ns));
        let run = || -> rusqlite::Result<Vec<Tick>> {
            let mut stmt = self.conn.prepare_cached(
                "SELECT ts_ns, price, size FROM ticks \
                 WHERE symbol = ?1 AND ts_ns >= ?2 AND ts_ns < ?3 ORDER BY ts_ns, seq",
            )?;
            let rows = stmt.query_map((symbol, from, to), |r| {
                Ok(Tick {
                    ts_ns: r.get::<_, i64>(0)? as u64,
                    price: r.get(1)?,
                    symbol,
                    size: r.get(2)?,
                })
            })?;
            rows.collect()
        };
        run().map_err(|e| classify(&self.path, e))
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

/// Creates or upgrades the schema from `version` to [`SCHEMA_VERSION`] inside the caller's
/// transaction.
fn migrate(conn: &Connection, version: i64) -> rusqlite::Result<()> {
    if version < 1 {
        conn.execute_batch(
            "CREATE TABLE signals (
                 symbol   INTEGER NOT NULL,
                 ts_ns    INTEGER NOT NULL,
                 seq      INTEGER NOT NULL,
                 kind     INTEGER NOT NULL,
                 strength REAL    NOT NULL,
                 PRIMARY KEY (symbol, ts_ns, seq)
             ) WITHOUT ROWID;
             CREATE TABLE ticks (
                 symbol INTEGER NOT NULL,
                 ts_ns  INTEGER NOT NULL,
                 seq    INTEGER NOT NULL,
                 price  REAL    NOT NULL,
                 size   INTEGER NOT NULL,
                 PRIMARY KEY (symbol, ts_ns, seq)
             ) WITHOUT ROWID;
             CREATE TABLE symbols (symbol INTEGER PRIMARY KEY);
             CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
             INSERT INTO meta(key, value) VALUES ('next_seq', 0);
             PRAGMA user_version = 1;",
        )?;
    }
    if version < 2 {
        // Version 2 stores signals in chunks (see the module docs); move version 1's rows.
        conn.execute_batch(
            "CREATE TABLE signal_chunks (
                 id       INTEGER PRIMARY KEY,
                 symbol   INTEGER NOT NULL,
                 first_ts INTEGER NOT NULL,
                 last_ts  INTEGER NOT NULL,
                 rows     INTEGER NOT NULL,
                 data     BLOB    NOT NULL
             );
             CREATE INDEX signal_chunks_by_symbol ON signal_chunks(symbol, last_ts);
             ALTER TABLE symbols ADD COLUMN max_span INTEGER NOT NULL DEFAULT 0;",
        )?;
        move_v1_signals(conn)?;
        conn.execute_batch("DROP TABLE signals; PRAGMA user_version = 2;")?;
    }
    Ok(())
}

/// Copies version 1's `signals` rows into chunks, [`CHUNK_ROWS`] per chunk in key order, and
/// records each symbol's widest chunk.
fn move_v1_signals(conn: &Connection) -> rusqlite::Result<()> {
    let mut read = conn.prepare(
        "SELECT symbol, ts_ns, seq, kind, strength FROM signals ORDER BY symbol, ts_ns, seq",
    )?;
    let mut write = conn.prepare(INSERT_CHUNK)?;
    let mut span_of = conn.prepare(RECORD_SPAN)?;
    let mut data = Vec::with_capacity(CHUNK_ROWS * CHUNK_ROW_BYTES);
    let mut pending: Vec<(u64, i64, i64, f64)> = Vec::with_capacity(CHUNK_ROWS);
    let mut current: Option<SymbolId> = None;
    let mut span = 0;
    let mut rows = read.query([])?;
    loop {
        let row = rows.next()?;
        let symbol = row.map(|r| r.get::<_, SymbolId>(0)).transpose()?;
        if !pending.is_empty() && (symbol != current || pending.len() == CHUNK_ROWS) {
            let owner = current.expect("pending rows have a symbol");
            span = span.max(write_chunk(
                &mut write,
                &mut data,
                owner,
                pending.drain(..),
            )?);
            if symbol != current {
                span_of.execute((owner, span))?;
                span = 0;
            }
        }
        let Some(row) = row else { break };
        current = symbol;
        pending.push((
            row.get::<_, i64>(1)? as u64,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        ));
    }
    Ok(())
}

/// The newest chunk of a symbol (by its last timestamp).
const TAIL_CHUNK: &str = "SELECT id, first_ts, last_ts, data FROM signal_chunks \
     WHERE symbol = ?1 ORDER BY last_ts DESC LIMIT 1";

/// Replaces a chunk's rows (more of them, same first timestamp).
const EXTEND_CHUNK: &str =
    "UPDATE signal_chunks SET last_ts = ?2, rows = ?3, data = ?4 WHERE id = ?1";

/// Records a chunk's span in `symbols.max_span` (adding the symbol), never lowering it.
const RECORD_SPAN: &str = "INSERT INTO symbols(symbol, max_span) VALUES (?1, ?2) \
     ON CONFLICT(symbol) DO UPDATE SET max_span = max(max_span, excluded.max_span)";

/// When `symbol`'s newest chunk has room and its last timestamp is at most `first_ts` (so rows
/// appended after it stay in order): copies its data into `data` and returns its id, first
/// timestamp and row count, for the caller to append to and write back ([`EXTEND_CHUNK`]).
fn open_tail(
    tail_of: &mut rusqlite::Statement<'_>,
    data: &mut Vec<u8>,
    symbol: SymbolId,
    first_ts: u64,
) -> rusqlite::Result<Option<(i64, i64, usize)>> {
    let mut found = tail_of.query([symbol])?;
    let Some(tail) = found.next()? else {
        return Ok(None);
    };
    let old = chunk_data(tail, 3)?;
    let held = chunk_rows(old)?.len();
    let (id, tail_first, tail_last): (i64, i64, i64) = (tail.get(0)?, tail.get(1)?, tail.get(2)?);
    if held >= CHUNK_ROWS || (first_ts as i64) < tail_last {
        return Ok(None);
    }
    data.clear();
    data.extend_from_slice(old);
    Ok(Some((id, tail_first, held)))
}

/// Appends one signal's 25 bytes to a chunk's data.
fn push_row(data: &mut Vec<u8>, ts: u64, seq: i64, kind: i64, strength: f64) {
    data.extend_from_slice(&ts.to_le_bytes());
    data.extend_from_slice(&(seq as u64).to_le_bytes());
    data.push(kind as u8);
    data.extend_from_slice(&strength.to_bits().to_le_bytes());
}

/// Inserts one chunk.
const INSERT_CHUNK: &str =
    "INSERT INTO signal_chunks(symbol, first_ts, last_ts, rows, data) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Writes `rows` (`(ts_ns, seq, kind, strength)`, in key order, at least one) of `symbol` as one
/// chunk through `stmt` ([`INSERT_CHUNK`]), encoding into `data`; returns the chunk's time span.
fn write_chunk(
    stmt: &mut rusqlite::Statement<'_>,
    data: &mut Vec<u8>,
    symbol: SymbolId,
    rows: impl Iterator<Item = (u64, i64, i64, f64)>,
) -> rusqlite::Result<i64> {
    data.clear();
    let (mut first, mut last, mut n) = (None, 0, 0i64);
    for (ts, seq, kind, strength) in rows {
        first.get_or_insert(ts);
        last = ts;
        n += 1;
        push_row(data, ts, seq, kind, strength);
    }
    let first = first.expect("a chunk has at least one row");
    stmt.raw_bind_parameter(1, symbol)?;
    stmt.raw_bind_parameter(2, first as i64)?;
    stmt.raw_bind_parameter(3, last as i64)?;
    stmt.raw_bind_parameter(4, n)?;
    stmt.raw_bind_parameter(5, &data[..])?;
    stmt.raw_execute()?;
    Ok(last as i64 - first as i64)
}

/// Column `i` of a query row: a chunk's data, which must be a blob.
fn chunk_data<'a>(row: &'a rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'a [u8]> {
    row.get_ref(i)?
        .as_blob()
        .map_err(|_| corrupt("a signal chunk's data is not a blob".into()))
}

/// The rows of a chunk's data, checked for a whole number of rows.
fn chunk_rows(data: &[u8]) -> rusqlite::Result<std::slice::ChunksExact<'_, u8>> {
    if data.len() % CHUNK_ROW_BYTES != 0 {
        return Err(corrupt(format!(
            "a signal chunk holds {} bytes, not a multiple of {CHUNK_ROW_BYTES}",
            data.len()
        )));
    }
    Ok(data.chunks_exact(CHUNK_ROW_BYTES))
}

/// One row of a chunk: `(ts_ns, seq, signal)`.
fn decode_row(symbol: SymbolId, row: &[u8]) -> rusqlite::Result<(u64, u64, Signal)> {
    let word = |at: usize| u64::from_le_bytes(row[at..at + 8].try_into().expect("8 bytes"));
    let (ts_ns, seq, kind) = (word(0), word(8), row[16]);
    let (side, reason) = decode_kind(i64::from(kind)).ok_or_else(|| {
        corrupt(format!(
            "a stored signal has kind {kind}, which no version writes"
        ))
    })?;
    let signal = Signal {
        symbol,
        ts_ns,
        side,
        strength: f64::from_bits(word(17)),
        reason,
    };
    Ok((ts_ns, seq, signal))
}

/// An SQLite "database corrupt" error with `message`: [`classify`] turns it into
/// [`StoreError::Corrupt`], naming the file.
fn corrupt(message: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
        Some(message),
    )
}

/// Inserts the rows `order` into `table_cols` (`cols` values each), [`ROWS_PER_INSERT`] rows per
/// cached statement (the remainder one row at a time); `bind(stmt, first, i)` binds row `i`'s
/// values to parameters `first..first + cols` (1-based).
fn insert_rows(
    conn: &Connection,
    table_cols: &str,
    cols: usize,
    order: &[u32],
    mut bind: impl FnMut(&mut rusqlite::Statement<'_>, usize, u32) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut chunks = order.chunks_exact(ROWS_PER_INSERT);
    if chunks.len() > 0 {
        let mut stmt = conn.prepare_cached(&insert_sql(table_cols, cols, ROWS_PER_INSERT))?;
        for chunk in &mut chunks {
            for (row, &i) in chunk.iter().enumerate() {
                bind(&mut stmt, 1 + row * cols, i)?;
            }
            stmt.raw_execute()?;
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut stmt = conn.prepare_cached(&insert_sql(table_cols, cols, 1))?;
        for &i in rest {
            bind(&mut stmt, 1, i)?;
            stmt.raw_execute()?;
        }
    }
    Ok(())
}

/// Indices of the rows in key order `(symbol, ts_ns)`, ties in input order.
///
/// A batch usually arrives in time order over a few hundred symbols, so this is a counting sort
/// by symbol (stable: each symbol's rows stay in time order) plus a check that each symbol's run
/// is in time order, sorting only runs that are not. Linear: a 10 000-row batch on 64 symbols
/// takes about 4 % fewer instructions to insert than with a comparison sort (callgrind, in
/// memory). Symbol numbers far above the batch size (a counting table that large
/// would cost more than it saves) take the comparison sort.
fn sorted_order(n: usize, key: impl Fn(usize) -> (SymbolId, u64)) -> Vec<u32> {
    let mut sorted = true;
    let mut max_symbol = 0;
    for i in 0..n {
        let k = key(i);
        max_symbol = max_symbol.max(k.0);
        sorted &= i == 0 || key(i - 1) <= k;
    }
    if sorted {
        return (0..n as u32).collect();
    }
    if max_symbol as usize > n.max(COUNTING_SORT_SYMBOLS) {
        let mut keyed: Vec<(SymbolId, u64, u32)> = (0..n)
            .map(|i| {
                let (symbol, ts) = key(i);
                (symbol, ts, i as u32)
            })
            .collect();
        keyed.sort_unstable();
        return keyed.into_iter().map(|(_, _, i)| i).collect();
    }
    // starts[s] is where symbol s's rows begin in the order, starts[s + 1] where they end.
    let mut starts = vec![0u32; max_symbol as usize + 2];
    for i in 0..n {
        starts[key(i).0 as usize + 1] += 1;
    }
    for s in 1..starts.len() {
        starts[s] += starts[s - 1];
    }
    let mut next = starts.clone();
    let mut order = vec![0u32; n];
    for i in 0..n {
        let slot = &mut next[key(i).0 as usize];
        order[*slot as usize] = i as u32;
        *slot += 1;
    }
    for run in starts.windows(2) {
        let run = &mut order[run[0] as usize..run[1] as usize];
        if !run.is_sorted_by_key(|&i| key(i as usize).1) {
            // Stable, so equal timestamps keep their input order.
            run.sort_by_key(|&i| key(i as usize).1);
        }
    }
    order
}

/// `INSERT INTO <table_cols> VALUES (?,…),(?,…)…` with `rows` tuples of `cols` placeholders.
fn insert_sql(table_cols: &str, cols: usize, rows: usize) -> String {
    let tuple = format!("({})", vec!["?"; cols].join(","));
    format!(
        "INSERT OR FAIL INTO {table_cols} VALUES {}",
        vec![tuple; rows].join(",")
    )
}

fn latest(conn: &Connection, symbol: SymbolId, n: usize) -> rusqlite::Result<Vec<Signal>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT last_ts, data FROM signal_chunks WHERE symbol = ?1 ORDER BY last_ts DESC",
    )?;
    let mut chunks = stmt.query([symbol])?;
    // The newest rows seen so far, newest first, at most n.
    let mut newest: Vec<(u64, u64, Signal)> = Vec::new();
    while let Some(chunk) = chunks.next()? {
        // Chunks come newest last row first; once n rows are newer than all of this chunk,
        // no later chunk can hold one of the newest n.
        let last_ts = chunk.get::<_, i64>(0)? as u64;
        if newest.len() == n && last_ts < newest[n - 1].0 {
            break;
        }
        for row in chunk_rows(chunk_data(chunk, 1)?)?.rev().take(n) {
            newest.push(decode_row(symbol, row)?);
        }
        newest.sort_unstable_by_key(|r| std::cmp::Reverse((r.0, r.1)));
        newest.truncate(n);
    }
    Ok(newest.into_iter().map(|(_, _, s)| s).collect())
}

fn range(
    conn: &Connection,
    symbol: SymbolId,
    from_ns: u64,
    to_ns: u64,
) -> rusqlite::Result<Vec<Signal>> {
    let (from, to) = (clamp_ts(from_ns), clamp_ts(to_ns));
    if from >= to {
        return Ok(Vec::new());
    }
    // A chunk holds rows of the window iff first_ts < to and last_ts >= from; first_ts is at
    // least last_ts - max_span, so the index range on last_ts ends below to + max_span.
    let mut stmt = conn.prepare_cached(
        "SELECT c.data FROM symbols AS s CROSS JOIN signal_chunks AS c \
         WHERE s.symbol = ?1 AND c.symbol = s.symbol \
           AND c.last_ts >= ?2 AND c.last_ts < ?3 + s.max_span AND c.first_ts < ?3 \
         ORDER BY c.last_ts",
    )?;
    let mut chunks = stmt.query((symbol, from, to))?;
    let mut found: Vec<(u64, u64, Signal)> = Vec::new();
    let window = from as u64..to as u64;
    while let Some(chunk) = chunks.next()? {
        for row in chunk_rows(chunk_data(chunk, 0)?)? {
            let decoded = decode_row(symbol, row)?;
            if window.contains(&decoded.0) {
                found.push(decoded);
            }
        }
    }
    // Chunks of batches that arrived out of time order overlap.
    if !found.is_sorted_by_key(|r| (r.0, r.1)) {
        found.sort_unstable_by_key(|r| (r.0, r.1));
    }
    Ok(found.into_iter().map(|(_, _, s)| s).collect())
}

fn aggregates(conn: &Connection, from_ns: u64, to_ns: u64) -> rusqlite::Result<Vec<SideAggregate>> {
    let (from, to) = (clamp_ts(from_ns), clamp_ts(to_ns));
    if from >= to {
        return Ok(Vec::new());
    }
    // CROSS JOIN pins the loop order: for each known symbol (in symbol order), a range seek into
    // its chunks, bounded as in `range`.
    let mut stmt = conn.prepare_cached(
        "SELECT s.symbol, c.data FROM symbols AS s CROSS JOIN signal_chunks AS c \
         WHERE c.symbol = s.symbol \
           AND c.last_ts >= ?1 AND c.last_ts < ?2 + s.max_span AND c.first_ts < ?2 \
         ORDER BY s.symbol",
    )?;
    let mut chunks = stmt.query((from, to))?;
    let window = from as u64..to as u64;
    let mut out = Vec::new();
    // Per side (buy, sell) of the current symbol: count and sum of strengths.
    let mut current: Option<(SymbolId, [(u64, f64); 2])> = None;
    let flush = |out: &mut Vec<SideAggregate>, (symbol, sides): (SymbolId, [(u64, f64); 2])| {
        for (side, (count, sum)) in [Side::Buy, Side::Sell].into_iter().zip(sides) {
            if count > 0 {
                out.push(SideAggregate {
                    symbol,
                    side,
                    count,
                    mean_strength: sum / count as f64,
                });
            }
        }
    };
    while let Some(chunk) = chunks.next()? {
        let symbol: SymbolId = chunk.get(0)?;
        if current.is_some_and(|(s, _)| s != symbol) {
            flush(&mut out, current.take().expect("checked"));
        }
        let sides = &mut current.get_or_insert((symbol, [(0, 0.0); 2])).1;
        for row in chunk_rows(chunk_data(chunk, 1)?)? {
            let (ts, _, signal) = decode_row(symbol, row)?;
            if window.contains(&ts) {
                let side = &mut sides[usize::from(signal.side == Side::Sell)];
                side.0 += 1;
                side.1 += signal.strength;
            }
        }
    }
    if let Some(last) = current {
        flush(&mut out, last);
    }
    Ok(out)
}

fn count(conn: &Connection, table: &str) -> rusqlite::Result<u64> {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as u64)
}

/// Packs side (bit 0) and reason (bits 1..) into one small integer.
fn encode_kind(side: Side, reason: Reason) -> i64 {
    let side = match side {
        Side::Buy => 0,
        Side::Sell => 1,
    };
    let reason = match reason {
        Reason::MacdCrossRsi => 0,
        Reason::BollingerBreakout => 1,
    };
    side | reason << 1
}

fn decode_kind(kind: i64) -> Option<(Side, Reason)> {
    let side = if kind & 1 == 0 { Side::Buy } else { Side::Sell };
    let reason = match kind >> 1 {
        0 => Reason::MacdCrossRsi,
        1 => Reason::BollingerBreakout,
        _ => return None,
    };
    Some((side, reason))
}

/// Query bounds above the storable maximum mean "to the end".
fn clamp_ts(ts_ns: u64) -> i64 {
    ts_ns.min(MAX_TS_NS) as i64
}

/// What `symbols.max_span` records for a chunk spanning `span` ns: the next power of two, a
/// looser bound that is still correct, so a newest chunk that grows batch by batch rewrites its
/// symbol's row only when its span doubles.
fn span_bound(span: i64) -> i64 {
    (span.max(0) as u64)
        .checked_next_power_of_two()
        .map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64)
}

fn set_span(spans: &mut Vec<Option<i64>>, symbol: SymbolId, span: i64) {
    let i = symbol as usize;
    if i >= spans.len() {
        spans.resize(i + 1, None);
    }
    spans[i] = Some(spans[i].map_or(span, |known| known.max(span)));
}

fn first_table(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let mut stmt =
        conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 1")?;
    let mut rows = stmt.query([])?;
    match rows.next()? {
        Some(row) => row.get(0).map(Some),
        None => Ok(None),
    }
}

fn newer(path: &Path, found: i64) -> StoreError {
    StoreError::NewerSchema {
        path: path.to_path_buf(),
        found,
        supported: SCHEMA_VERSION,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_round_trips_every_side_and_reason() {
        for side in [Side::Buy, Side::Sell] {
            for reason in [Reason::MacdCrossRsi, Reason::BollingerBreakout] {
                assert_eq!(decode_kind(encode_kind(side, reason)), Some((side, reason)));
            }
        }
        assert_eq!(decode_kind(9), None);
    }

    #[test]
    fn insert_sql_has_one_placeholder_per_value() {
        let sql = insert_sql("t(a, b)", 2, 3);
        assert_eq!(sql, "INSERT OR FAIL INTO t(a, b) VALUES (?,?),(?,?),(?,?)");
    }

    #[test]
    fn a_batch_that_fails_part_way_leaves_no_row_behind() {
        let mut store = SignalStore::open_in_memory().unwrap();
        let signal = |symbol: u32, i: u64| Signal {
            symbol,
            ts_ns: 1_000 + i,
            side: Side::Buy,
            strength: 0.5,
            reason: Reason::MacdCrossRsi,
        };
        store.insert_signals(&[signal(1, 0)]).unwrap();
        // Symbol 1's chunks go in first; the first chunk of symbol 2 then fails.
        store
            .conn
            .execute_batch(
                "CREATE TEMP TRIGGER refuse BEFORE INSERT ON signal_chunks WHEN NEW.symbol = 2 \
                 BEGIN SELECT RAISE(ABORT, 'refused by test'); END;",
            )
            .unwrap();
        let batch: Vec<Signal> = (1..=200).map(|i| signal(1 + (i % 2) as u32, i)).collect();
        let err = store.insert_signals(&batch).unwrap_err();
        assert!(err.to_string().contains("refused by test"), "{err}");
        assert_eq!(
            store.signal_count().unwrap(),
            1,
            "rows of the failed batch remain"
        );
        assert_eq!(store.latest(1, 10).unwrap(), vec![signal(1, 0)]);
        // The store goes on: the failed batch took no sequence numbers and no span.
        store.conn.execute_batch("DROP TRIGGER refuse").unwrap();
        store.insert_signals(&batch[..10]).unwrap();
        assert_eq!(store.signal_count().unwrap(), 11);
    }

    #[test]
    fn sorted_order_matches_a_plain_sort_ties_in_input_order() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // Small symbols (counting sort), huge ones (comparison sort), ties, time disorder,
        // already sorted, empty and single batches.
        let mut cases: Vec<Vec<(SymbolId, u64)>> = vec![vec![], vec![(3, 9)]];
        for (symbols, times) in [(8, 4), (64, 1_000_000), (u64::from(u32::MAX), 16)] {
            for n in [2, 31, 500] {
                cases.push(
                    (0..n)
                        .map(|_| ((next() % symbols) as SymbolId, next() % times))
                        .collect(),
                );
            }
        }
        cases.push((0..100).map(|i| (i / 10, u64::from(i % 10))).collect());
        cases.push((0..100).map(|i| (i % 10, u64::from(i / 10))).collect());
        for keys in cases {
            let mut expected: Vec<(SymbolId, u64, u32)> = keys
                .iter()
                .enumerate()
                .map(|(i, &(symbol, ts))| (symbol, ts, i as u32))
                .collect();
            expected.sort();
            let expected: Vec<u32> = expected.into_iter().map(|(_, _, i)| i).collect();
            assert_eq!(sorted_order(keys.len(), |i| keys[i]), expected, "{keys:?}");
        }
    }

    #[test]
    fn small_batches_fill_the_newest_chunk_instead_of_adding_chunks() {
        let mut store = SignalStore::open_in_memory().unwrap();
        let signal = |ts_ns: u64, i: usize| Signal {
            symbol: 1,
            ts_ns,
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            strength: i as f64,
            reason: Reason::BollingerBreakout,
        };
        let chunks = |store: &SignalStore| -> i64 {
            store
                .conn
                .query_row("SELECT count(*) FROM signal_chunks", [], |r| r.get(0))
                .unwrap()
        };
        // 200 one-signal batches in time order (every other timestamp repeated): 4 chunks.
        let mut all = Vec::new();
        for i in 0..200 {
            let s = signal(1_000 + i as u64 / 2, i);
            store.insert_signals(&[s]).unwrap();
            all.push(s);
        }
        assert_eq!(chunks(&store), 4);
        // A batch older than the newest chunk's end starts a chunk of its own.
        let late = [signal(1_010, 200), signal(2_000, 201)];
        store.insert_signals(&late).unwrap();
        all.extend(late);
        assert_eq!(chunks(&store), 5);
        let mut by_time = all.clone();
        by_time.sort_by_key(|s| s.ts_ns); // stable: ties in insertion order
        assert_eq!(store.range(1, 0, u64::MAX).unwrap(), by_time);
        let newest: Vec<Signal> = by_time.iter().rev().take(70).copied().collect();
        assert_eq!(store.latest(1, 70).unwrap(), newest);
        assert_eq!(store.signal_count().unwrap(), 202);
    }
}
