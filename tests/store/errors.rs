//! Bad inputs to the signal store: each gives an error naming the file, and nothing is
//! overwritten.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tickbench::engine::signal::{Reason, Side, Signal};
use tickbench::engine::store::{SignalStore, StoreError, MAX_TS_NS, SCHEMA_VERSION};

fn message_names(err: &StoreError, path: &Path) -> String {
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "error does not name {}: {msg}",
        path.display()
    );
    msg
}

#[test]
fn a_missing_directory_is_an_open_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("signals.db");
    let err = SignalStore::open(&path).err().expect("must fail");
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    message_names(&err, &path);
    assert!(!path.exists());
}

#[test]
fn a_directory_as_the_path_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = SignalStore::open(dir.path()).err().expect("must fail");
    message_names(&err, dir.path());
}

#[test]
fn a_read_only_directory_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permission bits; then use a directory no one may create files in.
    let target = if std::fs::write(ro.join("probe"), b"").is_ok() {
        Path::new("/sys").to_path_buf()
    } else {
        ro.clone()
    };
    let path = target.join("signals.db");
    let err = SignalStore::open(&path).err().expect("must fail");
    message_names(&err, &path);
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_corrupt_file_is_reported_as_such_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signals.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = SignalStore::open(&path).err().expect("must fail");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(message_names(&err, &path).contains("corrupt"));
    let err = SignalStore::open_reader(&path).err().expect("must fail");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn a_newer_schema_version_is_refused_with_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signals.db");
    drop(SignalStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    for err in [
        SignalStore::open(&path).err().expect("must fail"),
        SignalStore::open_reader(&path).err().expect("must fail"),
    ] {
        assert!(matches!(err, StoreError::NewerSchema { .. }), "{err:?}");
        let msg = message_names(&err, &path);
        assert!(
            msg.contains(&format!("version {}", SCHEMA_VERSION + 1)),
            "{msg}"
        );
    }
}

#[test]
fn someone_elses_sqlite_database_is_not_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY);")
        .unwrap();
    drop(conn);
    let err = SignalStore::open(&path).err().expect("must fail");
    assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    assert!(message_names(&err, &path).contains("accounts"));
    let conn = rusqlite::Connection::open(&path).unwrap();
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1, "the store must not add its tables");
}

#[test]
fn a_reader_on_a_missing_file_fails_without_creating_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    let err = SignalStore::open_reader(&path).err().expect("must fail");
    message_names(&err, &path);
    assert!(!path.exists());
}

#[test]
fn an_unstorable_timestamp_rejects_the_whole_batch() {
    let mut store = SignalStore::open_in_memory().unwrap();
    let ok = Signal {
        symbol: 1,
        ts_ns: 10,
        side: Side::Buy,
        strength: 0.1,
        reason: Reason::MacdCrossRsi,
    };
    let bad = Signal {
        ts_ns: MAX_TS_NS + 1,
        ..ok
    };
    let err = store.insert_signals(&[ok, bad]).expect_err("must fail");
    assert!(matches!(err, StoreError::TimestampRange { .. }), "{err:?}");
    assert_eq!(store.signal_count().unwrap(), 0);
}

/// A version 1 store (one row per signal), as tickbench wrote it before chunks.
fn write_v1_store(path: &Path, rows: &[(u32, i64, i64, i64, f64)]) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE signals (symbol INTEGER NOT NULL, ts_ns INTEGER NOT NULL,
             seq INTEGER NOT NULL, kind INTEGER NOT NULL, strength REAL NOT NULL,
             PRIMARY KEY (symbol, ts_ns, seq)) WITHOUT ROWID;
         CREATE TABLE ticks (symbol INTEGER NOT NULL, ts_ns INTEGER NOT NULL,
             seq INTEGER NOT NULL, price REAL NOT NULL, size INTEGER NOT NULL,
             PRIMARY KEY (symbol, ts_ns, seq)) WITHOUT ROWID;
         CREATE TABLE symbols (symbol INTEGER PRIMARY KEY);
         CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    for &(symbol, ts, seq, kind, strength) in rows {
        conn.execute(
            "INSERT INTO signals VALUES (?1, ?2, ?3, ?4, ?5)",
            (symbol, ts, seq, kind, strength),
        )
        .unwrap();
        conn.execute("INSERT OR IGNORE INTO symbols VALUES (?1)", [symbol])
            .unwrap();
    }
    let next = rows.iter().map(|r| r.2 + 1).max().unwrap_or(0);
    conn.execute("INSERT INTO meta VALUES ('next_seq', ?1)", [next])
        .unwrap();
}

#[test]
fn a_version_1_store_is_upgraded_on_open_and_readers_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signals.db");
    // 150 rows of symbol 3 (three chunks), one of symbol 9; kinds: side | reason << 1.
    let mut rows: Vec<(u32, i64, i64, i64, f64)> = (0..150)
        .map(|i| (3, 1_000 + i / 2, i, i % 4, i as f64 / 256.0))
        .collect();
    rows.push((9, 7, 150, 1, 0.25));
    write_v1_store(&path, &rows);

    let err = SignalStore::open_reader(&path).err().expect("must fail");
    assert!(
        matches!(err, StoreError::OlderSchema { found: 1, .. }),
        "{err:?}"
    );
    message_names(&err, &path);

    let mut store = SignalStore::open(&path).unwrap();
    assert_eq!(store.signal_count().unwrap(), 151);
    let decoded = |&(_, ts, _, kind, strength): &(u32, i64, i64, i64, f64)| Signal {
        symbol: 3,
        ts_ns: ts as u64,
        side: if kind & 1 == 0 { Side::Buy } else { Side::Sell },
        strength,
        reason: if kind >> 1 == 0 {
            Reason::MacdCrossRsi
        } else {
            Reason::BollingerBreakout
        },
    };
    let all: Vec<Signal> = rows[..150].iter().map(decoded).collect();
    assert_eq!(store.range(3, 0, u64::MAX).unwrap(), all);
    let newest: Vec<Signal> = all.iter().rev().take(5).copied().collect();
    assert_eq!(store.latest(3, 5).unwrap(), newest);
    assert_eq!(store.latest(9, 5).unwrap().len(), 1);
    // New batches continue the sequence after the moved rows, and readers now open.
    let late = Signal {
        symbol: 3,
        ts_ns: 1_074,
        ..all[0]
    };
    store.insert_signals(&[late]).unwrap();
    assert_eq!(store.latest(3, 1).unwrap(), vec![late]);
    drop(store);
    let reader = SignalStore::open_reader(&path).unwrap();
    assert_eq!(reader.latest(3, 1).unwrap(), vec![late]);
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn a_damaged_signal_chunk_is_reported_as_corrupt_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signals.db");
    let mut store = SignalStore::open(&path).unwrap();
    let signal = Signal {
        symbol: 4,
        ts_ns: 1_000,
        side: Side::Buy,
        strength: 0.5,
        reason: Reason::MacdCrossRsi,
    };
    store.insert_signals(&[signal]).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    for damage in [
        "UPDATE signal_chunks SET data = substr(data, 1, 24)",
        // A kind no version writes (9), in a row of the right length.
        "UPDATE signal_chunks SET data = x'00000000000000000000000000000000090000000000000000'",
        "UPDATE signal_chunks SET data = 'text'",
    ] {
        conn.execute_batch(damage).unwrap();
        for err in [
            store.latest(4, 1).expect_err("must fail"),
            store.range(4, 0, u64::MAX).expect_err("must fail"),
            store.aggregates(0, u64::MAX).expect_err("must fail"),
        ] {
            assert!(
                matches!(err, StoreError::Corrupt { .. }),
                "{damage}: {err:?}"
            );
            message_names(&err, &path);
        }
    }
}
