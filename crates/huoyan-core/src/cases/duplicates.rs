//! Proposing likely duplicates when the office triages a report: same or neighbouring compound,
//! same category, similar Chinese text, within a window of days.
//!
//! Text similarity is the Dice coefficient over character bigrams of the text with punctuation
//! and spaces removed. Chinese has no spaces between words, so word tokenisers need a dictionary;
//! bigrams catch the same two-character words ("门岗", "核酸", "物资") without one, and are cheap
//! enough to compare a report with every open case of its community.

use std::collections::HashMap;

/// What the proposer needs to know of a case.
#[derive(Debug, Clone)]
pub struct CaseText<'a> {
    pub id: i64,
    pub compound_id: i64,
    /// The compound's community: compounds of one community are neighbours.
    pub community_id: i64,
    pub category: &'a str,
    pub text: &'a str,
    pub reported_at_ms: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct DuplicateRule {
    pub window_days: i64,
    /// Score at or above which a pair is proposed.
    pub threshold: f64,
    /// Weight of a neighbouring compound against the same compound (1.0).
    pub neighbour_weight: f64,
}

impl Default for DuplicateRule {
    fn default() -> Self {
        Self {
            window_days: 3,
            threshold: 0.35,
            neighbour_weight: 0.8,
        }
    }
}

fn bigrams(text: &str) -> HashMap<(char, char), u32> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let mut out = HashMap::new();
    if chars.len() == 1 {
        *out.entry((chars[0], '\0')).or_insert(0) += 1;
    }
    for w in chars.windows(2) {
        *out.entry((w[0], w[1])).or_insert(0) += 1;
    }
    out
}

/// Dice coefficient over character bigrams (with multiplicity): 1 for the same text, 0 for texts
/// that share no two-character run.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (x, y) = (bigrams(a), bigrams(b));
    let total: u32 = x.values().sum::<u32>() + y.values().sum::<u32>();
    if total == 0 {
        return 0.0;
    }
    let shared: u32 = x
        .iter()
        .map(|(k, n)| (*n).min(*y.get(k).unwrap_or(&0)))
        .sum();
    2.0 * shared as f64 / total as f64
}

/// The score of `b` as a duplicate of `a`, or `None` when place, category or time rule it out.
pub fn score(a: &CaseText, b: &CaseText, rule: &DuplicateRule) -> Option<f64> {
    if a.id == b.id || a.category != b.category {
        return None;
    }
    if (a.reported_at_ms - b.reported_at_ms).abs() > rule.window_days * 86_400_000 {
        return None;
    }
    let place = if a.compound_id == b.compound_id {
        1.0
    } else if a.community_id == b.community_id {
        rule.neighbour_weight
    } else {
        return None;
    };
    Some(place * similarity(a.text, b.text))
}

/// The cases among `others` likely to duplicate `case`, best first.
pub fn propose(case: &CaseText, others: &[CaseText], rule: &DuplicateRule) -> Vec<(i64, f64)> {
    let mut found: Vec<(i64, f64)> = others
        .iter()
        .filter_map(|o| {
            score(case, o, rule)
                .filter(|s| *s >= rule.threshold)
                .map(|s| (o.id, s))
        })
        .collect();
    found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn case<'a>(
        id: i64,
        compound: i64,
        community: i64,
        category: &'a str,
        text: &'a str,
        day: i64,
    ) -> CaseText<'a> {
        CaseText {
            id,
            compound_id: compound,
            community_id: community,
            category,
            text,
            reported_at_ms: day * 86_400_000,
        }
    }

    #[test]
    fn the_same_problem_told_twice_is_proposed() {
        let a = case(
            1,
            10,
            1,
            "static_control",
            "3号楼东门岗无人值守，居民随意进出。",
            0,
        );
        let others = [
            case(
                2,
                10,
                1,
                "static_control",
                "三号楼东门岗没人值守，有居民进出",
                1,
            ),
            case(
                3,
                11,
                1,
                "static_control",
                "东门岗无人值守，居民随意进出",
                1,
            ),
            case(
                4,
                10,
                1,
                "supplies",
                "3号楼东门岗无人值守，居民随意进出。",
                0,
            ),
            case(5, 10, 1, "static_control", "蔬菜包没有送到5号楼", 0),
            case(
                6,
                12,
                2,
                "static_control",
                "3号楼东门岗无人值守，居民随意进出。",
                0,
            ),
            case(
                7,
                10,
                1,
                "static_control",
                "3号楼东门岗无人值守，居民随意进出。",
                9,
            ),
        ];
        let ids: Vec<i64> = propose(&a, &others, &DuplicateRule::default())
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            ids,
            vec![3, 2],
            "other category, other community, other text and out of window are left out"
        );
    }

    proptest! {
        #[test]
        fn similarity_is_symmetric_bounded_and_one_on_itself(a in "[门岗核酸物资无人值守居民 ]{0,20}", b in "[门岗核酸物资无人值守居民 ]{0,20}") {
            let s = similarity(&a, &b);
            prop_assert!((0.0..=1.0).contains(&s));
            prop_assert!((s - similarity(&b, &a)).abs() < 1e-12);
            if a.chars().any(|c| c.is_alphanumeric()) {
                prop_assert!((similarity(&a, &a) - 1.0).abs() < 1e-12);
            }
        }
    }
}
