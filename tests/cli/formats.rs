//! Every output format, for a summary and for a comparison, against a committed snapshot
//! (`tests/snapshots/<format>-<summary|compare>.txt`), so a change to a format shows as a diff.
//!
//! The input is built here with fixed numbers, a fixed machine and no timestamps, not read from
//! a live run. The comparison goes through `compare::compare` on two runs per side and holds a
//! row of every verdict (regressed, improved, inconclusive with its reason, unchanged, added,
//! removed, unreadable), a canary anchor and a regression under an advisory policy rule.
//!
//! A snapshot is what the CLI prints: the document and a final newline, except that in the
//! JSON formats a number with more than 10 significant digits is rounded to 10. After an
//! intended change, rewrite them with `UPDATE_SNAPSHOTS=1 cargo test --test cli formats::` and
//! review the diff of `tests/snapshots/` before committing it.

use std::path::{Path, PathBuf};

use tickbench::baseline::compare::{compare, Comparison, Options, Verdict};
use tickbench::baseline::criterion::ConfidenceInterval;
use tickbench::baseline::summary::{summarise, Summary};
use tickbench::baseline::{
    Benchmark, Estimate, Estimates, Loaded, Machine, Run, Sample, Throughput, Unreadable, Warning,
};
use tickbench::policy::Policy;
use tickbench::report::FormatKind;

/// The formats whose documents are JSON (see [`round_long_numbers`]).
const JSON_FORMATS: [&str; 3] = ["json", "bmf", "github"];

const POLICY: &str = r#"[[rule]]
match = "pipeline/*"
threshold = 20.0
advisory = true
note = "threads on 2 vCPUs"
"#;

fn machine() -> Machine {
    Machine {
        cpu: "Example CPU @ 2.00GHz".into(),
        cores: 2,
        os: "linux 6.1.0".into(),
        rustc: "rustc 1.95.0".into(),
    }
}

fn estimate(point: f64, spread: f64) -> Estimate {
    Estimate {
        confidence_interval: ConfidenceInterval {
            confidence_level: 0.95,
            lower_bound: point - spread,
            upper_bound: point + spread,
        },
        point_estimate: point,
        standard_error: spread / 2.0,
    }
}

/// Benchmark `id` at `ns` per iteration: `samples` samples of 10, 20, … iterations whose
/// per-iteration times lie within 2 % above `ns` in a fixed order (a clean run: its fastest
/// quarter is tight and it keeps its speed from first half to second).
fn benchmark(id: &str, ns: f64, samples: usize) -> Benchmark {
    let (group, function) = id.split_once('/').expect("ids are group/function");
    let iters: Vec<f64> = (1..=samples).map(|k| (10 * k) as f64).collect();
    let times = iters
        .iter()
        .enumerate()
        .map(|(k, it)| it * ns * (1.0 + (k * 7 % 11) as f64 / 500.0))
        .collect();
    Benchmark {
        id: id.into(),
        group_id: group.into(),
        function_id: Some(function.into()),
        value_str: None,
        throughput: None,
        estimates: Estimates {
            mean: estimate(ns * 1.01, ns * 0.004),
            median: estimate(ns * 1.008, ns * 0.003),
            median_abs_dev: estimate(ns * 0.006, ns * 0.001),
            slope: Some(estimate(ns * 1.009, ns * 0.002)),
            std_dev: estimate(ns * 0.007, ns * 0.001),
        },
        sample: Sample { iters, times },
        counts: None,
    }
}

fn run(source: &str, benchmarks: Vec<Benchmark>, unreadable: Vec<Unreadable>) -> Run {
    Run {
        source: source.into(),
        machine: Some(machine()),
        git_commit: None,
        created: None,
        metric: Default::default(),
        benchmarks,
        unreadable,
        not_counted: Vec::new(),
    }
}

/// A stored baseline of two runs with a warning met while reading it; the summary shows the
/// last run.
fn summary() -> Summary {
    let mut tick = benchmark("engine/tick", 41.5, 20);
    tick.throughput = Some(Throughput::Elements(4096));
    let mut journal = benchmark("journal/append", 2_350.0, 20);
    journal.throughput = Some(Throughput::Bytes(65_536));
    let last = vec![
        benchmark("db_latest10/file/1000000", 2_980.0, 20),
        tick,
        journal,
        benchmark("pipeline/burst_1000000", 48_250_000.0, 10),
    ];
    let loaded = Loaded {
        runs: vec![
            run(
                "baselines/example-2c.json run 1",
                last[..2].to_vec(),
                vec![],
            ),
            run("baselines/example-2c.json run 2", last, vec![]),
        ],
        warnings: vec![Warning(
            "skipped target/criterion/old/main/benchmark.json: missing field `full_id`".into(),
        )],
    };
    summarise("baselines/example-2c.json", &loaded)
}

/// Two runs per side. Each side's second run is a little slower than its first, and each
/// benchmark moves between runs by its own factor on top; the change between the sides is
/// chosen per row for its verdict.
fn comparison() -> Comparison {
    // (id, old ns, new / old, samples per run, the row's own factor in runs 1 and 2)
    let common: [(&str, f64, f64, usize, [f64; 2]); 6] = [
        ("canary/spin", 1_000.0, 1.0, 20, [1.0, 1.003]),
        ("engine/improved", 800.0, 0.7, 20, [1.001, 1.0]),
        ("engine/regressed", 120.0, 1.3, 20, [1.0, 1.002]),
        ("engine/too_few_samples", 450.0, 1.6, 5, [1.002, 1.0]),
        ("engine/unchanged", 2_000.0, 1.002, 20, [1.0, 1.004]),
        ("pipeline/burst_50", 9_000.0, 1.4, 20, [1.003, 1.001]),
    ];
    let side = |new: bool| -> Vec<Run> {
        let machine_factor = if new { [0.998, 1.003] } else { [1.0, 1.004] };
        (0..2)
            .map(|r| {
                let mut benchmarks: Vec<Benchmark> = common
                    .iter()
                    .map(|&(id, ns, ratio, samples, own)| {
                        let ns = ns * if new { ratio } else { 1.0 } * machine_factor[r] * own[r];
                        benchmark(id, ns, samples)
                    })
                    .collect();
                let mut unreadable = Vec::new();
                if new {
                    benchmarks.push(benchmark("engine/added", 300.0, 20));
                    if r == 1 {
                        unreadable.push(Unreadable {
                            id: "engine/unreadable".into(),
                            file: "target/criterion/engine/unreadable/new/sample.json".into(),
                            reason: "20 of 20 times are null, NaN, zero, negative or infinite"
                                .into(),
                        });
                    }
                } else {
                    benchmarks.push(benchmark("engine/removed", 700.0, 20));
                    benchmarks.push(benchmark("engine/unreadable", 650.0, 20));
                }
                benchmarks.sort_by(|a, b| a.id.cmp(&b.id));
                let name = if new { "new" } else { "main" };
                run(
                    &format!("Criterion baseline '{name}{}'", r + 1),
                    benchmarks,
                    unreadable,
                )
            })
            .collect()
    };
    let loaded = |runs| Loaded {
        runs,
        warnings: Vec::new(),
    };
    let options = Options {
        policy: Policy::parse(POLICY, Path::new("tickbench.toml")).expect("policy parses"),
        policy_file: Some("tickbench.toml".into()),
        ..Options::default()
    };
    compare(
        "main1,main2",
        &loaded(side(false)),
        "new1,new2",
        &loaded(side(true)),
        &options,
    )
}

#[test]
fn the_compare_input_has_a_row_of_every_verdict() {
    let c = comparison();
    let verdicts: Vec<(&str, Verdict)> = c
        .benchmarks
        .iter()
        .map(|b| (b.id.as_str(), b.verdict))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("canary/spin", Verdict::Unchanged),
            ("engine/added", Verdict::Added),
            ("engine/improved", Verdict::Improved),
            ("engine/regressed", Verdict::Regressed),
            ("engine/removed", Verdict::Removed),
            ("engine/too_few_samples", Verdict::Inconclusive),
            ("engine/unchanged", Verdict::Unchanged),
            ("engine/unreadable", Verdict::Unreadable),
            ("pipeline/burst_50", Verdict::Regressed),
        ]
    );
    let row = |id: &str| c.benchmarks.iter().find(|b| b.id == id).unwrap();
    assert!(row("canary/spin").anchor);
    assert!(row("pipeline/burst_50").policy.advisory);
    assert!(row("engine/too_few_samples").reason.is_some());
    assert_eq!(
        c.failing().count(),
        1,
        "the advisory regression does not fail"
    );
}

fn summary_snapshot(kind: FormatKind, name: &str) {
    let text = kind.formatter().summary(&summary()).expect("renders");
    assert_snapshot(&format!("{name}-summary"), name, &text);
}

fn compare_snapshot(kind: FormatKind, name: &str) {
    let text = kind.formatter().compare(&comparison()).expect("renders");
    assert_snapshot(&format!("{name}-compare"), name, &text);
}

#[test]
fn table_summary() {
    summary_snapshot(FormatKind::Table, "table");
}

#[test]
fn table_compare() {
    compare_snapshot(FormatKind::Table, "table");
}

#[test]
fn json_summary() {
    summary_snapshot(FormatKind::Json, "json");
}

#[test]
fn json_compare() {
    compare_snapshot(FormatKind::Json, "json");
}

#[test]
fn markdown_summary() {
    summary_snapshot(FormatKind::Markdown, "markdown");
}

#[test]
fn markdown_compare() {
    compare_snapshot(FormatKind::Markdown, "markdown");
}

#[test]
fn bmf_summary() {
    summary_snapshot(FormatKind::Bmf, "bmf");
}

#[test]
fn bmf_compare() {
    compare_snapshot(FormatKind::Bmf, "bmf");
}

#[test]
fn github_summary() {
    summary_snapshot(FormatKind::Github, "github");
}

#[test]
fn github_compare() {
    compare_snapshot(FormatKind::Github, "github");
}

fn snapshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"))
}

/// Checks `document` (in `format`) against snapshot `name`, or rewrites the snapshot when
/// `UPDATE_SNAPSHOTS=1`. The snapshot holds what the CLI prints: the document and a newline.
fn assert_snapshot(name: &str, format: &str, document: &str) {
    let mut actual = document.to_string();
    if !actual.ends_with('\n') {
        actual.push('\n');
    }
    if JSON_FORMATS.contains(&format) {
        actual = round_long_numbers(&actual);
    }
    let path = snapshot_path(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read snapshot {}: {e}\n(UPDATE_SNAPSHOTS=1 writes it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "the {name} output differs from {} (- snapshot, + output):\n{}\nIf the change is \
         intended, rewrite the snapshots with `UPDATE_SNAPSHOTS=1 cargo test --test cli \
         formats::` and commit them.",
        path.display(),
        line_diff(&expected, &actual)
    );
}

/// Every number outside a string in a JSON document, rounded to 10 significant digits when it
/// has more. The comparison's figures go through `ln` and `exp`, whose last bit may differ
/// between libm builds; a format change still shows.
fn round_long_numbers(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut chars = json.chars().peekable();
    let (mut in_string, mut escaped) = (false, false);
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '-' || c.is_ascii_digit() {
            let mut token = String::from(c);
            while let Some(&d) = chars.peek() {
                if !(d.is_ascii_digit() || matches!(d, '.' | 'e' | 'E' | '+' | '-')) {
                    break;
                }
                token.push(d);
                chars.next();
            }
            let mantissa = token.split(['e', 'E']).next().unwrap_or_default();
            let digits = mantissa
                .trim_start_matches(['-', '0', '.'])
                .chars()
                .filter(char::is_ascii_digit)
                .count();
            match token.parse::<f64>() {
                Ok(x) if digits > 10 => {
                    let rounded: f64 = format!("{x:.9e}").parse().unwrap();
                    out.push_str(&rounded.to_string());
                }
                _ => out.push_str(&token),
            }
        } else {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

#[test]
fn the_snapshot_helpers_round_only_long_numbers_and_show_the_changed_lines() {
    assert_eq!(
        round_long_numbers(
            r#"{"a": [0.30000000000000004, -12.5, 1e-7], "b\"0.30000000000000004": 97721579389.64577}"#
        ),
        r#"{"a": [0.3, -12.5, 1e-7], "b\"0.30000000000000004": 97721579390}"#
    );
    let diff = line_diff("1\n2\n3\n4\n5\n6\n7\n", "1\n2\n3\n4\n5\nsix\n7\n");
    assert_eq!(diff, "  …\n  4\n  5\n- 6\n+ six\n  7\n");
}

/// The lines of `old` and `new` with `-`, `+` or two spaces in front (a longest-common-
/// subsequence diff), unchanged runs cut to two lines of context around each change.
fn line_diff(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            lines.push(('-', a[i]));
            i += 1;
        } else {
            lines.push(('+', b[j]));
            j += 1;
        }
    }
    const CONTEXT: usize = 2;
    let near_change = |k: usize| {
        lines[k.saturating_sub(CONTEXT)..(k + CONTEXT + 1).min(lines.len())]
            .iter()
            .any(|(mark, _)| *mark != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (mark, line)) in lines.iter().enumerate() {
        if near_change(k) {
            out.push_str(&format!("{mark} {line}\n"));
            skipped = false;
        } else if !skipped {
            out.push_str("  …\n");
            skipped = true;
        }
    }
    out
}
