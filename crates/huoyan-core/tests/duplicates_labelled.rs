//! Precision and recall of the duplicate proposer on five hand-labelled sets of report pairs (how
//! they were built: their headers and BENCHMARKS.md), the share of unrelated reports it proposes,
//! and whether the true case is in its top three over whole triage queues.
//!
//! Every set has been read while developing the proposer, so what the test trusts is
//! leave-one-set-out cross-validation: for each set, the model's weights are fitted and its
//! threshold chosen on the other four (`labelled::measure::train`), and the set is counted with
//! them. The shipped weights (`DuplicateRule::default()`, fitted the same way on all five) are
//! counted too, in-sample. "Before" is the proposer's first ten features fitted the way they
//! were before (one model, unrelated pairs weighing half), left out the same way, in the same run.
//!
//! `cargo test -p huoyan-core --test duplicates_labelled -- --nocapture` prints the figures (and,
//! with `MISTAKES=1`, every pair the left-out models get wrong) and fails when a change makes the
//! proposer worse than the floors below. `-- --ignored fit --nocapture` fits the shipped weights
//! on all five sets and prints them with the threshold chosen there. `-- --ignored ablate
//! --nocapture` compares fits and feature sets by their left-out figures (`DROPS="11;3,4"` drops
//! those features instead). `-- --ignored grouped --nocapture` is a second estimate: grouped
//! five-fold over the five sets together, pairs that share a text kept in one fold.
//!
//! Another set, `duplicate_pairs_final.tsv`, written blind and committed (374278e) before the
//! second pass's refit on the four hard sets, is the final hold-out: `the_final_hold_out_is_no_worse_than_measured_once`
//! counts the shipped weights and threshold on it, nothing else. No fit, threshold, comparison of
//! fits or grouped estimate reads it (`measure::sets` is the five; `measure::train` refuses it),
//! and the five sets' figures keep the five sets' rare-word weights and queues. For its own
//! figures its texts join the rare-word weights and its duplicates' queues hold the reports of
//! all six sets, as every set's texts do in the shipped measurement and as the blind set's did
//! when it was the hold-out (4a1446a).

mod labelled;
#[path = "labelled/measure.rs"]
mod measure;
#[path = "labelled/queue.rs"]
mod queue;

use huoyan_core::cases::{DuplicateRule, FEATURES};
use measure::{
    Bench, Confusion, FINAL_SET, Figures, Fit, HARD, HOLDOUT_SET, HeldOut, Model, Set, confusion,
    figures, held_out_set, loso, sets, train,
};

/// The features of the proposer before issue #17's second step (the first ten).
const OLD: usize = 10;

/// How the shipped weights are fitted, and the left-out models: the first `features` features,
/// unrelated pairs weighing as much as the labelled ones, and a ranking fitted apart with the
/// training queues' candidates weighing twice as much (chosen by the left-out figures, `ablate`).
fn fit_with(features: usize) -> Fit {
    let mut mask = [false; FEATURES];
    mask[..features].iter_mut().for_each(|m| *m = true);
    Fit {
        l2: 0.001,
        unrelated_weight: 1.0,
        queue_weight: 2.0,
        easy_weight: 1.0,
        mask,
    }
}

/// How the weights were fitted before: ten features, unrelated pairs weighing half, the
/// probability as the ranking.
fn fit_before() -> Fit {
    Fit {
        unrelated_weight: 0.5,
        queue_weight: 0.0,
        ..fit_with(OLD)
    }
}

/// Floors of the left-out figures per set (register, blind, first, fresh), rounded down:
/// precision, recall, F1, true case in the top three of its queue.
/// (The fifth pass, 2026-12-07: unrelated texts of any category and placement as negatives, the
/// threshold capped by a labelled queue's unrelated pairs.) The pair sets' own "unrelated"
/// share, printed beside, is not held: it moves texts of different pairs into one compound and
/// category, where many are one problem (`queue`).
const FLOOR_LOSO: [(f64, f64, f64, f64); 5] = [
    (0.72, 0.78, 0.75, 0.95),
    (0.77, 0.57, 0.65, 0.88),
    (0.69, 0.74, 0.71, 0.89),
    (0.73, 0.75, 0.74, 0.97),
    (0.85, 0.63, 0.72, 0.99),
];
/// Floors of the shipped weights' in-sample F1 and top three per set, rounded down: they keep a
/// refit that is not written back, or a hand edit of the weights, from passing unseen.
const FLOOR_SHIPPED: [(f64, f64); 5] = [
    (0.76, 0.95),
    (0.66, 0.92),
    (0.72, 0.90),
    (0.77, 0.95),
    (0.88, 0.99),
];

/// What a hold-out was measured at once, as floors: (precision, recall, F1) of all its pairs, of
/// the terse ones and of the long ones, rounded down; its true positives and true negatives as
/// measured (its duplicates and non-duplicates fixed, they bound the false negatives and false
/// positives); its duplicates whose true case is in the top three of their queue, and in the top
/// three and proposed, rounded down.
struct Floors {
    pairs: usize,
    prf: [(f64, f64, f64); 3],
    tp_tn: (u32, u32),
    top3: (f64, f64),
}

/// The final hold-out (`duplicate_pairs_final.tsv`), measured once by the third pass: 80 / 19 /
/// 48 / 110, P 0.808 R 0.625 F1 0.705 (terse 0.833 / 0.603 / 0.700, long 0.789 / 0.643 / 0.709),
/// 2.83 % of its unrelated pairs proposed, top 3 0.914, top 3 and proposed 0.602 (the second pass,
/// 1bcfb83: 85 / 18 / 43 / 111, F1 0.736). An earlier set for the fourth pass, which measured
/// 80 / 22 / 48 / 107, P 0.784 R 0.625 F1 0.696 (terse 0.761 / 0.603 / 0.673, long 0.804 / 0.643
/// / 0.714), 2.85 %, top 3 0.914, 0.602. The fifth pass: 81 / 13 / 47 / 116, P 0.862 R 0.633
/// F1 0.730 (terse 0.854 / 0.603 / 0.707, long 0.868 / 0.657 / 0.748), top 3 0.867, 0.617: its
/// floors.
const FLOOR_FINAL: Floors = Floors {
    pairs: 257,
    prf: [(0.86, 0.63, 0.72), (0.85, 0.60, 0.70), (0.86, 0.65, 0.74)],
    tp_tn: (81, 116),
    top3: (0.86, 0.61),
};

/// The fourth pass's hold-out (`duplicate_pairs_holdout.tsv`), measured once after the pass's
/// changes and refit, with the shipped weights and threshold (nothing was changed after): 108 /
/// 27 / 24 / 103, P 0.800 R 0.818 F1 0.809 (terse 0.915 / 0.831 / 0.871, long 0.711 / 0.806 /
/// 0.755), 4.23 % of its 18,633 unrelated pairs proposed, top 3 0.947 (of 132), top 3 and
/// proposed 0.750. The third pass's proposer, counted on it once just before: 105 / 26 / 27 /
/// 104, F1 0.798, 3.89 %, top 3 0.939. The fifth pass, read again: 95 / 24 / 37 / 106, P 0.798
/// R 0.720 F1 0.757 (terse 0.920 / 0.708 / 0.800, long 0.710 / 0.731 / 0.721), top 3 0.924,
/// 0.697: its floors.
const FLOOR_HOLDOUT: Floors = Floors {
    pairs: 262,
    prf: [(0.79, 0.71, 0.75), (0.91, 0.70, 0.79), (0.71, 0.73, 0.72)],
    tp_tn: (95, 106),
    top3: (0.92, 0.69),
};

const HEADER: &str = "| set | n | threshold | TP / FP / FN / TN | P | R | F1 | F1 terse | F1 long | unrelated | top 3 | top 3 proposed |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |";

fn line(name: &str, m: &Model, f: &Figures) -> String {
    let c = &f.pairs;
    let style = |c: &Confusion| {
        if c.tp + c.fn_ > 0 {
            format!("{:.3}", c.f1())
        } else {
            String::new()
        }
    };
    format!(
        "| {name} | {} | {:.2} | {} | {:.3} | {:.3} | {:.3} | {} | {} | {:.2} % | {:.3} | {:.3} |",
        c.tp + c.fp + c.fn_ + c.tn,
        m.threshold,
        c.counts(),
        c.precision(),
        c.recall(),
        c.f1(),
        style(&f.terse),
        style(&f.long),
        f.unrelated * 100.0,
        f.top3,
        f.top3_proposed
    )
}

/// A left-out set's best F1 over the threshold grid, and where: how much the threshold chosen
/// on the other three (under their 3 % cap of unrelated pairs) gives up on it.
fn best_threshold(set: &Set, m: &Model) -> (f64, f64) {
    (1..20)
        .map(|t| f64::from(t) * 0.05)
        .map(|threshold| {
            let c = confusion(set.pairs.iter(), &Model { threshold, ..*m });
            (c.f1(), threshold)
        })
        .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
}

/// The left-out figures of a fit, printed; pooled over the four hard sets at the end (the easy
/// set is printed apart).
fn print_loso(name: &str, sets: &[Set], fit: &Fit) -> Vec<(Model, Figures)> {
    let out = loso(sets, fit);
    println!("\n{name}: leave one set out\n{HEADER}");
    let mut pooled = Confusion::default();
    for (set, (m, f)) in sets.iter().zip(&out) {
        if set.index < HARD {
            pooled.merge(&f.pairs);
        }
        println!("{}", line(set.name, m, f));
    }
    let mean =
        |g: fn(&Figures) -> f64| out.iter().map(|(_, f)| g(f)).sum::<f64>() / out.len() as f64;
    println!(
        "{name}: hard sets pooled {} P {:.3} R {:.3} F1 {:.3}; all sets' mean F1 {:.3}, mean top 3 {:.3}",
        pooled.counts(),
        pooled.precision(),
        pooled.recall(),
        pooled.f1(),
        mean(|f| f.pairs.f1()),
        mean(|f| f.top3)
    );
    for (set, (m, _)) in sets.iter().zip(&out) {
        let (f1, at) = best_threshold(set, m);
        println!(
            "{name}: {} would have had F1 {f1:.3} at threshold {at:.2}",
            set.name
        );
    }
    out
}

fn print_mistakes(sets: &[Set], models: &[(Model, Figures)]) {
    for (set, (m, _)) in sets.iter().zip(models) {
        for l in &set.pairs {
            let s = l.x.as_ref().map(|x| m.p(x));
            let hit = s.is_some_and(|s| s >= m.threshold);
            if hit != l.pair.duplicate {
                let s = s.map_or("ruled out".to_string(), |s| format!("{s:.3}"));
                let kind = if hit { "FP" } else { "FN" };
                println!(
                    "{} {kind} #{} ({s}; {}): {} / {}",
                    set.name, l.pair.number, l.pair.reason, l.pair.a.text, l.pair.b.text
                );
            }
        }
    }
}

#[test]
fn the_proposer_is_no_worse_than_measured_on_the_labelled_pairs() {
    let b = Bench::new();
    let rule = DuplicateRule::default();
    let sets = sets(&b, &rule);
    assert!(
        sets[0].pairs.len() >= 200,
        "at least 200 pairs in the register set"
    );
    println!("{rule:?}\n\nshipped weights, in-sample\n{HEADER}");
    let shipped: Vec<Figures> = sets
        .iter()
        .map(|set| figures(set, &Model::of(&rule)))
        .collect();
    for (set, f) in sets.iter().zip(&shipped) {
        println!("{}", line(set.name, &Model::of(&rule), f));
    }
    print_loso(
        "before (the first ten features, one model)",
        &sets,
        &fit_before(),
    );
    let after = print_loso("after (every feature)", &sets, &fit_with(FEATURES));
    if std::env::var_os("MISTAKES").is_some() {
        print_mistakes(&sets, &after);
    }
    for (set, ((_, f), floor)) in sets.iter().zip(after.iter().zip(FLOOR_LOSO)) {
        let name = set.name;
        let c = &f.pairs;
        let (p, r) = (c.precision(), c.recall());
        assert!(p >= floor.0, "{name}: precision fell below {}", floor.0);
        assert!(r >= floor.1, "{name}: recall fell below {}", floor.1);
        assert!(c.f1() >= floor.2, "{name}: F1 fell below {}", floor.2);
        assert!(f.top3 >= floor.3, "{name}: top 3 fell below {}", floor.3);
    }
    for (set, (f, floor)) in sets.iter().zip(shipped.iter().zip(FLOOR_SHIPPED)) {
        let name = set.name;
        assert!(
            f.pairs.f1() >= floor.0,
            "{name}: shipped F1 fell below {}",
            floor.0
        );
        assert!(
            f.top3 >= floor.1,
            "{name}: shipped top 3 fell below {}",
            floor.1
        );
    }
}

#[test]
#[ignore = "fits the model; run by hand when the sets or the features change"]
fn fit_the_model() {
    let b = Bench::new();
    let rule = DuplicateRule::default();
    let sets = sets(&b, &rule);
    let all: Vec<&Set> = sets.iter().collect();
    let m = train(&all, &fit_with(FEATURES));
    let round = |w: f64| (w * 1000.0).round() / 1000.0;
    println!(
        "weights: {:?}\nintercept: {:.3}\nthreshold: {:.2}\nrank: {:?}",
        m.weights.map(round),
        m.intercept,
        m.threshold,
        m.rank.map(round)
    );
    println!("{HEADER}");
    for set in &sets {
        println!("{}", line(set.name, &m, &figures(set, &m)));
    }
}

/// Pooled F1, mean F1 and mean top three of the left-out models, and each set's F1 / top 3,
/// for comparing fits.
fn summary(sets: &[Set], fit: &Fit) -> String {
    let out = loso(sets, fit);
    let mut pooled = Confusion::default();
    out.iter()
        .take(HARD)
        .for_each(|(_, f)| pooled.merge(&f.pairs));
    let mean =
        |g: fn(&Figures) -> f64| out.iter().map(|(_, f)| g(f)).sum::<f64>() / out.len() as f64;
    let each: Vec<String> = out
        .iter()
        .map(|(_, f)| format!("{:.3}/{:.3}", f.pairs.f1(), f.top3))
        .collect();
    format!(
        "hard pooled F1 {:.3} mean F1 {:.3} mean top 3 {:.3} ({:.3} proposed) max unrelated {:.3} [{}]",
        pooled.f1(),
        mean(|f| f.pairs.f1()),
        mean(|f| f.top3),
        mean(|f| f.top3_proposed),
        out.iter().map(|(_, f)| f.unrelated).fold(0.0, f64::max),
        each.join(" ")
    )
}

#[test]
#[ignore = "compares fits and feature sets by their left-out figures; run by hand"]
fn ablate() {
    let b = Bench::new();
    let sets = sets(&b, &DuplicateRule::default());
    let all = fit_with(FEATURES);
    println!("before: {}", summary(&sets, &fit_before()));
    println!("old features: {}", summary(&sets, &fit_with(OLD)));
    println!("all: {}", summary(&sets, &all));
    if let Ok(weights) = std::env::var("EASY_WEIGHTS") {
        for w in weights
            .split(',')
            .filter_map(|w| w.trim().parse::<f64>().ok())
        {
            let fit = Fit {
                easy_weight: w,
                ..all
            };
            println!("all, easy weight {w}: {}", summary(&sets, &fit));
        }
        return;
    }
    if let Ok(drops) = std::env::var("DROPS") {
        for drop in drops.split(';') {
            let mut fit = all;
            drop.split(',')
                .filter_map(|k| k.trim().parse::<usize>().ok())
                .for_each(|k| fit.mask[k] = false);
            println!("all - {drop}: {}", summary(&sets, &fit));
        }
        return;
    }
    for queue_weight in [0.0, 1.0, 4.0] {
        let fit = Fit {
            queue_weight,
            ..all
        };
        println!("all, queue weight {queue_weight}: {}", summary(&sets, &fit));
    }
    for unrelated_weight in [0.5, 2.0] {
        let fit = Fit {
            unrelated_weight,
            ..all
        };
        println!(
            "all, unrelated weight {unrelated_weight}: {}",
            summary(&sets, &fit)
        );
    }
    for l2 in [0.0001, 0.003, 0.01] {
        println!("all, l2 {l2}: {}", summary(&sets, &Fit { l2, ..all }));
    }
    for k in 0..FEATURES {
        let mut without = all;
        without.mask[k] = false;
        println!("all - {k}: {}", summary(&sets, &without));
    }
}

#[test]
#[ignore = "a second estimate beside leaving one set out; run by hand"]
fn grouped_five_fold() {
    let b = Bench::new();
    let sets = sets(&b, &DuplicateRule::default());
    for (name, fit) in [("before", fit_before()), ("after", fit_with(FEATURES))] {
        let out = measure::grouped(&sets, &fit, 5);
        let mut pooled = Confusion::default();
        for (set, (c, top3)) in sets.iter().zip(&out) {
            pooled.merge(c);
            println!(
                "{name}, grouped five-fold: {} {} P {:.3} R {:.3} F1 {:.3} top 3 {top3:.3}",
                set.name,
                c.counts(),
                c.precision(),
                c.recall(),
                c.f1()
            );
        }
        println!("{name}, grouped five-fold: pooled F1 {:.3}", pooled.f1());
    }
}

/// Precision, recall and F1 with the counts.
fn prf(c: &Confusion) -> String {
    format!(
        "{} P {:.3} R {:.3} F1 {:.3}",
        c.counts(),
        c.precision(),
        c.recall(),
        c.f1()
    )
}

#[test]
fn the_final_hold_out_is_no_worse_than_measured_once() {
    no_worse_than_measured(&FINAL_SET, &FLOOR_FINAL);
}

#[test]
fn the_second_hold_out_is_no_worse_than_measured_once() {
    no_worse_than_measured(&HOLDOUT_SET, &FLOOR_HOLDOUT);
}

/// Counts the shipped weights and threshold on a hold-out and holds them to its floors.
fn no_worse_than_measured(held_out: &HeldOut, floors: &Floors) {
    let rule = DuplicateRule::default();
    let set = held_out_set(&Bench::with(held_out), &rule, held_out);
    let name = held_out.name;
    assert_eq!(set.pairs.len(), floors.pairs, "{name}: its pairs");
    let m = Model::of(&rule);
    let f = figures(&set, &m);
    let queued = set.queues.iter().map(|q| q.others.len()).sum::<usize>();
    println!(
        "\n{name} hold-out, shipped weights and threshold\n{HEADER}\n{}\n\
         {name}: all {}\n{name}: terse {}\n{name}: long {}\n\
         {name}: unrelated proposed {:.2} % of {}; queues ({} duplicates, {:.0} other \
         reports a queue): top 3 {:.3}, top 3 and proposed {:.3}",
        line(set.name, &m, &f),
        prf(&f.pairs),
        prf(&f.terse),
        prf(&f.long),
        f.unrelated * 100.0,
        set.unrelated.len(),
        set.queues.len(),
        queued as f64 / set.queues.len().max(1) as f64,
        f.top3,
        f.top3_proposed
    );
    for (style, c, floor) in [
        ("all", &f.pairs, floors.prf[0]),
        ("terse", &f.terse, floors.prf[1]),
        ("long", &f.long, floors.prf[2]),
    ] {
        let (p, r) = (c.precision(), c.recall());
        assert!(
            p >= floor.0,
            "{name}, {style}: precision {p:.3} below {}",
            floor.0
        );
        assert!(
            r >= floor.1,
            "{name}, {style}: recall {r:.3} below {}",
            floor.1
        );
        assert!(
            c.f1() >= floor.2,
            "{name}, {style}: F1 {:.3} below {}",
            c.f1(),
            floor.2
        );
    }
    assert!(
        f.pairs.tp >= floors.tp_tn.0 && f.pairs.tn >= floors.tp_tn.1,
        "{name}: TP / FP / FN / TN {}",
        f.pairs.counts()
    );
    assert!(
        f.top3 >= floors.top3.0,
        "{name}: top 3 {:.3} below {}",
        f.top3,
        floors.top3.0
    );
    assert!(
        f.top3_proposed >= floors.top3.1,
        "{name}: top 3 and proposed {:.3} below {}",
        f.top3_proposed,
        floors.top3.1
    );
}

#[test]
#[ignore = "prints the unrelated pairs the shipped weights propose on a set (SET=easy); run by hand"]
fn unrelated_proposed() {
    let b = Bench::new();
    let rule = DuplicateRule::default();
    let name = std::env::var("SET").unwrap_or_else(|_| "easy".into());
    let m = Model::of(&rule);
    for set in sets(&b, &rule).iter().filter(|s| s.name == name) {
        let text = |n: u32| {
            let l = set.pairs.iter().find(|l| l.pair.number == n).unwrap();
            format!("{} | {}", l.pair.a.text, l.pair.b.text)
        };
        for (n, k, x) in &set.unrelated {
            if let Some(x) = x.filter(|x| m.p(x) >= m.threshold) {
                println!("{:.3} #{n} [{}] ~ #{k} [{}]", m.p(&x), text(*n), text(*k));
            }
        }
    }
}

#[test]
#[ignore = "prints the quartiles of the shipped scores of a set's duplicates and non-duplicates (SET=easy); run by hand"]
fn scores_by_label() {
    let b = Bench::new();
    let rule = DuplicateRule::default();
    let name = std::env::var("SET").unwrap_or_else(|_| "easy".into());
    let m = Model::of(&rule);
    for set in sets(&b, &rule).iter().filter(|s| s.name == name) {
        for duplicate in [true, false] {
            let mut s: Vec<f64> = set
                .pairs
                .iter()
                .filter(|l| l.pair.duplicate == duplicate)
                .map(|l| l.x.as_ref().map_or(0.0, |x| m.p(x)))
                .collect();
            s.sort_by(f64::total_cmp);
            let q = |f: f64| s[((s.len() - 1) as f64 * f).round() as usize];
            println!(
                "{name} duplicate={duplicate}: n {} quartiles {:.3} / {:.3} / {:.3}, at or above {:.2}: {}",
                s.len(),
                q(0.25),
                q(0.5),
                q(0.75),
                m.threshold,
                s.iter().filter(|x| **x >= m.threshold).count()
            );
        }
    }
}

/// What a queue set was measured at, as floors: its reports; precision, recall and F1 over its
/// pairs, rounded down; the share of its unrelated pairs proposed, rounded up to a tenth of a per
/// cent; top 3, and top 3 and proposed, rounded down.
struct QueueFloors {
    reports: usize,
    prf: (f64, f64, f64),
    unrelated: f64,
    top3: (f64, f64),
}

/// The first triage-queue set (`queue::QUEUE`). Measured once blind with the fourth pass's
/// proposer: pairs 142 / 573 / 52 / 86,386, P 0.199 R 0.732 F1 0.312, 1.08 % of its 13,298
/// unrelated pairs proposed (144), top 3 0.894, top 3 and proposed 0.745 (the proposer before
/// issue #17: F1 0.300, 0.29 %, top 3 0.738, 0.234). Since then it chooses the threshold
/// (`measure::train`); the fifth pass: 151 / 125 / 43 / 86,834, P 0.547 R 0.778 F1 0.643, 0.83 %
/// (111), top 3 0.936, 0.759: its floors.
const FLOOR_QUEUE: QueueFloors = QueueFloors {
    reports: 418,
    prf: (0.54, 0.77, 0.64),
    unrelated: 0.009,
    top3: (0.93, 0.75),
};

/// The second queue set (`queue::QUEUE_2`), measured once with the fifth pass: 180 / 352 / 18 /
/// 91,256, P 0.338 R 0.909 F1 0.493, 2.00 % of its 14,202 unrelated pairs (284), top 3 0.938,
/// top 3 and proposed 0.897; the fourth pass on it just before: 170 / 1,416 / 28, F1 0.191,
/// 1.39 %, 0.924, 0.883; the proposer before issue #17: 40 / 21 / 158, F1 0.309, 0.15 %, 0.752,
/// 0.193.
const FLOOR_QUEUE_2: QueueFloors = QueueFloors {
    reports: 429,
    prf: (0.33, 0.90, 0.49),
    unrelated: 0.020,
    top3: (0.93, 0.89),
};

#[test]
fn the_first_queue_set_is_no_worse_than_measured() {
    queue_no_worse("queue", &queue::QUEUE, &FLOOR_QUEUE);
}

#[test]
fn the_second_queue_set_is_no_worse_than_measured_once() {
    queue_no_worse("queue 2", &queue::QUEUE_2, &FLOOR_QUEUE_2);
}

/// Counts the shipped weights and threshold on a queue set and holds them to its floors.
fn queue_no_worse(name: &str, set: &queue::QueueSet, floors: &QueueFloors) {
    let rule = DuplicateRule::default();
    let reports = queue::reports(set);
    assert_eq!(reports.len(), floors.reports, "{name}: its reports");
    let f = queue::measure(
        set,
        &reports,
        &queue::idf(&reports),
        &Model::of(&rule),
        &rule,
    );
    let (top3, proposed) = (
        f.top3 as f64 / f.queues as f64,
        f.top3_proposed as f64 / f.queues as f64,
    );
    println!(
        "{name}, shipped weights and threshold: pairs {}; unrelated proposed {:.2} % ({} of {}); \
         new reports with an earlier one of their problem {}: top 3 {top3:.3}, top 3 and \
         proposed {proposed:.3}",
        prf(&f.pairs),
        100.0 * f.unrelated_share(),
        f.unrelated.0,
        f.unrelated.1,
        f.queues,
    );
    let (c, (p, r, f1)) = (&f.pairs, floors.prf);
    assert!(c.precision() >= p, "{name}: precision {:.3}", c.precision());
    assert!(c.recall() >= r, "{name}: recall {:.3}", c.recall());
    assert!(c.f1() >= f1, "{name}: F1 {:.3}", c.f1());
    assert!(
        f.unrelated_share() <= floors.unrelated,
        "{name}: unrelated {:.4}",
        f.unrelated_share()
    );
    assert!(
        top3 >= floors.top3.0 && proposed >= floors.top3.1,
        "{name}: top 3 {top3:.3}, {proposed:.3}"
    );
}
