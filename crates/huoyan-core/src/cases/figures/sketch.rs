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
use std::fmt;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest relative difference between a quantile read from a sketch and the exact one.
pub const RELATIVE_ERROR: f64 = 0.01;

/// More buckets than any sketch spans (every `i64` of milliseconds, either sign, is about
/// 4,400): a stored sketch wider than this is refused, not allocated.
const MAX_SPAN: usize = 8_192;

/// Bucket bounds grow by this ratio: γ = (1 + α) / (1 − α) for α = `RELATIVE_ERROR`.
fn gamma() -> f64 {
    (1.0 + RELATIVE_ERROR) / (1.0 - RELATIVE_ERROR)
}

/// Durations in milliseconds by bucket; a count may go below zero only in a difference of two
/// sketches (`add` with a negative count).
///
/// The counts are kept dense, from bucket `lo` to the last bucket that holds any, so that a
/// merge adds two arrays: the figures merge every day's sketches on each read, and as ordered
/// maps the merges and their inserts took half of the commander's figures at a million cases.
/// A sketch spans at most about 4,400 buckets (every `i64` of milliseconds, either sign).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sketch {
    lo: i32,
    /// No zero at either end; empty when the sketch is.
    counts: Vec<i64>,
}

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
        self.cover(b, b);
        self.counts[(b - self.lo) as usize] += n;
        self.trim();
    }

    /// Adds `other` times `sign` (1 or −1).
    pub fn merge(&mut self, other: &Sketch, sign: i64) {
        if other.counts.is_empty() {
            return;
        }
        self.cover(other.lo, other.hi());
        let from = (other.lo - self.lo) as usize;
        for (c, n) in self.counts[from..].iter_mut().zip(&other.counts) {
            *c += n * sign;
        }
        self.trim();
    }

    /// The last bucket held (`lo - 1` when empty).
    fn hi(&self) -> i32 {
        self.lo + self.counts.len() as i32 - 1
    }

    /// Makes the counts reach from bucket `lo` to `hi`.
    fn cover(&mut self, lo: i32, hi: i32) {
        if self.counts.is_empty() {
            self.lo = lo;
            self.counts = vec![0; (hi - lo + 1) as usize];
            return;
        }
        if lo < self.lo {
            let more = (self.lo - lo) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, more));
            self.lo = lo;
        }
        if hi > self.hi() {
            self.counts.resize((hi - self.lo + 1) as usize, 0);
        }
    }

    /// Drops the zeros at either end.
    fn trim(&mut self) {
        let Some(first) = self.counts.iter().position(|&c| c != 0) else {
            *self = Sketch::default();
            return;
        };
        let last = self.counts.iter().rposition(|&c| c != 0).unwrap_or(first);
        self.counts.truncate(last + 1);
        self.counts.drain(..first);
        self.lo += first as i32;
    }

    /// How many values it holds.
    pub fn count(&self) -> i64 {
        self.counts.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The nearest-rank `q`-quantile (0–1), to within `RELATIVE_ERROR`; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<i64> {
        let n = self.count();
        if n <= 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * n as f64).ceil().max(1.0) as i64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(representative(self.lo + i as i32));
            }
        }
        Some(representative(self.hi()))
    }
}

/// Stored as `[lo, count of lo, count of lo + 1, …]`, `[]` when empty.
impl Serialize for Sketch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut all = Vec::with_capacity(self.counts.len() + 1);
        if !self.counts.is_empty() {
            all.push(i64::from(self.lo));
            all.extend_from_slice(&self.counts);
        }
        all.serialize(s)
    }
}

/// Reads the stored array, or the map of bucket to count that tallies written before the dense
/// form hold.
impl<'de> Deserialize<'de> for Sketch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Stored;
        impl<'de> Visitor<'de> for Stored {
            type Value = Sketch;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("[lo, counts…] or a map of bucket to count")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sketch, A::Error> {
                let Some(lo) = seq.next_element::<i32>()? else {
                    return Ok(Sketch::default());
                };
                let mut counts = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(c) = seq.next_element::<i64>()? {
                    if counts.len() == MAX_SPAN {
                        return Err(serde::de::Error::custom("a sketch of too many buckets"));
                    }
                    counts.push(c);
                }
                let mut s = Sketch { lo, counts };
                s.trim();
                Ok(s)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sketch, A::Error> {
                let mut s = Sketch::default();
                let mut sparse = BTreeMap::new();
                while let Some((b, c)) = map.next_entry::<i32, i64>()? {
                    sparse.insert(b, c);
                }
                if let (Some((&lo, _)), Some((&hi, _))) =
                    (sparse.first_key_value(), sparse.last_key_value())
                {
                    if i64::from(hi) - i64::from(lo) >= MAX_SPAN as i64 {
                        return Err(serde::de::Error::custom("a sketch of too many buckets"));
                    }
                    s.cover(lo, hi);
                    for (b, c) in sparse {
                        s.counts[(b - lo) as usize] = c;
                    }
                    s.trim();
                }
                Ok(s)
            }
        }
        d.deserialize_any(Stored)
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
    fn a_sketch_is_stored_dense_and_read_back_from_either_form() {
        let mut s = Sketch::default();
        for (v, n) in [(0, 2), (1, 1), (3_600_000, 4), (-60_000, 1)] {
            s.add(v, n);
        }
        let stored = serde_json::to_string(&s).unwrap();
        assert!(stored.starts_with('['), "{stored}");
        assert_eq!(serde_json::from_str::<Sketch>(&stored).unwrap(), s);
        // The map of bucket to count that tallies written before the dense form hold.
        let sparse: BTreeMap<i32, i64> = (0..s.counts.len())
            .filter(|&i| s.counts[i] != 0)
            .map(|i| (s.lo + i as i32, s.counts[i]))
            .collect();
        let old = serde_json::to_string(&sparse).unwrap();
        assert_eq!(serde_json::from_str::<Sketch>(&old).unwrap(), s);
        assert_eq!(serde_json::to_string(&Sketch::default()).unwrap(), "[]");
        assert!(serde_json::from_str::<Sketch>("[]").unwrap().is_empty());
        assert!(serde_json::from_str::<Sketch>("{}").unwrap().is_empty());
        // Zeros at the ends are dropped, so that equal sketches compare equal.
        assert_eq!(serde_json::from_str::<Sketch>("[500, 0, 2, 0]").unwrap(), {
            let mut t = Sketch::default();
            t.add(representative(501), 2);
            t
        });
        assert!(serde_json::from_str::<Sketch>(r#"{"-2000000000": 1, "2000000000": 1}"#).is_err());
        let wide = format!("[0{}]", ",1".repeat(MAX_SPAN + 1));
        assert!(serde_json::from_str::<Sketch>(&wide).is_err());
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
