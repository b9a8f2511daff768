//! Progress of a `cargo bench` run: which benchmark, n of N, and an ETA.
//!
//! Criterion reports each benchmark's stages on stderr, one line each when stderr is not a
//! terminal (it is a pipe here): `Benchmarking <id>`, then `Benchmarking <id>: Warming up for
//! 3.0000 s`, `…: Collecting 100 samples in estimated 5.0012 s (…)`, `…: Analyzing` (with
//! `--quick` only the first and the last). [`parse_line`] reads them.
//!
//! # ETA
//!
//! Benchmarks differ in length by orders of magnitude (a 2 µs one finishes its samples in
//! Criterion's 5 s, a 200 ms one needs 100 × 200 ms × 5.5 ≈ 2 min), so each benchmark is weighted
//! by how long it took in the stored baseline ([`weights`]):
//!
//! - normal run: warm-up (3 s, or `--warm-up-time`, or what Criterion announced for the last
//!   benchmark) + the sum of its sample `times` in the stored run;
//! - `--quick`: no warm-up; Criterion doubles the iteration count until two consecutive batches
//!   agree and at least 100 ms passed (measured: 0.12–0.32 s per microsecond benchmark), stopping
//!   at the measurement time, so the weight is `max(0.15 s, 3 × per-iteration time)` capped at
//!   the measurement time (or one iteration, if that is longer);
//! - a benchmark missing from the stored baseline weighs the mean of the known ones; without a
//!   stored baseline every benchmark weighs the same (Criterion's warm-up + measurement time).
//!
//! The predicted seconds are then scaled by how long the finished benchmarks really took
//! compared with their prediction ([`eta_seconds`]), which absorbs analysis time, a slower
//! machine and a configuration set in the bench's code.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::baseline::Loaded;

/// Criterion's default warm-up, in seconds.
pub const DEFAULT_WARM_UP_S: f64 = 3.0;
/// Criterion's default measurement time, in seconds.
pub const DEFAULT_MEASUREMENT_S: f64 = 5.0;
/// Shortest time a `--quick` benchmark takes (Criterion's 100 ms floor plus the last doubling).
pub const QUICK_MIN_S: f64 = 0.15;

/// One line of Criterion's stderr, understood.
#[derive(Clone, Debug, PartialEq)]
pub enum CriterionLine {
    /// `Benchmarking <id>`: the benchmark starts.
    Start(String),
    /// `Benchmarking <id>: Warming up for <duration>`, in seconds.
    WarmUp(String, Option<f64>),
    /// Any other stage (`Collecting …`, `Analyzing`, `Profiling …`, `Complete …`).
    Stage(String),
}

/// Reads a line of Criterion's stderr; `None` for anything else (cargo's lines, warnings).
pub fn parse_line(line: &str) -> Option<CriterionLine> {
    let rest = line.trim_end().strip_prefix("Benchmarking ")?;
    const STAGES: [&str; 5] = [
        "Collecting ",
        "Analyzing",
        "Profiling for ",
        "Complete (",
        "Warming up for ",
    ];
    if let Some((id, stage)) = rest.rsplit_once(": ") {
        if let Some(duration) = stage.strip_prefix("Warming up for ") {
            return Some(CriterionLine::WarmUp(id.into(), parse_duration(duration)));
        }
        if STAGES.iter().any(|s| stage.starts_with(s)) {
            return Some(CriterionLine::Stage(id.into()));
        }
    }
    Some(CriterionLine::Start(rest.into()))
}

/// Criterion's time format (`3.0000 s`, `100.00 ms`, `12.500 µs`, `800.00 ns`) in seconds.
pub fn parse_duration(text: &str) -> Option<f64> {
    let (value, unit) = text.trim().split_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let scale = match unit {
        "s" => 1.0,
        "ms" => 1e-3,
        "µs" | "us" => 1e-6,
        "ns" => 1e-9,
        "ps" => 1e-12,
        _ => return None,
    };
    (value.is_finite() && value >= 0.0).then_some(value * scale)
}

/// What a benchmark cost in the stored baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StoredCost {
    /// Sum of its sample `times`, in seconds.
    pub measured_s: f64,
    /// Its mean per-iteration time (`Σ times / Σ iters`), in seconds.
    pub per_iteration_s: f64,
}

/// Each benchmark's cost in `stored`, from the newest run that has it.
pub fn stored_costs(stored: &Loaded) -> BTreeMap<String, StoredCost> {
    let mut costs = BTreeMap::new();
    for run in &stored.runs {
        for b in &run.benchmarks {
            let times: f64 = b.sample.times.iter().sum();
            let iters: f64 = b.sample.iters.iter().sum();
            if times.is_finite() && times > 0.0 && iters > 0.0 {
                costs.insert(
                    b.id.clone(),
                    StoredCost {
                        measured_s: times * 1e-9,
                        per_iteration_s: times * 1e-9 / iters,
                    },
                );
            }
        }
    }
    costs
}

/// How Criterion is told to run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Warm-up per benchmark, in seconds.
    pub warm_up_s: f64,
    /// Measurement time per benchmark, in seconds.
    pub measurement_s: f64,
    /// `--quick`.
    pub quick: bool,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            warm_up_s: DEFAULT_WARM_UP_S,
            measurement_s: DEFAULT_MEASUREMENT_S,
            quick: false,
        }
    }
}

/// Predicted seconds of each benchmark in `ids` (see the module docs for the model).
pub fn weights(ids: &[String], stored: &BTreeMap<String, StoredCost>, timing: &Timing) -> Vec<f64> {
    let predict = |cost: &StoredCost| {
        if timing.quick {
            (3.0 * cost.per_iteration_s)
                .max(QUICK_MIN_S)
                .min(timing.measurement_s.max(cost.per_iteration_s))
        } else {
            timing.warm_up_s + cost.measured_s
        }
    };
    let known: Vec<Option<f64>> = ids.iter().map(|id| stored.get(id).map(predict)).collect();
    let found: Vec<f64> = known.iter().flatten().copied().collect();
    let fallback = if found.is_empty() {
        if timing.quick {
            QUICK_MIN_S
        } else {
            timing.warm_up_s + timing.measurement_s
        }
    } else {
        found.iter().sum::<f64>() / found.len() as f64
    };
    known.into_iter().map(|w| w.unwrap_or(fallback)).collect()
}

/// Seconds left when benchmark `position` (0-based) of `weights` has run for `in_current_s`
/// and the ones before it took `before_s`: the remaining predictions, scaled by how the
/// finished ones compared with theirs.
pub fn eta_seconds(weights: &[f64], position: usize, before_s: f64, in_current_s: f64) -> f64 {
    let position = position.min(weights.len());
    let predicted_before: f64 = weights[..position].iter().sum();
    let scale = if predicted_before > 0.0 && before_s > 0.0 {
        before_s / predicted_before
    } else {
        1.0
    };
    let left: f64 = weights[position..].iter().sum();
    (left * scale - in_current_s).max(0.0)
}

/// `mm:ss`, or `h:mm:ss` from an hour on.
pub fn format_eta(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// Where the progress goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// One line on stderr, rewritten in place (stderr is a terminal).
    Terminal,
    /// One stderr line per benchmark.
    Lines,
    /// Nothing (`--quiet`).
    Off,
}

/// Follows one `cargo bench` run and shows where it is.
pub struct Progress {
    ids: Vec<String>,
    stored: BTreeMap<String, StoredCost>,
    timing: Timing,
    weights: Vec<f64>,
    display: Display,
    /// Benchmarks started so far.
    started: usize,
    /// Position in `ids` of the running benchmark.
    position: usize,
    current: Option<String>,
    first_start: Option<Instant>,
    current_start: Option<Instant>,
    /// Whether a progress line is on screen (terminal only).
    shown: bool,
    /// Whether the running benchmark's plain line went out.
    printed: bool,
}

impl Progress {
    /// Progress over `ids` (the listed benchmarks, in run order).
    pub fn new(
        ids: Vec<String>,
        stored: BTreeMap<String, StoredCost>,
        timing: Timing,
        display: Display,
    ) -> Self {
        let weights = weights(&ids, &stored, &timing);
        Progress {
            ids,
            stored,
            timing,
            weights,
            display,
            started: 0,
            position: 0,
            current: None,
            first_start: None,
            current_start: None,
            shown: false,
            printed: false,
        }
    }

    /// Benchmarks expected.
    pub fn total(&self) -> usize {
        self.ids.len().max(self.started)
    }

    /// Takes a line of the child's stderr. Returns `true` when it was Criterion's and is now
    /// shown as progress (the caller does not print it).
    pub fn on_stderr_line(&mut self, line: &str) -> bool {
        match parse_line(line) {
            Some(CriterionLine::Start(id)) => {
                self.start(id);
                true
            }
            Some(CriterionLine::WarmUp(_, seconds)) => {
                if let Some(seconds) = seconds.filter(|s| (s - self.timing.warm_up_s).abs() > 1e-9)
                {
                    // The bench's own configuration wins over the command line's default.
                    self.timing.warm_up_s = seconds;
                    self.weights = weights(&self.ids, &self.stored, &self.timing);
                }
                self.show();
                true
            }
            Some(CriterionLine::Stage(_)) => {
                self.show();
                true
            }
            None => false,
        }
    }

    fn start(&mut self, id: String) {
        let now = Instant::now();
        self.first_start.get_or_insert(now);
        self.current_start = Some(now);
        if self.started > 0 {
            self.position += 1;
        }
        // The list is in run order; a benchmark missing from it (a duplicate title Criterion
        // renamed) still counts, the rest keep their place.
        if let Some(offset) = self.ids[self.position.min(self.ids.len())..]
            .iter()
            .position(|x| *x == id)
        {
            self.position += offset;
        }
        self.started += 1;
        self.current = Some(id);
        self.printed = false;
        // Criterion announces the warm-up right after the start, and the ETA is better for
        // knowing it; a --quick run has none, so its line goes out now.
        if self.timing.quick || self.display == Display::Terminal {
            self.show();
        }
    }

    /// Shows the running benchmark: once per benchmark as a plain line, or the terminal line.
    fn show(&mut self) {
        match self.display {
            Display::Off => {}
            Display::Lines if !self.printed => {
                eprintln!("{}", self.line());
                self.printed = true;
            }
            Display::Lines => {}
            Display::Terminal => self.redraw(),
        }
    }

    /// The progress text for the running benchmark.
    pub fn line(&self) -> String {
        let Some(id) = &self.current else {
            return String::new();
        };
        let now = Instant::now();
        let secs = |from: Option<Instant>, to: Instant| {
            from.map_or(0.0, |f| to.saturating_duration_since(f).as_secs_f64())
        };
        let current_start = self.current_start.unwrap_or(now);
        let before = secs(self.first_start, current_start);
        let in_current = secs(Some(current_start), now);
        let eta = eta_seconds(&self.weights, self.position, before, in_current);
        format!(
            "[{}/{}] {id} — ETA {}",
            self.started,
            self.total(),
            format_eta(eta)
        )
    }

    /// Rewrites the terminal line (a no-op elsewhere); call it now and then so the ETA counts
    /// down while a long benchmark runs.
    pub fn redraw(&mut self) {
        if self.display != Display::Terminal || self.current.is_none() {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", self.line());
        let _ = err.flush();
        self.shown = true;
    }

    /// Removes the terminal line before other output is printed (redraw afterwards).
    pub fn clear(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.shown = false;
        }
    }

    /// How often [`Progress::redraw`] is worth calling.
    pub fn tick(&self) -> Option<Duration> {
        (self.display == Display::Terminal).then_some(Duration::from_millis(500))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn cost(measured_s: f64, per_iteration_s: f64) -> StoredCost {
        StoredCost {
            measured_s,
            per_iteration_s,
        }
    }

    #[test]
    fn parses_criterion_stages_on_a_pipe() {
        assert_eq!(
            parse_line("Benchmarking engine/tick/64"),
            Some(CriterionLine::Start("engine/tick/64".into()))
        );
        assert_eq!(
            parse_line("Benchmarking engine/tick/64: Warming up for 3.0000 s"),
            Some(CriterionLine::WarmUp("engine/tick/64".into(), Some(3.0)))
        );
        assert_eq!(
            parse_line(
                "Benchmarking a b/c: Collecting 10 samples in estimated 200.00 ms (61M iterations)"
            ),
            Some(CriterionLine::Stage("a b/c".into()))
        );
        assert_eq!(
            parse_line("Benchmarking x: Analyzing"),
            Some(CriterionLine::Stage("x".into()))
        );
        // An id with ": " in it that is not a stage is still a start.
        assert_eq!(
            parse_line("Benchmarking odd: name"),
            Some(CriterionLine::Start("odd: name".into()))
        );
        assert_eq!(parse_line("     Running benches/tiny.rs (…)"), None);
        assert_eq!(parse_line("tiny/sum   time:   [1 ns 2 ns 3 ns]"), None);
    }

    #[test]
    fn parses_criterion_durations() {
        assert_eq!(parse_duration("100.00 ms"), Some(0.1));
        assert_eq!(parse_duration("3.0000 s"), Some(3.0));
        assert!((parse_duration("12.500 µs").unwrap() - 12.5e-6).abs() < 1e-15);
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("-1 s"), None);
    }

    #[test]
    fn weights_follow_the_stored_durations_not_the_count() {
        let stored = BTreeMap::from([
            ("fast".to_string(), cost(5.0, 1e-6)),
            ("slow".to_string(), cost(110.0, 0.2)),
        ]);
        let w = weights(&ids(&["fast", "slow"]), &stored, &Timing::default());
        assert_eq!(w, vec![8.0, 113.0]);
        // --warm-up-time changes every weight by the same amount.
        let timing = Timing {
            warm_up_s: 1.0,
            ..Timing::default()
        };
        assert_eq!(
            weights(&ids(&["fast", "slow"]), &stored, &timing),
            vec![6.0, 111.0]
        );
    }

    #[test]
    fn unknown_benchmarks_weigh_the_mean_of_the_known_ones() {
        let stored = BTreeMap::from([
            ("a".to_string(), cost(5.0, 1e-6)),
            ("b".to_string(), cost(15.0, 1e-6)),
        ]);
        let w = weights(&ids(&["a", "new", "b"]), &stored, &Timing::default());
        assert_eq!(w, vec![8.0, 13.0, 18.0]);
    }

    #[test]
    fn without_a_stored_baseline_every_benchmark_weighs_the_same() {
        let w = weights(&ids(&["a", "b", "c"]), &BTreeMap::new(), &Timing::default());
        assert_eq!(w, vec![8.0, 8.0, 8.0]);
        let quick = Timing {
            quick: true,
            ..Timing::default()
        };
        assert_eq!(
            weights(&ids(&["a"]), &BTreeMap::new(), &quick),
            vec![QUICK_MIN_S]
        );
    }

    #[test]
    fn quick_weights_come_from_the_iteration_time() {
        let stored = BTreeMap::from([
            ("us".to_string(), cost(5.0, 2e-6)),
            ("tenth".to_string(), cost(60.0, 0.1)),
            ("huge".to_string(), cost(700.0, 7.0)),
        ]);
        let quick = Timing {
            quick: true,
            ..Timing::default()
        };
        let w = weights(&ids(&["us", "tenth", "huge"]), &stored, &quick);
        assert_eq!(w[0], QUICK_MIN_S);
        assert!((w[1] - 0.3).abs() < 1e-12);
        assert_eq!(w[2], 7.0, "one iteration longer than the measurement time");
    }

    #[test]
    fn eta_scales_the_prediction_by_what_the_finished_benchmarks_took() {
        let w = [10.0, 10.0, 20.0];
        // Nothing finished: the prediction as is.
        assert_eq!(eta_seconds(&w, 0, 0.0, 0.0), 40.0);
        assert_eq!(eta_seconds(&w, 0, 0.0, 4.0), 36.0);
        // The first took twice its prediction: the rest will too.
        assert_eq!(eta_seconds(&w, 1, 20.0, 0.0), 60.0);
        assert_eq!(eta_seconds(&w, 2, 10.0, 5.0), 5.0);
        // Never negative, never past the end.
        assert_eq!(eta_seconds(&w, 2, 20.0, 100.0), 0.0);
        assert_eq!(eta_seconds(&w, 7, 20.0, 0.0), 0.0);
    }

    #[test]
    fn eta_formats() {
        assert_eq!(format_eta(0.4), "00:00");
        assert_eq!(format_eta(75.0), "01:15");
        assert_eq!(format_eta(3_725.0), "1:02:05");
    }

    #[test]
    fn progress_counts_benchmarks_and_keeps_the_list_order() {
        let mut p = Progress::new(
            ids(&["a", "b", "c"]),
            BTreeMap::new(),
            Timing::default(),
            Display::Off,
        );
        assert!(!p.on_stderr_line("   Compiling tiny v0.0.0"));
        assert!(p.on_stderr_line("Benchmarking a"));
        assert!(p.line().starts_with("[1/3] a — ETA "));
        assert!(p.on_stderr_line("Benchmarking a: Warming up for 100.00 ms"));
        assert_eq!(p.timing.warm_up_s, 0.1);
        assert!(p.on_stderr_line("Benchmarking a: Analyzing"));
        // `b` filtered out by something the list did not know: `c` keeps its place.
        assert!(p.on_stderr_line("Benchmarking c"));
        assert_eq!(p.position, 2);
        assert!(p.line().starts_with("[2/3] c — ETA "));
        // One more than listed: N grows rather than showing [4/3].
        assert!(p.on_stderr_line("Benchmarking d"));
        assert!(p.on_stderr_line("Benchmarking e"));
        assert!(p.line().starts_with("[4/4] e — ETA 00:00"), "{}", p.line());
    }
}
