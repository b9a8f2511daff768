//! Speed and size of `tickbench report --html` on a long history: 100 benchmarks × 200 runs.
//!
//! The target (issue 15) is < 1 s to render and a page under 5 MB. Cases:
//! - `report/html/100x200`: the whole page in memory — a change-point fit and a trend chart of
//!   200 points per benchmark, plus the compare table of 8 recorded benchmarks with their
//!   samples and the load-test fixture;
//! - `report/changepoints/100x200`: the change-point fits alone.
//!
//! The page's size is printed once (`page: … bytes`). Input is a seeded history with 2 % noise
//! between runs and one 5 % step. Run with: `cargo bench --bench report`.

use std::hint::black_box;
use std::path::Path;

use tickbench::baseline::compare::{compare, Options};
use tickbench::baseline::load_spec;
use tickbench::baseline::stats::Rng;
use tickbench::history::{self, changepoint, Point, Record};
use tickbench::policy::Metric;
use tickbench::report::html::{self, History, Inputs, LoadFile};

mod common;

use common::{Harness, Id};

const RECORDED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/recorded");
const LOADTEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/loadtest/run.json"
);
const BENCHMARKS: usize = 100;
const RUNS: usize = 200;

/// A history of `RUNS` runs of `BENCHMARKS` benchmarks; benchmark 0 steps up 5 % at run 120.
fn generated() -> Vec<Record> {
    let mut rng = Rng::new(15);
    let mut noise = move || {
        let u = |rng: &mut Rng| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let (u1, u2) = (u(&mut rng).max(1e-300), u(&mut rng));
        0.02 * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    };
    (0..RUNS)
        .map(|r| Record {
            schema: history::SCHEMA.into(),
            metric: Metric::Time,
            run: format!("run-{r:03}"),
            fingerprint: format!("{r:016x}"),
            commit: Some(format!(
                "{:08x}{r:032x}",
                (r as u64 + 1) * 0x9e37_79b1 % (1 << 32)
            )),
            commit_time: None,
            dirty: Some(false),
            recorded: "2026-12-02T00:00:00Z".into(),
            machine: Some("bench-2c".into()),
            benchmarks: (0..BENCHMARKS)
                .map(|b| {
                    let step = if b == 0 && r >= 120 { 1.05 } else { 1.0 };
                    let v = 100.0 * (1 + b) as f64 * step * noise().exp();
                    Point {
                        id: format!("suite/case/{b:03}"),
                        estimate: v,
                        lower: v * 0.99,
                        upper: v * 1.01,
                        samples: 100,
                        throughput: None,
                    }
                })
                .collect(),
        })
        .collect()
}

fn bench_report(c: &mut Harness<'_>) {
    let records = generated();
    let old = load_spec("r1,r2", Path::new(RECORDED)).expect("recorded fixture");
    let new = load_spec("s1", Path::new(RECORDED)).expect("recorded fixture");
    let comparison = compare("r1,r2", &old, "s1", &new, &Options::default());
    let inputs = Inputs {
        comparison: Some((&comparison, &old, &new)),
        histories: vec![History {
            path: "generated.jsonl".into(),
            records: records.clone(),
        }],
        loadtests: vec![LoadFile::read(Path::new(LOADTEST)).expect("load-test fixture")],
        criterion_root: Some(RECORDED.into()),
        ..Inputs::default()
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let size = html::render(&inputs, dir.path()).len();
    println!("page: {size} bytes ({BENCHMARKS} benchmarks × {RUNS} runs)");
    let id = format!("{BENCHMARKS}x{RUNS}");

    let mut group = c.benchmark_group("report");
    // Tens of millions of instructions per page: the fewest iterations the protocol allows.
    group.count_iterations(1);
    group.sample_size(10);
    group.bench_function(Id::new("html", &id), |b| {
        b.iter(|| html::render(black_box(&inputs), dir.path()).len())
    });
    let series: Vec<Vec<f64>> = history::series(&records, &[])
        .iter()
        .map(|s| s.values())
        .collect();
    group.bench_function(Id::new("changepoints", &id), |b| {
        b.iter(|| {
            series
                .iter()
                .map(|v| changepoint::find(black_box(v)).steps.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

fn main() {
    common::harness::main(&[bench_report]);
}
