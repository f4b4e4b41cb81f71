//! Proposing likely duplicates when the office triages a report: same or neighbouring compound,
//! same category, similar Chinese text, within a window of days, and no two different places
//! named.
//!
//! Text similarity is the Dice coefficient over the characters of the texts, normalised: numbers
//! written in Chinese or as 3栋 / 3#楼 become 3号楼, and filler that every report has (有人, 小区,
//! 了, 的…) is dropped. Supervisors who report the same problem rarely use the same words
//! ("东门没人守" / "东门岗没人看着"), so whole two-character words match too seldom; single
//! characters (门, 菜, 药, 码) carry most of the meaning. Reports of one kind that name different
//! places ("3号楼蔬菜包没送到" / "5号楼蔬菜包没送到", 东门 / 西门, 1单元 / 2单元) are different
//! problems however alike their words, so a different building, entrance, sampling point, room or
//! gate rules a pair out. Measured on hand-labelled pairs: `tests/duplicates_labelled.rs` and
//! BENCHMARKS.md.

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
    /// The threshold (on a 0.05 grid) has the best F1 on the tuning half of the labelled pairs
    /// among those that propose, on that half, no more unrelated reports of a category than the
    /// bigram rule this one replaced (BENCHMARKS.md, "Duplicate proposer").
    fn default() -> Self {
        Self {
            window_days: 3,
            threshold: 0.5,
            neighbour_weight: 0.8,
        }
    }
}

/// Words nearly every report has, which would make unrelated reports look alike.
const FILLER: &[&str] = &[
    "有人", "小区", "一直", "我们", "这个", "那个", "了", "的", "在", "还", "都", "那", "里",
];

fn chinese_digit(c: char) -> Option<u32> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// A run of Chinese numerals as ASCII digits: 三 → 3, 十二 → 12, 二十 → 20, 三零一 → 301.
fn chinese_number(run: &[char]) -> Option<String> {
    match run.iter().position(|c| *c == '十') {
        Some(at) => {
            let digit = |part: &[char], empty: u32| match part {
                [] => Some(empty),
                [c] => chinese_digit(*c),
                _ => None,
            };
            let tens = digit(&run[..at], 1)?;
            let units = digit(&run[at + 1..], 0)?;
            Some((tens * 10 + units).to_string())
        }
        None => run
            .iter()
            .map(|c| chinese_digit(*c).and_then(|d| char::from_digit(d, 10)))
            .collect(),
    }
}

fn starts_with(chars: &[char], word: &str) -> bool {
    let mut rest = chars.iter();
    word.chars().all(|w| rest.next() == Some(&w))
}

fn ends_with(chars: &[char], word: &str) -> bool {
    let n = word.chars().count();
    chars.len() >= n && starts_with(&chars[chars.len() - n..], word)
}

/// Words after a number that make it a place: building, entrance, floor, household.
fn is_place_unit(rest: &[char]) -> bool {
    ["号", "栋", "幢", "单元", "楼", "层", "户", "#"]
        .iter()
        .any(|u| starts_with(rest, u))
}

/// The characters the similarity compares: lower case, full-width digits and numbers written in
/// Chinese before a place (三号楼, 一单元) or as a room (三零一) as ASCII digits, 3栋 / 3幢 / 3#楼 /
/// 3# as 3号楼, without punctuation, spaces and filler.
fn normalise(text: &str) -> Vec<char> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '＃' => '#',
            _ => c,
        })
        .collect();
    let mut digits = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let numeral = |c: &char| chinese_digit(*c).is_some() || *c == '十';
        if numeral(&chars[i]) {
            let end = i + chars[i..].iter().take_while(|c| numeral(c)).count();
            let run = &chars[i..end];
            let room = (3..=4).contains(&run.len()) && !run.contains(&'十') && !run.contains(&'两');
            match chinese_number(run).filter(|_| is_place_unit(&chars[end..]) || room) {
                Some(number) => digits.extend(number.chars()),
                None => digits.extend_from_slice(run),
            }
            i = end;
        } else {
            digits.push(chars[i]);
            i += 1;
        }
    }
    let mut places = Vec::with_capacity(digits.len());
    let mut i = 0;
    while i < digits.len() {
        places.push(digits[i]);
        if digits[i].is_ascii_digit() && !digits.get(i + 1).is_some_and(char::is_ascii_digit) {
            let rest = &digits[i + 1..];
            let written = ["#楼", "#", "栋", "幢"]
                .into_iter()
                .find(|u| starts_with(rest, u));
            if let Some(unit) = written {
                places.extend(['号', '楼']);
                i += unit.chars().count();
            }
        }
        i += 1;
    }
    let mut text: String = places.into_iter().filter(|c| c.is_alphanumeric()).collect();
    for filler in FILLER {
        text = text.replace(filler, "");
    }
    text.chars().collect()
}

/// The places a normalised text names, each kind as a set: when two texts both name places of a
/// kind and none in common, they are about different places.
#[derive(Debug, Default, PartialEq)]
struct Places {
    buildings: Vec<u64>,
    entrances: Vec<u64>,
    sampling_points: Vec<u64>,
    rooms: Vec<u64>,
    /// Compass points of the gates, sides and corners named (东门, 南侧, 西北角): bits 东 西 南 北.
    directions: u8,
}

fn compass(c: char) -> u8 {
    match c {
        '东' => 1,
        '西' => 2,
        '南' => 4,
        '北' => 8,
        _ => 0,
    }
}

impl Places {
    fn of(chars: &[char]) -> Self {
        let mut out = Places::default();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                let end = i + chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                let number: Option<u64> = chars[i..end].iter().collect::<String>().parse().ok();
                let (before, rest) = (&chars[..i], &chars[end..]);
                if let Some(n) = number {
                    if starts_with(rest, "号楼") {
                        out.buildings.push(n);
                    } else if starts_with(rest, "单元") {
                        out.entrances.push(n);
                    } else if starts_with(rest, "号采样点") || starts_with(rest, "号点") {
                        out.sampling_points.push(n);
                    } else if (3..=4).contains(&(end - i))
                        && (i == 0 || ends_with(before, "号楼") || ends_with(before, "单元"))
                    {
                        out.rooms.push(n);
                    }
                }
                i = end;
            } else if compass(c) != 0 {
                let end = i + chars[i..]
                    .iter()
                    .take(2)
                    .take_while(|c| compass(**c) != 0)
                    .count();
                if chars.get(end).is_some_and(|c| "门侧边角面".contains(*c)) {
                    out.directions |= chars[i..end].iter().fold(0, |m, c| m | compass(*c));
                }
                i = end;
            } else {
                i += 1;
            }
        }
        out
    }

    fn differ(&self, other: &Places) -> bool {
        let apart = |a: &[u64], b: &[u64]| {
            !a.is_empty() && !b.is_empty() && !a.iter().any(|x| b.contains(x))
        };
        apart(&self.buildings, &other.buildings)
            || apart(&self.entrances, &other.entrances)
            || apart(&self.sampling_points, &other.sampling_points)
            || apart(&self.rooms, &other.rooms)
            || (self.directions != 0
                && other.directions != 0
                && self.directions & other.directions == 0)
    }
}

fn dice(x: &[char], y: &[char]) -> f64 {
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    let mut counts: HashMap<char, i32> = HashMap::new();
    for c in x {
        *counts.entry(*c).or_insert(0) += 1;
    }
    let mut shared = 0;
    for c in y {
        if let Some(n) = counts.get_mut(c).filter(|n| **n > 0) {
            *n -= 1;
            shared += 1;
        }
    }
    2.0 * shared as f64 / (x.len() + y.len()) as f64
}

/// Dice coefficient over the characters (with multiplicity) of the normalised texts: 1 for the
/// same text, 0 for texts that share no character other than filler and punctuation.
pub fn similarity(a: &str, b: &str) -> f64 {
    dice(&normalise(a), &normalise(b))
}

/// The score of `b` as a duplicate of `a`, or `None` when place, category or time rule it out,
/// or when the texts name different places of the compound.
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
    let (x, y) = (normalise(a.text), normalise(b.text));
    if Places::of(&x).differ(&Places::of(&y)) {
        return None;
    }
    Some(place * dice(&x, &y))
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
            vec![2, 3],
            "the same compound's report first (三号楼 reads as 3号楼), the neighbour's second; other \
             category, other community, other building and out of window are left out"
        );
    }

    fn normalised(text: &str) -> String {
        normalise(text).into_iter().collect()
    }

    #[test]
    fn numbers_read_the_same_however_they_are_typed() {
        assert_eq!(normalised("三号楼东门"), "3号楼东门");
        assert_eq!(normalised("3栋一单元"), "3号楼1单元");
        assert_eq!(normalised("3#楼、13# 楼"), "3号楼13号楼");
        assert_eq!(normalised("１２幢"), "12号楼");
        assert_eq!(normalised("十号楼和二十二号楼"), "10号楼和22号楼");
        assert_eq!(normalised("二号楼三零一"), "2号楼301");
        assert_eq!(normalised("8栋6楼"), "8号楼6楼");
        assert_eq!(
            normalised("十多个人一直在排队"),
            "十多个人排队",
            "numerals that count are words, and filler goes"
        );
    }

    fn differ(a: &str, b: &str) -> bool {
        Places::of(&normalise(a)).differ(&Places::of(&normalise(b)))
    }

    #[test]
    fn different_places_of_a_compound_are_different_problems() {
        assert!(differ("5号楼蔬菜包还没送到", "3号楼蔬菜包还没送到"));
        assert!(differ("11号楼蔬菜包没到", "1号楼蔬菜包没到"));
        assert!(differ("3号楼1单元封条被撕", "3号楼2单元封条被撕"));
        assert!(differ("3号采样点排队太挤", "5号采样点排队太挤"));
        assert!(differ("2号楼301老人没药了", "2号楼302家里孩子发烧"));
        assert!(differ("东门岗无人值守", "西门岗无人值守"));
        assert!(differ("小区西北角围栏有个口子", "东南角围栏有个口子"));

        assert!(
            !differ("3号楼东门岗无人值守", "三号楼东门没人"),
            "the same places"
        );
        assert!(!differ(
            "单元门封条被撕了 3号楼1单元",
            "3栋一单元封条让人撕掉了"
        ));
        assert!(!differ("西北角围栏", "北门外"), "overlapping directions");
        assert!(
            !differ("5号楼有人遛狗", "楼下有人遛狗"),
            "one names no building"
        );
        assert!(
            !differ("8号楼601老人卧床", "8栋6楼有个老太太"),
            "a floor is not a room"
        );
        assert!(!differ("往北边跑了", "往外跑"));
    }

    #[test]
    fn filler_does_not_make_reports_alike() {
        assert!(similarity("有人在小区里跑步", "有人在小区里打牌") < 0.5);
        assert!((similarity("门岗没人。", "门岗 没人") - 1.0).abs() < 1e-12);
        assert_eq!(
            similarity("有人在小区里", "门岗没人"),
            0.0,
            "nothing but filler"
        );
    }

    proptest! {
        #[test]
        fn similarity_is_symmetric_bounded_and_one_on_itself(a in "[门岗核酸物资无人值守居民 ]{0,20}", b in "[门岗核酸物资无人值守居民 ]{0,20}") {
            let s = similarity(&a, &b);
            prop_assert!((0.0..=1.0).contains(&s));
            prop_assert!((s - similarity(&b, &a)).abs() < 1e-12);
            if !normalise(&a).is_empty() {
                prop_assert!((similarity(&a, &a) - 1.0).abs() < 1e-12);
            }
        }

        #[test]
        fn differing_places_is_symmetric_and_never_a_text_against_itself(a in "[东西南北门侧角号楼单元采样点栋#一二三十0-9 ]{0,16}", b in "[东西南北门侧角号楼单元采样点栋#一二三十0-9 ]{0,16}") {
            prop_assert_eq!(differ(&a, &b), differ(&b, &a));
            prop_assert!(!differ(&a, &a));
        }
    }
}
