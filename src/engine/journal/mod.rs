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

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::crc32::crc32;
use super::signal::{Reason, Side, Signal};

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

/// Sealed segment file name for a file whose first record is `first`.
fn segment_name(first: Seq) -> String {
    format!("segment-{first:020}.log")
}

/// Sealed segments in `dir`, oldest first.
fn list_segments(dir: &Path) -> Result<Vec<(Seq, PathBuf)>, JournalError> {
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

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "fsync directory"))
}

fn read_file(path: &Path) -> Result<Vec<u8>, JournalError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_err(path, "read"))?;
    Ok(bytes)
}

/// Result of scanning one file's bytes.
#[derive(Debug, Default)]
struct Scan {
    /// Length of the valid prefix.
    good_len: u64,
    records: u64,
    first_seq: Option<Seq>,
    last_seq: Option<Seq>,
    /// Why the scan stopped before the end, if it did.
    problem: Option<String>,
}

/// Scans `bytes` record by record up to the first invalid one. `expect_first`, if given, is the
/// sequence number the first record must have.
fn scan(bytes: &[u8], expect_first: Option<Seq>) -> Scan {
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
fn scan_strict(path: &Path, out: Option<&mut Vec<JournalRecord>>) -> Result<Scan, JournalError> {
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

/// Appends the encoded record, newline included.
fn encode(buf: &mut Vec<u8>, seq: Seq, s: &Signal) {
    // Written in place: the buffer grows by a fixed-size room (zeroed by a few vector stores),
    // the fields go in as whole 8-byte words (digits made eight at a time in a `u64`) with a
    // cursor the compiler keeps in a register, then the buffer is cut to the record's length.
    let start = buf.len();
    buf.resize(start + RECORD_ROOM, 0);
    let room: &mut [u8; RECORD_ROOM] = (&mut buf[start..]).try_into().expect("room just made");
    let mut rec = Record {
        bytes: room,
        len: 0,
    };
    rec.decimal(seq);
    rec.byte(b' ');
    rec.decimal(u64::from(s.symbol));
    rec.byte(b' ');
    rec.decimal(s.ts_ns);
    rec.bytes(match s.side {
        Side::Buy => b" B ",
        Side::Sell => b" S ",
    });
    let bits = s.strength.to_bits();
    rec.word(hex_digits((bits >> 32) as u32), 8);
    rec.word(hex_digits(bits as u32), 8);
    let reason = reason_code(s.reason);
    debug_assert!(reason < 10, "reason codes are one digit");
    rec.bytes(&[b' ', b'0' + reason as u8, b' ']);
    let crc = crc32(rec.as_bytes());
    rec.word(hex_digits(crc), 8);
    rec.byte(b'\n');
    let len = rec.len;
    buf.truncate(start + len);
}

/// Room an encoding takes in the buffer: the longest record and the last 8-byte word's
/// overhang.
const RECORD_ROOM: usize = MAX_RECORD_BYTES + 8;

/// One record being encoded in its room: at most [`MAX_RECORD_BYTES`], which every field's
/// worst case adds up to; the room has space for the last 8-byte word written past the end.
struct Record<'a> {
    bytes: &'a mut [u8; RECORD_ROOM],
    len: usize,
}

impl Record<'_> {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) {
        self.bytes[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    /// Writes the 8 bytes of `word` (first byte lowest) and keeps the first `keep` of them.
    #[inline(always)]
    fn word(&mut self, word: u64, keep: usize) {
        self.bytes[self.len..self.len + 8].copy_from_slice(&word.to_le_bytes());
        self.len += keep;
    }

    /// Decimal, as `u64::to_string`: the number's 8-digit groups, the first without its
    /// leading zeros.
    #[inline(always)]
    fn decimal(&mut self, v: u64) {
        const E8: u64 = 100_000_000;
        let (lead, rest) = if v < E8 {
            (v, 0)
        } else if v < E8 * E8 {
            (v / E8, 1)
        } else {
            (v / (E8 * E8), 2)
        };
        let digits = eight_digits(lead as u32);
        // Leading zeros are the low zero bytes (the first in memory); keep one digit of 0.
        let zeros = (digits.trailing_zeros() / 8).min(7);
        self.word((digits >> (8 * zeros)) + ASCII_ZEROS, 8 - zeros as usize);
        if rest == 2 {
            self.word(eight_digits((v / E8 % E8) as u32) + ASCII_ZEROS, 8);
        }
        if rest >= 1 {
            self.word(eight_digits((v % E8) as u32) + ASCII_ZEROS, 8);
        }
    }
}

/// `b'0'` in every byte.
const ASCII_ZEROS: u64 = 0x3030_3030_3030_3030;

/// The eight decimal digits of `n` (< 10^8), most significant in the lowest byte, as values
/// 0-9 (add [`ASCII_ZEROS`] for text). Splits in parallel lanes, by multiplying and shifting
/// instead of dividing: into two 4-digit halves (32-bit lanes), each into two 2-digit parts
/// (16-bit lanes), each into two digits (bytes). `x * 10_486 >> 20` is `x / 100` for
/// x < 10 000 and `x * 103 >> 10` is `x / 10` for x < 100; no lane's product reaches the next.
#[inline(always)]
fn eight_digits(n: u32) -> u64 {
    debug_assert!(n < 100_000_000);
    let x = u64::from(n / 10_000) | u64::from(n % 10_000) << 32;
    let hundreds = ((x * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let x = hundreds | (x - hundreds * 100) << 16;
    let tens = ((x * 103) >> 10) & 0x000f_000f_000f_000f;
    tens | (x - tens * 10) << 8
}

/// The eight lower-case hex digits of `v`, most significant in the lowest byte, as text.
#[inline(always)]
fn hex_digits(v: u32) -> u64 {
    // Spread the nibbles to one per byte, least significant nibble in the lowest byte: one
    // PDEP where BMI2 is a compile-time target feature (as in this project's build).
    #[cfg(all(target_arch = "x86_64", target_feature = "bmi2"))]
    // SAFETY: the instruction is available: BMI2 is enabled for the whole build.
    let x = unsafe { std::arch::x86_64::_pdep_u64(u64::from(v), 0x0f0f_0f0f_0f0f_0f0f) };
    #[cfg(not(all(target_arch = "x86_64", target_feature = "bmi2")))]
    let x = spread_nibbles(v);
    // 1 in each byte whose nibble is 10 or more: those step from '9' + 1 to 'a'.
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (x + ASCII_ZEROS + letters * (b'a' - b'0' - 10) as u64).swap_bytes()
}

/// The nibbles of `v` one per byte, least significant in the lowest byte, without BMI2: three
/// shift-and-mask steps.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "bmi2"), allow(dead_code))]
#[inline(always)]
fn spread_nibbles(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | x << 16) & 0x0000_ffff_0000_ffff;
    x = (x | x << 8) & 0x00ff_00ff_00ff_00ff;
    (x | x << 4) & 0x0f0f_0f0f_0f0f_0f0f
}

/// Decodes one line (without its newline).
fn decode(line: &[u8]) -> Result<JournalRecord, &'static str> {
    if line.len() < 9 {
        return Err("record too short");
    }
    let (body, crc) = line.split_at(line.len() - 8);
    let crc = parse_hex(crc).ok_or("bad checksum field")?;
    if crc32(body) as u64 != crc {
        return Err("checksum mismatch");
    }
    let text = std::str::from_utf8(body).map_err(|_| "not UTF-8")?;
    let mut fields = text.split(' ');
    let mut next = || fields.next().ok_or("missing field");
    let seq = next()?.parse::<Seq>().map_err(|_| "bad seq")?;
    let symbol = next()?.parse::<u32>().map_err(|_| "bad symbol")?;
    let ts_ns = next()?.parse::<u64>().map_err(|_| "bad timestamp")?;
    let side = match next()? {
        "B" => Side::Buy,
        "S" => Side::Sell,
        _ => return Err("bad side"),
    };
    let strength = f64::from_bits(parse_hex(next()?.as_bytes()).ok_or("bad strength")?);
    let reason = next()?
        .parse::<u64>()
        .ok()
        .and_then(reason_from_code)
        .ok_or("bad reason")?;
    if !next()?.is_empty() {
        return Err("trailing field");
    }
    Ok(JournalRecord {
        seq,
        signal: Signal {
            symbol,
            ts_ns,
            side,
            strength,
            reason,
        },
    })
}

fn reason_code(reason: Reason) -> u64 {
    match reason {
        Reason::MacdCrossRsi => 0,
        Reason::BollingerBreakout => 1,
    }
}

fn reason_from_code(code: u64) -> Option<Reason> {
    match code {
        0 => Some(Reason::MacdCrossRsi),
        1 => Some(Reason::BollingerBreakout),
        _ => None,
    }
}

fn parse_hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        Some(acc << 4 | u64::from(d))
    })
}

#[doc(hidden)]
/// Encodes one record (for the journal bench's write ceiling, which writes the same bytes).
pub fn encode_record(buf: &mut Vec<u8>, seq: Seq, signal: &Signal) {
    encode(buf, seq, signal);
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn record_bytes_are_the_documented_format() {
        // The same line the format has always had: fields in decimal, strength as its 16 hex
        // bit digits, then the CRC-32 of everything before it as 8 hex digits.
        for i in [0u64, 1, 7, 12345, u64::MAX / 3] {
            let s = Signal {
                ts_ns: u64::MAX - i,
                ..signal(i)
            };
            let mut buf = Vec::new();
            encode(&mut buf, i + 1, &s);
            let side = if s.side == Side::Buy { "B" } else { "S" };
            let body = format!(
                "{} {} {} {side} {:016x} {} ",
                i + 1,
                s.symbol,
                s.ts_ns,
                s.strength.to_bits(),
                reason_code(s.reason)
            );
            let want = format!(
                "{body}{:08x}\n",
                crate::engine::crc32::crc32_bitwise(body.as_bytes())
            );
            assert_eq!(String::from_utf8(buf).unwrap(), want);
        }
    }

    #[test]
    fn records_round_trip_exactly() {
        for i in [0, 1, 2, 3, 12345, u64::MAX / 2] {
            let mut buf = Vec::new();
            let s = Signal {
                ts_ns: u64::MAX - i,
                symbol: u32::MAX - i as u32,
                ..signal(i)
            };
            encode(&mut buf, i + 1, &s);
            assert!(buf.len() <= MAX_RECORD_BYTES);
            assert_eq!(buf.last(), Some(&b'\n'));
            let r = decode(&buf[..buf.len() - 1]).unwrap();
            assert_eq!(r.seq, i + 1);
            assert_eq!(r.signal, s);
            assert_eq!(r.signal.strength.to_bits(), s.strength.to_bits());
        }
    }

    #[test]
    fn decode_rejects_any_flipped_byte() {
        let mut buf = Vec::new();
        encode(&mut buf, 7, &signal(7));
        let line = &buf[..buf.len() - 1];
        for i in 0..line.len() {
            let mut bad = line.to_vec();
            bad[i] ^= 0x01;
            assert!(decode(&bad).is_err(), "flip at byte {i} went unnoticed");
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

    #[test]
    fn number_formatting_matches_std() {
        let mut values = vec![0u64, 1 << 40, u64::MAX];
        // Every digit count, at its first and last value.
        for digits in 1..20 {
            let p = 10u64.pow(digits);
            values.extend([p / 10, p - 1, p, p + 1]);
        }
        for v in values {
            let (mut room, mut hex_room) = ([0; RECORD_ROOM], [0; RECORD_ROOM]);
            let mut rec = Record {
                bytes: &mut room,
                len: 0,
            };
            rec.decimal(v);
            assert_eq!(rec.as_bytes(), v.to_string().as_bytes());
            let mut hex = Record {
                bytes: &mut hex_room,
                len: 0,
            };
            hex.word(hex_digits((v >> 32) as u32), 8);
            hex.word(hex_digits(v as u32), 8);
            assert_eq!(hex.as_bytes(), format!("{v:016x}").as_bytes());
            assert_eq!(parse_hex(hex.as_bytes()), Some(v));
        }
        for n in (0..100_000_000u32).step_by(9_973).chain([99_999_999]) {
            let text = (eight_digits(n) + ASCII_ZEROS).to_le_bytes();
            assert_eq!(text, *format!("{n:08}").as_bytes(), "{n}");
        }
        for v in (0..=u32::MAX)
            .step_by(65_521)
            .chain([u32::MAX, 0xabcd_ef09])
        {
            let text = hex_digits(v).to_le_bytes();
            assert_eq!(text, *format!("{v:08x}").as_bytes(), "{v:#x}");
        }
    }
}
