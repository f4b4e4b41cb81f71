//! The hand-labelled sets of report pairs that measure the duplicate proposer (how they were
//! written: their headers and BENCHMARKS.md), read for the test that measures it and for the
//! bench that times it.

#![allow(dead_code)] // each user reads what it needs

use std::collections::HashMap;

use huoyan_core::cases::{CaseText, Proximity};

pub const FIRST: &str = include_str!("../data/duplicate_pairs.tsv");
pub const FRESH: &str = include_str!("../data/duplicate_pairs_fresh.tsv");
pub const REGISTER: &str = include_str!("../data/duplicate_pairs_register.tsv");
pub const BLIND: &str = include_str!("../data/duplicate_pairs_blind.tsv");
/// Easy duplicates (near-verbatim resends: numerals, synonyms, typos, a prefix) and their
/// near-verbatim hard negatives, written blind (72b1fb4) after the second pass was reverted.
pub const EASY: &str = include_str!("../data/duplicate_pairs_easy.tsv");
/// The final hold-out, written blind and committed (374278e) before the proposer's refit on the
/// four sets above, and measured once after it: never fitted on, never used to choose anything.
pub const FINAL: &str = include_str!("../data/duplicate_pairs_final.tsv");
/// The second hold-out, written blind and committed (7dfbe62) before the fourth pass changed
/// anything, and measured once after it, with the third pass's proposer beside it.
pub const HOLDOUT: &str = include_str!("../data/duplicate_pairs_holdout.tsv");
pub const PLACES: &str = include_str!("../data/duplicate_places.tsv");
pub const DAY_MS: i64 = 86_400_000;

/// One side of a pair: a report and where and when it was made.
#[derive(Debug, Clone)]
pub struct Side {
    pub text: &'static str,
    pub category: &'static str,
    pub compound: i64,
    pub community: i64,
    pub day: i64,
}

impl Side {
    pub fn case(&self, id: i64) -> CaseText<'static> {
        CaseText {
            id,
            category: self.category,
            text: self.text,
            reported_at_ms: self.day * DAY_MS,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pair {
    pub number: u32,
    pub a: Side,
    pub b: Side,
    pub duplicate: bool,
    /// `terse` or `long` in the register set, empty in the earlier sets.
    pub style: &'static str,
    pub reason: &'static str,
}

fn number(field: &str, line: usize) -> i64 {
    field
        .parse()
        .unwrap_or_else(|_| panic!("line {line}: {field:?} is not a number"))
}

fn side(f: &[&'static str], line: usize) -> Side {
    Side {
        text: f[0],
        category: f[1],
        compound: number(f[2], line),
        community: number(f[3], line),
        day: number(f[4], line),
    }
}

/// The labelled pairs of a set; `#` lines and the header row are skipped. The earlier sets have
/// 13 fields, the register set a 14th, the style, before the reason.
pub fn pairs(set: &'static str) -> Vec<Pair> {
    set.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| {
            !line.starts_with('#') && !line.starts_with("pair\t") && !line.is_empty()
        })
        .map(|(line, row)| {
            let f: Vec<&str> = row.split('\t').collect();
            assert!(
                f.len() == 13 || f.len() == 14,
                "line {line}: 13 or 14 tab-separated fields"
            );
            Pair {
                number: number(f[0], line) as u32,
                a: side(&f[1..6], line),
                b: side(&f[6..11], line),
                duplicate: match f[11] {
                    "yes" => true,
                    "no" => false,
                    other => panic!("line {line}: duplicate is {other:?}, not yes or no"),
                },
                style: if f.len() == 14 { f[12] } else { "" },
                reason: f[f.len() - 1],
            }
        })
        .collect()
}

/// Named places shared by compounds of different communities: compound → (place, compounds).
pub struct Places(Vec<(&'static str, Vec<i64>)>);

impl Places {
    pub fn read() -> Self {
        Self::parse(PLACES)
    }

    /// The places of a file in `duplicate_places.tsv`'s form.
    pub fn parse(text: &'static str) -> Self {
        Places(
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.starts_with("place\t") && !l.is_empty())
                .map(|l| {
                    let f: Vec<&str> = l.split('\t').collect();
                    assert_eq!(f.len(), 3, "places: {l:?} has 3 fields");
                    let compounds = f[2].split(',').map(|c| number(c.trim(), 0)).collect();
                    (f[0], compounds)
                })
                .collect(),
        )
    }

    /// How near two reports' compounds are, or None when too far apart for one problem.
    pub fn proximity(&self, a: &Side, b: &Side) -> Option<Proximity> {
        if a.compound == b.compound {
            Some(Proximity::SameCompound)
        } else if a.community == b.community {
            Some(Proximity::SameCommunity)
        } else {
            self.0
                .iter()
                .find(|(_, c)| c.contains(&a.compound) && c.contains(&b.compound))
                .map(|(name, _)| Proximity::SharedSite(name.to_string()))
        }
    }
}

/// Every report of the five fitted sets once, as (category, text), for the weights of rare
/// words: the stand-in for the city's recent reports. Every fit, and every figure of those five
/// sets, is read with it; the final hold-out is not in it (`corpus_of`).
pub fn corpus() -> Vec<(&'static str, &'static str)> {
    corpus_of(&[FIRST, FRESH, REGISTER, BLIND, EASY])
}

/// Every report of the given sets once, as (category, text), sorted.
pub fn corpus_of(sets: &[&'static str]) -> Vec<(&'static str, &'static str)> {
    let mut seen = HashMap::new();
    for set in sets {
        for p in pairs(set) {
            for s in [&p.a, &p.b] {
                seen.entry((s.category, s.text)).or_insert(());
            }
        }
    }
    let mut reports: Vec<(&str, &str)> = seen.into_keys().collect();
    reports.sort_unstable();
    reports
}
