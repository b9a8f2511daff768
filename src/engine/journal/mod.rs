//! The durable rotating journal: an append-only, line-per-record log of signals.
//!
//! # Files
//!
//! A journal is a directory holding `active.log`, the file being appended to, and sealed
//! segments `segment-<first seq, 20 digits>.log`, oldest first by name. Rotation happens at a
//! record boundary once the active file would pass `max_file_bytes`: write out the buffer,
//! `fdatasync` the file, rename it to its segment name (same directory, so the rename is
//! atomic), create a new `active.log`, `fsync` the directory (makes both names durable), then
//! delete the oldest segments beyond `retention`.
//!
//! # Records
//!
//! ```text
//! <seq> <symbol> <ts_ns> <B|S> <strength: 16 hex digits of the f64 bits> <reason> <crc32: 8 hex>\n
//! 42 7 1700000000000000000 B 3fe8000000000000 0 1c291ca3
//! ```
//!
//! Decimal integers, the strength's exact IEEE-754 bits in hex (so it round-trips and costs no
//! float formatting), and a CRC-32 (IEEE) of everything before it on the line. Sequence numbers
//! start at 1 and go up by one across files, so a lost or duplicated record shows as a gap.
//!
//! # Durability
//!
//! Appends go to an in-process buffer that is written out in whole [`WRITE_CHUNK`]-byte pieces
//! (so a record may straddle two `write` calls, and a crash can leave half a record on disk).
//! [`SyncPolicy`] decides when the buffer is written and `fdatasync`ed; [`Journal::durable_seq`]
//! is the newest record such a sync covered, the only ones a caller may treat as safe. A crash
//! can lose records after it, never records before it.
//!
//! On [`Journal::open`], the active file is scanned: at the first record that is incomplete
//! (no newline), fails its CRC or breaks the sequence, the file is cut and synced, and the
//! [`RecoveryReport`] says how many bytes went. Sealed segments were synced before their rename,
//! so they are only read, never cut; [`read_all`] checks every record of every file.
//!
//! One process at a time may write a journal directory (not enforced).
//!
//! # Parts
//!
//! - `mod.rs` (here): opening and recovery, appends, syncs, rotation, pruning, reading back;
//! - `segment.rs`: the files (segment names) and scanning a file's records, where a torn,
//!   damaged or out-of-sequence record is found;
//! - `record.rs`: one record's encoding and decoding.

mod record;
mod segment;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::signal::Signal;
use record::{encode, RECORD_ROOM};
use segment::{list_segments, read_file, scan, scan_strict, segment_name};

/// Sequence number of a journal record; the first record is 1.
pub type Seq = u64;

/// Name of the file being appended to.
pub const ACTIVE_FILE: &str = "active.log";

/// The buffer is written out in pieces of this many bytes (the remainder waits for a sync).
pub const WRITE_CHUNK: usize = 64 * 1024;

/// Once this many written bytes are not yet on their way to disk, the journal asks the kernel to
/// start writing them back (`sync_file_range(SYNC_FILE_RANGE_WRITE)` on Linux; it does not wait),
/// so a later fdatasync, above all the one at rotation, finds little left to do. RocksDB's
/// `bytes_per_sync` does the same.
pub const WRITEBACK_BYTES: u64 = 1 << 20;

/// Longest possible encoded record, in bytes.
pub const MAX_RECORD_BYTES: usize = 20 + 1 + 10 + 1 + 20 + 1 + 1 + 1 + 16 + 1 + 3 + 1 + 8 + 1;

/// When appended records are written out and `fdatasync`ed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPolicy {
    /// After every record: each `append` returns durable (one `fdatasync` each).
    EveryRecord,
    /// After every `n`-th record.
    EveryN(u32),
    /// On the first append at least this many milliseconds after the previous sync (checked at
    /// append time; no background thread, so a quiet journal syncs at its next append or
    /// [`Journal::sync`]).
    EveryMillis(u64),
    /// Only when a file is rotated (and on [`Journal::sync`] / [`Journal::close`]).
    OnRotation,
}

/// How a journal rotates, prunes and syncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalConfig {
    /// Rotate before a record would make the active file larger than this (a file always holds
    /// at least one record). Must be > 0.
    pub max_file_bytes: u64,
    /// Number of sealed segments kept; older ones are deleted after each rotation.
    pub retention: usize,
    /// When records become durable.
    pub sync: SyncPolicy,
}

impl Default for JournalConfig {
    /// 64 MiB files, 8 segments kept, a sync at least every 10 ms.
    fn default() -> Self {
        Self {
            max_file_bytes: 64 << 20,
            retention: 8,
            sync: SyncPolicy::EveryMillis(10),
        }
    }
}

/// What [`Journal::open`] found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Bytes cut from the end of the active file (a torn or damaged last record, and anything
    /// after it); 0 after a clean shutdown.
    pub bytes_cut: u64,
    /// Byte offset in the active file where the cut began, if there was one.
    pub cut_at: Option<u64>,
    /// Complete records kept in the active file.
    pub active_records: u64,
    /// Sequence number of the newest record in the journal, if any.
    pub last_seq: Option<Seq>,
}

/// One record read back from the journal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JournalRecord {
    /// Its sequence number.
    pub seq: Seq,
    /// The signal.
    pub signal: Signal,
}

/// What went wrong, naming the file or directory.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An I/O call failed.
    #[error("journal {}: {action}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// A record in a sealed segment (or, for [`read_all`], anywhere) is damaged.
    #[error("journal {}: bad record at byte {offset}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// Sequence numbers skip or repeat between or within files.
    #[error("journal {}: expected record {expected}, found {found}", path.display())]
    Sequence {
        /// The file holding the unexpected record.
        path: PathBuf,
        /// The sequence number that should have come next.
        expected: Seq,
        /// The one found.
        found: Seq,
    },
    /// The configuration cannot work.
    #[error("journal {}: invalid configuration: {reason}", path.display())]
    Config {
        /// The journal directory.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
}

fn io_err<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(io::Error) -> JournalError + 'a {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// An open journal: appends, rotates and syncs. Writes out (without syncing) what is buffered
/// when dropped; use [`Journal::close`] to make everything durable.
pub struct Journal {
    dir: PathBuf,
    active_path: PathBuf,
    config: JournalConfig,
    file: File,
    buf: Vec<u8>,
    /// Bytes of the active file, written and buffered.
    file_bytes: u64,
    /// Sequence number of the first record in the active file (or the next one, if empty).
    active_first: Seq,
    next_seq: Seq,
    durable_seq: Seq,
    /// File offset up to which writeback has been started.
    writeback_from: u64,
    unsynced: u32,
    last_sync: Instant,
}

impl Journal {
    /// Opens (creating it if needed) the journal in `dir`, repairing a torn active file.
    pub fn open(
        dir: impl AsRef<Path>,
        config: JournalConfig,
    ) -> Result<(Self, RecoveryReport), JournalError> {
        let dir = dir.as_ref().to_path_buf();
        if config.max_file_bytes == 0 {
            return Err(JournalError::Config {
                path: dir,
                reason: "max_file_bytes must be greater than 0",
            });
        }
        if matches!(config.sync, SyncPolicy::EveryN(0)) {
            return Err(JournalError::Config {
                path: dir,
                reason: "SyncPolicy::EveryN needs n > 0",
            });
        }
        fs::create_dir_all(&dir).map_err(io_err(&dir, "create directory"))?;
        let segments = list_segments(&dir)?;
        let mut last_seq = match segments.last() {
            Some((_, path)) => scan_strict(path, None)?.last_seq,
            None => None,
        };

        let active_path = dir.join(ACTIVE_FILE);
        let mut report = RecoveryReport::default();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&active_path)
            .map_err(io_err(&active_path, "open"))?;
        let bytes = read_file(&active_path)?;
        let scan = scan(&bytes, None);
        if let (Some(last), Some(first)) = (last_seq, scan.first_seq) {
            // Not a torn tail: the files disagree, and cutting would throw good records away.
            if first != last + 1 {
                return Err(JournalError::Sequence {
                    path: active_path,
                    expected: last + 1,
                    found: first,
                });
            }
        }
        if scan.good_len < bytes.len() as u64 {
            file.set_len(scan.good_len)
                .map_err(io_err(&active_path, "cut torn tail"))?;
            report.bytes_cut = bytes.len() as u64 - scan.good_len;
            report.cut_at = Some(scan.good_len);
        }
        // What survived the crash may still sit only in the page cache: make it durable before
        // counting it as such.
        file.sync_all()
            .map_err(io_err(&active_path, "fsync after recovery"))?;
        if scan.first_seq.is_some() {
            last_seq = scan.last_seq;
        }
        report.active_records = scan.records;
        report.last_seq = last_seq;
        let next_seq = last_seq.map_or(1, |s| s + 1);
        let journal = Self {
            active_path,
            config,
            file,
            buf: Vec::with_capacity(WRITE_CHUNK + RECORD_ROOM),
            file_bytes: scan.good_len,
            active_first: scan.first_seq.unwrap_or(next_seq),
            next_seq,
            durable_seq: next_seq - 1,
            writeback_from: scan.good_len,
            unsynced: 0,
            last_sync: Instant::now(),
            dir,
        };
        // Make the (possibly new) active file's name durable before acknowledging anything.
        sync_dir(&journal.dir)?;
        Ok((journal, report))
    }

    /// Appends one record and returns its sequence number; it is durable once
    /// [`Journal::durable_seq`] reaches it (at once under [`SyncPolicy::EveryRecord`]).
    pub fn append(&mut self, signal: &Signal) -> Result<Seq, JournalError> {
        let seq = self.next_seq;
        let start = self.buf.len();
        encode(&mut self.buf, seq, signal);
        let len = (self.buf.len() - start) as u64;
        if self.file_bytes > 0 && self.file_bytes + len > self.config.max_file_bytes {
            self.rotate(start)?;
        }
        self.file_bytes += len;
        self.next_seq += 1;
        if self.buf.len() >= WRITE_CHUNK {
            self.file
                .write_all(&self.buf[..WRITE_CHUNK])
                .map_err(io_err(&self.active_path, "write"))?;
            self.buf.drain(..WRITE_CHUNK);
            self.start_writeback();
        }
        match self.config.sync {
            SyncPolicy::EveryRecord => self.sync()?,
            SyncPolicy::EveryN(n) => {
                self.unsynced += 1;
                if self.unsynced >= n {
                    self.sync()?;
                }
            }
            SyncPolicy::EveryMillis(ms) => {
                if self.last_sync.elapsed() >= Duration::from_millis(ms) {
                    self.sync()?;
                }
            }
            SyncPolicy::OnRotation => {}
        }
        Ok(seq)
    }

    /// Writes out the buffer and `fdatasync`s the active file: every appended record is durable.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.write_buffered(self.buf.len())?;
        self.file
            .sync_data()
            .map_err(io_err(&self.active_path, "fdatasync"))?;
        self.durable_seq = self.next_seq - 1;
        self.unsynced = 0;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// The newest record a completed sync covers (0 if none): records up to here survive a
    /// crash of the process or the machine.
    pub fn durable_seq(&self) -> Seq {
        self.durable_seq
    }

    /// Sequence number the next [`Journal::append`] will get.
    pub fn next_seq(&self) -> Seq {
        self.next_seq
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Syncs everything and closes the journal.
    pub fn close(mut self) -> Result<(), JournalError> {
        self.sync()
    }

    /// Seals the active file and starts a new one; the first `keep` buffered bytes belong to the
    /// old file, the rest to the new one.
    fn rotate(&mut self, keep: usize) -> Result<(), JournalError> {
        self.write_buffered(keep)?;
        self.file
            .sync_data()
            .map_err(io_err(&self.active_path, "fdatasync before rotation"))?;
        let sealed = self.dir.join(segment_name(self.active_first));
        fs::rename(&self.active_path, &sealed).map_err(io_err(&sealed, "rename active file"))?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.active_path)
            .map_err(io_err(&self.active_path, "create"))?;
        sync_dir(&self.dir)?;
        // Everything before the record being appended is now in a synced, sealed file.
        self.durable_seq = self.next_seq - 1;
        self.unsynced = 0;
        self.last_sync = Instant::now();
        self.active_first = self.next_seq;
        self.file_bytes = 0;
        self.writeback_from = 0;
        self.prune()
    }

    fn prune(&self) -> Result<(), JournalError> {
        let segments = list_segments(&self.dir)?;
        let excess = segments.len().saturating_sub(self.config.retention);
        for (_, path) in &segments[..excess] {
            fs::remove_file(path).map_err(io_err(path, "delete old segment"))?;
        }
        Ok(())
    }

    /// Starts writeback of the written bytes once [`WRITEBACK_BYTES`] have piled up. A hint:
    /// failure changes nothing but speed, so it is ignored.
    fn start_writeback(&mut self) {
        let written = self.file_bytes - self.buf.len() as u64;
        if written - self.writeback_from < WRITEBACK_BYTES {
            return;
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: a plain syscall on a file descriptor this journal owns; no memory is shared.
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    self.writeback_from as libc::off64_t,
                    (written - self.writeback_from) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
        }
        self.writeback_from = written;
    }

    /// Writes the first `n` buffered bytes to the file.
    fn write_buffered(&mut self, n: usize) -> Result<(), JournalError> {
        if n > 0 {
            self.file
                .write_all(&self.buf[..n])
                .map_err(io_err(&self.active_path, "write"))?;
            self.buf.drain(..n);
        }
        Ok(())
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Best effort, like BufWriter: what is not written here is lost, and was never durable.
        let _ = self.file.write_all(&self.buf);
    }
}

/// Reads every record of the journal in `dir`, oldest first, checking each record's CRC and that
/// sequence numbers go up by one across all files. A torn active file is an error here; open
/// the journal first to repair it.
pub fn read_all(dir: impl AsRef<Path>) -> Result<Vec<JournalRecord>, JournalError> {
    let dir = dir.as_ref();
    let mut files: Vec<PathBuf> = list_segments(dir)?.into_iter().map(|(_, p)| p).collect();
    let active = dir.join(ACTIVE_FILE);
    if active.exists() {
        files.push(active);
    }
    let mut out = Vec::new();
    let mut expected: Option<Seq> = None;
    for path in files {
        let mut records = Vec::new();
        let scan = scan_strict(&path, Some(&mut records))?;
        if let (Some(exp), Some(first)) = (expected, scan.first_seq) {
            if first != exp {
                return Err(JournalError::Sequence {
                    path,
                    expected: exp,
                    found: first,
                });
            }
        }
        if let Some(last) = scan.last_seq {
            expected = Some(last + 1);
        }
        out.extend(records);
    }
    Ok(out)
}

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "fsync directory"))
}

#[doc(hidden)]
/// Encodes one record (for the journal bench's write ceiling, which writes the same bytes).
pub fn encode_record(buf: &mut Vec<u8>, seq: Seq, signal: &Signal) {
    encode(buf, seq, signal);
}
