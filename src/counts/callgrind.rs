//! Reading callgrind's profile files (format version 1, as callgrind 3.x writes them with
//! `--dump-instr=yes`): the total and the self cost of every instruction address, per function
//! context.
//!
//! The parts used: `positions: instr line`, name compression (`fn=(12) name` defines id 12,
//! `fn=(12)` refers back), subposition compression (`+3`, `-2`, `*` relative to the previous
//! cost line), and call lines (`calls=N target` followed by the call's inclusive cost, which
//! is not self cost and is skipped). With `--separate-callers=N` a function's name is its
//! context: `callee'caller'caller's caller…`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context};

/// One dump: its trigger label, total and self costs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dump {
    /// The text after `desc: Trigger: Client Request: ` (the label given to `DUMP_STATS_AT`).
    pub label: Option<String>,
    /// The `summary:` (else `totals:`) figure of the first event (Ir).
    pub total: u64,
    /// Self cost per (object, function context, instruction address).
    pub costs: HashMap<Site, u64>,
}

/// Where a self cost was spent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Site {
    /// The object file (`ob=`), e.g. the bench binary or libc.
    pub object: String,
    /// The function, with its callers when profiled with `--separate-callers`
    /// (`callee'caller'…`).
    pub context: String,
    /// Instruction address (the object's own addresses: callgrind removes the load bias).
    pub address: u64,
}

/// Reads the dump at `path`.
pub fn read(path: &Path) -> anyhow::Result<Dump> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the callgrind profile {}", path.display()))?;
    parse(&text)
        .with_context(|| format!("{} is not a callgrind profile I can read", path.display()))
}

/// Parses one dump.
pub fn parse(text: &str) -> anyhow::Result<Dump> {
    let mut dump = Dump::default();
    let mut objects: HashMap<String, String> = HashMap::new();
    let mut functions: HashMap<String, String> = HashMap::new();
    let mut object = String::new();
    let mut function = String::new();
    let mut address: u64 = 0;
    let mut line: i64 = 0;
    let mut skip_next_cost = false;
    let mut summary = None;
    let mut totals = None;
    let mut saw_version = false;

    for (n, raw) in text.lines().enumerate() {
        let at = || format!("line {}", n + 1);
        let l = raw.trim_end();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(rest) = l.strip_prefix("version:") {
            if rest.trim() != "1" {
                bail!("{}: format version {} (this reads 1)", at(), rest.trim());
            }
            saw_version = true;
            continue;
        }
        if let Some(rest) = l.strip_prefix("desc: Trigger: Client Request: ") {
            dump.label = Some(rest.trim().to_string());
            continue;
        }
        if let Some(rest) = l.strip_prefix("positions:") {
            let kinds: Vec<&str> = rest.split_whitespace().collect();
            if kinds != ["instr", "line"] {
                bail!(
                    "{}: positions '{}', expected 'instr line' (profile with --dump-instr=yes)",
                    at(),
                    rest.trim()
                );
            }
            continue;
        }
        if let Some(rest) = l.strip_prefix("summary:") {
            summary = Some(first_number(rest).with_context(at)?);
            continue;
        }
        if let Some(rest) = l.strip_prefix("totals:") {
            totals = Some(first_number(rest).with_context(at)?);
            continue;
        }
        if let Some(rest) = l.strip_prefix("ob=") {
            object = compressed(&mut objects, rest).with_context(at)?;
            continue;
        }
        if let Some(rest) = l.strip_prefix("fn=") {
            function = compressed(&mut functions, rest).with_context(at)?;
            continue;
        }
        if let Some(rest) = l.strip_prefix("cfn=") {
            // Defines a name too; the current function stays.
            compressed(&mut functions, rest).with_context(at)?;
            continue;
        }
        if let Some(rest) = l.strip_prefix("cob=") {
            compressed(&mut objects, rest).with_context(at)?;
            continue;
        }
        if l.starts_with("calls=") {
            skip_next_cost = true;
            continue;
        }
        let first = l.as_bytes()[0];
        if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'*') {
            let mut fields = l.split_whitespace();
            let a = fields.next().unwrap_or_default();
            address = sub_position(a, address as i64).with_context(at)? as u64;
            let ln = fields.next().unwrap_or("*");
            line = sub_position(ln, line).with_context(at)?;
            let cost = match fields.next() {
                Some(c) => c
                    .parse::<u64>()
                    .with_context(|| format!("{}: cost '{c}'", at()))?,
                None => 0,
            };
            if skip_next_cost {
                skip_next_cost = false;
                continue;
            }
            if cost > 0 {
                *dump
                    .costs
                    .entry(Site {
                        object: object.clone(),
                        context: function.clone(),
                        address,
                    })
                    .or_insert(0) += cost;
            }
            continue;
        }
        // fl=, fi=, fe=, cfi=, cfl=, jump=, jcnd=, events:, cmd:, … do not change self costs.
    }
    if !saw_version {
        bail!("no 'version:' line");
    }
    dump.total = match summary.or(totals) {
        Some(t) => t,
        None => bail!("no 'summary:' or 'totals:' line"),
    };
    let _ = line;
    Ok(dump)
}

/// `(7) name` defines id 7; `(7)` refers to it; a bare `name` is itself.
fn compressed(names: &mut HashMap<String, String>, field: &str) -> anyhow::Result<String> {
    let field = field.trim();
    if let Some(rest) = field.strip_prefix('(') {
        let Some((id, name)) = rest.split_once(')') else {
            bail!("unclosed name id in '{field}'");
        };
        let name = name.trim();
        if name.is_empty() {
            return names
                .get(id)
                .cloned()
                .with_context(|| format!("name id ({id}) used before it was defined"));
        }
        names.insert(id.to_string(), name.to_string());
        return Ok(name.to_string());
    }
    Ok(field.to_string())
}

/// A position field: absolute (decimal or `0x` hex), `+N` / `-N` relative to `last`, or `*`.
fn sub_position(field: &str, last: i64) -> anyhow::Result<i64> {
    let number = |s: &str| -> anyhow::Result<i64> {
        let v = match s.strip_prefix("0x") {
            Some(hex) => i64::from_str_radix(hex, 16),
            None => s.parse::<i64>(),
        };
        v.with_context(|| format!("position '{field}'"))
    };
    Ok(match field.as_bytes().first() {
        Some(b'*') => last,
        Some(b'+') => last + number(&field[1..])?,
        Some(b'-') => last - number(&field[1..])?,
        _ => number(field)?,
    })
}

fn first_number(rest: &str) -> anyhow::Result<u64> {
    let field = rest.split_whitespace().next().unwrap_or_default();
    field
        .parse()
        .with_context(|| format!("expected a count, found '{}'", rest.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# callgrind format
version: 1
creator: callgrind-3.19.0
desc: Trigger: Client Request: tickbench:1:2

positions: instr line
events: Ir
summary: 1000

ob=(1) /bin/bench
fl=(2) /src/a.rs
fn=(4) inner'outer
0x100 10 5
+4 * 7
fi=(3) /src/b.rs
+2 3 11
fe=(2)
fn=(5) outer
0x200 20 2
cfn=(4)
calls=3 0x100 10
* 21 900
+5 * 1
fn=(4)
0x104 10 1
totals: 1000
";

    #[test]
    fn reads_self_costs_with_name_and_position_compression() {
        let d = parse(SAMPLE).unwrap();
        assert_eq!(d.label.as_deref(), Some("tickbench:1:2"));
        assert_eq!(d.total, 1000);
        let cost = |ctx: &str, a: u64| {
            d.costs
                .get(&Site {
                    object: "/bin/bench".into(),
                    context: ctx.into(),
                    address: a,
                })
                .copied()
        };
        assert_eq!(cost("inner'outer", 0x100), Some(5));
        // 7 at 0x104, plus 1 more from the second `fn=(4)` block.
        assert_eq!(cost("inner'outer", 0x104), Some(8));
        assert_eq!(cost("inner'outer", 0x106), Some(11));
        assert_eq!(cost("outer", 0x200), Some(2));
        // The call's inclusive 900 is not self cost; the line after it is, at 0x200 + 5.
        assert_eq!(cost("outer", 0x205), Some(1));
        let self_total: u64 = d.costs.values().sum();
        assert_eq!(self_total, 5 + 8 + 11 + 2 + 1);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse("").is_err());
        assert!(parse("version: 2\n").is_err());
        assert!(parse("version: 1\npositions: line\nsummary: 3\n").is_err());
        assert!(parse("version: 1\nfn=(9)\n0x1 1 1\nsummary: 1\n").is_err());
        assert!(parse("version: 1\npositions: instr line\n").is_err());
        assert!(parse("version: 1\npositions: instr line\nsummary: 5\n0x10 1 x\n").is_err());
    }
}
