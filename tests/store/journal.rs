//! The journal: round trips, rotation and retention, the sync policies' durable point, torn-tail
//! repair, and the errors for damage it must not repair.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use tickbench::engine::journal::{
    read_all, Journal, JournalConfig, JournalError, SyncPolicy, ACTIVE_FILE,
};
use tickbench::engine::signal::{Reason, Side, Signal};

fn signal(i: u64) -> Signal {
    Signal {
        symbol: (i % 13) as u32,
        ts_ns: 1_700_000_000_000_000_000 + i * 1_000,
        side: if i % 3 == 0 { Side::Sell } else { Side::Buy },
        strength: (i % 1000) as f64 / 999.0,
        reason: if i % 2 == 0 {
            Reason::MacdCrossRsi
        } else {
            Reason::BollingerBreakout
        },
    }
}

fn config(max_file_bytes: u64, retention: usize, sync: SyncPolicy) -> JournalConfig {
    JournalConfig {
        max_file_bytes,
        retention,
        sync,
    }
}

fn segments(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("segment-"))
        .collect();
    names.sort();
    names
}

#[test]
fn records_come_back_in_order_across_rotations_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(1_000, 1_000, SyncPolicy::EveryN(10));
    let mut next = 1;
    for _ in 0..3 {
        let (mut j, report) = Journal::open(dir.path(), cfg).unwrap();
        assert_eq!(report.bytes_cut, 0);
        assert_eq!(report.last_seq, (next > 1).then(|| next - 1));
        for _ in 0..100 {
            assert_eq!(j.append(&signal(next)).unwrap(), next);
            next += 1;
        }
        j.close().unwrap();
    }
    let records = read_all(dir.path()).unwrap();
    assert_eq!(records.len(), 300);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1);
        assert_eq!(r.signal, signal(r.seq));
    }
    // Every file stays within the limit and segments are named by their first record.
    let names = segments(dir.path());
    assert!(names.len() > 10, "{names:?}");
    for name in &names {
        assert!(std::fs::metadata(dir.path().join(name)).unwrap().len() <= 1_000);
    }
    assert_eq!(names[0], "segment-00000000000000000001.log");
}

#[test]
fn retention_keeps_only_the_newest_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path(), config(500, 2, SyncPolicy::OnRotation)).unwrap();
    for i in 1..=200 {
        j.append(&signal(i)).unwrap();
    }
    j.close().unwrap();
    assert_eq!(segments(dir.path()).len(), 2);
    let records = read_all(dir.path()).unwrap();
    let last = records.last().unwrap().seq;
    assert_eq!(last, 200);
    // What is left is contiguous and ends at the newest record.
    assert_eq!(records.len() as u64, last - records[0].seq + 1);
    assert!(records[0].seq > 1);
}

#[test]
fn durable_seq_follows_each_policy() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) =
        Journal::open(dir.path(), config(1 << 20, 4, SyncPolicy::EveryRecord)).unwrap();
    assert_eq!(j.durable_seq(), 0);
    j.append(&signal(1)).unwrap();
    assert_eq!(j.durable_seq(), 1);
    drop(j);

    let (mut j, _) = Journal::open(dir.path(), config(1 << 20, 4, SyncPolicy::EveryN(3))).unwrap();
    assert_eq!(j.durable_seq(), 1);
    j.append(&signal(2)).unwrap();
    j.append(&signal(3)).unwrap();
    assert_eq!(j.durable_seq(), 1);
    j.append(&signal(4)).unwrap();
    assert_eq!(j.durable_seq(), 4);
    drop(j);

    let (mut j, _) = Journal::open(dir.path(), config(1 << 20, 4, SyncPolicy::OnRotation)).unwrap();
    j.append(&signal(5)).unwrap();
    assert_eq!(j.durable_seq(), 4);
    j.sync().unwrap();
    assert_eq!(j.durable_seq(), 5);
    drop(j);

    let (mut j, _) =
        Journal::open(dir.path(), config(1 << 20, 4, SyncPolicy::EveryMillis(20))).unwrap();
    j.append(&signal(6)).unwrap();
    assert_eq!(j.durable_seq(), 5, "synced before 20 ms had passed");
    std::thread::sleep(std::time::Duration::from_millis(25));
    j.append(&signal(7)).unwrap();
    assert_eq!(j.durable_seq(), 7);
    drop(j);

    // Rotation makes everything before the rotating record durable.
    let (mut j, _) = Journal::open(dir.path(), config(300, 4, SyncPolicy::OnRotation)).unwrap();
    let mut seq = 7;
    while segments(dir.path()).len() < 2 {
        seq = j.append(&signal(seq + 1)).unwrap();
    }
    assert_eq!(j.durable_seq(), seq - 1);
}

/// Writes `n` records and returns the active file's bytes.
fn journal_with(dir: &Path, n: u64) -> Vec<u8> {
    let (mut j, _) = Journal::open(dir, config(1 << 20, 4, SyncPolicy::OnRotation)).unwrap();
    for i in 1..=n {
        j.append(&signal(i)).unwrap();
    }
    j.close().unwrap();
    std::fs::read(dir.join(ACTIVE_FILE)).unwrap()
}

#[test]
fn a_tail_torn_at_any_byte_is_cut_back_to_the_last_whole_record() {
    let dir = tempfile::tempdir().unwrap();
    let full = journal_with(dir.path(), 3);
    let ends: Vec<usize> = full
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    for cut in 0..=full.len() {
        let case = tempfile::tempdir().unwrap();
        std::fs::write(case.path().join(ACTIVE_FILE), &full[..cut]).unwrap();
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        let good = ends.get(whole.wrapping_sub(1)).copied().unwrap_or(0);
        let (mut j, report) =
            Journal::open(case.path(), config(1 << 20, 4, SyncPolicy::EveryRecord)).unwrap();
        assert_eq!(report.bytes_cut, (cut - good) as u64, "cut at {cut}");
        assert_eq!(report.active_records, whole as u64);
        assert_eq!(
            j.append(&signal(whole as u64 + 1)).unwrap(),
            whole as u64 + 1
        );
        drop(j);
        let records = read_all(case.path()).unwrap();
        assert_eq!(records.len(), whole + 1, "cut at {cut}");
    }
}

#[test]
fn a_damaged_last_record_is_cut_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let full = journal_with(dir.path(), 5);
    let active = dir.path().join(ACTIVE_FILE);
    // A full-length line whose checksum no longer matches, plus trailing zeroes (what a power
    // loss can leave after an extended file size).
    let mut damaged = full.clone();
    let at = damaged.len() - 10;
    damaged[at] = if damaged[at] == b'0' { b'1' } else { b'0' };
    damaged.extend_from_slice(&[0u8; 100]);
    std::fs::write(&active, &damaged).unwrap();
    assert!(read_all(dir.path()).is_err(), "read_all must not accept it");
    let last_line = full[..full.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let (_, report) =
        Journal::open(dir.path(), config(1 << 20, 4, SyncPolicy::EveryRecord)).unwrap();
    assert_eq!(report.cut_at, Some(last_line as u64));
    assert_eq!(report.bytes_cut, (damaged.len() - last_line) as u64);
    assert_eq!(report.last_seq, Some(4));
    assert_eq!(std::fs::read(&active).unwrap(), full[..last_line]);
}

#[test]
fn read_all_reports_a_gap_between_files() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path(), config(400, 100, SyncPolicy::OnRotation)).unwrap();
    for i in 1..=60 {
        j.append(&signal(i)).unwrap();
    }
    j.close().unwrap();
    let names = segments(dir.path());
    assert!(names.len() >= 3);
    std::fs::remove_file(dir.path().join(&names[1])).unwrap();
    let err = read_all(dir.path()).expect_err("a missing segment must be noticed");
    assert!(matches!(err, JournalError::Sequence { .. }), "{err}");
    assert!(err.to_string().contains(&names[2]), "{err}");
}

#[test]
fn a_damaged_sealed_segment_is_an_error_not_a_silent_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path(), config(400, 100, SyncPolicy::OnRotation)).unwrap();
    for i in 1..=30 {
        j.append(&signal(i)).unwrap();
    }
    j.close().unwrap();
    let newest = dir.path().join(segments(dir.path()).pop().unwrap());
    let before = std::fs::read(&newest).unwrap();
    let mut f = OpenOptions::new().append(true).open(&newest).unwrap();
    f.write_all(b"garbage\n").unwrap();
    drop(f);
    let err = Journal::open(dir.path(), config(400, 100, SyncPolicy::OnRotation))
        .err()
        .expect("must fail");
    assert!(matches!(err, JournalError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().contains(&newest.display().to_string()),
        "{err}"
    );
    let mut expected = before;
    expected.extend_from_slice(b"garbage\n");
    assert_eq!(
        std::fs::read(&newest).unwrap(),
        expected,
        "sealed file was modified"
    );
}

#[test]
fn an_active_file_that_does_not_follow_the_segments_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut j, _) = Journal::open(dir.path(), config(400, 100, SyncPolicy::OnRotation)).unwrap();
    for i in 1..=30 {
        j.append(&signal(i)).unwrap();
    }
    j.close().unwrap();
    // Replace the active file with one that starts at record 1 again.
    let other = tempfile::tempdir().unwrap();
    let bytes = journal_with(other.path(), 2);
    std::fs::write(dir.path().join(ACTIVE_FILE), &bytes).unwrap();
    let err = Journal::open(dir.path(), config(400, 100, SyncPolicy::OnRotation))
        .err()
        .expect("must fail");
    assert!(matches!(err, JournalError::Sequence { .. }), "{err}");
    assert_eq!(std::fs::read(dir.path().join(ACTIVE_FILE)).unwrap(), bytes);
}

#[test]
fn bad_configuration_and_bad_directories_are_errors_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = Journal::open(dir.path(), config(0, 1, SyncPolicy::OnRotation))
        .err()
        .unwrap();
    assert!(err.to_string().contains("max_file_bytes"), "{err}");
    let err = Journal::open(dir.path(), config(100, 1, SyncPolicy::EveryN(0)))
        .err()
        .unwrap();
    assert!(err.to_string().contains("EveryN"), "{err}");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = Journal::open(&file, JournalConfig::default())
        .err()
        .unwrap();
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
}
