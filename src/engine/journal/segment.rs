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
    use crate::engine::signal::{Reason, Side, Signal};

    fn signal(i: u64) -> Signal {
        Signal {
            symbol: (i % 7) as u32,
            ts_ns: 1_700_000_000_000_000_000 + i,
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            strength: i as f64 / 3.0,
            reason: if i % 3 == 0 {
                Reason::MacdCrossRsi
            } else {
                Reason::BollingerBreakout
            },
        }
    }

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
}
