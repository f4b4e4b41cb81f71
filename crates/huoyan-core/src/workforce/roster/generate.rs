//! Deterministic roster instances: the Daqing 2022 one (79 cadres, 13 sampling points of Gelin
//! subdistrict's five communities) for the demo, and synthetic cities of any size for the
//! benchmark. Names are invented; the places are the real communities.

use super::search::Rng;
use super::{
    Blocker, BlockerReason, MINUTES_PER_DAY, Person, Place, Post, Reach, RosterProblem, Rules,
    Shift, Weights,
};

const GELIN: [&str; 5] = ["格林社区", "香逸社区", "唯美社区", "米兰社区", "兰德社区"];

fn jitter(rng: &mut Rng, r: i32) -> i32 {
    rng.below((2 * r + 1) as usize) as i32 - r
}

fn blocker_reason(rng: &mut Rng) -> BlockerReason {
    BlockerReason::ALL[rng.below(BlockerReason::ALL.len())]
}

/// 79 cadres sunk into 5 Gelin communities to staff 13 sampling points for 7 days: early shift
/// 04:00–11:30 (3 people), late 11:30–19:00 (2 people); 10 h rest, 48 h a week, reach the whole
/// subdistrict; two points need a code scanner; blockers on about 7% of days; the two
/// over-fifties with bad backs asked to avoid early shifts.
pub fn daqing(seed: u64) -> RosterProblem {
    let mut rng = Rng::new(seed);
    let days = 7u16;
    let centre = |c: usize| (c as i32 * 1200, (c as i32 % 2) * 600);
    let mut posts = Vec::new();
    for (i, per) in [3usize, 3, 3, 2, 2].iter().enumerate() {
        for k in 0..*per {
            let (x, y) = centre(i);
            posts.push(Post {
                id: format!("point-{:02}", posts.len() + 1),
                name: format!("{}采样点{}", GELIN[i], k + 1),
                place: Place {
                    x_m: x + jitter(&mut rng, 400),
                    y_m: y + jitter(&mut rng, 400),
                    community: GELIN[i].into(),
                    subdistrict: "格林街道".into(),
                },
            });
        }
    }
    let people = (0..79)
        .map(|i| {
            let c = i % 5;
            let (x, y) = centre(c);
            let mut blockers = Vec::new();
            let mut off_requests = Vec::new();
            for d in 0..days {
                if rng.below(100) < 7 {
                    blockers.push(Blocker {
                        day: d,
                        reason: blocker_reason(&mut rng),
                    });
                } else if rng.below(100) < 4 {
                    off_requests.push(d);
                }
            }
            Person {
                id: format!("cadre-{:02}", i + 1),
                skills: if rng.below(100) < 60 {
                    vec!["scan".into()]
                } else {
                    vec![]
                },
                home: Place {
                    x_m: x + jitter(&mut rng, 600),
                    y_m: y + jitter(&mut rng, 600),
                    community: GELIN[c].into(),
                    subdistrict: "格林街道".into(),
                },
                blockers,
                off_requests,
                max_minutes_per_week: 48 * 60,
                group: Some(format!("branch-{:02}", i / 5 + 1)),
                avoid_early: i < 2,
            }
        })
        .collect();
    let mut shifts = Vec::new();
    for d in 0..days {
        let base = u32::from(d) * MINUTES_PER_DAY;
        for (pi, post) in posts.iter().enumerate() {
            for (name, start, end, head) in [("early", 240, 690, 3u16), ("late", 690, 1140, 2)] {
                shifts.push(Shift {
                    id: format!("{}-d{}-{}", post.id, d, name),
                    post: post.id.clone(),
                    day: d,
                    start: base + start,
                    end: base + end,
                    headcount: head,
                    skills: if pi % 6 == 0 {
                        vec!["scan".into()]
                    } else {
                        vec![]
                    },
                });
            }
        }
    }
    RosterProblem {
        rules: Rules {
            days,
            min_rest_minutes: 600,
            reach: Reach::SameSubdistrict,
            early_before_minute: 360,
        },
        weights: Weights::default(),
        people,
        posts,
        shifts,
        baseline: None,
    }
}

/// A synthetic city: communities of 4 posts and about 50 people on a grid 1.5 km apart, five
/// communities to a subdistrict; 3 shifts a day (04:00–11:00 ×4, 11:00–18:00 ×3,
/// 18:00–01:00 ×3), 10 h rest, 42 h a week, reach the home community; one post in four needs a
/// code scanner (70% have the skill); blockers on 6% of days, days-off requests on 4%.
pub fn city(people: usize, posts: usize, days: u16, seed: u64) -> RosterProblem {
    let mut rng = Rng::new(seed);
    let communities = posts.div_ceil(4).max(1);
    let side = (communities as f64).sqrt().ceil() as usize;
    let centre = |c: usize| ((c % side) as i32 * 1500, (c / side) as i32 * 1500);
    let name = |c: usize| format!("community-{c:03}");
    let sub = |c: usize| format!("subdistrict-{:02}", c / 5);
    let posts: Vec<Post> = (0..posts)
        .map(|i| {
            let c = i / 4;
            let (x, y) = centre(c);
            Post {
                id: format!("post-{i:03}"),
                name: format!("Sampling point {i}"),
                place: Place {
                    x_m: x + jitter(&mut rng, 500),
                    y_m: y + jitter(&mut rng, 500),
                    community: name(c),
                    subdistrict: sub(c),
                },
            }
        })
        .collect();
    let people = (0..people)
        .map(|i| {
            let c = i % communities;
            let (x, y) = centre(c);
            let mut blockers = Vec::new();
            let mut off_requests = Vec::new();
            for d in 0..days {
                if rng.below(100) < 6 {
                    blockers.push(Blocker {
                        day: d,
                        reason: blocker_reason(&mut rng),
                    });
                } else if rng.below(100) < 4 {
                    off_requests.push(d);
                }
            }
            Person {
                id: format!("p{i:05}"),
                skills: if rng.below(100) < 70 {
                    vec!["scan".into()]
                } else {
                    vec![]
                },
                home: Place {
                    x_m: x + jitter(&mut rng, 700),
                    y_m: y + jitter(&mut rng, 700),
                    community: name(c),
                    subdistrict: sub(c),
                },
                blockers,
                off_requests,
                max_minutes_per_week: 42 * 60,
                // Branch groups of about five neighbours within a community.
                group: Some(format!("g{}-{}", c, (i / communities) / 5)),
                avoid_early: rng.below(100) < 3,
            }
        })
        .collect();
    let mut shifts = Vec::new();
    for d in 0..days {
        let base = u32::from(d) * MINUTES_PER_DAY;
        for (pi, post) in posts.iter().enumerate() {
            for (n, start, end, head) in [
                ("early", 240, 660, 4u16),
                ("day", 660, 1080, 3),
                ("night", 1080, 1500, 3),
            ] {
                shifts.push(Shift {
                    id: format!("{}-d{}-{}", post.id, d, n),
                    post: post.id.clone(),
                    day: d,
                    start: base + start,
                    end: base + end,
                    headcount: head,
                    skills: if pi % 4 == 3 {
                        vec!["scan".into()]
                    } else {
                        vec![]
                    },
                });
            }
        }
    }
    RosterProblem {
        rules: Rules {
            days,
            min_rest_minutes: 600,
            reach: Reach::SameCommunity,
            early_before_minute: 360,
        },
        weights: Weights::default(),
        people,
        posts,
        shifts,
        baseline: None,
    }
}
