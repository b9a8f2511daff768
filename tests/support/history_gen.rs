//! A generated history with a known step, written as `tickbench` writes one: shared by the
//! CLI's report tests and the browser test.

use std::fs;
use std::path::Path;

use tickbench::baseline::stats::Rng;
use tickbench::history::{self, Point, Record};
use tickbench::policy::Metric;

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u = |rng: &mut Rng| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let (u1, u2) = (u(rng).max(1e-300), u(rng));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A generated history of `runs` runs of `benchmarks` benchmarks in 2 % noise; benchmark 0
/// (`gen/step/0`) is 5 % slower from run `step_at` (0-based). Written as `tickbench` would.
pub fn generated_history(path: &Path, runs: usize, benchmarks: usize, step_at: usize) {
    let mut rng = Rng::new(42);
    let mut text = String::new();
    for r in 0..runs {
        let points = (0..benchmarks)
            .map(|b| {
                let base = 100.0 * (1.0 + b as f64);
                let level = if b == 0 && r >= step_at {
                    base * 1.05
                } else {
                    base
                };
                let v = level * (0.02 * normal(&mut rng)).exp();
                Point {
                    id: format!("gen/{}/{b}", if b == 0 { "step" } else { "flat" }),
                    estimate: v,
                    lower: v * 0.995,
                    upper: v * 1.005,
                    samples: 100,
                    throughput: None,
                }
            })
            .collect();
        let record = Record {
            schema: history::SCHEMA.into(),
            metric: Metric::Time,
            run: format!("run-{r:03}"),
            fingerprint: format!("{r:016x}"),
            commit: Some(format!(
                "{:08x}{r:032x}",
                (r as u64 + 1) * 0x9e37_79b1 % (1 << 32)
            )),
            commit_time: Some("2026-12-01T00:00:00Z".into()),
            dirty: Some(false),
            recorded: "2026-12-01T00:00:00Z".into(),
            machine: Some("gen-2c".into()),
            benchmarks: points,
        };
        text.push_str(&serde_json::to_string(&record).unwrap());
        text.push('\n');
    }
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}
