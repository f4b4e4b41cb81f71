//! Proposing likely duplicates when the office triages a report, best first and with the reasons
//! the clerk can check: the same compound, a neighbour of its community or one sharing a named
//! place with it (a gate, a sampling point, a shop, a checkpoint), what the texts share, the
//! category and the days between them.
//!
//! Reports of one problem are written in different registers and lengths ("东门没人守" / "经督查，
//! 该小区东侧出入口值守人员脱岗"), so the texts are compared by what they share weighted by how
//! rare it is in the city's reports (`profile`), and by containment, which a short text can
//! satisfy, beside Dice; the lexicon lets the two registers meet (`lexicon`), character n-grams
//! meet where it knows nothing, and what is left once a shared place or office template is taken
//! out is compared apart (`grams`). Reports that name different buildings, entrances, sampling
//! points, rooms or gates are different problems however alike their words (`places`). The
//! evidence is combined by a logistic model, and the proposals ordered by a second one fitted
//! for whole triage queues; both were fitted on five hand-labelled sets (four hard, one of
//! near-verbatim resends) and judged by
//! leave-one-set-out cross-validation: `tests/duplicates_labelled.rs`, BENCHMARKS.md.

mod grams;
mod lexicon;
mod places;
mod profile;
mod text;

pub use profile::{CaseText, Idf, Profile};
use serde::Serialize;

/// How near two cases' compounds are; compounds of different communities that share no named
/// place are too far apart for one problem.
#[derive(Debug, Clone, PartialEq)]
pub enum Proximity {
    SameCompound,
    /// Compounds of one community.
    SameCommunity,
    /// Compounds of different communities that share the named place (a site near both).
    SharedSite(String),
}

#[derive(Debug, Clone, Copy)]
pub struct DuplicateRule {
    pub window_days: i64,
    /// Probability at or above which a pair is proposed.
    pub threshold: f64,
    /// How many proposals the clerk is shown at most.
    pub most: usize,
    /// The model's weights, one per feature, and its intercept.
    pub weights: [f64; FEATURES],
    pub intercept: f64,
    /// The ranking's weights, which order the proposals: fitted apart, with the candidates of
    /// whole triage queues as negatives, since putting the true case first among a queue is
    /// another task than telling a hard pair apart.
    pub rank: [f64; FEATURES],
}

/// The model's inputs for a pair (see `features`).
pub const FEATURES: usize = 18;

impl Default for DuplicateRule {
    /// Weights fitted and the threshold chosen on all five development sets, the way each left-out
    /// model is (`tests/duplicates_labelled.rs`, `-- --ignored fit`), with pairs of unrelated
    /// texts of any category and placement as negatives: the threshold, on a 0.05 grid, has the
    /// best F1 there among those that propose at most 3 % of a labelled triage queue's pairs of
    /// two problems of one category.
    fn default() -> Self {
        Self {
            window_days: 3,
            threshold: 0.45,
            most: 5,
            weights: [
                2.265, 0.929, -1.719, 1.212, 1.763, 0.955, -1.149, 0.795, 2.229, -1.582, -0.56,
                2.793, 0.659, -0.667, 1.182, -0.348, -0.197, 1.609,
            ],
            intercept: -7.852,
            rank: [
                2.091, 1.206, -0.984, 0.636, 2.113, 0.687, -2.948, 0.725, 1.748, -1.413, -0.135,
                2.549, 0.368, -0.205, 1.264, -0.418, -0.084, 1.128,
            ],
        }
    }
}

/// The evidence on a pair, each in 0–1: what the model weighs.
///
/// 0 containment of the shorter text's weighted tokens in the other's; 1 Dice over weighted
/// tokens; 2 containment of weighted token pairs; 3 same category; 4 same compound; 5 neighbours
/// across community lines through a shared place; 6 days apart over the window; 7 both name one
/// building, entrance, sampling point, room or gate; 8 how much the shorter text says
/// (`ln(1 + weight) / 4`, capped at 1), so two-word reports are not taken at their word; 9 both
/// say what they are about and name nothing of it in common (口罩 / 核酸); 10 containment of
/// weighted character n-grams (1–3) without filler, which needs no lexicon (their Dice, tried
/// beside it, made the left-out figures worse); 11 containment of what is left of each text once
/// the runs of three or more characters both have are taken out (the place and the office
/// template), 12 the share of the shorter text in those runs, 14 how much the shorter remainder
/// says, and 15 the two together (a long shared frame, a different remainder: one place, another
/// problem); 13 how heavy the rarest token is that either text lacks of the other's, against its
/// own rarest; 16 the share of the longer text in the shared runs and 17 how much its remainder
/// says (a resend in nearly the same words: both framed, little left of either). The n-grams and
/// the remainder are read with each of the lexicon's concepts as one symbol and numbers as digits,
/// so a synonym swapped or a numeral retyped is not "another problem".
pub fn features(
    a: &Profile,
    b: &Profile,
    near: &Proximity,
    rule: &DuplicateRule,
) -> Option<[f64; FEATURES]> {
    if a.id == b.id {
        return None;
    }
    let days = (a.reported_at_ms - b.reported_at_ms).abs() as f64 / 86_400_000.0;
    if days > rule.window_days as f64 || a.places.differ(&b.places) {
        return None;
    }
    // A building, entrance, room or side is its compound's own: 7号楼 of two compounds is two
    // buildings, whatever their community or the place they share.
    if *near != Proximity::SameCompound && a.places.name_any(&b.places) {
        return None;
    }
    let ratio = |num: f32, den: f32| if den > 0.0 { f64::from(num / den) } else { 0.0 };
    let compared = a.tokens.compare(&b.tokens);
    let shared = compared.shared;
    let shorter = a.tokens.total.min(b.tokens.total);
    let flag = |on: bool| if on { 1.0 } else { 0.0 };
    let (grams_shared, rest) = a.grams.compare(&b.grams);
    Some([
        ratio(shared, shorter),
        ratio(2.0 * shared, a.tokens.total + b.tokens.total),
        ratio(a.pairs.shared(&b.pairs), a.pairs.total.min(b.pairs.total)),
        flag(a.category == b.category),
        flag(*near == Proximity::SameCompound),
        flag(matches!(near, Proximity::SharedSite(_))),
        days / rule.window_days.max(1) as f64,
        flag(!a.places.shared(&b.places).is_empty()),
        (f64::from(shorter).ln_1p() / 4.0).min(1.0),
        flag(a.subjects != 0 && b.subjects != 0 && a.subjects & b.subjects == 0),
        ratio(grams_shared, a.grams.total.min(b.grams.total)),
        rest.containment,
        rest.frame,
        ratio(compared.only_self, a.tokens.heaviest)
            .min(ratio(compared.only_other, b.tokens.heaviest)),
        (rest.weight.ln_1p() / 4.0).min(1.0),
        rest.frame * (1.0 - rest.containment),
        rest.frame_longer,
        (rest.weight_longer.ln_1p() / 4.0).min(1.0),
    ])
}

/// The probability that `b` duplicates `a`, or `None` when the same case, the window or the
/// places named rule it out.
pub fn score(a: &Profile, b: &Profile, near: &Proximity, rule: &DuplicateRule) -> Option<f64> {
    features(a, b, near, rule).map(|x| logistic(&x, rule))
}

fn logistic(x: &[f64; FEATURES], rule: &DuplicateRule) -> f64 {
    let z: f64 = rule.intercept + dot(x, &rule.weights);
    1.0 / (1.0 + (-z).exp())
}

fn dot(x: &[f64; FEATURES], w: &[f64; FEATURES]) -> f64 {
    x.iter().zip(w).map(|(x, w)| x * w).sum()
}

/// Why a case is proposed, for the clerk to check at a glance. Named apart in the API's schemas
/// from the application's `Reason` of a step, which would otherwise take its place.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = DuplicateReason))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    SameCompound,
    SameCommunity,
    /// A named place the two compounds share.
    SharedSite {
        site: String,
    },
    /// Buildings, entrances, sampling points, rooms or gates both texts name.
    SamePlace {
        places: Vec<String>,
    },
    /// The rarest words the texts share.
    SharedWords {
        words: Vec<String>,
    },
    SameCategory,
    OtherCategory,
    /// Whole days between the two reports.
    DaysApart {
        days: i64,
    },
}

/// A proposal: the case, the model's probability and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub id: i64,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

/// Shared words worth showing: the heaviest shared pairs, then tokens no pair covers; not the
/// numbers of places, which `SamePlace` names.
fn shared_words(a: &Profile, b: &Profile) -> Vec<String> {
    let worth = |w: &String| {
        !w.chars()
            .any(|c| c.is_ascii_digit() || "号楼栋单元".contains(c))
    };
    let mut out: Vec<String> = a
        .pairs
        .common(&b.pairs)
        .into_iter()
        .map(|(k, _)| profile::words(k))
        .filter(worth)
        .take(3)
        .collect();
    for (key, _) in a.tokens.common(&b.tokens) {
        let word = profile::words(key);
        if out.len() >= 4 {
            break;
        }
        if worth(&word) && !out.iter().any(|w| w.contains(&word)) {
            out.push(word);
        }
    }
    out
}

fn reasons(a: &Profile, b: &Profile, near: &Proximity) -> Vec<Reason> {
    let mut out = vec![match near {
        Proximity::SameCompound => Reason::SameCompound,
        Proximity::SameCommunity => Reason::SameCommunity,
        Proximity::SharedSite(site) => Reason::SharedSite { site: site.clone() },
    }];
    let places = a.places.shared(&b.places);
    if !places.is_empty() {
        out.push(Reason::SamePlace { places });
    }
    let words = shared_words(a, b);
    if !words.is_empty() {
        out.push(Reason::SharedWords { words });
    }
    out.push(if a.category == b.category {
        Reason::SameCategory
    } else {
        Reason::OtherCategory
    });
    out.push(Reason::DaysApart {
        days: (a.reported_at_ms - b.reported_at_ms).abs() / 86_400_000,
    });
    out
}

/// The cases among `queue` (each with how near its compound is) likely to duplicate `case` (the
/// probability at or above the threshold): the best `rule.most` by the ranking's weights, shown
/// by their probability, highest first, each with its reasons.
pub fn propose<'q>(
    case: &Profile,
    queue: impl IntoIterator<Item = (&'q Profile, &'q Proximity)>,
    rule: &DuplicateRule,
) -> Vec<Proposal> {
    let mut found: Vec<(f64, f64, &Profile, &Proximity)> = queue
        .into_iter()
        .filter_map(|(other, near)| {
            let x = features(case, other, near, rule)?;
            let score = logistic(&x, rule);
            (score >= rule.threshold).then(|| (dot(&x, &rule.rank), score, other, near))
        })
        .collect();
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.id.cmp(&b.2.id)));
    found.truncate(rule.most);
    // Shown by the score the clerk reads beside each: a list whose second line scores higher
    // than its first reads as a mistake, and of two sure twins the one more surely the same
    // problem is the one to merge into.
    found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.id.cmp(&b.2.id)));
    found
        .into_iter()
        .map(|(_, score, other, near)| Proposal {
            id: other.id,
            score,
            reasons: reasons(case, other, near),
        })
        .collect()
}

#[cfg(test)]
mod tests;
