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
        key | ((key & !TAG) << 21) | u64::from(*c as u32)
    })
}

/// The distinct n-gram keys of a stream of characters (n = 1–3).
pub(super) fn grams(stream: &[char]) -> impl Iterator<Item = u64> + '_ {
    (1..=3).flat_map(move |n| stream.windows(n).map(gram))
}

/// The longest text compared position by position; the rest of a longer one counts as covered.
pub(super) const SPAN: usize = 128;

/// A text's characters as the remainder compares them: each distinct character with its weight
/// and the positions (bits) where it stands, sorted by character; and its trigrams, sorted.
#[derive(Debug, Clone, Default)]
pub(super) struct Frame {
    pub chars: Vec<(char, f32, u128)>,
    pub trigrams: Vec<(u64, u128)>,
    pub total: f32,
}

impl Frame {
    pub(super) fn new(stream: &[char], weight: impl Fn(u64) -> f32) -> Self {
        let stream = &stream[..stream.len().min(SPAN)];
        let mut chars: Vec<(char, f32, u128)> = Vec::new();
        for (i, c) in stream.iter().enumerate() {
            match chars.iter_mut().find(|(x, _, _)| x == c) {
                Some(entry) => entry.2 |= 1 << i,
                None => chars.push((*c, weight(gram(&[*c])), 1 << i)),
            }
        }
        chars.sort_unstable_by_key(|c| c.0);
        let mut trigrams: Vec<(u64, u128)> = Vec::new();
        for (i, w) in stream.windows(3).enumerate() {
            let bits = 0b111u128 << i;
            let key = gram(w);
            match trigrams.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 |= bits,
                None => trigrams.push((key, bits)),
            }
        }
        trigrams.sort_unstable_by_key(|t| t.0);
        let total = chars.iter().map(|c| c.1).sum();
        Frame {
            chars,
            trigrams,
            total,
        }
    }

    /// The positions covered by trigrams the other text has too.
    fn covered(&self, other: &Frame) -> u128 {
        let (mut i, mut j, mut bits) = (0, 0, 0);
        while i < self.trigrams.len() && j < other.trigrams.len() {
            let (a, b) = (self.trigrams[i], other.trigrams[j]);
            match a.0.cmp(&b.0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    bits |= a.1;
                    i += 1;
                    j += 1;
                }
            }
        }
        bits
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

pub(super) fn remainder(a: &Frame, b: &Frame) -> Remainder {
    let (cover_a, cover_b) = (a.covered(b), b.covered(a));
    let (mut i, mut j) = (0, 0);
    let (mut left_a, mut left_b, mut shared) = (0.0f32, 0.0f32, 0.0f32);
    let (mut framed_a, mut framed_b) = (0.0f32, 0.0f32);
    let mut step_a = |c: &(char, f32, u128), framed: &mut f32| {
        if c.2 & !cover_a != 0 {
            left_a += c.1;
        } else {
            *framed += c.1;
        }
    };
    // Merge the two sorted character lists.
    while i < a.chars.len() || j < b.chars.len() {
        let order = match (a.chars.get(i), b.chars.get(j)) {
            (Some(x), Some(y)) => x.0.cmp(&y.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                step_a(&a.chars[i], &mut framed_a);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                let c = b.chars[j];
                if c.2 & !cover_b != 0 {
                    left_b += c.1;
                } else {
                    framed_b += c.1;
                }
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (x, y) = (a.chars[i], b.chars[j]);
                step_a(&x, &mut framed_a);
                let (in_a, in_b) = (x.2 & !cover_a != 0, y.2 & !cover_b != 0);
                if in_b {
                    left_b += y.1;
                } else {
                    framed_b += y.1;
                }
                if in_a && in_b {
                    shared += x.1.min(y.1);
                }
                i += 1;
                j += 1;
            }
        }
    }
    let (shorter_left, shorter_total, framed) = if a.total <= b.total {
        (left_a, a.total, framed_a)
    } else {
        (left_b, b.total, framed_b)
    };
    let least_left = left_a.min(left_b);
    Remainder {
        frame: if shorter_total > 0.0 {
            f64::from(framed / shorter_total)
        } else {
            0.0
        },
        containment: if least_left > 0.0 {
            f64::from(shared / least_left)
        } else {
            1.0
        },
        weight: f64::from(shorter_left),
    }
}
