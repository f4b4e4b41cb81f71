//! Proposing likely duplicates when the office triages a report, best first and with the reasons
//! the clerk can check: the same compound, a neighbour of its community or one sharing a named
//! place with it (a gate, a sampling point, a shop, a checkpoint), what the texts share, the
//! category and the days between them.
//!
//! Reports of one problem are written in different registers and lengths ("东门没人守" / "经督查，
//! 该小区东侧出入口值守人员脱岗"), so the texts are compared by what they share weighted by how
//! rare it is in the city's reports (`profile`), and by containment, which a short text can
//! satisfy, beside Dice; the lexicon lets the two registers meet (`lexicon`). Reports that name
//! different buildings, entrances, sampling points, rooms or gates are different problems however
//! alike their words (`places`). The evidence is combined by a logistic model whose weights were
//! fitted on the tuning halves of hand-labelled pairs and cross-validated there; its figures on
//! the held-out halves and the blind set: `tests/duplicates_labelled.rs`, BENCHMARKS.md.

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
}

/// The model's inputs for a pair (see `features`).
pub const FEATURES: usize = 10;

impl Default for DuplicateRule {
    /// Weights fitted and the threshold chosen on the tuning halves only (BENCHMARKS.md,
    /// "Duplicate proposer"): the threshold has the best F1 there among those that propose no
    /// more unrelated reports than the rule this one replaced.
    fn default() -> Self {
        Self {
            window_days: 3,
            threshold: 0.55,
            most: 5,
            weights: [
                6.502, -0.519, -4.011, 0.247, 0.667, 1.688, -1.765, 0.663, 1.968, -2.329,
            ],
            intercept: -4.398,
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
/// say what they are about and name nothing of it in common (口罩 / 核酸).
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
    let ratio = |num: f32, den: f32| if den > 0.0 { f64::from(num / den) } else { 0.0 };
    let shared = a.tokens.shared(&b.tokens);
    let shorter = a.tokens.total.min(b.tokens.total);
    let flag = |on: bool| if on { 1.0 } else { 0.0 };
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
    ])
}

/// The probability that `b` duplicates `a`, or `None` when the same case, the window or the
/// places named rule it out.
pub fn score(a: &Profile, b: &Profile, near: &Proximity, rule: &DuplicateRule) -> Option<f64> {
    features(a, b, near, rule).map(|x| logistic(&x, rule))
}

fn logistic(x: &[f64; FEATURES], rule: &DuplicateRule) -> f64 {
    let z: f64 = rule.intercept + x.iter().zip(&rule.weights).map(|(x, w)| x * w).sum::<f64>();
    1.0 / (1.0 + (-z).exp())
}

/// Why a case is proposed, for the clerk to check at a glance.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// The cases among `queue` (each with how near its compound is) likely to duplicate `case`, best
/// first, at most `rule.most`, each with its reasons.
pub fn propose<'q>(
    case: &Profile,
    queue: impl IntoIterator<Item = (&'q Profile, &'q Proximity)>,
    rule: &DuplicateRule,
) -> Vec<Proposal> {
    let mut found: Vec<(f64, &Profile, &Proximity)> = queue
        .into_iter()
        .filter_map(|(other, near)| {
            score(case, other, near, rule)
                .filter(|s| *s >= rule.threshold)
                .map(|s| (s, other, near))
        })
        .collect();
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
    found
        .into_iter()
        .take(rule.most)
        .map(|(score, other, near)| Proposal {
            id: other.id,
            score,
            reasons: reasons(case, other, near),
        })
        .collect()
}

#[cfg(test)]
mod tests;
