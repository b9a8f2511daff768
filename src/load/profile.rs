//! What load to offer: [`LoadProfile`], its presets, its file format and its validation.
//!
//! A profile fixes the *offered* load, independent of how fast the system under test is: a
//! steady rate plus periodic bursts on an absolute timeline, a warm-up whose events are sent but
//! not measured, and the measured duration. Profiles are built in ([`LoadProfile::quick`],
//! [`LoadProfile::full`]) or read from a TOML or JSON file with the same field names:
//!
//! ```toml
//! name = "nightly"
//! rate = 250000.0          # steady ticks per second (bursts come on top)
//! duration_s = 60.0        # measured window, after the warm-up
//! warmup_s = 5.0           # sent but not measured
//! burst_size = 50          # extra ticks released together ...
//! burst_interval_ms = 100.0 # ... every this many milliseconds (0 = no bursts)
//! producers = 1            # concurrent sending threads sharing the schedule
//! symbols = 64             # symbols in the synthetic market
//! shards = 1               # pipeline shards (tokio workers)
//! release_interval_us = 10.0 # producers release due ticks on a 10 µs grid (0 = per tick)
//! ```
//!
//! Every field but `rate` and `duration_s` may be left out and takes the `quick` preset's value.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A bad profile: a value out of range or a file that cannot be read or parsed.
///
/// All variants are bad *input*: the CLI maps them to exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A field has a value the harness cannot run with.
    #[error("invalid load profile: {field} {problem}")]
    Invalid {
        /// The field (or CLI flag) at fault.
        field: &'static str,
        /// What is wrong with it, including the value.
        problem: String,
    },
    /// The profile file could not be read.
    #[error("cannot read load profile {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The profile file is not a valid profile.
    #[error("cannot parse load profile {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (it names the line or field).
        message: String,
    },
    /// The profile file is valid but describes an impossible load.
    #[error("in load profile {path}: {source}")]
    InFile {
        /// The file.
        path: PathBuf,
        /// The validation error.
        #[source]
        source: Box<ProfileError>,
    },
}

/// The offered load: rate, bursts, duration, concurrency and the size of the system under test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadProfile {
    /// Name shown in reports (`quick`, `full`, or the file's choice).
    #[serde(default = "default_name")]
    pub name: String,
    /// Steady offered rate in ticks per second; bursts come on top of it.
    pub rate: f64,
    /// Length of the measured window in seconds, after the warm-up.
    pub duration_s: f64,
    /// Warm-up in seconds: its ticks are sent and processed but not measured.
    #[serde(default = "default_warmup_s")]
    pub warmup_s: f64,
    /// Extra ticks released together at each burst (0 = no bursts).
    #[serde(default = "default_burst_size")]
    pub burst_size: u32,
    /// Milliseconds between bursts (0 = no bursts).
    #[serde(default = "default_burst_interval_ms")]
    pub burst_interval_ms: f64,
    /// Concurrent producer threads; the schedule is dealt out among them round-robin.
    #[serde(default = "default_producers")]
    pub producers: u32,
    /// Symbols in the synthetic market.
    #[serde(default = "default_symbols")]
    pub symbols: u32,
    /// Pipeline shards, each on its own tokio worker thread.
    #[serde(default = "default_shards")]
    pub shards: u32,
    /// Microseconds between a producer's release points: it wakes on the grid
    /// `t0 + k · release_interval` and releases every tick already due as one batch, so at high
    /// rates it hands over a batch per interval instead of waking (and waking the pipeline)
    /// once per tick. Each tick's latency still counts from its own planned time, so the wait
    /// for the next release point (at most this interval) is part of the measured latency,
    /// never hidden. 0 releases each tick at its planned time.
    #[serde(default = "default_release_interval_us")]
    pub release_interval_us: f64,
}

fn default_name() -> String {
    "custom".to_owned()
}
fn default_warmup_s() -> f64 {
    1.0
}
fn default_burst_size() -> u32 {
    50
}
fn default_burst_interval_ms() -> f64 {
    100.0
}
fn default_producers() -> u32 {
    1
}
fn default_symbols() -> u32 {
    64
}
fn default_shards() -> u32 {
    1
}
fn default_release_interval_us() -> f64 {
    10.0
}
/// Largest release interval: a grid coarser than this is a burst profile, not a release grid.
const MAX_RELEASE_INTERVAL_US: f64 = 1_000_000.0;

/// Upper bound on `producers`: more threads than this only measure the OS scheduler.
pub const MAX_PRODUCERS: u32 = 256;
/// Upper bound on `shards`.
pub const MAX_SHARDS: u32 = 256;
/// Upper bound on the measured window plus warm-up (one day).
pub const MAX_SECONDS: f64 = 86_400.0;

impl LoadProfile {
    /// The quick profile: 1 s warm-up and 5 s measured at 1 M ticks/s with bursts of 50 every
    /// 100 ms, one producer, one shard. Runs in 6 s, for CI and before/after checks.
    pub fn quick() -> Self {
        LoadProfile {
            name: "quick".to_owned(),
            rate: 1_000_000.0,
            duration_s: 5.0,
            warmup_s: default_warmup_s(),
            burst_size: default_burst_size(),
            burst_interval_ms: default_burst_interval_ms(),
            producers: default_producers(),
            symbols: default_symbols(),
            shards: default_shards(),
            release_interval_us: default_release_interval_us(),
        }
    }

    /// The full profile: the quick profile's load sustained for 10 minutes after a 30 s warm-up,
    /// long enough for slow leaks and periodic stalls to show.
    pub fn full() -> Self {
        LoadProfile {
            name: "full".to_owned(),
            duration_s: 600.0,
            warmup_s: 30.0,
            ..Self::quick()
        }
    }

    /// Resolves a `--profile` argument: `quick`, `full`, or the path of a TOML/JSON file.
    pub fn resolve(spec: &str) -> Result<Self, ProfileError> {
        match spec {
            "quick" => Ok(Self::quick()),
            "full" => Ok(Self::full()),
            path => Self::from_file(Path::new(path)),
        }
    }

    /// Reads and validates a profile file; `.json` files are JSON, anything else TOML.
    pub fn from_file(path: &Path) -> Result<Self, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_owned(),
            source,
        })?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed: Result<LoadProfile, String> = if is_json {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            toml::from_str(&text).map_err(|e| e.to_string())
        };
        let profile = parsed.map_err(|message| ProfileError::Parse {
            path: path.to_owned(),
            message: message.trim_end().to_owned(),
        })?;
        profile.validate().map_err(|e| ProfileError::InFile {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        Ok(profile)
    }

    /// Checks every field; the error names the first field out of range and its value.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let invalid = |field, problem: String| Err(ProfileError::Invalid { field, problem });
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return invalid(
                "rate",
                format!("must be a positive number of ticks/s, got {}", self.rate),
            );
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0) {
            return invalid(
                "duration_s",
                format!(
                    "must be a positive number of seconds, got {}",
                    self.duration_s
                ),
            );
        }
        if !(self.warmup_s.is_finite() && self.warmup_s >= 0.0) {
            return invalid(
                "warmup_s",
                format!("must be zero or more seconds, got {}", self.warmup_s),
            );
        }
        if self.duration_s + self.warmup_s > MAX_SECONDS {
            return invalid(
                "duration_s",
                format!(
                    "plus warmup_s must be at most {MAX_SECONDS} s, got {}",
                    self.duration_s + self.warmup_s
                ),
            );
        }
        if !(self.burst_interval_ms.is_finite() && self.burst_interval_ms >= 0.0) {
            return invalid(
                "burst_interval_ms",
                format!(
                    "must be zero or more milliseconds, got {}",
                    self.burst_interval_ms
                ),
            );
        }
        if self.burst_size > 0 && self.burst_interval_ms > 0.0 && self.burst_interval_ms < 0.001 {
            return invalid(
                "burst_interval_ms",
                format!("must be at least 0.001 ms, got {}", self.burst_interval_ms),
            );
        }
        if !(1..=MAX_PRODUCERS).contains(&self.producers) {
            return invalid(
                "producers",
                format!("must be 1..={MAX_PRODUCERS}, got {}", self.producers),
            );
        }
        if self.symbols == 0 {
            return invalid("symbols", "must be at least 1, got 0".to_owned());
        }
        if !(1..=MAX_SHARDS).contains(&self.shards) {
            return invalid(
                "shards",
                format!("must be 1..={MAX_SHARDS}, got {}", self.shards),
            );
        }
        if !(self.release_interval_us.is_finite()
            && (0.0..=MAX_RELEASE_INTERVAL_US).contains(&self.release_interval_us))
        {
            return invalid(
                "release_interval_us",
                format!(
                    "must be 0..={MAX_RELEASE_INTERVAL_US} microseconds, got {}",
                    self.release_interval_us
                ),
            );
        }
        Ok(())
    }

    /// The warm-up as a [`Duration`].
    pub fn warmup(&self) -> Duration {
        Duration::from_secs_f64(self.warmup_s)
    }

    /// The measured window as a [`Duration`].
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration_s)
    }

    /// Warm-up plus measured window: how long ticks are offered.
    pub fn total(&self) -> Duration {
        self.warmup() + self.duration()
    }

    /// The release grid's step in ns (0 = release each tick at its planned time).
    pub fn release_interval_ns(&self) -> u64 {
        (self.release_interval_us * 1e3).round() as u64
    }

    /// Whether the profile has bursts at all.
    pub fn has_bursts(&self) -> bool {
        self.burst_size > 0 && self.burst_interval_ms > 0.0
    }

    /// The offered rate including bursts, in ticks per second: what "achieved" is compared to.
    pub fn offered_rate(&self) -> f64 {
        if self.has_bursts() {
            self.rate + f64::from(self.burst_size) * 1000.0 / self.burst_interval_ms
        } else {
            self.rate
        }
    }
}

impl Default for LoadProfile {
    fn default() -> Self {
        Self::quick()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_quick_is_short() {
        LoadProfile::quick().validate().unwrap();
        LoadProfile::full().validate().unwrap();
        assert!(LoadProfile::quick().total() <= Duration::from_secs(10));
        assert_eq!(LoadProfile::full().duration(), Duration::from_secs(600));
    }

    #[test]
    fn release_interval_is_validated_and_defaults_in_files() {
        for bad in [-1.0, f64::NAN, f64::INFINITY, 2e6] {
            let p = LoadProfile {
                release_interval_us: bad,
                ..LoadProfile::quick()
            };
            match p.validate() {
                Err(ProfileError::Invalid { field, problem }) => {
                    assert_eq!(field, "release_interval_us");
                    assert!(problem.contains(&bad.to_string()), "{problem}");
                }
                other => panic!("{bad}: expected an error, got {other:?}"),
            }
        }
        let p: LoadProfile = toml::from_str("rate = 10.0\nduration_s = 1.0").unwrap();
        assert_eq!(p.release_interval_us, 10.0);
        assert_eq!(p.release_interval_ns(), 10_000);
        let p = LoadProfile {
            release_interval_us: 0.0,
            ..LoadProfile::quick()
        };
        p.validate().unwrap();
        assert_eq!(p.release_interval_ns(), 0);
    }

    #[test]
    fn zero_rate_is_rejected_naming_the_field() {
        let p = LoadProfile {
            rate: 0.0,
            ..LoadProfile::quick()
        };
        let msg = p.validate().unwrap_err().to_string();
        assert!(msg.contains("rate") && msg.contains("got 0"), "{msg}");
    }

    #[test]
    fn negative_or_nan_durations_are_rejected() {
        for (duration_s, warmup_s, field) in [
            (-1.0, 1.0, "duration_s"),
            (f64::NAN, 1.0, "duration_s"),
            (0.0, 1.0, "duration_s"),
            (1.0, -0.5, "warmup_s"),
        ] {
            let p = LoadProfile {
                duration_s,
                warmup_s,
                ..LoadProfile::quick()
            };
            match p.validate() {
                Err(ProfileError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{duration_s}/{warmup_s}: expected an error, got {other:?}"),
            }
        }
    }

    #[test]
    fn zero_producers_and_shards_are_rejected() {
        let p = LoadProfile {
            producers: 0,
            ..LoadProfile::quick()
        };
        assert!(p.validate().is_err());
        let p = LoadProfile {
            shards: 0,
            ..LoadProfile::quick()
        };
        assert!(p.validate().is_err());
    }

    #[test]
    fn offered_rate_includes_bursts() {
        let p = LoadProfile {
            rate: 1000.0,
            burst_size: 50,
            burst_interval_ms: 100.0,
            ..LoadProfile::quick()
        };
        assert_eq!(p.offered_rate(), 1500.0);
        let p = LoadProfile { burst_size: 0, ..p };
        assert_eq!(p.offered_rate(), 1000.0);
    }

    #[test]
    fn toml_and_json_files_load_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("p.toml");
        std::fs::write(&toml_path, "name = \"t\"\nrate = 500.0\nduration_s = 2.0\n").unwrap();
        let p = LoadProfile::from_file(&toml_path).unwrap();
        assert_eq!((p.name.as_str(), p.rate, p.duration_s), ("t", 500.0, 2.0));
        assert_eq!(p.burst_size, LoadProfile::quick().burst_size);

        let json_path = dir.path().join("p.json");
        std::fs::write(&json_path, r#"{"rate": 10, "duration_s": 1, "shards": 2}"#).unwrap();
        let p = LoadProfile::from_file(&json_path).unwrap();
        assert_eq!((p.rate, p.shards, p.name.as_str()), (10.0, 2, "custom"));
    }

    #[test]
    fn bad_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        let msg = format!(
            "{:#}",
            anyhow::Error::from(LoadProfile::from_file(&missing).unwrap_err())
        );
        assert!(msg.contains("missing.toml"), "{msg}");

        let garbled = dir.path().join("garbled.toml");
        std::fs::write(&garbled, "rate = \"fast\"\nduration_s = 1\n").unwrap();
        let msg = LoadProfile::from_file(&garbled).unwrap_err().to_string();
        assert!(
            msg.contains("garbled.toml") && msg.contains("rate"),
            "{msg}"
        );

        let unknown = dir.path().join("unknown.toml");
        std::fs::write(&unknown, "rate = 1.0\nduration_s = 1\nrat = 2\n").unwrap();
        let msg = LoadProfile::from_file(&unknown).unwrap_err().to_string();
        assert!(msg.contains("unknown.toml") && msg.contains("rat"), "{msg}");

        let zero = dir.path().join("zero.toml");
        std::fs::write(&zero, "rate = 0.0\nduration_s = 1\n").unwrap();
        let msg = LoadProfile::from_file(&zero).unwrap_err().to_string();
        assert!(msg.contains("zero.toml") && msg.contains("rate"), "{msg}");
    }

    #[test]
    fn the_documented_example_profile_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/load/nightly.toml");
        let p = LoadProfile::from_file(&path).unwrap();
        assert_eq!(
            (p.name.as_str(), p.rate, p.duration_s),
            ("nightly", 250_000.0, 60.0)
        );
    }

    #[test]
    fn resolve_knows_presets_and_paths() {
        assert_eq!(LoadProfile::resolve("quick").unwrap(), LoadProfile::quick());
        assert_eq!(LoadProfile::resolve("full").unwrap(), LoadProfile::full());
        assert!(matches!(
            LoadProfile::resolve("no/such/profile.toml"),
            Err(ProfileError::Read { .. })
        ));
    }
}
