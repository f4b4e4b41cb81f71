//! Benchmark of the duplicate proposer (issue #17): the time to propose for one new report over a
//! queue of 5,000 open cases, and the time to read the queue's reports into profiles, which the
//! office's page does for its candidates on each request.
//!
//! Run: `cargo run -p huoyan-core --release --bin duplicates-bench` (or `bench/duplicates.sh`).
//! The queue is the labelled sets' texts, repeated with other ids, days and places up to 5,000.

use std::time::{Duration, Instant};

use huoyan_core::cases::{CaseText, DuplicateRule, Idf, Profile, Proximity, propose};

#[path = "../../tests/labelled/mod.rs"]
mod labelled;

const QUEUE: usize = 5_000;
const REPORTS: usize = 500;

fn main() {
    let texts: Vec<(&str, &str)> = [labelled::FIRST, labelled::FRESH, labelled::REGISTER]
        .into_iter()
        .flat_map(labelled::pairs)
        .flat_map(|p| [(p.a.text, p.a.category), (p.b.text, p.b.category)])
        .collect();
    let idf = Idf::new(texts.iter().map(|(text, category)| (*category, *text)));
    let rule = DuplicateRule::default();
    let cases: Vec<CaseText> = (0..QUEUE)
        .map(|i| {
            let (text, category) = texts[i % texts.len()];
            CaseText {
                id: i as i64 + 1,
                category,
                text,
                // Spread over the window either side of the new reports.
                reported_at_ms: (i as i64 % (2 * rule.window_days + 1) - rule.window_days)
                    * 86_400_000,
            }
        })
        .collect();
    let started = Instant::now();
    let queue: Vec<Profile> = cases.iter().map(|c| Profile::new(c, &idf)).collect();
    let profiling = started.elapsed();
    let nears = [
        Proximity::SameCompound,
        Proximity::SameCommunity,
        Proximity::SharedSite("福瑞采样点".into()),
    ];
    let mut times: Vec<Duration> = Vec::with_capacity(REPORTS);
    let mut proposed = 0;
    for r in 0..REPORTS {
        let (text, category) = texts[(r * 7919) % texts.len()];
        let started = Instant::now();
        let new = Profile::new(
            &CaseText {
                id: 0,
                category,
                text,
                reported_at_ms: 0,
            },
            &idf,
        );
        let found = propose(
            &new,
            queue
                .iter()
                .enumerate()
                .map(|(i, p)| (p, &nears[i % nears.len()])),
            &rule,
        );
        times.push(started.elapsed());
        proposed += found.len();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = times.iter().sum::<Duration>() / REPORTS as u32;
    println!("| measure | value |");
    println!("| --- | --- |");
    println!(
        "| queue | {QUEUE} open cases, from the {} reports of the labelled sets |",
        texts.len()
    );
    println!("| propose for one new report: mean | {:.3} ms |", ms(mean));
    println!(
        "| propose for one new report: median | {:.3} ms |",
        ms(times[REPORTS / 2])
    );
    println!(
        "| propose for one new report: 99th percentile | {:.3} ms |",
        ms(times[REPORTS * 99 / 100])
    );
    println!(
        "| read the queue's {QUEUE} reports into profiles | {:.3} ms |",
        ms(profiling)
    );
    println!(
        "| proposals a report (mean, at most {}) | {:.2} |",
        rule.most,
        proposed as f64 / REPORTS as f64
    );
}
