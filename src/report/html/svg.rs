//! The charts of the HTML report, drawn as SVG text from the data.
//!
//! A small writer of our own rather than plotters: the charts are three simple shapes (strips
//! of samples, a trend line, a percentile curve), text is left to the browser (no font or
//! text-layout dependency), and writing straight into one `String` renders 100 benchmarks ×
//! 200 runs in milliseconds. Every chart is an `<svg class="chart">` whose attributes state
//! what it holds, so tests can check it against the data:
//!
//! - `data-kind` (`samples`, `trend`, `percentiles`), `data-points` (one `class="pt"` element
//!   per data point, each with a `<title>` for hover);
//! - `data-unit` and the axis ranges in that unit: `data-x-min`, `data-x-max`, `data-y-min`,
//!   `data-y-max`;
//! - on a trend, one `class="cp"` line per change point with `data-run` (the index of the first
//!   run at the new level) and `data-from` / `data-to` (the range of runs it may be at).

use std::fmt::Write as _;

/// `text` safe inside HTML text and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Round axis ticks covering `[lo, hi]`: about `n` multiples of 1, 2 or 5 × 10^k, and the
/// range widened to the outer ticks.
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> (f64, f64, Vec<f64>) {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        (lo - pad, hi + pad)
    };
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let end = (hi / step).ceil() * step;
    let ticks = (0..)
        .map(|i| start + i as f64 * step)
        .take_while(|t| *t <= end + step * 1e-9)
        .collect();
    (start, end, ticks)
}

/// A tick label: as few digits as the step needs.
fn label(v: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).clamp(0.0, 6.0) as usize;
    format!("{v:.decimals$}")
}

/// A plot area inside an SVG of `w × h` pixels, with margins for the axes.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// SVG width.
    pub w: f64,
    /// SVG height.
    pub h: f64,
    /// Left margin (y labels).
    pub left: f64,
    /// Right margin.
    pub right: f64,
    /// Top margin.
    pub top: f64,
    /// Bottom margin (x labels).
    pub bottom: f64,
}

impl Frame {
    fn x(&self, f: f64) -> f64 {
        self.left + f * (self.w - self.left - self.right)
    }

    fn y(&self, f: f64) -> f64 {
        self.h - self.bottom - f * (self.h - self.top - self.bottom)
    }
}

/// A linear scale from `[d0, d1]` to `[0, 1]`.
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    d0: f64,
    d1: f64,
}

impl Linear {
    /// The scale of `[d0, d1]` (a zero-width range maps to the middle).
    pub fn new(d0: f64, d1: f64) -> Linear {
        Linear { d0, d1 }
    }

    /// `v`'s fraction of the range.
    pub fn f(&self, v: f64) -> f64 {
        if self.d1 > self.d0 {
            (v - self.d0) / (self.d1 - self.d0)
        } else {
            0.5
        }
    }
}

/// Opens an `<svg>` with the common attributes; `extra` is more attributes, already escaped.
fn open(out: &mut String, frame: &Frame, kind: &str, points: usize, extra: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" data-kind="{kind}" data-points="{points}" {extra}>"#,
        w = frame.w,
        h = frame.h
    );
}

/// Draws a y axis with `ticks` (values in display units) and horizontal grid lines.
fn y_axis(out: &mut String, frame: &Frame, scale: &Linear, ticks: &[f64], unit: &str) {
    let step = ticks.windows(2).map(|w| w[1] - w[0]).next().unwrap_or(1.0);
    for t in ticks {
        let y = frame.y(scale.f(*t));
        let _ = write!(
            out,
            r#"<line class="grid" x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            frame.left,
            frame.w - frame.right,
            frame.left - 4.0,
            y + 3.5,
            label(*t, step)
        );
    }
    let _ = write!(
        out,
        r#"<text class="unit" x="4" y="{:.1}">{}</text>"#,
        frame.top - 4.0,
        esc(unit)
    );
}

/// One benchmark's samples, old above new: a dot per sample (per-iteration figure in display
/// units) and a box from the lower to the upper quartile with the median marked.
pub fn samples(old: Option<&[f64]>, new: Option<&[f64]>, unit: &str) -> String {
    let frame = Frame {
        w: 280.0,
        h: 64.0,
        left: 34.0,
        right: 8.0,
        top: 6.0,
        bottom: 16.0,
    };
    let all = old.into_iter().chain(new).flatten().copied();
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let (x0, x1, ticks) = nice_ticks(lo, hi, 4);
    let xs = Linear::new(x0, x1);
    let count = old.map_or(0, <[f64]>::len) + new.map_or(0, <[f64]>::len);
    let mut out = String::with_capacity(200 + count * 60);
    open(
        &mut out,
        &frame,
        "samples",
        count,
        &format!(
            r#"data-unit="{}" data-x-min="{x0}" data-x-max="{x1}" data-old="{}" data-new="{}""#,
            esc(unit),
            old.map_or(0, <[f64]>::len),
            new.map_or(0, <[f64]>::len)
        ),
    );
    let step = ticks.get(1).zip(ticks.first()).map_or(1.0, |(b, a)| b - a);
    for t in &ticks {
        let x = frame.x(xs.f(*t));
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            frame.top,
            frame.h - frame.bottom,
            frame.h - 4.0,
            label(*t, step)
        );
    }
    let band = (frame.h - frame.top - frame.bottom) / 2.0;
    for (row, (name, side, class)) in [("old", old, "old"), ("new", new, "new")]
        .into_iter()
        .enumerate()
    {
        let Some(values) = side else { continue };
        let mid = frame.top + band * (row as f64 + 0.5);
        let _ = write!(
            out,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{name}</text>"#,
            frame.left - 4.0,
            mid + 3.5
        );
        let sorted = crate::baseline::stats::sorted(values);
        if !sorted.is_empty() {
            let q = |p: f64| frame.x(xs.f(crate::baseline::stats::quantile_sorted(&sorted, p)));
            let _ = write!(
                out,
                r#"<rect class="box {class}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/><line class="median" x1="{m:.1}" x2="{m:.1}" y1="{:.1}" y2="{:.1}"/>"#,
                q(0.25),
                mid - band * 0.35,
                (q(0.75) - q(0.25)).max(1.0),
                band * 0.7,
                mid - band * 0.4,
                mid + band * 0.4,
                m = q(0.5)
            );
        }
        for (i, v) in values.iter().enumerate() {
            // A fixed jitter (golden-ratio sequence) spreads equal values without randomness.
            let jitter = ((i as f64 * 0.618_034).fract() - 0.5) * band * 0.6;
            let _ = write!(
                out,
                r#"<circle class="pt {class}" cx="{:.1}" cy="{:.1}" r="1.6"><title>{name} {}</title></circle>"#,
                frame.x(xs.f(*v)),
                mid + jitter,
                crate::report::units::significant(*v)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// One point of a trend: its value in display units and its hover text.
pub struct TrendPoint {
    /// The value, in display units.
    pub value: f64,
    /// Lower and upper end of its interval, in display units.
    pub interval: Option<(f64, f64)>,
    /// Hover text (run, commit, value).
    pub title: String,
}

/// A change point on a trend.
pub struct Mark {
    /// Index of the first point at the new level.
    pub at: usize,
    /// Indices of the range the step may be at.
    pub range: (usize, usize),
    /// Hover text and caption.
    pub title: String,
}

/// A benchmark's history: its points in run order joined by a line, the fitted levels as a
/// stepped line, and each change point as a vertical marker (with its location range shaded).
pub fn trend(points: &[TrendPoint], levels: &[f64], marks: &[Mark], unit: &str) -> String {
    let frame = Frame {
        w: 640.0,
        h: 190.0,
        left: 52.0,
        right: 10.0,
        top: 16.0,
        bottom: 22.0,
    };
    let n = points.len();
    let (lo, hi) = points
        .iter()
        .flat_map(|p| [p.value, p.interval.map_or(p.value, |i| i.0)])
        .chain(points.iter().map(|p| p.interval.map_or(p.value, |i| i.1)))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let (y0, y1, ticks) = nice_ticks(lo, hi, 4);
    let ys = Linear::new(y0, y1);
    let xmax = n.saturating_sub(1) as f64;
    let xs = Linear::new(0.0, xmax);
    let x = |i: usize| frame.x(if n > 1 { xs.f(i as f64) } else { 0.5 });
    let y = |v: f64| frame.y(ys.f(v));
    let mut out = String::with_capacity(600 + n * 110);
    open(
        &mut out,
        &frame,
        "trend",
        n,
        &format!(
            r#"data-unit="{}" data-x-min="0" data-x-max="{xmax}" data-y-min="{y0}" data-y-max="{y1}" data-marks="{}""#,
            esc(unit),
            marks.len()
        ),
    );
    y_axis(&mut out, &frame, &ys, &ticks, unit);
    let _ = write!(
        out,
        r#"<text class="tick" x="{:.1}" y="{:.1}">run 1</text><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">run {n}</text>"#,
        frame.left,
        frame.h - 6.0,
        frame.w - frame.right,
        frame.h - 6.0
    );
    for m in marks {
        let (a, b) = (x(m.range.0.saturating_sub(1)), x(m.range.1));
        let at = x(m.at);
        let _ = write!(
            out,
            r#"<rect class="cp-range" x="{a:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/><line class="cp" data-run="{}" data-from="{}" data-to="{}" x1="{at:.1}" x2="{at:.1}" y1="{:.1}" y2="{:.1}"><title>{}</title></line>"#,
            frame.top,
            (b - a).max(1.0),
            frame.h - frame.top - frame.bottom,
            m.at,
            m.range.0,
            m.range.1,
            frame.top,
            frame.h - frame.bottom,
            esc(&m.title)
        );
    }
    // Every interval in one path: a point's whisker costs ~20 bytes instead of a `<line>`.
    out.push_str(r#"<path class="ci" d=""#);
    for (i, p) in points.iter().enumerate() {
        if let Some((lo, hi)) = p.interval {
            let _ = write!(out, "M{:.1} {:.1}V{:.1}", x(i), y(lo), y(hi));
        }
    }
    out.push_str(r#""/>"#);
    if n > 1 {
        out.push_str(r#"<polyline class="line" points=""#);
        for (i, p) in points.iter().enumerate() {
            let _ = write!(out, "{:.1},{:.1} ", x(i), y(p.value));
        }
        out.push_str(r#""/>"#);
    }
    if levels.len() == n && n > 1 {
        out.push_str(r#"<polyline class="level" points=""#);
        for (i, l) in levels.iter().enumerate() {
            let (a, b) = (
                x(i) - if i > 0 { (x(i) - x(i - 1)) / 2.0 } else { 0.0 },
                x(i) + if i + 1 < n {
                    (x(i + 1) - x(i)) / 2.0
                } else {
                    0.0
                },
            );
            let _ = write!(out, "{a:.1},{yl:.1} {b:.1},{yl:.1} ", yl = y(*l));
        }
        out.push_str(r#""/>"#);
    }
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            out,
            r#"<circle class="pt" cx="{:.1}" cy="{:.1}" r="2"><title>{}</title></circle>"#,
            x(i),
            y(p.value),
            esc(&p.title)
        );
    }
    out.push_str("</svg>");
    out
}

/// One latency curve: `(quantile, µs)` points.
pub struct Curve {
    /// Legend text.
    pub label: String,
    /// `(q, latency in µs)`, q in (0, 1), ascending.
    pub points: Vec<(f64, f64)>,
}

/// A limit to draw on the percentile chart: `(quantile, µs, label)`.
pub type Limit = (f64, f64, String);

/// Latency percentiles HdrHistogram style: x is `1 / (1 − q)` on a log scale (50 %, 90 %, 99 %,
/// 99.9 %, 99.99 % equally spaced), y the latency on a linear scale; SLA limits as short marks.
pub fn percentiles(curves: &[Curve], limits: &[Limit]) -> String {
    let frame = Frame {
        w: 640.0,
        h: 240.0,
        left: 56.0,
        right: 16.0,
        top: 18.0,
        bottom: 26.0,
    };
    let lx = |q: f64| (1.0 / (1.0 - q)).log10();
    let count: usize = curves.iter().map(|c| c.points.len()).sum();
    let qmax = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0))
        .fold(0.9999_f64, f64::max)
        .min(1.0 - 1e-9);
    let (x0, x1) = (lx(0.5), lx(qmax).max(lx(0.9999)));
    let xs = Linear::new(x0, x1);
    let data_max = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max);
    // A limit far above the data would flatten every curve: such limits are only in the text.
    let limits: Vec<&Limit> = limits
        .iter()
        .filter(|l| data_max == 0.0 || l.1 <= 2.0 * data_max)
        .collect();
    let hi = limits.iter().map(|l| l.1).fold(data_max, f64::max);
    let (unit, div) = if hi >= 10_000.0 {
        ("ms", 1000.0)
    } else {
        ("µs", 1.0)
    };
    let (y0, y1, ticks) = nice_ticks(0.0, hi / div, 5);
    let ys = Linear::new(y0, y1);
    let mut out = String::with_capacity(2000 + count * 100);
    open(
        &mut out,
        &frame,
        "percentiles",
        count,
        &format!(
            r#"data-unit="{unit}" data-x-min="{x0}" data-x-max="{x1}" data-y-min="{y0}" data-y-max="{y1}""#
        ),
    );
    y_axis(&mut out, &frame, &ys, &ticks, unit);
    for (q, name) in [
        (0.5, "50%"),
        (0.9, "90%"),
        (0.99, "99%"),
        (0.999, "99.9%"),
        (0.9999, "99.99%"),
        (0.99999, "99.999%"),
    ] {
        if lx(q) > x1 + 1e-9 {
            break;
        }
        let xq = frame.x(xs.f(lx(q)));
        let _ = write!(
            out,
            r#"<line class="grid" x1="{xq:.1}" x2="{xq:.1}" y1="{:.1}" y2="{:.1}"/><text class="tick" x="{xq:.1}" y="{:.1}" text-anchor="middle">{name}</text>"#,
            frame.top,
            frame.h - frame.bottom,
            frame.h - 8.0
        );
    }
    for (q, us, text) in limits.iter().copied() {
        let (xq, yl) = (frame.x(xs.f(lx(*q))), frame.y(ys.f(us / div)));
        let _ = write!(
            out,
            r#"<line class="limit" x1="{:.1}" x2="{:.1}" y1="{yl:.1}" y2="{yl:.1}"><title>{}</title></line>"#,
            xq - 18.0,
            xq + 18.0,
            esc(text)
        );
    }
    for (k, c) in curves.iter().enumerate() {
        let class = format!("series s{}", k % 6);
        let _ = write!(out, r#"<polyline class="{class}" points=""#);
        for (q, us) in &c.points {
            let _ = write!(
                out,
                "{:.1},{:.1} ",
                frame.x(xs.f(lx(*q))),
                frame.y(ys.f(us / div))
            );
        }
        out.push_str(r#""/>"#);
        for (q, us) in &c.points {
            let _ = write!(
                out,
                r#"<circle class="pt {class}" cx="{:.1}" cy="{:.1}" r="2.5"><title>{} p{} = {} µs</title></circle>"#,
                frame.x(xs.f(lx(*q))),
                frame.y(ys.f(us / div)),
                esc(&c.label),
                crate::report::units::significant(q * 100.0),
                crate::report::units::significant(*us)
            );
        }
        let _ = write!(
            out,
            r#"<text class="legend {class}" x="{:.1}" y="{:.1}">{}</text>"#,
            frame.left + 8.0,
            frame.top + 12.0 + 13.0 * k as f64,
            esc(&c.label)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of attribute `name` on the first `<svg>` of `svg`.
    pub(crate) fn attr(svg: &str, name: &str) -> String {
        let key = format!(" {name}=\"");
        let start = svg.find(&key).unwrap_or_else(|| panic!("no {name} in svg")) + key.len();
        svg[start..].split('"').next().unwrap().to_string()
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let (lo, hi, ticks) = nice_ticks(11.3, 12.9, 4);
        assert_eq!((lo, hi), (11.0, 13.0));
        assert_eq!(ticks.len(), 5);
        let (lo, hi, _) = nice_ticks(5.0, 5.0, 4);
        assert!(lo < 5.0 && hi > 5.0);
    }

    #[test]
    fn a_trend_states_its_points_range_and_marks() {
        let points: Vec<TrendPoint> = [10.0, 10.2, 9.9, 12.0, 12.1, 11.9]
            .iter()
            .enumerate()
            .map(|(i, v)| TrendPoint {
                value: *v,
                interval: Some((v * 0.99, v * 1.01)),
                title: format!("run {i}"),
            })
            .collect();
        let marks = [Mark {
            at: 3,
            range: (3, 3),
            title: "+20 %".into(),
        }];
        let svg = trend(&points, &[10.0; 6], &marks, "ns");
        assert_eq!(attr(&svg, "data-points"), "6");
        assert_eq!(svg.matches(r#"class="pt""#).count(), 6);
        let (y0, y1): (f64, f64) = (
            attr(&svg, "data-y-min").parse().unwrap(),
            attr(&svg, "data-y-max").parse().unwrap(),
        );
        assert!(y0 <= 9.9 * 0.99 && y1 >= 12.1 * 1.01, "{y0} {y1}");
        assert!(svg.contains(r#"class="cp" data-run="3" data-from="3" data-to="3""#));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
        let svg = samples(Some(&[1.0, 2.0]), Some(&[3.0]), "<µs>");
        assert!(svg.contains("data-unit=\"&lt;µs&gt;\""));
        assert_eq!(attr(&svg, "data-points"), "3");
    }
}
