//! The journal's files: sealed segments found by name, and each file scanned record by record up
//! to the first that is torn (no newline), damaged (its CRC or a field) or out of sequence.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::record::decode;
use super::{io_err, JournalError, JournalRecord, Seq};

/// Sealed segment file name for a file whose first record is `first`.
pub(super) fn segment_name(first: Seq) -> String {
    format!("segment-{first:020}.log")
}

/// Sealed segments in `dir`, oldest first.
pub(super) fn list_segments(dir: &Path) -> Result<Vec<(Seq, PathBuf)>, JournalError> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err(dir, "list directory")(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err(dir, "list directory"))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let first = name
            .strip_prefix("segment-")
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<Seq>().ok());
        if let Some(first) = first {
            out.push((first, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

pub(super) fn read_file(path: &Path) -> Result<Vec<u8>, JournalError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_err(path, "read"))?;
    Ok(bytes)
}

/// Result of scanning one file's bytes.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// Length of the valid prefix.
    pub(super) good_len: u64,
    pub(super) records: u64,
    pub(super) first_seq: Option<Seq>,
    pub(super) last_seq: Option<Seq>,
    /// Why the scan stopped before the end, if it did.
    pub(super) problem: Option<String>,
}

/// Scans `bytes` record by record up to the first invalid one. `expect_first`, if given, is the
/// sequence number the first record must have.
pub(super) fn scan(bytes: &[u8], expect_first: Option<Seq>) -> Scan {
    scan_into(bytes, expect_first, None)
}

fn scan_into(
    bytes: &[u8],
    expect_first: Option<Seq>,
    mut out: Option<&mut Vec<JournalRecord>>,
) -> Scan {
    let mut s = Scan::default();
    let mut expected = expect_first;
    let mut pos = 0usize;
    while pos < bytes.len() {
        let Some(nl) = bytes[pos..].iter().position(|&b| b == b'\n') else {
            s.problem = Some("incomplete last record (no newline)".into());
            break;
        };
        let line = &bytes[pos..pos + nl];
        let record = match decode(line) {
            Ok(r) => r,
            Err(reason) => {
                s.problem = Some(reason.into());
                break;
            }
        };
        if let Some(exp) = expected {
            if record.seq != exp {
                s.problem = Some(format!("expected record {exp}, found {}", record.seq));
                break;
            }
        }
        expected = Some(record.seq + 1);
        s.first_seq.get_or_insert(record.seq);
        s.last_seq = Some(record.seq);
        s.records += 1;
        if let Some(out) = out.as_deref_mut() {
            out.push(record);
        }
        pos += nl + 1;
    }
    s.good_len = pos as u64;
    s
}

/// Reads a file that must be entirely valid.
pub(super) fn scan_strict(
    path: &Path,
    out: Option<&mut Vec<JournalRecord>>,
) -> Result<Scan, JournalError> {
    let bytes = read_file(path)?;
    let scan = scan_into(&bytes, None, out);
    match scan.problem {
        Some(reason) => Err(JournalError::Corrupt {
            path: path.to_path_buf(),
            offset: scan.good_len,
            reason,
        }),
        None => Ok(scan),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::journal::record::encode;
    use crate::engine::journal::record::tests::signal;

    #[test]
    fn scan_stops_at_a_sequence_break() {
        let mut buf = Vec::new();
        encode(&mut buf, 1, &signal(1));
        let first = buf.len() as u64;
        encode(&mut buf, 3, &signal(3));
        let s = scan(&buf, Some(1));
        assert_eq!((s.records, s.good_len), (1, first));
        assert!(s.problem.unwrap().contains("expected record 2"));
    }

    #[test]
    fn scan_stops_before_a_torn_or_damaged_record() {
        let mut buf = Vec::new();
        for seq in 1..=3 {
            encode(&mut buf, seq, &signal(seq));
        }
        let ends: Vec<u64> = {
            let mut at = 0;
            buf.split_inclusive(|&b| b == b'\n')
                .map(|line| {
                    at += line.len() as u64;
                    at
                })
                .collect()
        };
        let whole = scan(&buf, Some(1));
        assert_eq!(
            (whole.records, whole.good_len, whole.problem),
            (3, ends[2], None)
        );
        assert_eq!((whole.first_seq, whole.last_seq), (Some(1), Some(3)));
        // Torn anywhere inside the third record, its newline included: two records stay.
        for cut in ends[1] as usize + 1..buf.len() {
            let s = scan(&buf[..cut], Some(1));
            assert_eq!(
                (s.records, s.good_len, s.last_seq),
                (2, ends[1], Some(2)),
                "{cut}"
            );
            assert!(s.problem.unwrap().contains("incomplete"));
        }
        // A damaged second record ends the scan at the first.
        let mut bad = buf.clone();
        bad[ends[0] as usize + 2] ^= 0x04;
        let s = scan(&bad, Some(1));
        assert_eq!((s.records, s.good_len), (1, ends[0]));
        assert!(s.problem.is_some());
    }

    #[test]
    fn scan_strict_names_the_file_and_the_offset_of_a_bad_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment_name(1));
        let mut buf = Vec::new();
        encode(&mut buf, 1, &signal(1));
        let first = buf.len() as u64;
        encode(&mut buf, 2, &signal(2));
        buf.pop();
        fs::write(&path, &buf).unwrap();
        match scan_strict(&path, None) {
            Err(JournalError::Corrupt {
                path: named,
                offset,
                ..
            }) => assert_eq!((named, offset), (path, first)),
            other => panic!("a torn segment was read: {other:?}"),
        }
    }

    #[test]
    fn segments_are_listed_oldest_first_and_other_files_ignored() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            segment_name(1_000),
            segment_name(7),
            segment_name(65),
            "active.log".into(),
            "segment-x.log".into(),
            "notes.txt".into(),
        ] {
            fs::write(dir.path().join(name), b"").unwrap();
        }
        let found: Vec<Seq> = list_segments(dir.path())
            .unwrap()
            .into_iter()
            .map(|(first, path)| {
                assert_eq!(path, dir.path().join(segment_name(first)));
                first
            })
            .collect();
        assert_eq!(found, [7, 65, 1_000]);
        assert_eq!(segment_name(7), "segment-00000000000000000007.log");
        assert!(list_segments(&dir.path().join("missing"))
            .unwrap()
            .is_empty());
    }
}
