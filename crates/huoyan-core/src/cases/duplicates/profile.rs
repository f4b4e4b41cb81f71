//! A report as the proposer compares it: its tokens (the lexicon's concepts, else characters)
//! and their pairs, and its characters' n-grams (`grams`), each weighted by how rare it is among
//! the city's recent reports, so 哈尔滨, 消杀 or 送货费 count and 小区, 反映 do not.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use super::grams::{Grams, grams};
use super::lexicon::{CONCEPTS, REGISTER, SUBJECTS};
use super::places::Places;
use super::text::normalise;

/// Concept `i` is token `CONCEPT_BASE + i`; every other token is a character's code point.
const CONCEPT_BASE: u32 = 0x11_0000;

/// What a word of the lexicon is read as.
#[derive(Clone, Copy)]
enum Word {
    Concept(u32),
    Filler,
}

struct Lexicon {
    words: HashMap<Box<[char]>, Word>,
    /// The longest word starting with each character: most characters start none.
    longest: HashMap<char, usize>,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let mut words = HashMap::new();
    let mut longest = HashMap::new();
    let mut add = |word: &str, what: Word| {
        let chars: Box<[char]> = word.chars().collect();
        let n = longest.entry(chars[0]).or_insert(0);
        *n = chars.len().max(*n);
        words.insert(chars, what);
    };
    for word in REGISTER {
        add(word, Word::Filler);
    }
    for (i, concept) in CONCEPTS.iter().enumerate() {
        for word in *concept {
            add(word, Word::Concept(CONCEPT_BASE + i as u32));
        }
    }
    Lexicon { words, longest }
});

/// The tokens of a normalised text, read left to right taking the longest lexicon word at each
/// place: concepts become one token, filler goes, other characters stay.
#[cfg(test)]
pub(super) fn tokens(chars: &[char]) -> Vec<u32> {
    read(chars).0
}

/// A concept as one character of the stream the n-grams are read from (a private-use code point),
/// so two texts that say one thing in the lexicon's synonyms (进出 / 出入, 没人 / 无人) read the same
/// there too, and their remainder is not taken for another problem.
fn symbol(token: u32) -> char {
    char::from_u32(0xF_0000 + token - CONCEPT_BASE).unwrap_or('\u{FFFD}')
}

/// The tokens of a normalised text (`tokens`), and its characters without the filler, each
/// concept as its symbol (`symbol`).
fn read(chars: &[char]) -> (Vec<u32>, Vec<char>) {
    let lexicon = &*LEXICON;
    let mut out = Vec::with_capacity(chars.len());
    let mut stream = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let longest = lexicon.longest.get(&chars[i]).copied().unwrap_or(0);
        let found = (1..=longest.min(chars.len() - i))
            .rev()
            .find_map(|n| lexicon.words.get(&chars[i..i + n]).map(|w| (n, *w)));
        match found {
            Some((n, Word::Concept(token))) => {
                out.push(token);
                stream.push(symbol(token));
                i += n;
            }
            Some((n, Word::Filler)) => i += n,
            None => {
                out.push(chars[i] as u32);
                stream.push(chars[i]);
                i += 1;
            }
        }
    }
    (out, stream)
}

/// The subjects (`lexicon::SUBJECTS`) among a text's tokens, as bits of their concepts' indices.
fn subjects(tokens: &[u32]) -> u128 {
    static BITS: LazyLock<u128> = LazyLock::new(|| {
        CONCEPTS
            .iter()
            .enumerate()
            .filter(|(_, c)| SUBJECTS.contains(&c[0]))
            .fold(0, |bits, (i, _)| bits | 1 << i)
    });
    tokens
        .iter()
        .filter_map(|t| t.checked_sub(CONCEPT_BASE))
        .filter(|i| *i < 128)
        .fold(0, |bits, i| bits | 1 << i)
        & *BITS
}

/// A token as the clerk reads it: the character, or the concept's first word.
pub(super) fn word(token: u32) -> String {
    match token.checked_sub(CONCEPT_BASE) {
        Some(i) => CONCEPTS.get(i as usize).map_or("", |c| c[0]).to_string(),
        None => char::from_u32(token).map(String::from).unwrap_or_default(),
    }
}

fn pair(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// The distinct keys a text's tokens give: each token, and each two neighbouring tokens.
fn keys(tokens: &[u32]) -> HashSet<u64> {
    let mut keys: HashSet<u64> = tokens.iter().map(|t| u64::from(*t)).collect();
    keys.extend(tokens.windows(2).map(|w| pair(w[0], w[1])));
    keys
}

/// Inverse document frequency of tokens, token pairs and n-grams among the reports of a category
/// (the city's recent cases): `ln((n + 1) / (df + 1)) + 1`, so a key no report of the category
/// has weighs most and one every report of it has weighs 1. Counted per category because what is
/// common in one kind of report (采样点 among testing reports) says little there, however rare
/// it is in the city's reports as a whole.
/// The fewest reports a category's weights are counted as if over (`Idf::weight`): below the
/// labelled sets' smallest category (88 reports), so their figures do not move.
const FEW: u32 = 50;

#[derive(Debug, Clone, Default)]
pub struct Idf {
    categories: HashMap<String, Frequency>,
}

#[derive(Debug, Clone, Default)]
struct Frequency {
    documents: u32,
    of: HashMap<u64, u32>,
}

impl Idf {
    /// Counted over `(category, text)` of each report.
    pub fn new<'a>(reports: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut idf = Idf::default();
        for (category, text) in reports {
            let f = idf.categories.entry(category.to_string()).or_default();
            f.documents += 1;
            let (tokens, stream) = read(&normalise(text));
            let mut keys = keys(&tokens);
            keys.extend(grams(&stream));
            for key in keys {
                *f.of.entry(key).or_insert(0) += 1;
            }
        }
        idf
    }

    fn weight(&self, category: &str, key: u64) -> f32 {
        let (n, df) = self.categories.get(category).map_or((0, 0), |f| {
            (f.documents, f.of.get(&key).copied().unwrap_or(0))
        });
        // A category with few reports (a new city, a quiet month, a test's database) counts as
        // having at least `FEW` of them, the rest without the key: otherwise every word is rare
        // and common at once, and the two words a resend changes weigh more than all it repeats.
        let n = n.max(FEW);
        ((f64::from(n) + 1.0) / (f64::from(df) + 1.0)).ln() as f32 + 1.0
    }
}

/// Weighted keys, sorted by key, with their total weight and the heaviest one's.
#[derive(Debug, Clone, Default)]
pub(super) struct Bag {
    pub keys: Vec<(u64, f32)>,
    pub total: f32,
    pub heaviest: f32,
}

/// Two bags compared (`Bag::compare`).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Compared {
    pub shared: f32,
    /// The heaviest key of the first bag the second lacks, and the other way round.
    pub only_self: f32,
    pub only_other: f32,
}

impl Bag {
    fn new(keys: impl IntoIterator<Item = u64>, idf: &Idf, category: &str) -> Self {
        let mut keys: Vec<(u64, f32)> = keys
            .into_iter()
            .map(|k| (k, idf.weight(category, k)))
            .collect();
        keys.sort_unstable_by_key(|k| k.0);
        keys.dedup_by_key(|k| k.0);
        let total = keys.iter().map(|k| k.1).sum();
        let heaviest = keys.iter().map(|k| k.1).fold(0.0, f32::max);
        Bag {
            keys,
            total,
            heaviest,
        }
    }

    /// The weight the two bags share (each shared key once, at the lesser of its two weights:
    /// reports of two categories weigh a key each by its own).
    pub fn shared(&self, other: &Bag) -> f32 {
        self.compare(other).shared
    }

    /// What the two bags share, and the heaviest key each has that the other lacks.
    pub fn compare(&self, other: &Bag) -> Compared {
        let (mut i, mut j) = (0, 0);
        let mut out = Compared::default();
        while i < self.keys.len() && j < other.keys.len() {
            let (a, b) = (self.keys[i], other.keys[j]);
            match a.0.cmp(&b.0) {
                std::cmp::Ordering::Less => {
                    out.only_self = out.only_self.max(a.1);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.only_other = out.only_other.max(b.1);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.shared += a.1.min(b.1);
                    i += 1;
                    j += 1;
                }
            }
        }
        let rest = |keys: &[(u64, f32)]| keys.iter().map(|k| k.1).fold(0.0, f32::max);
        out.only_self = out.only_self.max(rest(&self.keys[i..]));
        out.only_other = out.only_other.max(rest(&other.keys[j..]));
        out
    }

    /// The shared keys, heaviest first.
    pub fn common(&self, other: &Bag) -> Vec<(u64, f32)> {
        let mut out: Vec<(u64, f32)> = self
            .keys
            .iter()
            .filter(|k| other.keys.binary_search_by_key(&k.0, |o| o.0).is_ok())
            .copied()
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// What the proposer needs to know of a case.
#[derive(Debug, Clone)]
pub struct CaseText<'a> {
    pub id: i64,
    pub category: &'a str,
    pub text: &'a str,
    pub reported_at_ms: i64,
}

/// A case read once for comparing with many: build the queue's profiles once, not per pair.
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: i64,
    pub category: String,
    pub reported_at_ms: i64,
    pub(super) tokens: Bag,
    pub(super) pairs: Bag,
    pub(super) places: Places,
    /// Its characters' n-grams (1–3), without filler, and what the remainder compares.
    pub(super) grams: Grams,
    /// What the report is about, where the lexicon knows (`subjects`).
    pub(super) subjects: u128,
}

impl Profile {
    pub fn new(case: &CaseText, idf: &Idf) -> Self {
        let chars = normalise(case.text);
        let (tokens, stream) = read(&chars);
        Profile {
            id: case.id,
            category: case.category.to_string(),
            reported_at_ms: case.reported_at_ms,
            tokens: Bag::new(tokens.iter().map(|t| u64::from(*t)), idf, case.category),
            pairs: Bag::new(
                tokens.windows(2).map(|w| pair(w[0], w[1])),
                idf,
                case.category,
            ),
            places: Places::of(&chars),
            grams: Grams::new(&stream, |k| idf.weight(case.category, k)),
            subjects: subjects(&tokens),
        }
    }
}

/// A shared key as words: a token, or two tokens run together.
pub(super) fn words(key: u64) -> String {
    match (key >> 32) as u32 {
        0 => word(key as u32),
        first => word(first) + &word(key as u32),
    }
}
