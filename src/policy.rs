//! Per-benchmark policy for `tickbench compare`: which threshold applies to a benchmark, whether
//! its verdict may fail the gate, and which way is better.
//!
//! A policy lives in `tickbench.toml` at the project root, or in the `[package.metadata.tickbench]`
//! table of the project's `Cargo.toml` (same keys under it):
//!
//! ```toml
//! [defaults]                          # optional; every key optional
//! threshold = 5.0                     # % (the smallest change that counts)
//! advisory = false
//! direction = "smaller-is-better"
//!
//! [[rule]]                            # any number, applied in file order
//! match = "burst_*/pipeline_*"        # glob over the whole Criterion id
//! threshold = 25.0
//! advisory = true                     # reported, never fails the gate
//! direction = "smaller-is-better"     # or "larger-is-better"
//! metric = "time"                     # only for this metric ("time", "instructions"); absent: all
//! note = "threads on 2 vCPUs"         # shown in reports
//! ```
//!
//! **Precedence.** For each setting the *last* matching rule that sets it wins (like
//! `.gitignore`), so a general rule goes first and its exceptions after it. Where no rule sets
//! the threshold, the CLI's `--threshold` holds, else `[defaults]`, else
//! [`DEFAULT_THRESHOLD_PCT`]: a rule outranks the flag because rules exist for benchmarks that no
//! global setting fits.
//!
//! **Globs** match the whole id (anchored at both ends): `*` any run of characters, `/`
//! included; `?` one character; `[abc]`, `[a-z]`, `[!abc]` (or `[^abc]`) a class; `\` makes the
//! next character literal (in a TOML basic string write `\\`, or use a literal string `'…'`).
//! Everything else is literal. Matching is O(pattern × id): no exponential backtracking.
//!
//! **Errors.** Unknown keys, wrong types, a threshold that is not a finite non-negative number,
//! an invalid glob, an unknown direction or metric: each is a [`PolicyError`] naming the file and
//! the line. A rule whose glob matches no benchmark is a warning ([`Policy::unmatched`]).

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::baseline::Warning;

/// The threshold (in %) where neither a rule, the CLI nor `[defaults]` sets one; the CLI's own
/// default.
pub const DEFAULT_THRESHOLD_PCT: f64 = 5.0;

/// The threshold (in %) of the instructions metric where neither a rule for it nor the CLI sets
/// one. Counts of identical code are identical, so the threshold is a matter of what change is
/// worth a look, not of noise; `[defaults]`, being about time's noise, does not apply to them.
pub const DEFAULT_COUNT_THRESHOLD_PCT: f64 = 1.0;

/// The policy file's name at the project root.
pub const FILE_NAME: &str = "tickbench.toml";

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Less is better (times, instruction counts).
    #[default]
    SmallerIsBetter,
    /// More is better (rates).
    LargerIsBetter,
}

impl Direction {
    /// The name used in the file and in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SmallerIsBetter => "smaller-is-better",
            Direction::LargerIsBetter => "larger-is-better",
        }
    }
}

/// What a benchmark's figure measures; a rule may apply to one metric only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// Wall-clock time per iteration.
    #[default]
    Time,
    /// Instructions per iteration.
    Instructions,
}

impl Metric {
    /// Whether this is [`Metric::Time`] (stored files leave the default out).
    pub fn is_time(&self) -> bool {
        *self == Metric::Time
    }

    /// The unit of a per-iteration figure.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Time => "ns",
            Metric::Instructions => "Ir",
        }
    }

    /// The name used in the file and in every format.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Time => "time",
            Metric::Instructions => "instructions",
        }
    }
}

/// The policy that applies to one benchmark and metric.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Applied {
    /// Smallest change (in %) that counts as a regression or improvement.
    pub threshold_pct: f64,
    /// Reported, never fails the gate.
    pub advisory: bool,
    /// Which way is better.
    pub direction: Direction,
    /// Every rule that matched, in file order, each as file name, line and glob (e.g.
    /// ``tickbench.toml:12 `burst_*` ``); empty when only the defaults applied.
    pub rules: Vec<String>,
    /// The note of the last matching rule that has one.
    pub note: Option<String>,
}

impl fmt::Display for Applied {
    /// One table cell: ``25%, advisory (tickbench.toml:12 `burst_*`)``, or `5%` when only the
    /// defaults applied.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.threshold_pct)?;
        if self.advisory {
            f.write_str(", advisory")?;
        }
        if self.direction != Direction::SmallerIsBetter {
            write!(f, ", {}", self.direction.as_str())?;
        }
        if !self.rules.is_empty() {
            write!(f, " ({})", self.rules.join("; "))?;
        }
        Ok(())
    }
}

/// A policy file that cannot be used, with the place that is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PolicyError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when the parser knows it.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// The settings a rule or `[defaults]` may set; `None` leaves the earlier value.
#[derive(Clone, Debug, Default)]
struct Settings {
    threshold_pct: Option<f64>,
    advisory: Option<bool>,
    direction: Option<Direction>,
}

#[derive(Clone, Debug)]
struct Rule {
    glob: Glob,
    /// File name, line and glob, as reports show it.
    label: String,
    line: usize,
    metric: Option<Metric>,
    settings: Settings,
    note: Option<String>,
}

/// A parsed policy: where it came from, its defaults and its rules in file order.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    source: Option<PathBuf>,
    defaults: Settings,
    rules: Vec<Rule>,
}

// The file's layout, key for key. `Spanned` keeps the byte range of the values checked after
// parsing, so their errors can name the line too.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    defaults: Option<RawDefaults>,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    threshold: Option<Spanned<f64>>,
    advisory: Option<bool>,
    direction: Option<Direction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(rename = "match")]
    pattern: Spanned<String>,
    threshold: Option<Spanned<f64>>,
    advisory: Option<bool>,
    direction: Option<Direction>,
    metric: Option<Metric>,
    note: Option<String>,
}

// Only the path to `[package.metadata.tickbench]`; the rest of the manifest is Cargo's business.
#[derive(Deserialize)]
struct Manifest {
    package: Option<ManifestPackage>,
}

#[derive(Deserialize)]
struct ManifestPackage {
    metadata: Option<ManifestMetadata>,
}

#[derive(Deserialize)]
struct ManifestMetadata {
    tickbench: Option<RawPolicy>,
}

impl Policy {
    /// No policy file: every benchmark gets the defaults.
    pub fn empty() -> Policy {
        Policy::default()
    }

    /// Parses a `tickbench.toml`; `path` is only used to name the file in errors and reports.
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Policy> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| toml_error(&e, text, path))?;
        Ok(Policy::from_raw(raw, text, path)?)
    }

    /// Reads the policy file given on the command line. A file named `Cargo.toml` is read for its
    /// `[package.metadata.tickbench]` table, which must then exist.
    pub fn load(path: &Path) -> anyhow::Result<Policy> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read policy file {}", path.display()))?;
        if path.file_name().is_some_and(|n| n == "Cargo.toml") {
            Policy::parse_manifest(&text, path)?.with_context(|| {
                format!(
                    "{} has no [package.metadata.tickbench] table",
                    path.display()
                )
            })
        } else {
            Policy::parse(&text, path)
        }
    }

    /// Finds the project's policy: walks up from `start` to the first directory holding a
    /// `tickbench.toml` or a `Cargo.toml`, and reads the former, or else the latter's
    /// `[package.metadata.tickbench]` table. `None` when there is neither. Both at once is an
    /// error, so that neither is silently ignored.
    pub fn discover(start: &Path) -> anyhow::Result<Option<Policy>> {
        let start = std::path::absolute(start)
            .with_context(|| format!("cannot resolve {}", start.display()))?;
        for dir in start.ancestors() {
            let own = dir.join(FILE_NAME);
            let manifest = dir.join("Cargo.toml");
            let (has_own, has_manifest) = (own.is_file(), manifest.is_file());
            if !has_own && !has_manifest {
                continue;
            }
            let embedded = if has_manifest {
                let text = std::fs::read_to_string(&manifest)
                    .with_context(|| format!("cannot read {}", manifest.display()))?;
                Policy::parse_manifest(&text, &manifest)?
            } else {
                None
            };
            return match (has_own, embedded) {
                (true, Some(_)) => anyhow::bail!(
                    "{} and [package.metadata.tickbench] in {} both define a policy: keep one",
                    own.display(),
                    manifest.display()
                ),
                (true, None) => Policy::load(&own).map(Some),
                (false, embedded) => Ok(embedded),
            };
        }
        Ok(None)
    }

    /// The policy for benchmark `id` measured by `metric`. `cli_threshold_pct` is the CLI's
    /// `--threshold` when it was given; it replaces `[defaults]`, not the rules.
    pub fn applied(&self, id: &str, metric: Metric, cli_threshold_pct: Option<f64>) -> Applied {
        let default = match metric {
            Metric::Time => self.defaults.threshold_pct.unwrap_or(DEFAULT_THRESHOLD_PCT),
            Metric::Instructions => DEFAULT_COUNT_THRESHOLD_PCT,
        };
        let mut applied = Applied {
            threshold_pct: cli_threshold_pct.unwrap_or(default),
            advisory: self.defaults.advisory.unwrap_or(false),
            direction: self.defaults.direction.unwrap_or_default(),
            rules: Vec::new(),
            note: None,
        };
        let matching = self
            .rules
            .iter()
            .filter(|r| r.metric.is_none_or(|m| m == metric) && r.glob.matches(id));
        for rule in matching {
            let s = &rule.settings;
            applied.threshold_pct = s.threshold_pct.unwrap_or(applied.threshold_pct);
            applied.advisory = s.advisory.unwrap_or(applied.advisory);
            applied.direction = s.direction.unwrap_or(applied.direction);
            if rule.note.is_some() {
                applied.note.clone_from(&rule.note);
            }
            applied.rules.push(rule.label.clone());
        }
        applied
    }

    /// A warning for each rule whose glob matches none of `ids` (a renamed benchmark leaves its
    /// rule behind), naming the file and line.
    pub fn unmatched(&self, ids: &[impl AsRef<str>]) -> Vec<Warning> {
        self.unmatched_for(ids, Metric::Time)
    }

    /// [`Policy::unmatched`] among the rules written for `metric`: for time, the rules without
    /// a metric too; for instructions only the rules that say `metric = "instructions"` (the
    /// others are mostly about benchmarks that have no count: threads, disk).
    pub fn unmatched_for(&self, ids: &[impl AsRef<str>], metric: Metric) -> Vec<Warning> {
        let path = self.source.as_deref().unwrap_or(Path::new(FILE_NAME));
        self.rules
            .iter()
            .filter(|r| match metric {
                Metric::Time => r.metric.is_none_or(|m| m == metric),
                Metric::Instructions => r.metric == Some(metric),
            })
            .filter(|r| !ids.iter().any(|id| r.glob.matches(id.as_ref())))
            .map(|r| {
                Warning(format!(
                    "{}:{}: rule `{}` matches no benchmark",
                    path.display(),
                    r.line,
                    r.glob.pattern
                ))
            })
            .collect()
    }

    /// The file the policy was read from; `None` for [`Policy::empty`].
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The `[package.metadata.tickbench]` table of a Cargo manifest, if it has one.
    fn parse_manifest(text: &str, path: &Path) -> Result<Option<Policy>, PolicyError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| toml_error(&e, text, path))?;
        let raw = manifest
            .package
            .and_then(|p| p.metadata)
            .and_then(|m| m.tickbench);
        raw.map(|raw| Policy::from_raw(raw, text, path)).transpose()
    }

    fn from_raw(raw: RawPolicy, text: &str, path: &Path) -> Result<Policy, PolicyError> {
        let error = |offset: usize, message: String| PolicyError {
            path: path.to_owned(),
            line: Some(line_of(text, offset)),
            message,
        };
        let threshold = |t: Option<Spanned<f64>>| -> Result<Option<f64>, PolicyError> {
            match t {
                Some(t) if !(t.get_ref().is_finite() && *t.get_ref() >= 0.0) => Err(error(
                    t.span().start,
                    format!(
                        "threshold {} is not a finite non-negative number",
                        t.get_ref()
                    ),
                )),
                t => Ok(t.map(Spanned::into_inner)),
            }
        };
        let defaults = match raw.defaults {
            Some(d) => Settings {
                threshold_pct: threshold(d.threshold)?,
                advisory: d.advisory,
                direction: d.direction,
            },
            None => Settings::default(),
        };
        // Reports name the file, not where it sits on this machine.
        let name = Path::new(path.file_name().unwrap_or(path.as_os_str())).display();
        let mut rules = Vec::with_capacity(raw.rule.len());
        for r in raw.rule {
            let line = line_of(text, r.pattern.span().start);
            let glob = Glob::parse(r.pattern.get_ref())
                .map_err(|m| error(r.pattern.span().start, format!("`match`: {m}")))?;
            rules.push(Rule {
                label: format!("{name}:{line} `{}`", glob.pattern),
                glob,
                line,
                metric: r.metric,
                settings: Settings {
                    threshold_pct: threshold(r.threshold)?,
                    advisory: r.advisory,
                    direction: r.direction,
                },
                note: r.note,
            });
        }
        Ok(Policy {
            source: Some(path.to_owned()),
            defaults,
            rules,
        })
    }
}

fn toml_error(e: &toml::de::Error, text: &str, path: &Path) -> PolicyError {
    PolicyError {
        path: path.to_owned(),
        line: e.span().map(|s| line_of(text, s.start)),
        message: e.message().trim_end().to_owned(),
    }
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A compiled glob (syntax in the module docs).
#[derive(Clone, Debug)]
struct Glob {
    pattern: String,
    tokens: Vec<Token>,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Literal(char),
    One,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    /// Whether this single-character token accepts `c` (`Star` is handled by the matcher).
    fn accepts(&self, c: char) -> bool {
        match self {
            Token::Literal(l) => *l == c,
            Token::One => true,
            Token::Star => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

impl Glob {
    fn parse(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() {
            return Err("empty glob".into());
        }
        let bad = |why: &str| format!("invalid glob `{pattern}`: {why}");
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            let token = match c {
                // `**` is the same as `*`; one token keeps the matcher's star bookkeeping simple.
                '*' if tokens.last() == Some(&Token::Star) => continue,
                '*' => Token::Star,
                '?' => Token::One,
                '\\' => Token::Literal(chars.next().ok_or_else(|| bad("it ends with `\\`"))?),
                '[' => {
                    let negated = chars.next_if(|&c| c == '!' || c == '^').is_some();
                    let mut ranges = Vec::new();
                    loop {
                        let lo = match chars.next() {
                            None => return Err(bad("`[` is not closed")),
                            Some(']') => break,
                            Some('\\') => chars.next().ok_or_else(|| bad("it ends with `\\`"))?,
                            Some(c) => c,
                        };
                        // A `-` before the closing `]` is literal.
                        let hi = if chars.peek() == Some(&'-') && {
                            let mut ahead = chars.clone();
                            ahead.next();
                            ahead.peek().is_some_and(|&c| c != ']')
                        } {
                            chars.next();
                            match chars.next() {
                                Some('\\') => {
                                    chars.next().ok_or_else(|| bad("it ends with `\\`"))?
                                }
                                Some(c) => c,
                                None => return Err(bad("`[` is not closed")),
                            }
                        } else {
                            lo
                        };
                        if hi < lo {
                            return Err(bad(&format!("range `{lo}-{hi}` is reversed")));
                        }
                        ranges.push((lo, hi));
                    }
                    if ranges.is_empty() {
                        return Err(bad("empty class `[]` (write `\\]` for a literal `]`)"));
                    }
                    Token::Class { negated, ranges }
                }
                c => Token::Literal(c),
            };
            tokens.push(token);
        }
        Ok(Glob {
            pattern: pattern.to_owned(),
            tokens,
        })
    }

    /// Whether the glob matches all of `text`. On a mismatch after a `*`, only the latest `*`
    /// is retried one character further: an earlier star could only absorb text the later one
    /// can absorb too, so O(pattern × text) steps suffice.
    fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::Star) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(token) if token.accepts(text[t]) => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        star = Some((sp, st + 1));
                        p = sp + 1;
                        t = st + 1;
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p..].iter().all(|t| *t == Token::Star)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        Policy::parse(text, Path::new("tickbench.toml")).expect("valid policy")
    }

    /// The error's line and message, for a file that must be rejected.
    fn rejected(text: &str) -> (Option<usize>, String) {
        let err = Policy::parse(text, Path::new("dir/tickbench.toml")).expect_err("invalid");
        let err = err.downcast::<PolicyError>().expect("a PolicyError");
        assert_eq!(err.path, Path::new("dir/tickbench.toml"));
        assert!(err.to_string().starts_with("dir/tickbench.toml:"), "{err}");
        (err.line, err.message)
    }

    fn glob(pattern: &str) -> Glob {
        Glob::parse(pattern).expect("valid glob")
    }

    #[test]
    fn empty_policy_gives_the_cli_threshold_or_the_built_in_one() {
        let p = Policy::empty();
        assert_eq!(p.source(), None);
        let a = p.applied("indicator/ema", Metric::Time, None);
        assert_eq!(a.threshold_pct, DEFAULT_THRESHOLD_PCT);
        assert!(!a.advisory);
        assert_eq!(a.direction, Direction::SmallerIsBetter);
        assert!(a.rules.is_empty() && a.note.is_none());
        assert_eq!(p.applied("x", Metric::Time, Some(3.0)).threshold_pct, 3.0);
    }

    #[test]
    fn defaults_yield_to_the_cli_and_rules_outrank_both() {
        let p = policy(
            "[defaults]\nthreshold = 8\nadvisory = true\n\
             [[rule]]\nmatch = \"burst_*\"\nthreshold = 25.0\n",
        );
        let plain = p.applied("indicator/ema", Metric::Time, None);
        assert_eq!((plain.threshold_pct, plain.advisory), (8.0, true));
        assert_eq!(
            p.applied("indicator/ema", Metric::Time, Some(3.0))
                .threshold_pct,
            3.0
        );
        assert_eq!(
            p.applied("burst_50/x", Metric::Time, Some(3.0))
                .threshold_pct,
            25.0
        );
    }

    #[test]
    fn the_last_matching_rule_wins_for_each_setting() {
        let p = policy(
            r#"
[[rule]]
match = "concurrency_*/pipeline_*"
threshold = 15.0
note = "threads"

[[rule]]
match = "concurrency_batch_1/*"
advisory = true
note = "one tick per send"

[[rule]]
match = "*/pipeline_shards_2/*"
threshold = 40
"#,
        );
        let a = p.applied(
            "concurrency_batch_1/pipeline_shards_2/8",
            Metric::Time,
            None,
        );
        assert_eq!(a.threshold_pct, 40.0);
        assert!(a.advisory);
        assert_eq!(a.note.as_deref(), Some("one tick per send"));
        assert_eq!(
            a.rules,
            [
                "tickbench.toml:3 `concurrency_*/pipeline_*`",
                "tickbench.toml:8 `concurrency_batch_1/*`",
                "tickbench.toml:13 `*/pipeline_shards_2/*`",
            ]
        );
        let b = p.applied(
            "concurrency_batch_64/pipeline_shards_1/8",
            Metric::Time,
            None,
        );
        assert_eq!((b.threshold_pct, b.advisory), (15.0, false));
        assert_eq!(b.note.as_deref(), Some("threads"));
        // `concurrency_batch_1/*` is anchored: it does not reach batch 1024.
        assert!(
            !p.applied("concurrency_batch_1024/x", Metric::Time, None)
                .advisory
        );
    }

    #[test]
    fn a_later_rule_can_turn_advisory_off_again() {
        let p = policy(
            "[[rule]]\nmatch = \"journal_*\"\nadvisory = true\n\
             [[rule]]\nmatch = \"journal_rotation/*\"\nadvisory = false\n",
        );
        assert!(
            p.applied("journal_append/every_n/64", Metric::Time, None)
                .advisory
        );
        assert!(
            !p.applied("journal_rotation/rotate/256KiB", Metric::Time, None)
                .advisory
        );
    }

    #[test]
    fn a_metric_rule_applies_to_that_metric_only() {
        let p = policy(
            "[[rule]]\nmatch = \"db_*\"\nmetric = \"time\"\nadvisory = true\n\
             [[rule]]\nmatch = \"db_*\"\nmetric = \"instructions\"\nthreshold = 1\n\
             direction = \"larger-is-better\"\n",
        );
        let time = p.applied("db_insert/file/1", Metric::Time, None);
        assert!(time.advisory);
        assert_eq!(time.threshold_pct, DEFAULT_THRESHOLD_PCT);
        assert_eq!(time.rules, ["tickbench.toml:2 `db_*`"]);
        let ins = p.applied("db_insert/file/1", Metric::Instructions, None);
        assert!(!ins.advisory);
        assert_eq!(ins.threshold_pct, 1.0);
        assert_eq!(ins.direction, Direction::LargerIsBetter);
        assert_eq!(ins.rules, ["tickbench.toml:6 `db_*`"]);
    }

    #[test]
    fn applied_serialises_and_displays_what_applied() {
        let p = policy(
            "[[rule]]\nmatch = \"burst_*\"\nthreshold = 25\nadvisory = true\n\
             direction = \"larger-is-better\"\nnote = \"threads\"\n",
        );
        let a = p.applied("burst_50/engine_bare", Metric::Time, None);
        let json = serde_json::to_value(&a).expect("serialises");
        assert_eq!(json["direction"], "larger-is-better");
        assert_eq!(json["threshold_pct"], 25.0);
        assert_eq!(json["rules"][0], "tickbench.toml:2 `burst_*`");
        assert_eq!(json["note"], "threads");
        assert_eq!(
            a.to_string(),
            "25%, advisory, larger-is-better (tickbench.toml:2 `burst_*`)"
        );
        assert_eq!(
            Policy::empty()
                .applied("x", Metric::Time, Some(2.5))
                .to_string(),
            "2.5%"
        );
        assert_eq!(Direction::LargerIsBetter.as_str(), "larger-is-better");
        assert_eq!(Metric::Instructions.as_str(), "instructions");
    }

    #[test]
    fn unknown_keys_are_errors_naming_file_and_line() {
        let (line, msg) = rejected("[[rule]]\nmatch = \"a\"\ntreshold = 5.0\n");
        assert_eq!(line, Some(3));
        assert!(msg.contains("unknown field `treshold`"), "{msg}");

        let (line, msg) = rejected("# policy\n[defaults]\nthreshold = 5.0\ngate = false\n");
        assert_eq!(line, Some(4));
        assert!(msg.contains("unknown field `gate`"), "{msg}");

        let (line, msg) = rejected("[defaults]\nthreshold = 5.0\n\n[rules]\nmatch = \"a\"\n");
        assert_eq!(line, Some(4));
        assert!(msg.contains("unknown field `rules`"), "{msg}");
    }

    #[test]
    fn bad_types_and_values_are_errors_naming_the_line() {
        let (line, msg) = rejected("[[rule]]\nmatch = \"a\"\nadvisory = \"yes\"\n");
        assert_eq!(line, Some(3));
        assert!(msg.contains("invalid type"), "{msg}");

        let (line, msg) = rejected("[[rule]]\nmatch = \"a\"\ndirection = \"faster\"\n");
        assert_eq!(line, Some(3));
        assert!(msg.contains("smaller-is-better"), "{msg}");

        let (line, msg) = rejected("\n[[rule]]\nmatch = \"a\"\nmetric = \"cycles\"\n");
        assert_eq!(line, Some(4));
        assert!(msg.contains("instructions"), "{msg}");

        let (line, msg) = rejected("[[rule]]\nthreshold = 5.0\n");
        assert!(line.is_some());
        assert!(msg.contains("missing field `match`"), "{msg}");

        let (line, _) = rejected("[[rule]\nmatch = \"a\"\n");
        assert_eq!(line, Some(1));
    }

    #[test]
    fn a_threshold_must_be_a_finite_non_negative_number() {
        for (value, why) in [
            ("-1.0", "not a finite"),
            ("nan", "not a finite"),
            ("inf", "not a finite"),
            ("\"25\"", "invalid type"),
        ] {
            let (line, msg) = rejected(&format!("[[rule]]\nmatch = \"a\"\nthreshold = {value}\n"));
            assert_eq!(line, Some(3), "{value}");
            assert!(msg.contains(why), "{value}: {msg}");
            let (line, msg) = rejected(&format!("[defaults]\nthreshold = {value}\n"));
            assert_eq!(line, Some(2), "{value}");
            assert!(msg.contains(why), "{value}: {msg}");
        }
        // Integers are numbers too; zero counts every significant change.
        assert_eq!(
            policy("[defaults]\nthreshold = 0\n").defaults.threshold_pct,
            Some(0.0)
        );
    }

    #[test]
    fn a_bad_glob_is_an_error_naming_the_line() {
        for (pattern, why) in [
            ("", "empty glob"),
            ("db_[ab", "not closed"),
            ("db_[]", "empty class"),
            ("db_[z-a]", "reversed"),
            ("db_\\\\", "ends with"),
        ] {
            let (line, msg) =
                rejected(&format!("[[rule]]\nthreshold = 1\nmatch = \"{pattern}\"\n"));
            assert_eq!(line, Some(3), "{pattern}");
            assert!(msg.contains(why), "{pattern}: {msg}");
        }
    }

    #[test]
    fn globs_are_anchored_and_star_crosses_slashes() {
        assert!(glob("burst_*").matches("burst_50/pipeline_shards/2"));
        assert!(glob("*").matches(""));
        assert!(glob("*/file/*").matches("db_insert/file/100"));
        assert!(!glob("*/file/*").matches("db_insert/memory/100"));
        assert!(glob("db_*/file/*").matches("db_/file/"));
        assert!(!glob("burst").matches("burst_50"));
        assert!(!glob("st_50").matches("burst_50"));
        assert!(glob("a**b").matches("a/x/b"));
        assert!(glob("*_ceiling").matches("journal_append/write_all_ceiling"));
        assert!(!glob("*_ceiling").matches("journal_append/write_all_ceiling/x"));
    }

    #[test]
    fn question_mark_is_exactly_one_character() {
        assert!(glob("db_?nsert/*").matches("db_insert/file/1"));
        assert!(glob("a?c").matches("a/c"));
        assert!(glob("a?c").matches("aéc"));
        assert!(!glob("a?c").matches("ac"));
        assert!(!glob("a?c").matches("abbc"));
    }

    #[test]
    fn classes_ranges_and_negation() {
        let g = glob("readers/[124]");
        assert!(g.matches("readers/1") && g.matches("readers/4"));
        assert!(!g.matches("readers/3") && !g.matches("readers/12"));
        assert!(glob("x[0-9][0-9]").matches("x42"));
        assert!(!glob("x[0-9]").matches("xa"));
        assert!(glob("x[!0-9]").matches("xa"));
        assert!(glob("x[^0-9]").matches("xa"));
        assert!(!glob("x[!0-9]").matches("x5"));
        assert!(glob("x[a-]").matches("x-"), "a trailing `-` is literal");
        assert!(glob("x[-a]").matches("x-"), "a leading `-` is literal");
        assert!(glob("x[\\]]").matches("x]"));
        assert!(glob("x[*?]").matches("x*") && !glob("x[*?]").matches("xy"));
    }

    #[test]
    fn other_characters_and_escapes_are_literal() {
        assert!(glob("a.b+c(d)|e{f}$^").matches("a.b+c(d)|e{f}$^"));
        assert!(!glob("a.b").matches("axb"));
        assert!(glob("a\\*b").matches("a*b"));
        assert!(!glob("a\\*b").matches("axb"));
        assert!(glob("a\\?").matches("a?") && !glob("a\\?").matches("ab"));
        assert!(glob("\\[x]").matches("[x]"));
        // Through TOML: a literal string keeps the backslash as written.
        let p = policy("[[rule]]\nmatch = 'odd\\*id'\nadvisory = true\n");
        assert!(p.applied("odd*id", Metric::Time, None).advisory);
        assert!(!p.applied("oddXid", Metric::Time, None).advisory);
    }

    #[test]
    fn a_pathological_glob_finishes() {
        // Backtracking into every star would take about C(10 000, 40) steps here.
        let pattern = format!("{}b", "*a".repeat(40));
        let text = "a".repeat(10_000);
        assert!(!glob(&pattern).matches(&text));
        assert!(glob(&pattern).matches(&format!("{text}b")));
    }

    #[test]
    fn unmatched_rules_are_warnings_naming_file_and_line() {
        let p = Policy::parse(
            "[[rule]]\nmatch = \"burst_*\"\n\n[[rule]]\nmatch = \"bursts_*\"\n",
            Path::new("/repo/tickbench.toml"),
        )
        .expect("valid");
        let warnings = p.unmatched(&["burst_50/engine_bare", "indicator/ema"]);
        assert_eq!(
            warnings,
            [Warning(
                "/repo/tickbench.toml:5: rule `bursts_*` matches no benchmark".into()
            )]
        );
        assert!(p
            .unmatched(&["bursts_1".to_owned(), "burst_1".to_owned()])
            .is_empty());
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn discover_reads_the_cargo_metadata_table_from_a_subdirectory() {
        let root = tempfile::tempdir().expect("tempdir");
        let manifest = root.path().join("Cargo.toml");
        write(
            &manifest,
            "[package]\nname = \"x\"\n\n[package.metadata.tickbench.defaults]\nthreshold = 7\n\n\
             [[package.metadata.tickbench.rule]]\nmatch = \"db_*\"\nadvisory = true\n",
        );
        let sub = root.path().join("src/deep");
        std::fs::create_dir_all(&sub).expect("mkdir");
        let p = Policy::discover(&sub)
            .expect("reads")
            .expect("finds the table");
        assert_eq!(p.source(), Some(manifest.as_path()));
        let a = p.applied("db_insert/file/1", Metric::Time, None);
        assert_eq!((a.threshold_pct, a.advisory), (7.0, true));
        assert_eq!(a.rules, ["Cargo.toml:8 `db_*`"]);
        assert!(Policy::load(&manifest).is_ok());
    }

    #[test]
    fn errors_in_the_cargo_metadata_table_name_cargo_toml_and_its_line() {
        let root = tempfile::tempdir().expect("tempdir");
        let manifest = root.path().join("Cargo.toml");
        write(
            &manifest,
            "[package]\nname = \"x\"\n[package.metadata.other]\nanything = 1\n\
             [package.metadata.tickbench]\ntreshold = 5\n",
        );
        let err = Policy::discover(root.path()).expect_err("unknown key");
        let err = err.downcast::<PolicyError>().expect("a PolicyError");
        assert_eq!(
            (err.path.as_path(), err.line),
            (manifest.as_path(), Some(6))
        );
        assert!(err.message.contains("treshold"), "{}", err.message);
    }

    #[test]
    fn discover_prefers_the_nearest_project_and_stops_there() {
        let root = tempfile::tempdir().expect("tempdir");
        write(&root.path().join(FILE_NAME), "[[rule]]\nmatch = \"a\"\n");
        // A Cargo.toml without the table ends the walk: the outer tickbench.toml is another
        // project's.
        let inner = root.path().join("inner");
        write(&inner.join("Cargo.toml"), "[package]\nname = \"inner\"\n");
        assert!(Policy::discover(&inner).expect("reads").is_none());
        let p = Policy::discover(root.path())
            .expect("reads")
            .expect("finds the file");
        assert_eq!(p.source(), Some(root.path().join(FILE_NAME).as_path()));
        // tickbench.toml beside a Cargo.toml without the table is fine ...
        write(&root.path().join("Cargo.toml"), "[package]\nname = \"x\"\n");
        assert!(Policy::discover(root.path()).expect("reads").is_some());
        // ... beside one with the table it is ambiguous.
        write(
            &root.path().join("Cargo.toml"),
            "[package]\nname = \"x\"\n[package.metadata.tickbench]\n",
        );
        let err = Policy::discover(root.path()).expect_err("two policies");
        assert!(err.to_string().contains("keep one"), "{err}");
    }

    #[test]
    fn load_names_a_missing_file_and_a_manifest_without_the_table() {
        let root = tempfile::tempdir().expect("tempdir");
        let missing = root.path().join("nope.toml");
        let err = Policy::load(&missing).expect_err("missing");
        assert!(format!("{err:#}").contains("nope.toml"), "{err:#}");
        let manifest = root.path().join("Cargo.toml");
        write(&manifest, "[package]\nname = \"x\"\n");
        let err = Policy::load(&manifest).expect_err("no table");
        assert!(
            err.to_string().contains("no [package.metadata.tickbench]"),
            "{err}"
        );
    }

    /// This repository's own policy: it parses, and every rule still matches a benchmark of the
    /// stored baseline (a renamed group would otherwise leave its rule silently behind).
    #[test]
    fn the_repository_policy_matches_the_suite() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let p = Policy::load(&root.join(FILE_NAME)).expect("the repository's policy");
        let path = root.join("baselines/amd-epyc-2c.json");
        let text = std::fs::read_to_string(&path).expect("the stored baseline");
        let stored: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let ids: Vec<&str> = stored["runs"][0]["benchmarks"]
            .as_array()
            .expect("benchmarks")
            .iter()
            .filter_map(|b| b["id"].as_str())
            .collect();
        assert!(ids.len() > 50, "{} ids", ids.len());
        assert_eq!(p.unmatched(&ids), []);
        let time = |id: &str| p.applied(id, Metric::Time, None);
        for compute in [
            "indicator/ema",
            "engine/tick",
            "db_insert/memory/100",
            "canary/fnv1a_4k",
        ] {
            assert!(time(compute).rules.is_empty(), "{compute}");
        }
        assert!(time("burst_1000000/pipeline_shards/2").advisory);
        assert!(time("concurrency_batch_1/pipeline_shards_2/8").advisory);
        assert!(!time("concurrency_batch_1024/pipeline_shards_2/8").advisory);
        assert!(time("db_insert/file/100").threshold_pct > DEFAULT_THRESHOLD_PCT);
    }
}
