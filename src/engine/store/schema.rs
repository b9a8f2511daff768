//! The schema: its tables, the version check on open, and the upgrade from version 1 (one row
//! per signal) to chunks.

use std::path::Path;

use rusqlite::Connection;

use super::chunk::{write_chunk, CHUNK_ROW_BYTES, INSERT_CHUNK};
use super::writer::RECORD_SPAN;
use super::{classify, StoreError, CHUNK_ROWS, SCHEMA_VERSION};
use crate::engine::tick::SymbolId;

/// The writer's check, inside its `IMMEDIATE` transaction: refuses a file of a newer version
/// and a version-0 file with foreign tables, then creates or upgrades the schema.
pub(super) fn check_and_upgrade(tx: &Connection, path: &Path) -> Result<(), StoreError> {
    let fail = |e| classify(path, e);
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(fail)?;
    if version > SCHEMA_VERSION {
        return Err(newer(path, version));
    }
    if version == 0 {
        if let Some(table) = first_table(tx).map_err(fail)? {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
                table,
            });
        }
    }
    migrate(tx, version).map_err(fail)
}

/// A reader's check: it never writes, so it accepts only a file of this version; an older one
/// waits for the writer to upgrade it, and a version-0 file is foreign (or empty).
pub(super) fn check_readable(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let fail = |e| classify(path, e);
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(fail)?;
    if version > SCHEMA_VERSION {
        return Err(newer(path, version));
    }
    if (1..SCHEMA_VERSION).contains(&version) {
        return Err(StoreError::OlderSchema {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < SCHEMA_VERSION {
        let table = first_table(conn).map_err(fail)?;
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
            table: table.unwrap_or_else(|| "<none>".into()),
        });
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::signal::{Reason, Side};
    use crate::engine::store::chunk::{chunk_data, chunk_rows, decode_row, encode_kind};

    fn version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn only_the_current_version_is_readable_and_only_older_ones_are_upgraded() {
        let path = Path::new("test.db");
        let conn = Connection::open_in_memory().unwrap();
        check_and_upgrade(&conn, path).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        check_readable(&conn, path).unwrap();
        // A second open finds the schema in place and changes nothing.
        check_and_upgrade(&conn, path).unwrap();

        conn.pragma_update(None, "user_version", SCHEMA_VERSION - 1)
            .unwrap();
        match check_readable(&conn, path) {
            Err(StoreError::OlderSchema {
                found, supported, ..
            }) => assert_eq!((found, supported), (SCHEMA_VERSION - 1, SCHEMA_VERSION)),
            other => panic!("a reader accepted an older schema: {other:?}"),
        }

        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        for result in [check_readable(&conn, path), check_and_upgrade(&conn, path)] {
            match result {
                Err(StoreError::NewerSchema { found, .. }) => assert_eq!(found, SCHEMA_VERSION + 1),
                other => panic!("a newer schema was not refused: {other:?}"),
            }
        }

        let foreign = Connection::open_in_memory().unwrap();
        foreign
            .execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY);")
            .unwrap();
        for result in [
            check_readable(&foreign, path),
            check_and_upgrade(&foreign, path),
        ] {
            match result {
                Err(StoreError::Foreign { table, .. }) => assert_eq!(table, "accounts"),
                other => panic!("a foreign database was taken: {other:?}"),
            }
        }
        assert_eq!(version(&foreign), 0);
    }

    #[test]
    fn version_1_rows_move_into_chunks_per_symbol_in_key_order() {
        let conn = Connection::open_in_memory().unwrap();
        // 151 rows of symbol 3 (inserted out of order, two sharing a timestamp), 2 of symbol 8.
        write_v1_schema(&conn);
        let kind = encode_kind(Side::Sell, Reason::BollingerBreakout);
        let mut rows: Vec<(SymbolId, i64, i64)> =
            (0..150).rev().map(|i| (3, 1_000 + i * 10, i)).collect();
        rows.push((3, 1_000, 150));
        rows.extend([(8, 7, 151), (8, 5, 152)]);
        for &(symbol, ts, seq) in &rows {
            conn.execute(
                "INSERT INTO signals(symbol, ts_ns, seq, kind, strength) VALUES (?1, ?2, ?3, ?4, ?5)",
                (symbol, ts, seq, kind, seq as f64),
            )
            .unwrap();
        }
        check_and_upgrade(&conn, Path::new("v1.db")).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        let signals_left: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'signals'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(signals_left, 0, "version 1's table remains");

        let mut stmt = conn
            .prepare("SELECT symbol, first_ts, last_ts, rows, data FROM signal_chunks ORDER BY id")
            .unwrap();
        let mut chunks = stmt.query([]).unwrap();
        let mut seen: Vec<(SymbolId, i64, i64)> = Vec::new();
        let mut sizes = Vec::new();
        while let Some(chunk) = chunks.next().unwrap() {
            let symbol: SymbolId = chunk.get(0).unwrap();
            let bounds: (i64, i64, usize) = (
                chunk.get(1).unwrap(),
                chunk.get(2).unwrap(),
                chunk.get::<_, i64>(3).unwrap() as usize,
            );
            let decoded: Vec<(u64, u64, _)> = chunk_rows(chunk_data(chunk, 4).unwrap())
                .unwrap()
                .map(|row| decode_row(symbol, row).unwrap())
                .collect();
            assert_eq!(decoded.len(), bounds.2);
            assert_eq!(
                (decoded[0].0 as i64, decoded[bounds.2 - 1].0 as i64),
                (bounds.0, bounds.1)
            );
            for (ts, seq, signal) in decoded {
                assert_eq!(
                    (signal.side, signal.reason),
                    (Side::Sell, Reason::BollingerBreakout)
                );
                assert_eq!(signal.strength, seq as f64);
                seen.push((symbol, ts as i64, seq as i64));
            }
            sizes.push(bounds.2);
        }
        assert_eq!(sizes, [64, 64, 23, 2]);
        let mut expected = rows.clone();
        expected.sort();
        assert_eq!(seen, expected);

        let spans: Vec<(SymbolId, i64)> = conn
            .prepare("SELECT symbol, max_span FROM symbols ORDER BY symbol")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // The widest chunk of symbol 3 holds 64 rows 10 ns apart.
        assert_eq!(spans, [(3, 630), (8, 2)]);
    }

    /// The schema version 1 wrote (one row per signal).
    fn write_v1_schema(conn: &Connection) {
        conn.execute_batch(
            "CREATE TABLE signals (symbol INTEGER NOT NULL, ts_ns INTEGER NOT NULL,
                 seq INTEGER NOT NULL, kind INTEGER NOT NULL, strength REAL NOT NULL,
                 PRIMARY KEY (symbol, ts_ns, seq)) WITHOUT ROWID;
             CREATE TABLE ticks (symbol INTEGER NOT NULL, ts_ns INTEGER NOT NULL,
                 seq INTEGER NOT NULL, price REAL NOT NULL, size INTEGER NOT NULL,
                 PRIMARY KEY (symbol, ts_ns, seq)) WITHOUT ROWID;
             CREATE TABLE symbols (symbol INTEGER PRIMARY KEY);
             CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
             INSERT INTO meta(key, value) VALUES ('next_seq', 153);
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
}
