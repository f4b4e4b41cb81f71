//! The triage-queue hold-out (`duplicate_queue_holdout.tsv`, written blind and committed in
//! 4a93d29 before this code read it): 418 reports of three days in three communities, each
//! labelled with the problem it tells, so that the pairs the proposer should leave alone are
//! those of different problems as their writer labelled them. The pair sets' "unrelated" pairs
//! are texts of different pairs moved into one compound on one day, and count as unrelated the
//! many that tell one problem (7号楼两天没做核酸 twice); here every report stays in its own
//! compound, community, day and hour, and the proposer's own rule-outs apply.
//!
//! Measured over every two reports: a pair of one problem should be proposed, a pair of two
//! should not ("unrelated proposed" counts those of one category, the pairs the office's queue
//! puts side by side); and each report that has an earlier one of its problem is a new report
//! whose true case (the first of its problem) should be among the first three of every earlier
//! report, ranked.

use std::cmp::Ordering;

use huoyan_core::cases::{CaseText, DuplicateRule, Idf, Profile, features};

use crate::labelled::{Places, Side, corpus};
use crate::measure::{Confusion, Model};

/// A queue set and its shared places.
pub struct QueueSet {
    pub reports: &'static str,
    pub places: &'static str,
}

/// The first queue set (4a93d29): measured once blind, then read; it chooses thresholds since.
pub const QUEUE: QueueSet = QueueSet {
    reports: include_str!("../data/duplicate_queue_holdout.tsv"),
    places: include_str!("../data/duplicate_queue_places.tsv"),
};
/// The second (2ad2e71), written blind in other communities and committed before the fifth
/// pass was measured on it, once.
pub const QUEUE_2: QueueSet = QueueSet {
    reports: include_str!("../data/duplicate_queue_holdout_2.tsv"),
    places: include_str!("../data/duplicate_queue_places_2.tsv"),
};
const HOUR_MS: i64 = 3_600_000;

pub struct Report {
    pub number: i64,
    pub side: Side,
    pub hour: i64,
    pub problem: &'static str,
}

impl Report {
    fn case(&self) -> CaseText<'static> {
        CaseText {
            id: self.number,
            category: self.side.category,
            text: self.side.text,
            reported_at_ms: self.side.day * crate::labelled::DAY_MS + self.hour * HOUR_MS,
        }
    }

    /// Earlier in the queue: by time, then by number.
    fn before(&self, o: &Report) -> bool {
        (self.side.day, self.hour, self.number).cmp(&(o.side.day, o.hour, o.number))
            == Ordering::Less
    }
}

pub fn reports(set: &QueueSet) -> Vec<Report> {
    let n = |f: &str| -> i64 {
        f.parse()
            .unwrap_or_else(|_| panic!("{f:?} is not a number"))
    };
    set.reports
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("report\t") && !l.is_empty())
        .map(|l| {
            let f: Vec<&'static str> = l.split('\t').collect();
            assert_eq!(f.len(), 9, "queue: {l:?} has 9 fields");
            Report {
                number: n(f[0]),
                side: Side {
                    text: f[1],
                    category: f[2],
                    compound: n(f[3]),
                    community: n(f[4]),
                    day: n(f[5]),
                },
                hour: n(f[6]),
                problem: f[7],
            }
        })
        .collect()
}

/// What a model does on the queues.
#[derive(Debug, Default)]
pub struct QueueFigures {
    /// Every two reports: one problem (labelled duplicate) or two.
    pub pairs: Confusion,
    /// Pairs of two problems of one category: (proposed, all).
    pub unrelated: (usize, usize),
    /// New reports with an earlier one of their problem, and how many had the true case among
    /// the first three ranked, and among the first three proposed (shown to the clerk).
    pub queues: usize,
    pub top3: usize,
    pub top3_proposed: usize,
}

impl QueueFigures {
    pub fn unrelated_share(&self) -> f64 {
        self.unrelated.0 as f64 / self.unrelated.1.max(1) as f64
    }
}

/// The rare-word weights as the city's recent reports would give them: the five fitted sets'
/// texts and the queues'.
pub fn idf(reports: &[Report]) -> Idf {
    let mut texts = corpus();
    texts.extend(reports.iter().map(|r| (r.side.category, r.side.text)));
    texts.sort_unstable();
    texts.dedup();
    Idf::new(texts)
}

/// The development queue's pairs of two problems of one category, as the model sees them (those
/// not ruled out): what the fit's cap on unrelated proposals counts (`measure::train`). The
/// queue set was measured once blind (BENCHMARKS.md); it chooses thresholds since.
pub fn unrelated_rows() -> &'static [[f64; huoyan_core::cases::FEATURES]] {
    static ROWS: std::sync::OnceLock<Vec<[f64; huoyan_core::cases::FEATURES]>> =
        std::sync::OnceLock::new();
    ROWS.get_or_init(|| {
        let reports = reports(&QUEUE);
        let idf = idf(&reports);
        let rule = DuplicateRule::default();
        let places = Places::parse(QUEUE.places);
        let profiles: Vec<Profile> = reports
            .iter()
            .map(|r| Profile::new(&r.case(), &idf))
            .collect();
        let mut rows = Vec::new();
        for i in 0..reports.len() {
            for j in i + 1..reports.len() {
                let (a, b) = (&reports[i], &reports[j]);
                if a.problem == b.problem || a.side.category != b.side.category {
                    continue;
                }
                if let Some(x) = places
                    .proximity(&a.side, &b.side)
                    .and_then(|near| features(&profiles[i], &profiles[j], &near, &rule))
                {
                    rows.push(x);
                }
            }
        }
        rows
    })
}

/// Counts `m` on the queues.
pub fn measure(
    set: &QueueSet,
    reports: &[Report],
    idf: &Idf,
    m: &Model,
    rule: &DuplicateRule,
) -> QueueFigures {
    let places = Places::parse(set.places);
    let profiles: Vec<Profile> = reports
        .iter()
        .map(|r| Profile::new(&r.case(), idf))
        .collect();
    let x = |i: usize, j: usize| {
        let near = places.proximity(&reports[i].side, &reports[j].side)?;
        features(&profiles[i], &profiles[j], &near, rule)
    };
    let mut f = QueueFigures::default();
    let n = reports.len();
    for i in 0..n {
        for j in i + 1..n {
            let proposed = x(i, j).is_some_and(|x| m.p(&x) >= m.threshold);
            let same = reports[i].problem == reports[j].problem;
            f.pairs.add(same, proposed);
            if !same && reports[i].side.category == reports[j].side.category {
                f.unrelated.1 += 1;
                f.unrelated.0 += usize::from(proposed);
            }
        }
    }
    for (j, new) in reports.iter().enumerate() {
        let Some(truth) = (0..n)
            .filter(|&i| reports[i].problem == new.problem && reports[i].before(new))
            .min_by(|&a, &b| {
                if reports[a].before(&reports[b]) {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            })
        else {
            continue;
        };
        f.queues += 1;
        let Some(t) = x(j, truth) else { continue };
        let others: Vec<[f64; huoyan_core::cases::FEATURES]> = (0..n)
            .filter(|&i| i != truth && reports[i].before(new))
            .filter_map(|i| x(j, i))
            .collect();
        let truth_rank = m.r(&t);
        if others.iter().filter(|o| m.r(o) > truth_rank).count() < 3 {
            f.top3 += 1;
        }
        if m.p(&t) >= m.threshold
            && others
                .iter()
                .filter(|o| m.p(o) >= m.threshold && m.r(o) > truth_rank)
                .count()
                < 3
        {
            f.top3_proposed += 1;
        }
    }
    f
}
