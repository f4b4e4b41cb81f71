//! A mergeable quantile sketch of durations (a logarithmic histogram, as in DDSketch): every
//! value falls in a bucket whose bounds grow by a fixed ratio, so the sketch of a period is the
//! sum of its days' sketches, a value is taken out as exactly as it was put in, and any quantile
//! is read to within a stated relative error.
//!
//! **Error.** A quantile read from the sketch is within [`RELATIVE_ERROR`] (1 %) of the
//! nearest-rank quantile of the values put in: both lie in the same bucket, and a bucket's
//! representative value is within that share of anything inside it (1 ms and 0 are kept
//! exactly; a negative value, a clock that ran backwards, as its mirror). Counts are exact.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The largest relative difference between a quantile read from a sketch and the exact one.
pub const RELATIVE_ERROR: f64 = 0.01;

/// Bucket bounds grow by this ratio: γ = (1 + α) / (1 − α) for α = `RELATIVE_ERROR`.
fn gamma() -> f64 {
    (1.0 + RELATIVE_ERROR) / (1.0 - RELATIVE_ERROR)
}

/// Durations in milliseconds by bucket; a count may go below zero only in a difference of two
/// sketches (`add` with a negative count).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sketch(BTreeMap<i32, i64>);

/// The bucket of `v`, in the order of the values: a positive value's (0 and up), −1 for 0, and a
/// negative value's below (a clock that ran backwards is kept, not hidden).
fn bucket(v: i64) -> i32 {
    let up = |v: i64| ((v as f64).ln() / gamma().ln()).ceil().max(0.0) as i32;
    match v {
        0 => -1,
        v if v > 0 => up(v),
        v => -2 - up(-v),
    }
}

/// The value a bucket stands for: within `RELATIVE_ERROR` of every value in it.
fn representative(b: i32) -> i64 {
    let up = |b: i32| {
        let g = gamma();
        (2.0 * g.powi(b) / (g + 1.0)).round() as i64
    };
    match b {
        -1 => 0,
        b if b >= 0 => up(b),
        b => -up(-2 - b),
    }
}

impl Sketch {
    /// Puts `n` copies of `v` in (takes them out when `n` is negative).
    pub fn add(&mut self, v: i64, n: i64) {
        let b = bucket(v);
        let c = self.0.entry(b).or_insert(0);
        *c += n;
        if *c == 0 {
            self.0.remove(&b);
        }
    }

    /// Adds `other` times `sign` (1 or −1).
    pub fn merge(&mut self, other: &Sketch, sign: i64) {
        for (&b, &n) in &other.0 {
            let c = self.0.entry(b).or_insert(0);
            *c += n * sign;
            if *c == 0 {
                self.0.remove(&b);
            }
        }
    }

    /// How many values it holds.
    pub fn count(&self) -> i64 {
        self.0.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The nearest-rank `q`-quantile (0–1), to within `RELATIVE_ERROR`; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<i64> {
        let n = self.count();
        if n <= 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * n as f64).ceil().max(1.0) as i64;
        let mut seen = 0;
        for (&b, &c) in &self.0 {
            seen += c;
            if seen >= rank {
                return Some(representative(b));
            }
        }
        self.0.keys().next_back().map(|&b| representative(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::deadlines::quantile;
    use proptest::prelude::*;

    fn within(read: i64, exact: i64) -> bool {
        (read - exact).abs() as f64 <= RELATIVE_ERROR * exact.abs() as f64 + 1.0
    }

    proptest! {
        #[test]
        fn quantiles_are_within_the_stated_error_of_the_exact_ones(
            values in proptest::collection::vec(-86_400_000i64..40 * 86_400_000, 1..400),
            q in 0.0f64..=1.0,
        ) {
            let mut s = Sketch::default();
            for v in &values {
                s.add(*v, 1);
            }
            prop_assert_eq!(s.count(), values.len() as i64);
            let (read, exact) = (s.quantile(q).unwrap(), quantile(&values, q).unwrap());
            prop_assert!(within(read, exact), "{} read, {} exact", read, exact);
        }

        #[test]
        fn a_merge_of_parts_is_the_sketch_of_the_whole_and_a_removal_undoes_an_add(
            values in proptest::collection::vec(-5i64..10_000_000, 0..200),
            cut in 0usize..200,
        ) {
            let cut = cut.min(values.len());
            let (mut whole, mut a, mut b) = (Sketch::default(), Sketch::default(), Sketch::default());
            for v in &values {
                whole.add(*v, 1);
            }
            for v in &values[..cut] {
                a.add(*v, 1);
            }
            for v in &values[cut..] {
                b.add(*v, 1);
            }
            a.merge(&b, 1);
            prop_assert_eq!(&a, &whole);
            a.merge(&b, -1);
            for v in &values[..cut] {
                a.add(*v, -1);
            }
            prop_assert!(a.is_empty());
        }
    }

    #[test]
    fn an_empty_sketch_has_no_quantile_and_zero_stays_zero() {
        let mut s = Sketch::default();
        assert_eq!(s.quantile(0.5), None);
        s.add(0, 3);
        assert_eq!(s.quantile(0.9), Some(0));
        s.add(-7_200_000, 7);
        let read = s.quantile(0.5).unwrap();
        assert!((read + 7_200_000).abs() <= 72_000, "{read}");
    }
}
