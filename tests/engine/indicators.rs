//! Stand-alone indicators against slow, obviously correct references: long random series,
//! hand-computed short series, warm-up edges, and a 10-million-update drift test whose checks
//! are shown to catch the naive running-sum versions.

use std::collections::VecDeque;

use tickbench::engine::indicators::{Bollinger, Ema, Macd, Rsi, Sma, Vwap};
use tickbench::engine::tick::Xoshiro256StarStar;

/// A random walk with occasional jumps of many orders of magnitude, shifted far from 0.
fn rough_series(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = Xoshiro256StarStar::seed_from_u64(seed);
    let mut x = 1_000.0;
    (0..n)
        .map(|_| {
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            x *= 1.0 + 0.01 * u;
            match rng.below(500) {
                0 => x * 1e6,  // a one-off spike
                1 => x * 1e-6, // a one-off dip
                _ => x,
            }
        })
        .collect()
}

/// Relative closeness with an absolute floor tied to the data's scale.
fn close(a: f64, b: f64, rel: f64, scale: f64) -> bool {
    (a - b).abs() <= rel * (b.abs().max(scale))
}

fn mean(w: &[f64]) -> f64 {
    w.iter().sum::<f64>() / w.len() as f64
}

/// Population standard deviation, two-pass.
fn sigma(w: &[f64]) -> f64 {
    let m = mean(w);
    (w.iter().map(|x| (x - m).powi(2)).sum::<f64>() / w.len() as f64).sqrt()
}

/// EMA over a whole history, from scratch: SMA seed, then the recursion.
fn ema_ref(h: &[f64], period: usize) -> Option<f64> {
    if h.len() < period {
        return None;
    }
    let alpha = 2.0 / (period as f64 + 1.0);
    let mut v = mean(&h[..period]);
    for &x in &h[period..] {
        v += alpha * (x - v);
    }
    Some(v)
}

/// Wilder RSI over a whole history, from scratch.
fn rsi_ref(h: &[f64], period: usize) -> Option<f64> {
    if h.len() <= period {
        return None;
    }
    let changes: Vec<f64> = h.windows(2).map(|w| w[1] - w[0]).collect();
    let mut g = changes[..period].iter().map(|c| c.max(0.0)).sum::<f64>() / period as f64;
    let mut l = changes[..period].iter().map(|c| (-c).max(0.0)).sum::<f64>() / period as f64;
    for c in &changes[period..] {
        g = (g * (period - 1) as f64 + c.max(0.0)) / period as f64;
        l = (l * (period - 1) as f64 + (-c).max(0.0)) / period as f64;
    }
    Some(if g + l == 0.0 {
        50.0
    } else {
        100.0 * g / (g + l)
    })
}

/// MACD (line, signal) over a whole history, from scratch.
fn macd_ref(h: &[f64], fast: usize, slow: usize, signal: usize) -> Option<(f64, f64)> {
    if h.len() < slow + signal - 1 {
        return None;
    }
    let line: Vec<f64> = (slow..=h.len())
        .map(|end| ema_ref(&h[..end], fast).unwrap() - ema_ref(&h[..end], slow).unwrap())
        .collect();
    Some((*line.last().unwrap(), ema_ref(&line, signal).unwrap()))
}

#[test]
fn windows_match_whole_window_references_on_a_rough_series() {
    for (seed, period) in [(1, 1), (2, 2), (3, 20), (4, 37)] {
        let h = rough_series(seed, 20_000);
        let mut sma = Sma::new(period);
        let mut bands = Bollinger::new(period, 2.0);
        for (i, &x) in h.iter().enumerate() {
            let s = sma.update(x);
            let b = bands.update(x);
            if i + 1 < period {
                assert!(s.is_none() && b.is_none());
                continue;
            }
            let w = &h[i + 1 - period..=i];
            // Rounding from a value lasts until the re-anchor after it leaves the window, so
            // the error scale is the largest input of the last two windows.
            let recent = &h[(i + 1).saturating_sub(2 * period)..=i];
            let scale = recent.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let (m, sd) = (mean(w), sigma(w));
            let (s, b) = (s.unwrap(), b.unwrap());
            assert!(
                close(s, m, 1e-12, scale),
                "SMA({period}) at {i}: {s} vs {m}"
            );
            assert!(close(b.middle, m, 1e-12, scale), "middle at {i}");
            // σ is compared through the variance: near σ = 0 a variance error of ε·scale²
            // becomes a σ error of √ε·scale, which says nothing about drift.
            let var = b.sigma * b.sigma;
            assert!(
                close(var, sd * sd, 1e-12, scale * scale),
                "σ({period}) at {i}: {} vs {sd}",
                b.sigma
            );
            assert!(close(b.upper - b.middle, 2.0 * b.sigma, 1e-12, scale));
            assert!(close(b.middle - b.lower, 2.0 * b.sigma, 1e-12, scale));
        }
    }
}

#[test]
fn ema_rsi_macd_match_from_scratch_recomputation() {
    let h = rough_series(9, 3_000);
    let (mut ema, mut rsi, mut macd) = (Ema::new(10), Rsi::new(14), Macd::new(12, 26, 9));
    for (i, &x) in h.iter().enumerate() {
        let (e, r, m) = (ema.update(x), rsi.update(x), macd.update(x));
        if i % 37 != 0 && i > 60 {
            continue; // the references are O(n²): check a spread of points
        }
        let hist = &h[..=i];
        match (e, ema_ref(hist, 10)) {
            (Some(a), Some(b)) => assert!(close(a, b, 1e-9, b.abs()), "EMA at {i}: {a} vs {b}"),
            (a, b) => assert_eq!(a.is_some(), b.is_some(), "EMA readiness at {i}"),
        }
        match (r, rsi_ref(hist, 14)) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "RSI at {i}: {a} vs {b}"),
            (a, b) => assert_eq!(a.is_some(), b.is_some(), "RSI readiness at {i}"),
        }
        match (m, macd_ref(hist, 12, 26, 9)) {
            (Some(a), Some((line, sig))) => {
                let scale = hist
                    .iter()
                    .rev()
                    .take(200)
                    .fold(0.0f64, |m, x| m.max(x.abs()));
                assert!(
                    close(a.macd, line, 1e-9, scale),
                    "MACD at {i}: {} vs {line}",
                    a.macd
                );
                assert!(close(a.signal, sig, 1e-9, scale), "signal at {i}");
                assert_eq!(a.histogram, a.macd - a.signal);
            }
            (a, b) => assert_eq!(a.is_some(), b.is_some(), "MACD readiness at {i}"),
        }
    }
}

#[test]
fn vwap_matches_the_plain_ratio() {
    let h = rough_series(5, 5_000);
    let mut vwap = Vwap::new();
    let (mut pv, mut v) = (0.0, 0.0);
    for (i, &x) in h.iter().enumerate() {
        let size = 1 + (i as u32 * 7919) % 500;
        let got = vwap.update(x, size).unwrap();
        pv += x * f64::from(size);
        v += f64::from(size);
        assert!(
            close(got, pv / v, 1e-12, 0.0),
            "VWAP at {i}: {got} vs {}",
            pv / v
        );
    }
}

#[test]
fn hand_computed_short_series() {
    let mut sma = Sma::new(3);
    let got: Vec<_> = [1.0, 2.0, 3.0, 4.0, 5.0].map(|x| sma.update(x)).into();
    assert_eq!(got, vec![None, None, Some(2.0), Some(3.0), Some(4.0)]);

    // α = 2/(3+1) = 0.5; seed = SMA(1,2,3) = 2; then 2 + 0.5·(4 − 2) = 3; 3 + 0.5·(5 − 3) = 4.
    let mut ema = Ema::new(3);
    let got: Vec<_> = [1.0, 2.0, 3.0, 4.0, 5.0].map(|x| ema.update(x)).into();
    assert_eq!(got, vec![None, None, Some(2.0), Some(3.0), Some(4.0)]);

    // Changes +1, −0.5, +1. After two: G = 0.5, L = 0.25 → 66.67; then G = (0.5 + 1)/2 = 0.75,
    // L = (0.25 + 0)/2 = 0.125 → 100·0.75/0.875 = 85.714…
    let mut rsi = Rsi::new(2);
    let got: Vec<_> = [1.0, 2.0, 1.5, 2.5].map(|x| rsi.update(x)).into();
    assert_eq!(got[..2], [None, None]);
    assert!((got[2].unwrap() - 200.0 / 3.0).abs() < 1e-12);
    assert!((got[3].unwrap() - 600.0 / 7.0).abs() < 1e-12);

    // The textbook population σ example: mean 5, σ 2.
    let mut bands = Bollinger::new(8, 2.0);
    let mut last = None;
    for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
        last = bands.update(x);
    }
    let b = last.unwrap();
    assert_eq!((b.middle, b.sigma, b.upper, b.lower), (5.0, 2.0, 9.0, 1.0));

    // MACD(2, 3, 2) of 1, 2, 4, 8, 16 (fractions worked by hand):
    // fast: 3/2, 19/6, 115/18, 691/54; slow: 7/3, 31/6, 127/12;
    // line: 5/6, 11/9, 239/108; signal seeded (5/6 + 11/9)/2 = 37/36, then 589/324.
    let mut macd = Macd::new(2, 3, 2);
    let got: Vec<_> = [1.0, 2.0, 4.0, 8.0, 16.0].map(|x| macd.update(x)).into();
    assert!(got[..3].iter().all(Option::is_none));
    let m4 = got[3].unwrap();
    assert!((m4.macd - 11.0 / 9.0).abs() < 1e-12 && (m4.signal - 37.0 / 36.0).abs() < 1e-12);
    let m5 = got[4].unwrap();
    assert!((m5.macd - 239.0 / 108.0).abs() < 1e-12);
    assert!((m5.signal - 589.0 / 324.0).abs() < 1e-12);
    assert!((m5.histogram - 32.0 / 81.0).abs() < 1e-12);

    let mut vwap = Vwap::new();
    assert_eq!(vwap.value(), None);
    vwap.update(10.0, 1);
    assert_eq!(vwap.update(20.0, 3), Some(17.5));
}

#[test]
fn warm_up_edges_are_exact() {
    for period in 1..=6usize {
        let mut sma = Sma::new(period);
        let mut ema = Ema::new(period);
        let mut bands = Bollinger::new(period, 2.0);
        let mut rsi = Rsi::new(period);
        for i in 1..=period + 2 {
            let x = i as f64 * 1.5;
            let (s, e, b, r) = (sma.update(x), ema.update(x), bands.update(x), rsi.update(x));
            assert_eq!(s.is_some(), i >= period, "SMA({period}) after {i}");
            assert_eq!(e.is_some(), i >= period, "EMA({period}) after {i}");
            assert_eq!(b.is_some(), i >= period, "Bollinger({period}) after {i}");
            assert_eq!(r.is_some(), i > period, "RSI({period}) after {i}");
            assert_eq!(sma.is_ready(), s.is_some());
            assert_eq!(rsi.is_ready(), r.is_some());
        }
    }
    let mut macd = Macd::default();
    for i in 1..=40 {
        assert_eq!(
            macd.update(100.0 + f64::from(i)).is_some(),
            i >= 26 + 9 - 1,
            "MACD after {i}"
        );
    }
    // A constant series: σ exactly 0, RSI neutral.
    let mut bands = Bollinger::new(5, 2.0);
    let mut rsi = Rsi::new(3);
    for _ in 0..50 {
        bands.update(7.25);
        rsi.update(7.25);
    }
    let b = bands.value().unwrap();
    assert_eq!((b.sigma, b.upper, b.lower), (0.0, 7.25, 7.25));
    assert_eq!(rsi.value(), Some(50.0));
    // Reset starts the warm-up again.
    bands.reset();
    rsi.reset();
    assert!(bands.value().is_none() && rsi.value().is_none());
}

/// What a tested SMA/Bollinger must agree with at each checkpoint of the drift test.
struct DriftCheck {
    window: VecDeque<f64>,
    period: usize,
}

impl DriftCheck {
    /// Whether mean and variance match the last `period` inputs to 1e-12 of the data scale.
    fn agrees(&self, mean_got: f64, sigma_got: f64) -> bool {
        let w: Vec<f64> = self.window.iter().copied().collect();
        let scale = w.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let sd = sigma(&w);
        close(mean_got, mean(&w), 1e-12, scale)
            && close(sigma_got * sigma_got, sd * sd, 1e-12, scale * scale)
    }
}

/// The naive versions the drift test must catch: a running sum and a running sum of squares.
struct NaiveWindow {
    ring: VecDeque<f64>,
    sum: f64,
    sum_sq: f64,
}

impl NaiveWindow {
    fn update(&mut self, x: f64, period: usize) -> (f64, f64) {
        self.ring.push_back(x);
        self.sum += x;
        self.sum_sq += x * x;
        if self.ring.len() > period {
            let old = self.ring.pop_front().unwrap();
            self.sum -= old;
            self.sum_sq -= old * old;
        }
        let n = self.ring.len() as f64;
        let m = self.sum / n;
        (m, (self.sum_sq / n - m * m).max(0.0).sqrt())
    }
}

/// 10 million updates of a price near 1e6 moving by ~1e-3, with a 1e12 spike every million:
/// the stored window must still agree with a fresh computation at every checkpoint, and the
/// naive running sums must not (which shows the check can fail).
#[test]
fn no_drift_over_ten_million_updates() {
    const N: u64 = 10_000_000;
    const PERIOD: usize = 20;
    let mut rng = Xoshiro256StarStar::seed_from_u64(10);
    let mut bands = Bollinger::new(PERIOD, 2.0);
    let mut naive = NaiveWindow {
        ring: VecDeque::new(),
        sum: 0.0,
        sum_sq: 0.0,
    };
    let mut check = DriftCheck {
        window: VecDeque::new(),
        period: PERIOD,
    };
    let (mut naive_failures, mut checkpoints) = (0, 0);
    for i in 1..=N {
        let x = if i % 1_000_000 == 0 {
            1e12
        } else {
            1e6 + (rng.below(2001) as f64 - 1000.0) * 1e-6
        };
        let b = bands.update(x);
        let (nm, ns) = naive.update(x, PERIOD);
        check.window.push_back(x);
        if check.window.len() > check.period {
            check.window.pop_front();
        }
        if i % 499_979 == 0 {
            checkpoints += 1;
            let b = b.unwrap();
            assert!(
                check.agrees(b.middle, b.sigma),
                "drift after {i} updates: {b:?}"
            );
            naive_failures += usize::from(!check.agrees(nm, ns));
        }
    }
    assert_eq!(checkpoints, 20);
    assert!(
        naive_failures >= 15,
        "the naive sums failed only {naive_failures} checkpoints"
    );
}

/// VWAP over 10 million trades against an exact integer computation, and the naive f64 sum
/// shown to miss it. Prices use all 53 mantissa bits in [64, 128), so `price · 2⁴⁶` is an
/// integer and Σ price·size is exact in i128.
#[test]
fn vwap_has_no_drift_over_ten_million_trades() {
    const N: u64 = 10_000_000;
    const SCALE: f64 = (1u64 << 46) as f64;
    let mut rng = Xoshiro256StarStar::seed_from_u64(11);
    let mut vwap = Vwap::new();
    let (mut exact_pv, mut exact_v) = (0i128, 0i128);
    let (mut naive_pv, mut naive_v) = (0.0f64, 0.0f64);
    for _ in 0..N {
        let price = 64.0 * (1.0 + (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64);
        let size = 1 + rng.below(1000) as u32;
        vwap.update(price, size);
        exact_pv += (price * SCALE) as i128 * i128::from(size);
        exact_v += i128::from(size);
        naive_pv += price * f64::from(size);
        naive_v += f64::from(size);
    }
    let exact = exact_pv as f64 / (SCALE * exact_v as f64);
    let got = vwap.value().unwrap();
    let naive = naive_pv / naive_v;
    let tolerance = 4.0 * f64::EPSILON * exact;
    assert!(
        (got - exact).abs() <= tolerance,
        "VWAP {got} vs exact {exact}"
    );
    assert!(
        (naive - exact).abs() > tolerance,
        "the naive sum should miss: {naive} vs {exact}"
    );
    assert_eq!(vwap.volume() as i128, exact_v);
}

/// EMA, RSI and MACD after 10 million updates equal fresh ones run over the last few thousand
/// inputs: the contraction forgets old rounding, so nothing accumulates.
#[test]
fn recursive_indicators_forget_old_rounding() {
    const N: usize = 10_000_000;
    const TAIL: usize = 5_000;
    let mut rng = Xoshiro256StarStar::seed_from_u64(12);
    let (mut ema, mut rsi, mut macd) = (Ema::new(50), Rsi::new(14), Macd::default());
    let (mut f_ema, mut f_rsi, mut f_macd) = (Ema::new(50), Rsi::new(14), Macd::default());
    let mut x = 1e6;
    for i in 0..N {
        x += (rng.below(2001) as f64 - 1000.0) * 1e-3;
        ema.update(x);
        rsi.update(x);
        macd.update(x);
        if i >= N - TAIL {
            f_ema.update(x);
            f_rsi.update(x);
            f_macd.update(x);
        }
    }
    let (a, b) = (ema.value().unwrap(), f_ema.value().unwrap());
    assert!(close(a, b, 1e-13, 0.0), "EMA {a} vs fresh {b}");
    let (a, b) = (rsi.value().unwrap(), f_rsi.value().unwrap());
    assert!((a - b).abs() < 1e-9, "RSI {a} vs fresh {b}");
    let (a, b) = (macd.value().unwrap(), f_macd.value().unwrap());
    assert!(
        (a.macd - b.macd).abs() < 1e-6 && (a.signal - b.signal).abs() < 1e-6,
        "{a:?} vs {b:?}"
    );
}
