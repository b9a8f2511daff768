//! Speed of `tickbench compare` on a large suite: 1 000 benchmarks × 100 samples.
//!
//! The target (issue 5) is < 1 s for the whole comparison. Cases:
//! - `compare/single-run/1000x100`: one run per side, the costly path (a 2 000-resample
//!   bootstrap and a rank test per benchmark).
//! - `compare/runs-2v1/1000x100`: two runs against one (moderated t, no resampling).
//! - `compare/load-and-compare/1000x100`: what the CLI does — read 2 × 1 000 Criterion
//!   benchmark directories (6 000 JSON files) from disk, then compare.
//!
//! Inputs are seeded synthetic samples (10 % of the benchmarks slowed by 20 %), written once
//! outside the timed part. Run with: `cargo bench --bench compare`.

use std::hint::black_box;
use std::path::Path;

use tickbench::baseline::compare::{compare, Options};
use tickbench::baseline::stats::Rng;
use tickbench::baseline::{load_spec, Benchmark, Estimate, Estimates, Loaded, Run, Sample};

mod common;

use common::{Harness, Id};

/// Benchmarks per synthetic run; 100 in test mode (`cargo test --benches` runs each bench once in
/// the dev profile, where 1 000 would only be slow, not more informative).
fn benchmarks() -> usize {
    if common::test_mode() {
        100
    } else {
        1_000
    }
}
const SAMPLES: usize = 100;

fn estimate(v: f64) -> Estimate {
    serde_json::from_value(serde_json::json!({
        "confidence_interval": {"confidence_level": 0.95, "lower_bound": v * 0.99, "upper_bound": v * 1.01},
        "point_estimate": v, "standard_error": v * 0.005
    }))
    .expect("valid estimate")
}

/// One synthetic run: benchmark `i` takes `100 + i` ns, ×1.2 for every tenth when `slow`.
fn run(seed: u64, slow: bool) -> Run {
    let mut rng = Rng::new(seed);
    let benchmarks = (0..benchmarks())
        .map(|i| {
            let ns = (100 + i) as f64 * if slow && i % 10 == 0 { 1.2 } else { 1.0 };
            let iters: Vec<f64> = (1..=SAMPLES).map(|k| (k * 10) as f64).collect();
            let times = iters
                .iter()
                .map(|it| it * ns * (1.0 + (rng.below(1000) as f64 - 500.0) / 25_000.0))
                .collect();
            Benchmark {
                id: format!("suite/case/{i}"),
                group_id: "suite".into(),
                function_id: Some("case".into()),
                value_str: Some(i.to_string()),
                throughput: None,
                estimates: Estimates {
                    mean: estimate(ns),
                    median: estimate(ns),
                    median_abs_dev: estimate(ns * 0.01),
                    slope: None,
                    std_dev: estimate(ns * 0.01),
                },
                sample: Sample { iters, times },
                counts: None,
            }
        })
        .collect();
    Run {
        source: format!("synthetic {seed}"),
        machine: None,
        git_commit: None,
        created: None,
        metric: Default::default(),
        benchmarks,
        unreadable: Vec::new(),
        not_counted: Vec::new(),
    }
}

fn loaded(runs: Vec<Run>) -> Loaded {
    Loaded {
        runs,
        warnings: Vec::new(),
    }
}

/// Writes `run` as Criterion baseline `name` under `root`.
fn write_criterion(root: &Path, name: &str, run: &Run) {
    for b in &run.benchmarks {
        let dir = root.join(&b.id).join(name);
        std::fs::create_dir_all(&dir).expect("create fixture dir");
        let meta = serde_json::json!({
            "group_id": b.group_id, "function_id": b.function_id, "value_str": b.value_str,
            "throughput": null, "full_id": b.id, "directory_name": b.id, "title": b.id
        });
        std::fs::write(dir.join("benchmark.json"), meta.to_string()).expect("write");
        std::fs::write(
            dir.join("estimates.json"),
            serde_json::to_string(&b.estimates).expect("json"),
        )
        .expect("write");
        let sample = serde_json::json!({"sampling_mode": "Linear", "iters": b.sample.iters, "times": b.sample.times});
        std::fs::write(dir.join("sample.json"), sample.to_string()).expect("write");
    }
}

fn bench_compare(c: &mut Harness<'_>) {
    let options = Options::default();
    let old1 = loaded(vec![run(1, false)]);
    let old2 = loaded(vec![run(1, false), run(2, false)]);
    let new = loaded(vec![run(3, true)]);
    let size = format!("{}x{SAMPLES}", benchmarks());

    let mut group = c.benchmark_group("compare");
    group.sample_size(10);
    // Hundreds of millions of instructions per iteration: the fewest the protocol allows.
    group.count_iterations(1);
    group.bench_function(Id::new("single-run", &size), |b| {
        b.iter(|| compare("old", black_box(&old1), "new", black_box(&new), &options))
    });
    group.bench_function(Id::new("runs-2v1", &size), |b| {
        b.iter(|| compare("old", black_box(&old2), "new", black_box(&new), &options))
    });

    let dir = tempfile::tempdir().expect("temp dir");
    write_criterion(dir.path(), "old", &old1.runs[0]);
    write_criterion(dir.path(), "new", &new.runs[0]);
    group.bench_function(Id::new("load-and-compare", &size), |b| {
        b.iter(|| {
            let old = load_spec("old", dir.path()).expect("old loads");
            let new = load_spec("new", dir.path()).expect("new loads");
            compare("old", &old, "new", &new, &options)
        })
    });
    group.finish();
}

fn main() {
    common::harness::main(&[bench_compare]);
}
