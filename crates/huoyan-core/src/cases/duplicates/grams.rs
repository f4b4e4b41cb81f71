//! A report's characters without filler, and their runs of one, two and three (n-grams), each
//! weighted by how rare it is: a similarity that needs no lexicon, so paraphrases the lexicon
//! does not know still meet on what they share (采样管 / 试管 on 管).
//!
//! And what is left of two texts once what they share at length is taken out: two reports in one
//! office template or about one place (经督查，X保供商户存在…情况) share a long frame, and whether
//! they are one problem is told by the rest (哄抬物价 / 员工未戴口罩), which the frame would drown
//! in a containment over the whole text.

/// Marks an n-gram key, apart from tokens and token pairs.
const TAG: u64 = 1 << 63;

pub(super) fn gram(chars: &[char]) -> u64 {
    chars.iter().fold(TAG, |key, c| {
        TAG | ((key & !TAG) << 21) | u64::from(*c as u32)
    })
}

/// The distinct n-gram keys of a stream of characters (n = 1–3).
pub(super) fn grams(stream: &[char]) -> impl Iterator<Item = u64> + '_ {
    (1..=3).flat_map(move |n| stream.windows(n).map(gram))
}

/// The longest text compared position by position: characters past it are not told apart from
/// the shared runs.
pub(super) const SPAN: usize = 128;

/// A text's distinct n-grams, each with its weight and, for characters and trigrams, the
/// positions (bits) where it stands; sorted by key, so characters come first, then bigrams, then
/// trigrams.
#[derive(Debug, Clone, Default)]
pub(super) struct Grams {
    keys: Vec<u64>,
    weights: Vec<f32>,
    bits: Vec<u128>,
    /// Where the bigrams and the trigrams start.
    bigrams: usize,
    trigrams: usize,
    pub total: f32,
    /// The weight of the characters within `SPAN`, where the remainder is read.
    chars: f32,
    /// A bit for each character (hashed): texts with no bit in common share no character.
    sign: u128,
}

/// Characters have keys below this, bigrams below `THREE`.
const TWO: u64 = TAG | 1 << 21;
const THREE: u64 = TAG | 1 << 42;

impl Grams {
    pub(super) fn new(stream: &[char], weight: impl Fn(u64) -> f32) -> Self {
        let mut keys: Vec<(u64, f32, u128)> = Vec::with_capacity(3 * stream.len());
        for n in 1..=3 {
            for (i, w) in stream.windows(n).enumerate() {
                let bits = match n {
                    2 => 0,
                    _ if i + n > SPAN => 0,
                    _ => ((1u128 << n) - 1) << i,
                };
                keys.push((gram(w), 0.0, bits));
            }
        }
        keys.sort_unstable_by_key(|k| k.0);
        keys.dedup_by(|next, kept| {
            let same = next.0 == kept.0;
            if same {
                kept.2 |= next.2;
            }
            same
        });
        for k in &mut keys {
            k.1 = weight(k.0);
        }
        let bigrams = keys.partition_point(|k| k.0 < TWO);
        let trigrams = keys.partition_point(|k| k.0 < THREE);
        let chars = keys[..bigrams]
            .iter()
            .filter(|k| k.2 != 0)
            .map(|k| k.1)
            .sum();
        let total = keys.iter().map(|k| k.1).sum();
        let sign = stream.iter().fold(0, |sign, c| {
            sign | 1u128 << ((*c as u32).wrapping_mul(0x9E37_79B1) >> 25)
        });
        Grams {
            sign,
            total,
            weights: keys.iter().map(|k| k.1).collect(),
            bits: keys.iter().map(|k| k.2).collect(),
            keys: keys.into_iter().map(|k| k.0).collect(),
            bigrams,
            trigrams,
            chars,
        }
    }

    /// The weight the two share, and what is left of them once the runs of three or more
    /// characters both have are taken out.
    pub(super) fn compare(&self, other: &Grams) -> (f32, Remainder) {
        if self.sign & other.sign == 0 {
            // Nothing shared, nothing framed: what the full comparison would find, at once.
            return (0.0, self.remainder(other, 0.0, 0.0, 0.0));
        }
        let (a, b) = (self, other);
        let (mut shared, mut cover_a, mut cover_b) = (0.0, 0, 0);
        let weight = |i: usize, j: usize| a.weights[i].min(b.weights[j]);
        merge(
            a,
            b,
            a.trigrams..a.keys.len(),
            b.trigrams..b.keys.len(),
            |i, j| {
                shared += weight(i, j);
                cover_a |= a.bits[i];
                cover_b |= b.bits[j];
            },
        );
        merge(
            a,
            b,
            a.bigrams..a.trigrams,
            b.bigrams..b.trigrams,
            |i, j| shared += weight(i, j),
        );
        // A character the other text lacks is in no shared run: only shared ones can be framed.
        let (mut framed_a, mut framed_b, mut left_shared) = (0.0, 0.0, 0.0);
        merge(a, b, 0..a.bigrams, 0..b.bigrams, |i, j| {
            shared += weight(i, j);
            let (in_a, in_b) = (a.bits[i] & !cover_a != 0, b.bits[j] & !cover_b != 0);
            if !in_a {
                framed_a += a.weights[i];
            }
            if !in_b {
                framed_b += b.weights[j];
            }
            if in_a && in_b {
                left_shared += weight(i, j);
            }
        });
        (
            shared,
            self.remainder(other, framed_a, framed_b, left_shared),
        )
    }

    /// The remainder from what of each text is framed and the weight the two rests share.
    fn remainder(
        &self,
        other: &Grams,
        framed_a: f32,
        framed_b: f32,
        left_shared: f32,
    ) -> Remainder {
        let (left_a, left_b) = (self.chars - framed_a, other.chars - framed_b);
        // The shorter text's share framed and weight left; both sides' when they weigh the same,
        // so the pair reads the same either way round.
        let share = |framed: f32, total: f32| {
            if total > 0.0 {
                f64::from(framed / total)
            } else {
                0.0
            }
        };
        let (share_a, share_b) = (share(framed_a, self.chars), share(framed_b, other.chars));
        let (frame, shorter_left, frame_longer, longer_left) =
            match self.chars.total_cmp(&other.chars) {
                std::cmp::Ordering::Less => (share_a, left_a, share_b, left_b),
                std::cmp::Ordering::Greater => (share_b, left_b, share_a, left_a),
                std::cmp::Ordering::Equal => (
                    share_a.max(share_b),
                    left_a.min(left_b),
                    share_a.min(share_b),
                    left_a.max(left_b),
                ),
            };
        let least_left = left_a.min(left_b);
        Remainder {
            frame,
            containment: if least_left > 1e-6 {
                f64::from(left_shared / least_left)
            } else {
                1.0
            },
            weight: f64::from(shorter_left.max(0.0)),
            frame_longer,
            weight_longer: f64::from(longer_left.max(0.0)),
        }
    }
}

/// Calls `both` with the indices of each key the two texts' ranges of keys share (sorted).
fn merge(
    a: &Grams,
    b: &Grams,
    ra: std::ops::Range<usize>,
    rb: std::ops::Range<usize>,
    mut both: impl FnMut(usize, usize),
) {
    let (mut i, mut j) = (ra.start, rb.start);
    while i < ra.end && j < rb.end {
        let (x, y) = (a.keys[i], b.keys[j]);
        if x == y {
            both(i, j);
        }
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
}

/// What the remainder says of a pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Remainder {
    /// Share of the shorter text's weight inside runs of three or more both texts have.
    pub frame: f64,
    /// Weighted containment of the shorter remainder's characters in the other's remainder; 1
    /// when nothing is left of either.
    pub containment: f64,
    /// The shorter remainder's weight.
    pub weight: f64,
    /// The same two of the longer text: a resend in nearly the same words is framed on both
    /// sides, a short report inside a long office text only on its own.
    pub frame_longer: f64,
    pub weight_longer: f64,
}
