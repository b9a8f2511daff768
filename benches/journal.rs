//! The durable rotating journal (`tickbench::engine::journal`): append throughput under each sync
//! policy, the cost of one rotation, and a plain buffered write of the same bytes as the ceiling.
//!
//! Why: the journal is the engine's crash-safe record of every signal; its policy trades
//! throughput for how much a crash may lose. The ceiling says how close to the file system's
//! buffered write speed the journal gets (its formatting, checksums, rotation and syncs are the
//! difference).
//!
//! Groups (stable names, the keys of stored baselines):
//! - `journal_append/<policy>`: one `append` per iteration into a journal with 64 MiB files and
//!   2 segments kept; `every_record`, `every_n/64`, `every_millis/10`, `on_rotation` (the
//!   rotation's fsync is included, amortised). Elements and bytes per second.
//! - `journal_append/write_all_ceiling`: `write_all` of the same encoded records, one call per
//!   record, through a `BufWriter` with the journal's 64 KiB buffer into a file that is replaced
//!   (not synced) every 64 MiB, like the journal's rotation without its fsync. Its dirty pages
//!   are dropped with the file before writeback, so this is the page cache's speed.
//! - `journal_append/write_all_durable_ceiling`: the same, but each 64 MiB file ends with one
//!   fdatasync, the durability `on_rotation` gives: the file system's own buffered write path to
//!   disk, without the journal's format, checksums, rename and directory sync. Read its mean,
//!   not its median: the fdatasync lands in a few outlier samples, so the medians of the two
//!   ceilings look alike (27–35 ns on this project's 2-core VM) while total time over 3 M
//!   records is not (25–30 ns against 47–52 ns per record; `docs/measurements/`).
//! - `journal_rotation/rotate/256KiB`: the one append that seals a 256 KiB file: write out,
//!   fdatasync, rename, create, fsync the directory, prune. Filling the file is not timed.
//! - `journal_file/<case>/64MiB`: one iteration is one whole 64 MiB file, so each file's sync
//!   is inside the timed work instead of in a few outlier samples: `on_rotation` (the journal
//!   from one rotation to the next, its fsync, rename and directory sync included),
//!   `write_all_durable_ceiling` (the same bytes through a `BufWriter`, one fdatasync per
//!   file) and, as information, `write_all_ceiling` (no sync: the page cache). Elements
//!   (records) and bytes per second; the target is `on_rotation` ≥ 85 % of the durable
//!   ceiling's throughput, both measured in the same run.
//!
//! Run: `cargo bench --bench journal` (quick look: `-- --quick`).

use std::fs::File;
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion, SamplingMode, Throughput};
use tickbench::engine::journal::{encode_record, Journal, JournalConfig, SyncPolicy, WRITE_CHUNK};
use tickbench::engine::signal::Signal;

mod common;

const MAX_FILE_BYTES: u64 = 64 << 20;
const SAMPLE: usize = 4_096;
/// Sequence numbers in the byte estimate: a journal that has seen about a million records.
const TYPICAL_SEQ: u64 = 1_000_000;

/// `n` seeded signals on 64 symbols, one µs apart (the database bench's generator).
fn signals(n: usize) -> Vec<Signal> {
    common::signals(&mut common::Rng(0x5eed), 1_700_000_000_000_000_000, n, 64)
}

/// The encoded records of `sample` and their mean length.
fn encoded(sample: &[Signal]) -> (Vec<Vec<u8>>, u64) {
    let records: Vec<Vec<u8>> = sample
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut buf = Vec::new();
            encode_record(&mut buf, TYPICAL_SEQ + i as u64, s);
            buf
        })
        .collect();
    let total: usize = records.iter().map(Vec::len).sum();
    let mean = (total as f64 / records.len() as f64).round() as u64;
    (records, mean)
}

fn append(c: &mut Criterion) {
    let sample = signals(SAMPLE);
    let (records, record_bytes) = encoded(&sample);
    let mut group = c.benchmark_group("journal_append");
    group.throughput(Throughput::ElementsAndBytes {
        elements: 1,
        bytes: record_bytes,
    });
    let policies = [
        ("every_record", None, SyncPolicy::EveryRecord),
        ("every_n", Some(64), SyncPolicy::EveryN(64)),
        ("every_millis", Some(10), SyncPolicy::EveryMillis(10)),
        ("on_rotation", None, SyncPolicy::OnRotation),
    ];
    for (name, param, sync) in policies {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = JournalConfig {
            max_file_bytes: MAX_FILE_BYTES,
            retention: 2,
            sync,
        };
        let (mut journal, _) = Journal::open(dir.path(), config).expect("open journal");
        let mut i = 0;
        let mut run = |b: &mut criterion::Bencher| {
            b.iter(|| {
                i = (i + 1) % SAMPLE;
                black_box(journal.append(black_box(&sample[i])).expect("append"))
            })
        };
        match param {
            Some(p) => group.bench_function(BenchmarkId::new(name, p), |b| run(b)),
            None => group.bench_function(name, |b| run(b)),
        };
    }

    // The two ceilings: the same bytes through a plain `BufWriter`, without the journal's
    // format, checksums, rename and directory sync. `write_all_ceiling` never syncs, and its
    // files are replaced before the kernel writes them back, so it measures the page cache
    // (memory bandwidth). `write_all_durable_ceiling` ends each 64 MiB file with one
    // fdatasync: the same durability as `on_rotation`, so the disk's bandwidth bounds both.
    for (id, durable) in [
        ("write_all_ceiling", false),
        ("write_all_durable_ceiling", true),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        group.bench_function(id, |b| {
            let mut generation = 0u64;
            let open = |generation: u64| {
                let path = dir.path().join(format!("ceiling-{}.log", generation % 3));
                BufWriter::with_capacity(WRITE_CHUNK, File::create(path).expect("create"))
            };
            let close = |out: BufWriter<File>| {
                let file = out.into_inner().expect("flush");
                if durable {
                    file.sync_data().expect("fdatasync");
                }
            };
            let mut out = Some(open(generation));
            let (mut written, mut i) = (0u64, 0);
            b.iter(|| {
                i = (i + 1) % SAMPLE;
                let record = black_box(&records[i]);
                if written + record.len() as u64 > MAX_FILE_BYTES {
                    close(out.take().expect("open file"));
                    generation += 1;
                    out = Some(open(generation));
                    written = 0;
                }
                out.as_mut()
                    .expect("open file")
                    .write_all(record)
                    .expect("write");
                written += record.len() as u64;
            });
            close(out.take().expect("open file"));
        });
    }
    group.finish();
}

fn rotation(c: &mut Criterion) {
    const FILE_BYTES: u64 = 256 << 10;
    let sample = signals(SAMPLE);
    let mut group = c.benchmark_group("journal_rotation");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = JournalConfig {
        max_file_bytes: FILE_BYTES,
        retention: 2,
        sync: SyncPolicy::OnRotation,
    };
    group.bench_function(BenchmarkId::new("rotate", "256KiB"), |b| {
        let (mut journal, _) = Journal::open(dir.path(), config).expect("open journal");
        let mut i = 0;
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                // Fill the active file (untimed) until an append rotates: under OnRotation,
                // only a rotation moves the durable point.
                loop {
                    i = (i + 1) % SAMPLE;
                    let durable = journal.durable_seq();
                    let start = Instant::now();
                    journal.append(&sample[i]).expect("append");
                    let elapsed = start.elapsed();
                    if journal.durable_seq() != durable {
                        timed += elapsed;
                        break;
                    }
                }
            }
            timed
        });
    });
    group.finish();
}

/// Whole files: each iteration writes one complete 64 MiB file, sync included.
fn whole_files(c: &mut Criterion) {
    let sample = signals(SAMPLE);
    let (records, record_bytes) = encoded(&sample);
    let per_file = MAX_FILE_BYTES / record_bytes;
    let mut group = c.benchmark_group("journal_file");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::ElementsAndBytes {
            elements: per_file,
            bytes: per_file * record_bytes,
        });

    let dir = tempfile::tempdir().expect("temp dir");
    let config = JournalConfig {
        max_file_bytes: MAX_FILE_BYTES,
        retention: 2,
        sync: SyncPolicy::OnRotation,
    };
    group.bench_function(BenchmarkId::new("on_rotation", "64MiB"), |b| {
        let (mut journal, _) = Journal::open(dir.path(), config).expect("open journal");
        let mut i = 0;
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                // Append until a rotation seals the file: under OnRotation that append
                // writes the file out, fdatasyncs it, renames it and syncs the directory.
                let durable = journal.durable_seq();
                while journal.durable_seq() == durable {
                    i = (i + 1) % SAMPLE;
                    journal.append(black_box(&sample[i])).expect("append");
                }
            }
            start.elapsed()
        });
    });

    for (id, durable) in [
        ("write_all_durable_ceiling", true),
        ("write_all_ceiling", false),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        group.bench_function(BenchmarkId::new(id, "64MiB"), |b| {
            let mut generation = 0u64;
            let mut i = 0;
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    generation += 1;
                    let path = dir.path().join(format!("file-{}.log", generation % 3));
                    let file = File::create(path).expect("create");
                    let mut out = BufWriter::with_capacity(WRITE_CHUNK, file);
                    let mut written = 0u64;
                    loop {
                        i = (i + 1) % SAMPLE;
                        let record = black_box(&records[i]);
                        if written + record.len() as u64 > MAX_FILE_BYTES {
                            break;
                        }
                        out.write_all(record).expect("write");
                        written += record.len() as u64;
                    }
                    let file = out.into_inner().expect("flush");
                    if durable {
                        file.sync_data().expect("fdatasync");
                    }
                }
                start.elapsed()
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = append, rotation, whole_files
}
fn main() {
    common::harness::main_time_only(
        "file writes and fsync: the figure is the disk's, which instructions do not see",
        benches,
    );
}
