//! Differential flamegraphs of count profiles (inferno): the new profile's stacks, coloured
//! by how much each grew (red) or shrank (blue) against the old one.

use std::path::Path;

use anyhow::Context;

use super::Profile;

/// Writes the differential flamegraph of `old` (over `old_span` iterations) against `new` (over
/// `new_span`) to `path`, titled `title`. Both are scaled to instructions per 1 000 iterations,
/// so sides counted over different iteration counts compare fairly.
pub fn write_diff(
    path: &Path,
    title: &str,
    old: &Profile,
    old_span: u64,
    new: &Profile,
    new_span: u64,
) -> anyhow::Result<()> {
    let svg = diff_svg(title, old, old_span, new, new_span)?;
    crate::fsio::write_atomic(path, &svg)
}

/// The SVG of [`write_diff`].
pub fn diff_svg(
    title: &str,
    old: &Profile,
    old_span: u64,
    new: &Profile,
    new_span: u64,
) -> anyhow::Result<Vec<u8>> {
    let per_k = |span: u64| 1000.0 / span.max(1) as f64;
    let before = old.folded(per_k(old_span));
    let after = new.folded(per_k(new_span));
    let mut folded = Vec::new();
    inferno::differential::from_readers(
        inferno::differential::Options::default(),
        before.as_bytes(),
        after.as_bytes(),
        &mut folded,
    )
    .context("cannot diff the profiles")?;
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.subtitle = Some(
        "instructions per 1 000 iterations; red grew, blue shrank (width: new side)".to_string(),
    );
    options.count_name = "Ir per 1000 iterations".to_string();
    let mut svg = Vec::new();
    inferno::flamegraph::from_reader(&mut options, folded.as_slice(), &mut svg)
        .context("cannot draw the flamegraph")?;
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grown_function_is_in_the_svg() {
        let old = Profile::from_stacks(vec![
            (vec!["update".into(), "Rsi::update".into()], 1000),
            (vec!["update".into(), "Ema::update".into()], 500),
        ]);
        let new = Profile::from_stacks(vec![
            (vec!["update".into(), "Rsi::update".into()], 1300),
            (vec!["update".into(), "Ema::update".into()], 500),
        ]);
        let svg = String::from_utf8(diff_svg("t", &old, 10, &new, 10).unwrap()).unwrap();
        assert!(svg.starts_with("<?xml"), "{}", &svg[..80]);
        assert!(svg.contains("Rsi::update"));
        // inferno writes each frame's change into its title, as a share of the new total:
        // Rsi::update grew by 300 of 1 800 instructions, Ema::update not at all.
        assert!(svg.contains("+16.67%"), "no +16.67 % in the SVG");
        assert!(svg.contains("Ema::update (") && svg.contains("; 0.00%)"));
    }
}
