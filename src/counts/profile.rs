//! Where a benchmark's instructions went: stacks (callers, the function, then the functions
//! inlined into it at each instruction) with their counts, the inclusive count of every
//! function, and the folded text a flamegraph is drawn from.
//!
//! A benchmark's profile is the difference of its two counted calls (`2A` minus `A`
//! iterations), the same difference its figure is, so one-off costs of a call cancel here too.
//! It is kept with the count baseline, bounded to [`MAX_STACKS`] stacks (the rest summed into
//! one `[other]` stack) with frame names stored once: a few kilobytes to a few tens per
//! benchmark, so the old side's profile is there when a later run changes.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::callgrind::Dump;

/// Stacks kept per benchmark, heaviest first.
pub const MAX_STACKS: usize = 250;

/// The frame that stands for the stacks beyond [`MAX_STACKS`].
pub const OTHER: &str = "[other]";

/// A benchmark's counts: the two counted calls and their profile.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Counted {
    /// Iterations of the two counted calls (`A`, `2A`).
    pub iterations: [u64; 2],
    /// Instructions (Ir) of each call.
    pub totals: [u64; 2],
    /// Where the difference went, over `iterations[1] - iterations[0]` iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
}

impl Counted {
    /// Iterations the profile and the figure cover.
    pub fn span(&self) -> u64 {
        self.iterations[1].saturating_sub(self.iterations[0])
    }

    /// Instructions per iteration: the difference of the two calls over the difference of
    /// their iterations; `None` when that is not a positive count (nothing was counted, or
    /// the calls are not in order).
    pub fn per_iteration(&self) -> Option<f64> {
        let span = self.span();
        let diff = self.totals[1].checked_sub(self.totals[0])?;
        (span > 0 && diff > 0).then(|| diff as f64 / span as f64)
    }
}

/// Stacks with counts; frame names are stored once. In a file it is the folded text (one
/// `outer;…;inner count` line per stack), gzip-compressed and base64-encoded: function paths
/// are long and repeat, and compressed they cost a few kilobytes per benchmark.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(into = "Stored", try_from = "Stored")]
pub struct Profile {
    /// Frame names.
    pub frames: Vec<String>,
    /// Each stack as indices into `frames`, outermost first, with its instructions.
    pub stacks: Vec<(Vec<u32>, u64)>,
}

/// The stored form of a [`Profile`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    /// Always [`STORED_FORMAT`].
    format: String,
    /// Number of stacks (a check on the decoded text).
    stacks: usize,
    /// base64 of the gzip of the folded text.
    data: String,
}

/// The `format` of a stored profile.
const STORED_FORMAT: &str = "folded+gzip+base64";

impl From<Profile> for Stored {
    fn from(p: Profile) -> Stored {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(p.folded(1.0).as_bytes())
            .expect("gzip into memory");
        Stored {
            format: STORED_FORMAT.into(),
            stacks: p.stacks.len(),
            data: base64::encode(&gz.finish().expect("gzip into memory")),
        }
    }
}

impl TryFrom<Stored> for Profile {
    type Error = String;

    fn try_from(s: Stored) -> Result<Profile, String> {
        use std::io::Read;
        if s.format != STORED_FORMAT {
            return Err(format!(
                "profile format '{}' (this reads '{STORED_FORMAT}')",
                s.format
            ));
        }
        let bytes = base64::decode(&s.data).ok_or("profile data is not base64")?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .map_err(|e| format!("profile data is not gzip text: {e}"))?;
        let mut named = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (stack, count) = line
                .rsplit_once(' ')
                .ok_or_else(|| format!("profile line without a count: '{line}'"))?;
            let count: u64 = count
                .parse()
                .map_err(|_| format!("profile line with a bad count: '{line}'"))?;
            named.push((stack.split(';').map(str::to_string).collect(), count));
        }
        if named.len() != s.stacks {
            return Err(format!(
                "profile holds {} stacks, its header says {}",
                named.len(),
                s.stacks
            ));
        }
        Ok(Profile::from_stacks(named))
    }
}

/// Standard base64 (RFC 4648, with padding): the profile's bytes in a JSON string.
mod base64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    pub fn decode(text: &str) -> Option<Vec<u8>> {
        let text = text.as_bytes();
        if text.len() % 4 != 0 {
            return None;
        }
        let value = |c: u8| ALPHABET.iter().position(|&a| a == c).map(|v| v as u32);
        let mut out = Vec::with_capacity(text.len() / 4 * 3);
        for chunk in text.chunks(4) {
            let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
            if pad > 2 {
                return None;
            }
            let mut n = 0u32;
            for &c in &chunk[..4 - pad] {
                n = (n << 6) | value(c)?;
            }
            n <<= 6 * pad as u32;
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&bytes[..3 - pad]);
        }
        Some(out)
    }

    #[cfg(test)]
    #[test]
    fn round_trips() {
        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let e = encode(text.as_bytes());
            assert_eq!(decode(&e).unwrap(), text.as_bytes(), "{e}");
        }
        assert_eq!(encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode(b"fo"), "Zm8=");
        assert!(decode("Zm8").is_none());
        assert!(decode("Z!8=").is_none());
    }
}

/// Resolves the functions inlined at an instruction.
pub trait Inlines {
    /// The functions inlined at `address` of `object`, outermost first, without the function
    /// that contains them (callgrind already names that one).
    fn inlined(&mut self, object: &str, address: u64) -> Vec<String>;
}

/// Resolves nothing: stacks end at the containing function.
pub struct NoInlines;

impl Inlines for NoInlines {
    fn inlined(&mut self, _object: &str, _address: u64) -> Vec<String> {
        Vec::new()
    }
}

/// Self cost per stack of one dump.
fn stacks(dump: &Dump, inlines: &mut dyn Inlines) -> HashMap<Vec<String>, i64> {
    let mut out: HashMap<Vec<String>, i64> = HashMap::new();
    for (site, &cost) in &dump.costs {
        let mut stack: Vec<String> = site.context.rsplit('\'').map(str::to_string).collect();
        stack.extend(inlines.inlined(&site.object, site.address));
        *out.entry(stack).or_insert(0) += cost as i64;
    }
    out
}

impl Profile {
    /// The profile of `second − first` (two dumps of the same benchmark), bounded.
    pub fn difference(first: &Dump, second: &Dump, inlines: &mut dyn Inlines) -> Profile {
        let mut diff = stacks(second, inlines);
        for (stack, cost) in stacks(first, inlines) {
            *diff.entry(stack).or_insert(0) -= cost;
        }
        let mut kept: Vec<(Vec<String>, u64)> = diff
            .into_iter()
            .filter(|(_, c)| *c > 0)
            .map(|(s, c)| (s, c as u64))
            .collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let rest: u64 = kept.iter().skip(MAX_STACKS).map(|(_, c)| c).sum();
        kept.truncate(MAX_STACKS);
        if rest > 0 {
            kept.push((vec![OTHER.to_string()], rest));
        }
        Profile::from_stacks(kept)
    }

    /// A profile of named stacks.
    pub fn from_stacks(named: Vec<(Vec<String>, u64)>) -> Profile {
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut frames = Vec::new();
        let stacks = named
            .into_iter()
            .map(|(stack, cost)| {
                let ids = stack
                    .into_iter()
                    .map(|name| {
                        *index.entry(name.clone()).or_insert_with(|| {
                            frames.push(name);
                            (frames.len() - 1) as u32
                        })
                    })
                    .collect();
                (ids, cost)
            })
            .collect();
        Profile { frames, stacks }
    }

    /// Why this profile cannot be used, if it cannot (an index beyond the frames).
    pub fn problem(&self) -> Option<String> {
        let n = self.frames.len() as u32;
        self.stacks
            .iter()
            .any(|(s, _)| s.iter().any(|&i| i >= n))
            .then(|| format!("a stack refers to a frame beyond the {n} stored"))
    }

    fn named(&self) -> impl Iterator<Item = (Vec<&str>, u64)> + '_ {
        self.stacks.iter().map(|(ids, c)| {
            (
                ids.iter()
                    .map(|&i| self.frames.get(i as usize).map_or("?", String::as_str))
                    .collect(),
                *c,
            )
        })
    }

    /// Inclusive instructions of every function: the stacks it appears in, each counted once.
    pub fn inclusive(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (stack, cost) in self.named() {
            let unique: HashSet<&str> = stack.into_iter().collect();
            for name in unique {
                *out.entry(name.to_string()).or_insert(0) += cost;
            }
        }
        out
    }

    /// Self instructions of every function: the stacks it ends.
    pub fn exclusive(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (stack, cost) in self.named() {
            if let Some(leaf) = stack.last() {
                *out.entry(leaf.to_string()).or_insert(0) += cost;
            }
        }
        out
    }

    /// Instructions of all stacks.
    pub fn total(&self) -> u64 {
        self.stacks.iter().map(|s| s.1).sum()
    }

    /// Folded stacks (`outer;…;inner count`, one line each, sorted), counts multiplied by
    /// `scale` and rounded: the input of a flamegraph.
    pub fn folded(&self, scale: f64) -> String {
        let mut lines: Vec<String> = self
            .named()
            .map(|(stack, c)| {
                let frames: Vec<String> = stack.iter().map(|f| f.replace(';', ":")).collect();
                format!("{} {}", frames.join(";"), (c as f64 * scale).round() as u64)
            })
            .collect();
        lines.sort();
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }
}

/// One function whose inclusive count changed.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FunctionChange {
    /// The function (an inlined one included).
    pub function: String,
    /// Inclusive instructions per iteration, old side (0 when absent).
    pub old: f64,
    /// Inclusive instructions per iteration, new side (0 when absent).
    pub new: f64,
    /// `new / old − 1` in % (`null` when the old side did not have it).
    pub change_pct: Option<f64>,
    /// Change of its self instructions per iteration (those not in a function it calls or
    /// inlines): the function whose own code changed has the largest.
    pub self_change: f64,
}

/// The `n` functions whose instructions per iteration changed most between `old` (covering
/// `old_span` iterations) and `new`: first by the change of their self instructions (the
/// function whose own code changed, inlined functions included, comes first), then by the
/// change of their inclusive instructions. Frames that hold every instruction on both sides
/// (the benchmark's own loop and the harness around it) say nothing and are left out.
pub fn top_changes(
    old: &Profile,
    old_span: u64,
    new: &Profile,
    new_span: u64,
    n: usize,
) -> Vec<FunctionChange> {
    let (a, b) = (old.inclusive(), new.inclusive());
    let (sa, sb) = (old.exclusive(), new.exclusive());
    let (ta, tb) = (old.total(), new.total());
    let per = |m: &BTreeMap<String, u64>, name: &str, span: u64| {
        m.get(name).map_or(0.0, |&c| c as f64 / span.max(1) as f64)
    };
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut out: Vec<FunctionChange> = names
        .into_iter()
        .filter(|name| name.as_str() != OTHER)
        .filter(|name| !(a.get(*name) == Some(&ta) && b.get(*name) == Some(&tb)))
        .map(|name| {
            let (o, x) = (per(&a, name, old_span), per(&b, name, new_span));
            FunctionChange {
                function: name.clone(),
                old: o,
                new: x,
                change_pct: (o > 0.0).then(|| (x / o - 1.0) * 100.0),
                self_change: per(&sb, name, new_span) - per(&sa, name, old_span),
            }
        })
        .filter(|c| (c.new - c.old).abs() >= 0.5 || c.self_change.abs() >= 0.5)
        .collect();
    out.sort_by(|p, q| {
        q.self_change
            .abs()
            .total_cmp(&p.self_change.abs())
            .then_with(|| (q.new - q.old).abs().total_cmp(&(p.new - p.old).abs()))
            .then_with(|| p.function.cmp(&q.function))
    });
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::super::callgrind::Site;
    use super::*;

    fn dump(costs: &[(&str, u64, u64)]) -> Dump {
        Dump {
            label: None,
            total: costs.iter().map(|c| c.2).sum(),
            costs: costs
                .iter()
                .map(|&(ctx, a, c)| {
                    (
                        Site {
                            object: "bin".into(),
                            context: ctx.into(),
                            address: a,
                        },
                        c,
                    )
                })
                .collect(),
        }
    }

    /// Address 0x20 holds `Rsi::update` inlined into `update`.
    struct Fake;
    impl Inlines for Fake {
        fn inlined(&mut self, _: &str, address: u64) -> Vec<String> {
            if address == 0x20 {
                vec!["Rsi::update".into()]
            } else {
                Vec::new()
            }
        }
    }

    #[test]
    fn the_profile_is_the_difference_of_the_calls_with_inlined_frames() {
        let first = dump(&[("update'iter", 0x10, 100), ("update'iter", 0x20, 50)]);
        let second = dump(&[
            ("update'iter", 0x10, 200),
            ("update'iter", 0x20, 100),
            ("setup", 0x30, 7),
        ]);
        let p = Profile::difference(&first, &second, &mut Fake);
        let inc = p.inclusive();
        assert_eq!(inc["iter"], 100 + 50);
        assert_eq!(inc["update"], 150);
        assert_eq!(inc["Rsi::update"], 50);
        assert_eq!(inc["setup"], 7);
        assert!(p.folded(1.0).contains("iter;update;Rsi::update 50\n"));
        assert_eq!(p.problem(), None);
    }

    #[test]
    fn a_stored_profile_reads_back_and_damage_is_refused() {
        let p = Profile::from_stacks(vec![
            (vec!["<a as B>::f".into(), "g h".into()], 10),
            (vec!["x".into()], 3),
        ]);
        let json = serde_json::to_string(&p).unwrap();
        let back: Profile = serde_json::from_str(&json).unwrap();
        assert_eq!(back.inclusive(), p.inclusive());
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["stacks"] = 3.into();
        assert!(serde_json::from_value::<Profile>(v.clone()).is_err());
        v["stacks"] = 2.into();
        v["data"] = "AAAA".into();
        assert!(serde_json::from_value::<Profile>(v).is_err());
    }

    #[test]
    fn profiles_are_bounded() {
        let costs: Vec<(String, u64, u64)> = (0..1000)
            .map(|i| (format!("f{i}"), i as u64, i as u64 + 1))
            .collect();
        let refs: Vec<(&str, u64, u64)> =
            costs.iter().map(|(s, a, c)| (s.as_str(), *a, *c)).collect();
        let p = Profile::difference(&dump(&[]), &dump(&refs), &mut NoInlines);
        assert_eq!(p.stacks.len(), MAX_STACKS + 1);
        let total: u64 = p.stacks.iter().map(|s| s.1).sum();
        assert_eq!(
            total,
            (1..=1000).sum::<u64>(),
            "nothing is lost, only merged"
        );
        assert!(p.inclusive().contains_key(OTHER));
    }

    #[test]
    fn the_changed_function_tops_the_list() {
        let old = Profile::from_stacks(vec![
            (vec!["update".into(), "Rsi::update".into()], 1000),
            (vec!["update".into(), "Ema::update".into()], 500),
        ]);
        let new = Profile::from_stacks(vec![
            (vec!["update".into(), "Rsi::update".into()], 1200),
            (vec!["update".into(), "Ema::update".into()], 500),
            (vec!["update".into(), "Vwap::update".into()], 10),
        ]);
        let top = top_changes(&old, 10, &new, 10, 5);
        assert_eq!(top[0].function, "Rsi::update");
        assert_eq!(top[0].old, 100.0);
        assert_eq!(top[0].new, 120.0);
        assert!((top[0].change_pct.unwrap() - 20.0).abs() < 1e-9);
        assert_eq!(top[0].self_change, 20.0);
        assert!(top.iter().all(|c| c.function != "Ema::update"));
        // `update` holds every instruction on both sides: the frame around the change, not news.
        assert!(top.iter().all(|c| c.function != "update"));
        let vwap = top.iter().find(|c| c.function == "Vwap::update").unwrap();
        assert_eq!(vwap.change_pct, None);
    }

    #[test]
    fn per_iteration_is_the_slope() {
        let c = Counted {
            iterations: [64, 128],
            totals: [6_400 + 300, 12_800 + 300],
            profile: None,
        };
        assert_eq!(c.per_iteration(), Some(100.0));
        let none = Counted {
            iterations: [64, 128],
            totals: [5, 5],
            profile: None,
        };
        assert_eq!(none.per_iteration(), None);
    }
}
