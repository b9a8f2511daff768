//! Units for figures people read: a time per iteration in ns / µs / ms / s, an instruction count
//! in Ir / KIr / MIr / GIr, or, where the bench declared a throughput, a rate (elem/s, B/s) with an
//! SI prefix. One scale per chart or row, chosen from the largest value shown.

use crate::baseline::Throughput;
use crate::policy::Metric;

/// What a benchmark's figures are shown as.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Quantity {
    /// Nanoseconds per iteration (smaller is better).
    Time,
    /// Instructions per iteration (smaller is better).
    Count,
    /// Work per second from a declared throughput (larger is better): `amount` units per
    /// iteration.
    Rate {
        /// Units of work per iteration.
        amount: f64,
        /// `elem`, `B` or `bit`.
        unit: &'static str,
    },
}

impl Quantity {
    /// The quantity for figures of `metric`, shown as a rate when a time has a declared
    /// throughput.
    pub fn of(metric: Metric, throughput: Option<Throughput>) -> Quantity {
        match (metric, throughput) {
            (Metric::Instructions, _) => Quantity::Count,
            (Metric::Time, Some(t)) => {
                let (amount, unit) = t.amount();
                Quantity::Rate {
                    amount: amount as f64,
                    unit,
                }
            }
            (Metric::Time, None) => Quantity::Time,
        }
    }

    /// A raw figure (ns or instructions per iteration) in this quantity's base unit (ns, Ir, or
    /// units per second).
    pub fn base(&self, raw: f64) -> f64 {
        match *self {
            Quantity::Rate { amount, .. } => amount * 1e9 / raw,
            _ => raw,
        }
    }

    /// Whether larger figures are better.
    pub fn larger_is_better(&self) -> bool {
        matches!(self, Quantity::Rate { .. })
    }

    /// The scale for base values up to `max`: `(divisor, unit)`, shown value = base / divisor.
    pub fn scale(&self, max: f64) -> (f64, String) {
        let max = if max.is_finite() { max.abs() } else { 0.0 };
        match *self {
            Quantity::Time => match max {
                m if m >= 1e9 => (1e9, "s".into()),
                m if m >= 1e6 => (1e6, "ms".into()),
                m if m >= 1e3 => (1e3, "µs".into()),
                _ => (1.0, "ns".into()),
            },
            Quantity::Count => match max {
                m if m >= 1e9 => (1e9, "GIr".into()),
                m if m >= 1e6 => (1e6, "MIr".into()),
                m if m >= 1e3 => (1e3, "KIr".into()),
                _ => (1.0, "Ir".into()),
            },
            Quantity::Rate { unit, .. } => {
                let (d, p) = match max {
                    m if m >= 1e9 => (1e9, "G"),
                    m if m >= 1e6 => (1e6, "M"),
                    m if m >= 1e3 => (1e3, "k"),
                    _ => (1.0, ""),
                };
                (d, format!("{p}{unit}/s"))
            }
        }
    }

    /// One raw figure with its own scale, e.g. `1.234 µs` or `12.3 Melem/s`.
    pub fn format(&self, raw: f64) -> String {
        let base = self.base(raw);
        let (d, unit) = self.scale(base);
        format!("{} {unit}", significant(base / d))
    }
}

/// `v` with four significant digits at most (`1.234`, `12.35`, `123.5`, `1235`).
pub fn significant(v: f64) -> String {
    match v.abs() {
        a if a >= 1000.0 => format!("{v:.0}"),
        a if a >= 100.0 => format!("{v:.1}"),
        a if a >= 10.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_follow_the_largest_value() {
        assert_eq!(Quantity::Time.format(1234.0), "1.234 µs");
        assert_eq!(Quantity::Time.format(2.5e6), "2.500 ms");
        assert_eq!(Quantity::Count.format(12_345.0), "12.35 KIr");
        let rate = Quantity::of(Metric::Time, Some(Throughput::Elements(64)));
        assert!(rate.larger_is_better());
        assert_eq!(rate.format(11.4), "5.614 Gelem/s");
        assert_eq!(
            Quantity::of(Metric::Instructions, Some(Throughput::Bytes(8))),
            Quantity::Count
        );
    }
}
