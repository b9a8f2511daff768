//! The SQLite signal store (`tickbench::engine::store`): batch inserts, queries and concurrent
//! readers, on disk and in memory.
//!
//! Why: the store sits behind the engine; its insert rate bounds how many signals can be kept and
//! its query latency is what a dashboard or a risk check waits for. Tables of 10 000 and
//! 1 000 000 rows show how the costs grow with the data.
//!
//! Groups (stable names, the keys of stored baselines):
//! - `db_insert/{file,memory}/{1,100,10000}`: one transaction of that many signals into a
//!   growing table (file: WAL, `synchronous=NORMAL`); rows/s. The table is recreated, outside
//!   the timing, whenever it passes 2 M rows.
//! - `db_latest10/{file,memory}/{rows}`: the newest 10 signals of a symbol.
//! - `db_range100/{file,memory}/{rows}`: the signals of a symbol in a window holding exactly 100.
//! - `db_aggregate/{file,memory}/{rows}`: count and mean strength per symbol and side over a
//!   window holding 1 % of the table.
//! - `db_concurrent_read/readers/{1,2,4}`: latest-10 queries on the 1 M-row file, one
//!   connection per reader thread, while a writer thread commits 100 signals every millisecond;
//!   queries/s over all readers.
//!
//! Query tables are built once per bench process, outside the timing (shrunk to 1 000 and
//! 20 000 rows in test mode, `cargo test --benches`). Each query cycles through 1 024 seeded
//! symbols and windows.
//!
//! Run: `cargo bench --bench database` (quick look: `-- --quick`; one group: `-- db_range100`).

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Throughput;
use tempfile::TempDir;
use tickbench::engine::store::SignalStore;

mod common;

use common::{Bencher, Group, Harness, Id, Timer};

const SYMBOLS: u32 = 64;
const QUERIES: usize = 1_024;
const RESET_ROWS: u64 = 2_000_000;
/// Reader threads of `db_concurrent_read`.
const READERS: [usize; 3] = [1, 2, 4];

const T0: u64 = 1_700_000_000_000_000_000;

/// A query table: the same rows in a file store and an in-memory store, plus seeded queries.
struct Table {
    rows: usize,
    file: SignalStore,
    memory: SignalStore,
    /// `(symbol, from, to)` windows holding exactly 100 rows.
    ranges: Vec<(u32, u64, u64)>,
    /// Windows holding 1 % of the rows.
    windows: Vec<(u64, u64)>,
}

fn build_table(dir: &Path, rows: usize) -> Table {
    let mut rng = common::Rng(0x5eed ^ rows as u64);
    let data = common::signals(&mut rng, T0, rows, SYMBOLS);
    let mut file = SignalStore::open(dir.join(format!("table-{rows}.db"))).expect("open");
    let mut memory = SignalStore::open_in_memory().expect("open in memory");
    for chunk in data.chunks(10_000) {
        file.insert_signals(chunk).expect("insert");
        memory.insert_signals(chunk).expect("insert");
    }
    let mut by_symbol = vec![Vec::new(); SYMBOLS as usize];
    for s in &data {
        by_symbol[s.symbol as usize].push(s.ts_ns);
    }
    let span = rows as u64 * 1_000;
    let ranges = (0..QUERIES)
        .map(|_| {
            let symbol = (rng.next() % u64::from(SYMBOLS)) as u32;
            let ts = &by_symbol[symbol as usize];
            let k = (rng.next() % (ts.len() - 100) as u64) as usize;
            (symbol, ts[k], ts[k + 100])
        })
        .collect();
    let windows = (0..QUERIES)
        .map(|_| {
            let from = T0 + rng.next() % (span - span / 100);
            (from, from + span / 100)
        })
        .collect();
    Table {
        rows,
        file,
        memory,
        ranges,
        windows,
    }
}

fn insert(c: &mut Harness<'_>) {
    let mut group = c.benchmark_group("db_insert");
    let dir = TempDir::new().expect("temp dir");
    for backend in ["file", "memory"] {
        for rows in [1usize, 100, 10_000] {
            group.throughput(Throughput::Elements(rows as u64));
            group.count_iterations(match rows {
                1 => 64,
                100 => 8,
                _ => 1,
            });
            on_backend(&mut group, backend, Id::new(backend, rows), |b| {
                let path = dir.path().join(format!("insert-{rows}.db"));
                let open = || {
                    remove_db(&path);
                    if backend == "file" {
                        SignalStore::open(&path).expect("open")
                    } else {
                        SignalStore::open_in_memory().expect("open in memory")
                    }
                };
                let mut store = open();
                let mut inserted = 0u64;
                let mut rng = common::Rng(7);
                let mut next_ns = T0;
                b.iter_custom(|iters| {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iters {
                        if inserted > RESET_ROWS {
                            drop(std::mem::replace(&mut store, open()));
                            inserted = 0;
                        }
                        let batch = common::signals(&mut rng, next_ns, rows, SYMBOLS);
                        next_ns += rows as u64 * 1_000;
                        let timer = Timer::start();
                        store.insert_signals(black_box(&batch)).expect("insert");
                        timed += timer.stop();
                        inserted += rows as u64;
                    }
                    timed
                });
                drop(store);
                remove_db(&path);
            });
        }
    }
    group.finish();
}

/// Why the disk benchmarks have no instruction count.
const DISK: &str = "SQLite on a file: fsync and the page cache, which instructions do not see";
/// Why the concurrent readers have none.
const THREADS: &str =
    "reader threads beside a writer thread: waiting, which instructions do not see";

/// `f` as the benchmark `id` of `backend`: counted in memory, time only on disk.
fn on_backend(group: &mut Group<'_>, backend: &str, id: Id, f: impl FnMut(&mut Bencher<'_, '_>)) {
    if backend == "file" {
        group.bench_time_only(id, DISK, f);
    } else {
        group.bench_function(id, f);
    }
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

fn queries(c: &mut Harness<'_>) {
    let dir = TempDir::new().expect("temp dir");
    // Test mode still needs over 100 rows per symbol: the range queries pick 100-row windows.
    let sizes: [usize; 2] = if common::test_mode() {
        [10_000, 20_000]
    } else {
        [10_000, 1_000_000]
    };
    let tables: Vec<Table> = sizes.iter().map(|&n| build_table(dir.path(), n)).collect();

    let mut group = c.benchmark_group("db_latest10");
    for t in &tables {
        for (backend, store) in [("file", &t.file), ("memory", &t.memory)] {
            on_backend(&mut group, backend, Id::new(backend, t.rows), |b| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % QUERIES;
                    let symbol = t.ranges[i].0;
                    black_box(store.latest(black_box(symbol), 10).expect("latest"))
                });
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("db_range100");
    for t in &tables {
        for (backend, store) in [("file", &t.file), ("memory", &t.memory)] {
            group.throughput(Throughput::Elements(100));
            on_backend(&mut group, backend, Id::new(backend, t.rows), |b| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % QUERIES;
                    let (symbol, from, to) = t.ranges[i];
                    let rows = store.range(black_box(symbol), from, to).expect("range");
                    debug_assert_eq!(rows.len(), 100);
                    black_box(rows)
                });
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("db_aggregate");
    group.count_iterations(4); // 1 % of the table per query
    for t in &tables {
        for (backend, store) in [("file", &t.file), ("memory", &t.memory)] {
            group.throughput(Throughput::Elements(t.rows as u64 / 100));
            on_backend(&mut group, backend, Id::new(backend, t.rows), |b| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % QUERIES;
                    let (from, to) = t.windows[i];
                    black_box(store.aggregates(black_box(from), to).expect("aggregates"))
                });
            });
        }
    }
    group.finish();

    concurrent_readers(c, tables.last().expect("a table"));
}

fn concurrent_readers(c: &mut Harness<'_>, table: &Table) {
    if c.counting() {
        let mut group = c.benchmark_group("db_concurrent_read");
        for readers in READERS {
            group.bench_time_only(Id::new("readers", readers), THREADS, |_| {});
        }
        group.finish();
        return;
    }
    let path = table.file.path().to_path_buf();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (path, stop) = (path.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut store = SignalStore::open(&path).expect("open writer");
            let mut rng = common::Rng(99);
            let mut next_ns = T0 + 10_000_000_000_000;
            while !stop.load(Ordering::Relaxed) {
                let batch = common::signals(&mut rng, next_ns, 100, SYMBOLS);
                next_ns += 100_000;
                store.insert_signals(&batch).expect("insert");
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let mut group = c.benchmark_group("db_concurrent_read");
    for readers in READERS {
        let mut conns: Vec<_> = (0..readers)
            .map(|_| SignalStore::open_reader(&path).expect("open reader"))
            .collect();
        group.throughput(Throughput::Elements(readers as u64));
        group.bench_time_only(Id::new("readers", readers), THREADS, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for (r, conn) in conns.iter_mut().enumerate() {
                        let ranges = &table.ranges;
                        s.spawn(move || {
                            for q in 0..iters as usize {
                                let symbol = ranges[(q + r * 97) % QUERIES].0;
                                black_box(conn.latest(black_box(symbol), 10).expect("latest"));
                            }
                        });
                    }
                });
                start.elapsed()
            });
        });
    }
    group.finish();
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer thread");
}

fn main() {
    common::harness::main(&[insert, queries]);
}
