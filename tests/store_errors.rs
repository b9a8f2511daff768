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
