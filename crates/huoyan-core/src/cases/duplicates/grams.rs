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
    keys: Vec<(u64, f32, u128)>,
    /// Where the bigrams and the trigrams start.
    bigrams: usize,
    trigrams: usize,
    pub total: f32,
    /// The weight of the characters within `SPAN`, where the remainder is read.
    chars: f32,
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
        Grams {
            total: keys.iter().map(|k| k.1).sum(),
            keys,
            bigrams,
            trigrams,
            chars,
        }
    }

    /// The weight the two share, and what is left of them once the runs of three or more
    /// characters both have are taken out.
    pub(super) fn compare(&self, other: &Grams) -> (f32, Remainder) {
        let (a, b) = (&self.keys, &other.keys);
        let (mut shared, mut cover_a, mut cover_b) = (0.0, 0, 0);
        merge(&a[self.trigrams..], &b[other.trigrams..], |x, y| {
            shared += x.1.min(y.1);
            cover_a |= x.2;
            cover_b |= y.2;
        });
        merge(
            &a[self.bigrams..self.trigrams],
            &b[other.bigrams..other.trigrams],
            |x, y| shared += x.1.min(y.1),
        );
        // A character the other text lacks is in no shared run: only shared ones can be framed.
        let (mut framed_a, mut framed_b, mut left_shared) = (0.0, 0.0, 0.0);
        merge(&a[..self.bigrams], &b[..other.bigrams], |x, y| {
            shared += x.1.min(y.1);
            let (in_a, in_b) = (x.2 & !cover_a != 0, y.2 & !cover_b != 0);
            if !in_a {
                framed_a += x.1;
            }
            if !in_b {
                framed_b += y.1;
            }
            if in_a && in_b {
                left_shared += x.1.min(y.1);
            }
        });
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
        let (frame, shorter_left) = match self.chars.total_cmp(&other.chars) {
            std::cmp::Ordering::Less => (share(framed_a, self.chars), left_a),
            std::cmp::Ordering::Greater => (share(framed_b, other.chars), left_b),
            std::cmp::Ordering::Equal => (
                share(framed_a, self.chars).max(share(framed_b, other.chars)),
                left_a.min(left_b),
            ),
        };
        let least_left = left_a.min(left_b);
        let remainder = Remainder {
            frame,
            containment: if least_left > 1e-6 {
                f64::from(left_shared / least_left)
            } else {
                1.0
            },
            weight: f64::from(shorter_left.max(0.0)),
        };
        (shared, remainder)
    }
}

/// Calls `both` for each key the two sorted lists share.
fn merge(
    a: &[(u64, f32, u128)],
    b: &[(u64, f32, u128)],
    mut both: impl FnMut(&(u64, f32, u128), &(u64, f32, u128)),
) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both(&a[i], &b[j]);
                i += 1;
                j += 1;
            }
        }
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
}
