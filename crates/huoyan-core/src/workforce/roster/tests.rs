use std::time::Duration;

use proptest::prelude::*;

use super::*;

fn place(x: i32, community: &str) -> Place {
    Place {
        x_m: x,
        y_m: 0,
        community: community.into(),
        subdistrict: "sd".into(),
    }
}

fn person(id: &str, community: &str) -> Person {
    Person {
        id: id.into(),
        skills: vec![],
        home: place(0, community),
        blockers: vec![],
        off_requests: vec![],
        max_minutes_per_week: 48 * 60,
        group: None,
        avoid_early: false,
    }
}

fn shift(id: &str, post: &str, day: u16, start_of_day: u32, end_of_day: u32, head: u16) -> Shift {
    let base = u32::from(day) * MINUTES_PER_DAY;
    Shift {
        id: id.into(),
        post: post.into(),
        day,
        start: base + start_of_day,
        end: base + end_of_day,
        headcount: head,
        skills: vec![],
    }
}

fn problem(people: Vec<Person>, shifts: Vec<Shift>, days: u16) -> RosterProblem {
    RosterProblem {
        rules: Rules {
            days,
            min_rest_minutes: 600,
            reach: Reach::SameCommunity,
            early_before_minute: 360,
        },
        weights: Weights::default(),
        people,
        posts: vec![
            Post {
                id: "A".into(),
                name: "A".into(),
                place: place(0, "c1"),
            },
            Post {
                id: "B".into(),
                name: "B".into(),
                place: place(5000, "c2"),
            },
        ],
        shifts,
        baseline: None,
    }
}

fn quick() -> SolveOptions {
    SolveOptions {
        seed: 7,
        time_limit: None,
        max_iterations: 20_000,
        control: None,
    }
}

fn a(p: &str, s: &str) -> Assignment {
    Assignment::new(p, s)
}

#[test]
fn the_daqing_instance_is_fully_staffed_without_breaking_a_rule() {
    let p = generate::daqing(2022);
    let sol = solve(
        &p,
        &SolveOptions {
            time_limit: None,
            max_iterations: 200_000,
            ..quick()
        },
    )
    .expect("valid");
    let b = evaluate(&p, &sol.assignments).expect("no hard rule broken");
    assert_eq!(b, sol.breakdown);
    assert_eq!(b.total, b.terms_sum());
    assert_eq!(
        b.unfilled_places, 0,
        "79 cadres can staff the 13 points: {:?}",
        sol.shortfalls
    );
    // The two over-fifties with bad backs do not rise at 4 a.m.
    assert_eq!(b.early_avoid, 0);
}

#[test]
fn a_shift_ending_before_it_starts_is_refused_by_name() {
    let mut s = shift("s1", "A", 0, 600, 500, 1);
    s.end = s.start - 10;
    let err = solve(&problem(vec![person("p1", "c1")], vec![s], 1), &quick()).unwrap_err();
    assert_eq!(err, RosterError::ShiftEndsBeforeStart("s1".into()));
    assert!(err.to_string().contains("shifts[s1].end"), "{err}");
}

#[test]
fn other_bad_input_is_refused_by_name() {
    let ok = || {
        problem(
            vec![person("p1", "c1")],
            vec![shift("s1", "A", 0, 240, 690, 1)],
            2,
        )
    };
    let mut p = ok();
    p.shifts[0].post = "Z".into();
    assert!(matches!(validate(&p), Err(RosterError::UnknownPost { .. })));
    let mut p = ok();
    p.people.push(person("p1", "c1"));
    assert_eq!(validate(&p), Err(RosterError::DuplicatePerson("p1".into())));
    let mut p = ok();
    p.rules.days = 15;
    assert_eq!(validate(&p), Err(RosterError::BadHorizon(15)));
    let mut p = ok();
    p.people[0].blockers.push(Blocker {
        day: 2,
        reason: BlockerReason::NoPass,
    });
    assert!(
        validate(&p)
            .unwrap_err()
            .to_string()
            .contains("people[p1].blockers")
    );
    let mut p = ok();
    p.shifts[0].headcount = 0;
    assert_eq!(validate(&p), Err(RosterError::ZeroHeadcount("s1".into())));
    let mut p = ok();
    p.shifts[0].day = 1;
    assert_eq!(
        validate(&p),
        Err(RosterError::ShiftStartNotOnDay("s1".into()))
    );
    let mut p = ok();
    p.weights.distance_per_100m = -1;
    assert_eq!(
        validate(&p),
        Err(RosterError::NegativeWeight("distance_per_100m"))
    );
    let err = replan(&ok(), &[], &[a("nobody", "s1")], &quick()).unwrap_err();
    assert_eq!(
        err,
        RosterError::UnknownPerson {
            field: "pins",
            id: "nobody".into()
        }
    );
}

#[test]
fn the_evaluator_names_every_broken_rule() {
    let mut people = vec![person("p1", "c1"), person("p2", "c1"), person("far", "c2")];
    people[1].blockers.push(Blocker {
        day: 0,
        reason: BlockerReason::BuildingSealed,
    });
    people[0].max_minutes_per_week = 600;
    let mut needs_scan = shift("scan", "A", 1, 240, 690, 1);
    needs_scan.skills = vec!["scan".into()];
    let p = problem(
        people,
        vec![
            shift("d0-late", "A", 0, 690, 1140, 2),
            shift("d0-late2", "A", 0, 700, 1140, 1),
            shift("d1-early", "A", 1, 240, 690, 1),
            shift("d2-early", "A", 2, 240, 690, 1),
            needs_scan,
        ],
        3,
    );
    let check = |x: &[Assignment]| evaluate(&p, x);
    assert!(matches!(
        check(&[a("p2", "d0-late")]),
        Err(Violation::Blocked { .. })
    ));
    assert!(matches!(
        check(&[a("far", "d0-late")]),
        Err(Violation::OutOfReach { .. })
    ));
    assert!(
        matches!(check(&[a("p1", "scan")]), Err(Violation::MissingSkill { skill, .. }) if skill == "scan")
    );
    assert!(matches!(
        check(&[a("p1", "d0-late"), a("p1", "d0-late2")]),
        Err(Violation::TwoShiftsOneDay { .. })
    ));
    // 19:00 → 04:00 is 9 h, below the 10 h rest.
    assert!(matches!(
        check(&[a("p1", "d0-late"), a("p1", "d1-early")]),
        Err(Violation::RestTooShort { .. })
    ));
    assert!(matches!(
        check(&[a("p1", "d1-early"), a("p1", "d2-early")]),
        Err(Violation::WeeklyHoursExceeded { .. })
    ));
    let mut q = p.clone();
    q.people.push(person("p3", "c1"));
    assert!(matches!(
        evaluate(&q, &[a("p1", "d2-early"), a("p3", "d2-early")]),
        Err(Violation::OverHeadcount { .. })
    ));
    assert!(matches!(
        check(&[a("p1", "d0-late"), a("p1", "d0-late")]),
        Err(Violation::Duplicate { .. })
    ));
    assert!(matches!(
        check(&[a("ghost", "d0-late")]),
        Err(Violation::UnknownPerson(_))
    ));
}

#[test]
fn each_unfilled_place_says_which_rule_left_it_short() {
    let mut people = vec![person("p1", "c1"), person("p2", "c1")];
    people[0].max_minutes_per_week = 450;
    people[1].blockers.push(Blocker {
        day: 0,
        reason: BlockerReason::RoadClosed,
    });
    people[1].blockers.push(Blocker {
        day: 1,
        reason: BlockerReason::RoadClosed,
    });
    let mut scan = shift("scan", "A", 2, 690, 1140, 1);
    scan.skills = vec!["scan".into()];
    let p = problem(
        people,
        vec![
            shift("d0", "A", 0, 240, 690, 2),
            shift("d1", "A", 1, 240, 690, 1),
            shift("far", "B", 2, 240, 690, 1),
            scan,
        ],
        3,
    );
    let sol = solve(&p, &quick()).expect("valid");
    let reason = |id: &str| {
        sol.shortfalls
            .iter()
            .find(|s| s.shift == id)
            .map(|s| s.reason)
    };
    // p1 works d0 or d1 (450 min a week), p2 is blocked both days: the other day lacks hours.
    let worked_d0 = sol.assignments.iter().any(|x| x.shift == "d0");
    assert_eq!(
        reason(if worked_d0 { "d1" } else { "d0" }),
        Some(ShortReason::HoursSpent)
    );
    assert_eq!(reason("far"), Some(ShortReason::NobodyInReach));
    assert_eq!(reason("scan"), Some(ShortReason::NobodyWithSkill));
    let missing: u32 = sol.shortfalls.iter().map(|s| u32::from(s.missing)).sum();
    assert_eq!(missing, sol.breakdown.unfilled_places);

    let mut everyone_blocked = p.clone();
    for x in &mut everyone_blocked.people {
        x.blockers = vec![Blocker {
            day: 2,
            reason: BlockerReason::Unreachable,
        }];
    }
    let sol = solve(&everyone_blocked, &quick()).expect("valid");
    let r = sol
        .shortfalls
        .iter()
        .find(|s| s.shift == "scan")
        .map(|s| s.reason);
    assert_eq!(r, Some(ShortReason::NobodyAvailable));
}

#[test]
fn the_bad_backs_are_kept_off_early_shifts_when_others_can_go() {
    let mut people = vec![person("old", "c1"), person("young", "c1")];
    people[0].avoid_early = true;
    let p = problem(
        people,
        vec![
            shift("early", "A", 0, 240, 690, 1),
            shift("late", "A", 0, 690, 1140, 1),
        ],
        1,
    );
    let sol = solve(&p, &quick()).expect("valid");
    assert!(sol.assignments.contains(&a("young", "early")));
    assert!(sol.assignments.contains(&a("old", "late")));
}

#[test]
fn the_same_seed_gives_the_same_roster() {
    let p = generate::city(60, 8, 3, 3);
    let one = solve(&p, &quick()).expect("valid");
    let two = solve(&p, &quick()).expect("valid");
    assert_eq!(one, two);
}

#[test]
fn replanning_after_a_blocker_moves_few_people_and_keeps_pins() {
    let p = generate::city(100, 8, 3, 5);
    let before = solve(&p, &quick()).expect("valid");
    let victim = before
        .assignments
        .iter()
        .find(|x| x.shift.contains("-d1-"))
        .expect("day 1 worked");
    let mut changed = p.clone();
    let who = changed
        .people
        .iter_mut()
        .find(|x| x.id == victim.person)
        .expect("known");
    who.blockers.push(Blocker {
        day: 1,
        reason: BlockerReason::BuildingSealed,
    });
    let pins: Vec<Pin> = before
        .assignments
        .iter()
        .filter(|x| x.shift.contains("-d0-"))
        .cloned()
        .collect();
    let after = replan(&changed, &before.assignments, &pins, &quick()).expect("valid");
    for pin in &pins {
        assert!(after.assignments.contains(pin), "pin {pin:?} moved");
    }
    assert!(!after.assignments.contains(victim));
    assert_eq!(
        evaluate(
            &changed_with_baseline(&changed, &before),
            &after.assignments
        ),
        Ok(after.breakdown)
    );
    // Dropping the victim and putting someone in their place: a handful of changes at most.
    assert!(
        after.breakdown.changes <= 4 * changed.weights.change,
        "{:?}",
        after.breakdown
    );
    assert_eq!(
        after.breakdown.unfilled_places,
        before.breakdown.unfilled_places
    );
}

fn changed_with_baseline(p: &RosterProblem, before: &Solution) -> RosterProblem {
    let mut p = p.clone();
    p.baseline = Some(before.assignments.clone());
    p
}

#[test]
fn a_pin_that_breaks_a_rule_is_refused() {
    let mut people = vec![person("p1", "c1")];
    people[0].blockers.push(Blocker {
        day: 0,
        reason: BlockerReason::NoPass,
    });
    let p = problem(people, vec![shift("s", "A", 0, 240, 690, 1)], 1);
    let err = replan(&p, &[], &[a("p1", "s")], &quick()).unwrap_err();
    assert!(
        matches!(err, RosterError::PinBreaksRule(Violation::Blocked { .. })),
        "{err}"
    );
    assert!(err.to_string().starts_with("pins:"));
}

#[test]
fn the_flat_model_prices_assignments_like_the_evaluator() {
    // The linear part of the flat model plus the nonlinear terms must equal evaluate(): checked
    // here on a roster with one person so the nonlinear terms are easy to add by hand.
    let p = generate::daqing(1);
    let flat = flatten(&p).expect("valid");
    let v = flat
        .vars
        .iter()
        .find(|v| p.shifts[v.shift as usize].id.ends_with("early"))
        .expect("an early var");
    let roster = [a(
        &p.people[v.person as usize].id,
        &p.shifts[v.shift as usize].id,
    )];
    let b = evaluate(&p, &roster).expect("one eligible assignment is legal");
    let total_head: i64 = p.shifts.iter().map(|s| i64::from(s.headcount)).sum();
    let group = if flat.people[v.person as usize].group.is_some() {
        p.weights.group_split
    } else {
        0
    };
    let expected = flat.constant
        + v.cost
        + p.weights.unfilled * (total_head - 1)
        + p.weights.early_square
        + group;
    assert_eq!(b.total, expected);
}

/// The tiny case proptest found (saved in proptest-regressions). Its only roster with every place
/// filled rotates all three people over all four days: p1, the only scanner, works s0 on day 3,
/// so the 833-minute s2 (one minute too long for p1's week beside s0) goes to p0 and p2; p2 then
/// has no time for s3, which p0 and p1 work; and p0 takes s4, whose 397 minutes of rest before day
/// 3 are one short, so p2 works s1. The search stopped at 10,515 with s0 empty on each of 40 seeds,
/// even after 2,000,000 iterations: the exact repair refused the three people's whole week as too
/// large, counting combinations the weekly hours rule out.
#[test]
fn a_rotation_of_three_people_over_their_whole_week_is_found() {
    let mut people = vec![person("p0", "c1"), person("p1", "c1"), person("p2", "c1")];
    for (i, (x, off, max)) in [(3000, 1, 1616), (3100, 3, 901), (3200, 3, 946)]
        .into_iter()
        .enumerate()
    {
        people[i].home.x_m = x;
        people[i].off_requests = vec![off];
        people[i].max_minutes_per_week = max;
    }
    people[1].skills = vec!["scan".into()];
    people[1].group = Some("g1".into());
    let at_b = |id: &str, day: u16, start: u32, end: u32, head: u16| Shift {
        id: id.into(),
        post: "B".into(),
        day,
        start,
        end,
        headcount: head,
        skills: vec![],
    };
    let mut scan = at_b("s0", 3, 4320, 4389, 1);
    scan.skills = vec!["scan".into()];
    let mut p = problem(
        people,
        vec![
            scan,
            at_b("s1", 3, 4320, 4380, 1),
            at_b("s2", 1, 1992, 2825, 2),
            at_b("s3", 0, 0, 114, 2),
            at_b("s4", 2, 3345, 3923, 1),
        ],
        4,
    );
    p.rules.min_rest_minutes = 398;
    p.rules.reach = Reach::SameSubdistrict;
    let optimum = [
        a("p0", "s2"),
        a("p0", "s3"),
        a("p0", "s4"),
        a("p1", "s0"),
        a("p1", "s3"),
        a("p2", "s1"),
        a("p2", "s2"),
    ];
    assert_eq!(evaluate(&p, &optimum).map(|b| b.total), Ok(1194));
    // The property test replays the case at its own 20,000 iterations; ten times as many here so
    // that the test does not hang on one seed's luck in drawing the three people together.
    let opts = SolveOptions {
        seed: 3,
        max_iterations: 200_000,
        ..quick()
    };
    let sol = solve(&p, &opts).expect("valid");
    assert_eq!(sol.breakdown.total, 1194, "{:?}", sol.assignments);
}

/// Small random problems: people, posts in two communities, 1–4 days, shifts at random times.
fn small_problem() -> impl Strategy<Value = RosterProblem> {
    let people = prop::collection::vec(
        (
            0u8..2,
            any::<bool>(),
            prop::collection::vec(0u16..4, 0..2),
            0u8..3,
            300u32..3000,
            any::<bool>(),
            0u16..4,
        ),
        1..8,
    );
    let shifts = prop::collection::vec(
        (
            0u8..2,
            0u16..4,
            0u32..1440,
            60u32..900,
            1u16..3,
            any::<bool>(),
        ),
        1..10,
    );
    (people, shifts, 1u16..5, 0u32..900, 0u8..3).prop_map(|(people, shifts, days, rest, reach)| {
        let people = people
            .into_iter()
            .enumerate()
            .map(|(i, (c, scan, blocked, group, max, avoid, off))| Person {
                id: format!("p{i}"),
                skills: if scan { vec!["scan".into()] } else { vec![] },
                home: Place {
                    x_m: i32::from(c) * 3000 + i as i32 * 100,
                    y_m: 0,
                    community: format!("c{c}"),
                    subdistrict: "sd".into(),
                },
                blockers: blocked
                    .into_iter()
                    .filter(|&d| d < days)
                    .map(|day| Blocker {
                        day,
                        reason: BlockerReason::Sick,
                    })
                    .collect(),
                off_requests: if off < days { vec![off] } else { vec![] },
                max_minutes_per_week: max,
                group: (group > 0).then(|| format!("g{group}")),
                avoid_early: avoid,
            })
            .collect();
        let shifts = shifts
            .into_iter()
            .enumerate()
            .map(|(i, (post, day, start, len, head, scan))| {
                let day = day % days;
                let start = u32::from(day) * MINUTES_PER_DAY + start;
                Shift {
                    id: format!("s{i}"),
                    post: if post == 0 { "A".into() } else { "B".into() },
                    day,
                    start,
                    end: start + len,
                    headcount: head,
                    skills: if scan { vec!["scan".into()] } else { vec![] },
                }
            })
            .collect();
        let mut p = problem(people, shifts, days);
        p.rules.min_rest_minutes = rest;
        p.rules.reach = match reach {
            0 => Reach::SameCommunity,
            1 => Reach::SameSubdistrict,
            _ => Reach::WithinMetres { metres: 2000 },
        };
        p
    })
}

/// Exhaustive optimum over every subset of eligible pairs (tiny problems only).
fn brute_force(p: &RosterProblem) -> Option<i64> {
    let flat = flatten(p).ok()?;
    if flat.vars.len() > 14 {
        return None;
    }
    let mut best = i64::MAX;
    for mask in 0u32..(1 << flat.vars.len()) {
        let roster: Vec<Assignment> = flat
            .vars
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, v)| {
                a(
                    &p.people[v.person as usize].id,
                    &p.shifts[v.shift as usize].id,
                )
            })
            .collect();
        if let Ok(b) = evaluate(p, &roster) {
            best = best.min(b.total);
        }
    }
    Some(best)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_hard_rule_is_ever_broken_and_the_breakdown_sums(p in small_problem(), seed in 0u64..1000) {
        let opts = SolveOptions { seed, time_limit: None, max_iterations: 3_000, control: None };
        let sol = solve(&p, &opts).expect("generated problems are valid");
        let b = evaluate(&p, &sol.assignments);
        prop_assert_eq!(b.clone(), Ok(sol.breakdown));
        let b = b.expect("checked");
        prop_assert_eq!(b.total, b.terms_sum());
        let missing: u32 = sol.shortfalls.iter().map(|s| u32::from(s.missing)).sum();
        prop_assert_eq!(missing, b.unfilled_places);
    }

    #[test]
    fn replanning_never_moves_a_pin(p in small_problem(), seed in 0u64..1000, victim in 0usize..8, keep in any::<u16>()) {
        let opts = SolveOptions { seed, time_limit: None, max_iterations: 2_000, control: None };
        let before = solve(&p, &opts).expect("valid");
        let mut changed = p.clone();
        let v = victim % changed.people.len();
        let vid = changed.people[v].id.clone();
        changed.people[v].blockers.push(Blocker { day: 0, reason: BlockerReason::Unreachable });
        let pins: Vec<Pin> = before
            .assignments
            .iter()
            .enumerate()
            .filter(|(i, x)| keep & (1 << (i % 16)) != 0 && x.person != vid)
            .map(|(_, x)| x.clone())
            .collect();
        let after = replan(&changed, &before.assignments, &pins, &opts).expect("pins stay legal");
        for pin in &pins {
            prop_assert!(after.assignments.contains(pin));
        }
        let scored = evaluate(&changed_with_baseline(&changed, &before), &after.assignments);
        prop_assert_eq!(scored, Ok(after.breakdown));
    }

    /// The search is a heuristic: on tiny problems it reaches the brute-force optimum almost
    /// always, but a random instance was found where it stopped 0.11 % above it (80,568 against
    /// 80,479), so the property bounds the gap at 0.5 % rather than demanding the optimum.
    #[test]
    fn tiny_problems_are_solved_to_within_half_a_percent_of_the_optimum(p in small_problem()) {
        if let Some(opt) = brute_force(&p) {
            let sol = solve(&p, &SolveOptions { seed: 3, time_limit: None, max_iterations: 20_000, control: None }).expect("valid");
            prop_assert!(sol.breakdown.total >= opt);
            prop_assert!((sol.breakdown.total - opt) as f64 <= 0.005 * opt.max(1) as f64, "{} against the optimum {}", sol.breakdown.total, opt);
        }
    }
}

#[test]
fn a_time_limit_stops_the_search() {
    let p = generate::city(200, 16, 7, 1);
    let t = std::time::Instant::now();
    let opts = SolveOptions {
        seed: 1,
        time_limit: Some(Duration::from_millis(200)),
        max_iterations: u64::MAX,
        control: None,
    };
    solve(&p, &opts).expect("valid");
    assert!(t.elapsed() < Duration::from_secs(5));
}
