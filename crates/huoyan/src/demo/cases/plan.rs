//! Planning the cases: how many a day, of which category, source and compound, in whose words;
//! then each walked.

use super::*;

/// A case as planned before it is walked.
struct Plan {
    at: i64,
    source: Source,
    compound: usize,
    story: usize,
}

/// Plans the reports of `days` (indices into `PER_DAY`, each day's count times `scale`), walks
/// each, then adds the duplicate reports the office merged.
pub(super) fn plan_and_walk(
    w: &mut World,
    scale: f64,
    days: std::ops::Range<usize>,
) -> anyhow::Result<Vec<Sim>> {
    let day0 = bj("2022-08-20T00:00:00+08:00");
    let supervisors_from = bj("2022-08-29T08:00:00+08:00");
    let drones_from = bj("2022-08-31T08:00:00+08:00");
    // 景程小区 (high-risk) most, then Gelin's compounds where the cadres sank, then the rest.
    let compound_weights: Vec<u32> = (0..w.compounds.len())
        .map(|i| match i {
            0 => 400,
            1 | 2 => 100,
            3..=27 => 60,
            _ => 6,
        })
        .collect();
    let mut plans = Vec::new();
    for (d, n) in per_day(scale).into_iter().enumerate() {
        if !days.contains(&d) {
            continue;
        }
        let d = d as i64;
        for _ in 0..n {
            let hours: Vec<u32> = (0..24)
                .map(|h| match d {
                    0 if h < 20 => 0,
                    16 if h >= 19 => 0,
                    _ => HOURS[h as usize],
                })
                .collect();
            let mut at = day0 + d * 24 * HOUR + weighted(&mut w.rng, &hours) as i64 * HOUR;
            at += w.rng.random_range(0..60) * MIN + w.rng.random_range(0..60) * 1000;
            let source = {
                let weights: [u32; 5] = if at < supervisors_from {
                    [0, 45, 0, 20, 35]
                } else {
                    [62, 14, if at >= drones_from { 12 } else { 0 }, 5, 7]
                };
                Source::ALL[weighted(&mut w.rng, &weights)]
            };
            let phase: [u32; 9] = match d {
                0..=5 => [30, 20, 25, 3, 3, 5, 4, 10, 1],
                6..=10 => [20, 22, 18, 5, 8, 5, 6, 15, 3],
                _ => [15, 18, 12, 8, 12, 7, 8, 18, 4],
            };
            let (compound, story) = loop {
                let category = Category::ALL[weighted(&mut w.rng, &phase)];
                let compound = weighted(&mut w.rng, &compound_weights);
                let fits: Vec<usize> = (0..STORIES.len())
                    .filter(|&s| {
                        let st = &STORIES[s];
                        st.category == category
                            && (source != Source::Drone || st.aerial)
                            && (!st.suggestion
                                || matches!(
                                    source,
                                    Source::Supervisor | Source::Resident | Source::Hotline
                                ))
                            && w.lead(st, compound).is_some()
                    })
                    .collect();
                if !fits.is_empty() {
                    break (compound, *pick(&mut w.rng, &fits));
                }
            };
            plans.push(Plan {
                at,
                source,
                compound,
                story,
            });
        }
    }
    plans.sort_by_key(|p| p.at);
    anyhow::ensure!(
        plans.iter().all(|p| p.at >= start() && p.at < w.snapshot),
        "reports fall between the order and the snapshot"
    );

    // The tail: of 09-05's reports the last ones wait for the office and the group, earlier ones
    // at later steps; a few of 09-03's and 09-04's still wait for a fix or a re-inspection.
    let day_of = |at: i64| (at - day0).div_euclid(24 * HOUR);
    let mut holds = vec![Hold::None; plans.len()];
    let last: Vec<usize> = (0..plans.len())
        .filter(|&i| day_of(plans[i].at) == 16)
        .collect();
    let early = [Hold::Close, Hold::Verify, Hold::Fix, Hold::Accept];
    for (k, &i) in last.iter().enumerate() {
        holds[i] = match last.len() - 1 - k {
            0 | 1 => Hold::Office,
            2 | 3 => Hold::Group,
            _ if k < 2 * early.len() => early[k % early.len()],
            _ => Hold::None,
        };
    }
    for (day, tail) in [
        (14, &[Hold::Fix][..]),
        (15, &[Hold::Verify, Hold::Fix, Hold::Close]),
    ] {
        let firsts = (0..plans.len()).filter(|&i| day_of(plans[i].at) == day);
        for (i, h) in firsts.zip(tail) {
            holds[i] = *h;
        }
    }

    let mut sims = Vec::new();
    let mut stories_of = Vec::new();
    let mut parts_of = Vec::new();
    let mut outcomes = Vec::new();
    for (me, plan) in plans.iter().enumerate() {
        let story = &STORIES[plan.story];
        let parts = Parts::new(&mut w.rng, &w.compounds[plan.compound]);
        let text = parts.fill(one(&mut w.rng, story.texts));
        let mut sim = w.report(plan.at, plan.source, plan.compound, story, &parts, &text);
        let right = w
            .lead(story, plan.compound)
            .expect("planned where a unit answers");
        let outcome = if holds[me] != Hold::None {
            Outcome::Normal
        } else if plan.source == Source::Inspection && !story.suggestion && w.rng.random_bool(0.35)
        {
            Outcome::FixOnSite
        } else if plan.source != Source::Inspection
            && plan.source != Source::Drone
            && w.rng.random_bool(0.045)
        {
            Outcome::Reject
        } else if w.rng.random_bool(0.07) && w.wrong_lead(story, plan.compound, right).is_some() {
            Outcome::SendBack
        } else {
            Outcome::Normal
        };
        w.walk(&mut sim, story, &parts, outcome, holds[me])?;
        sims.push(sim);
        stories_of.push(plan.story);
        parts_of.push(parts);
        outcomes.push(outcome);
    }

    // Duplicates: the same problem reported again, by another channel, while the first report was
    // still open; the office merged them into it.
    let snapshot = w.snapshot;
    let office = w.cast.office;
    for target in 0..sims.len() {
        if outcomes[target] != Outcome::Normal {
            continue;
        }
        let copies = match w.rng.random_range(0..1000) {
            0..15 => 2,
            15..85 => 1,
            _ => 0,
        };
        for _ in 0..copies {
            let (from, until) = (
                sims[target].reported_at + 30 * MIN,
                sims[target].open_until(snapshot) - MIN,
            );
            if until - from < 20 * MIN {
                break;
            }
            let merge_at = w.rng.random_range(from..until);
            let reported_at = (merge_at - w.rng.random_range(5..90) * MIN)
                .max(sims[target].reported_at + 5 * MIN);
            let source =
                if sims[target].source == Source::Supervisor || reported_at < supervisors_from {
                    *pick(
                        &mut w.rng,
                        &[Source::Hotline, Source::Resident, Source::Inspection],
                    )
                } else {
                    Source::Supervisor
                };
            let story = &STORIES[stories_of[target]];
            let text = parts_of[target].fill(one(&mut w.rng, story.texts));
            let compound = sims[target].compound;
            let mut dup = w.report(
                reported_at,
                source,
                compound,
                story,
                &parts_of[target],
                &text,
            );
            let note = format!("与案件 {} 反映同一问题，合并办理。", case_ref(target));
            let state = sims[target].state_at(merge_at);
            anyhow::ensure!(!state.is_terminal(), "a report merges into an open case");
            let into = Step::Merge(target, state, sims[target].reporter);
            dup.act(merge_at, office, Role::Office, Action::Merge, note, into)?;
            sims.push(dup);
            stories_of.push(stories_of[target]);
        }
    }
    Ok(sims)
}

/// Reports a day at `scale`, the fractions carried to the next day so that the total is the
/// scaled total; at 1 exactly `PER_DAY`.
fn per_day(scale: f64) -> Vec<u32> {
    let mut carry = 0.0;
    PER_DAY
        .iter()
        .map(|&n| {
            let want = n as f64 * scale + carry;
            let whole = want.floor();
            carry = want - whole;
            whole as u32
        })
        .collect()
}

impl World {
    /// A case as filed: who reports it through which channel, where, in whose words.
    pub(super) fn report(
        &mut self,
        at: i64,
        source: Source,
        c: usize,
        story: &Story,
        parts: &Parts,
        text: &str,
    ) -> Sim {
        let compound = &self.compounds[c];
        let (reporter, role) = match source {
            Source::Supervisor => (compound.supervisor, Role::Supervisor),
            Source::Inspection => (
                self.cast.inspectors[c % self.cast.inspectors.len()],
                Role::Inspector,
            ),
            Source::Drone => (self.cast.pilot, Role::Pilot),
            // The generated history draws no test results' follow-ups (`testing` files those)
            // and no delivery's shortfall (`supply` does).
            Source::Resident | Source::Hotline | Source::Testing | Source::Supply => {
                (self.cast.office, Role::Office)
            }
        };
        let description = match source {
            Source::Supervisor => format!("{text}。"),
            Source::Inspection => format!("督查发现：{text}。"),
            Source::Drone => format!("空中督导发现：{text}（视频截图已存档）。"),
            Source::Hotline => format!("市民来电反映：{text}，请尽快处理。"),
            Source::Resident => format!("居民留言反映：{text}。"),
            Source::Testing => format!("核酸结果：{text}。"),
            Source::Supply => format!("物资配送：{text}。"),
        };
        let (lon, lat) =
            crate::demo::places::random_point_in(&mut self.rng, &compound.outline, None);
        let priority = Priority::ALL[weighted(&mut self.rng, &story.priority)];
        Sim {
            kind: if story.suggestion {
                Kind::Suggestion
            } else {
                Kind::Problem
            },
            source,
            category: story.category,
            priority,
            compound: c,
            lon: (lon * 1e6).round() / 1e6,
            lat: (lat * 1e6).round() / 1e6,
            address: parts.address(story.place, text),
            events: vec![Event {
                at,
                to: CaseState::Reported,
            }],
            description,
            reporter,
            reporter_role: role,
            reported_at: at,
            case: CaseNow {
                id: 0,
                state: CaseState::Reported,
                category: story.category,
                priority,
                reporter,
                department_id: None,
                due_at: None,
                merged_into: None,
                updated_at: at,
            },
            state: CaseState::Reported,
            department_id: None,
            tasks: Vec::new(),
            planned: Vec::new(),
            ticks: Vec::new(),
        }
    }
}
