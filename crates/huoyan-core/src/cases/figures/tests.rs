use super::*;
use proptest::prelude::*;

const H: i64 = 3_600_000;
const M: i64 = 60_000;

fn case(id: i64, category: &str, state: CaseState, times: [Option<i64>; 4]) -> CaseRecord {
    CaseRecord {
        id,
        category: category.into(),
        state,
        reported_at: times[0].unwrap(),
        first_dispatched_at: times[1],
        last_rectified_at: times[2],
        verified_at: times[3],
    }
}

#[allow(clippy::too_many_arguments)]
fn task(
    case_id: i64,
    dept: i64,
    state: TaskState,
    dispatched: i64,
    due: i64,
    done: Option<i64>,
    extensions: i64,
    reworks: i64,
) -> TaskRecord {
    TaskRecord {
        case_id,
        department_id: dept,
        department: format!("unit {dept}"),
        state,
        dispatched_at: dispatched,
        due_at: due,
        done_at: done,
        extensions,
        reworks,
        urges: 0,
    }
}

/// A worked example: every figure below is checked by hand against the definitions.
#[test]
fn a_small_history_by_hand() {
    use CaseState as C;
    use TaskState as T;
    let cases = vec![
        // Reported 0, dispatched 1 h, rectified (after a rework) 10 h, verified 12 h.
        case(
            1,
            "supplies",
            C::Closed,
            [Some(0), Some(H), Some(10 * H), Some(12 * H)],
        ),
        // Reported 0, dispatched 2 h, fixed 4 h, verified 5 h.
        case(
            2,
            "supplies",
            C::Verified,
            [Some(0), Some(2 * H), Some(4 * H), Some(5 * H)],
        ),
        // Rectified once, then reworked: no standing fix.
        case(
            3,
            "testing",
            C::Rectifying,
            [Some(0), Some(30 * M), Some(3 * H), None],
        ),
        // Never dispatched.
        case(4, "testing", C::Rejected, [Some(0), None, None, None]),
    ];
    let tasks = vec![
        // Unit 1: lead on 1 (due 9 h, done late at 10 h after one rework), lead on 2 (on
        // time, with an extension), lead on 3 (reworked, open, past due at `now`).
        task(1, 1, T::Done, H, 9 * H, Some(10 * H), 0, 1),
        task(2, 1, T::Done, 2 * H, 6 * H, Some(4 * H), 1, 0),
        task(3, 1, T::Rectifying, 30 * M, 2 * H, None, 0, 1),
        // Unit 2: co on 1, done on time; sent back on 2.
        task(1, 2, T::Done, H, 9 * H, Some(3 * H), 0, 0),
        task(2, 2, T::SentBack, 2 * H, 6 * H, None, 0, 0),
    ];
    let f = figures(&cases, &tasks, 100 * H, RankRule { min_decided: 1 });

    let supplies = &f.by_category[1];
    assert_eq!(supplies.category.as_deref(), Some("supplies"));
    assert_eq!(supplies.cases, 2);
    let d = supplies.durations;
    // report→dispatch {1 h, 2 h}: nearest-rank median is the 1st of 2, p90 the 2nd.
    assert_eq!(
        d.report_to_dispatch,
        Stat {
            n: 2,
            median_ms: Some(H),
            p90_ms: Some(2 * H)
        }
    );
    assert_eq!(d.dispatch_to_rectified.median_ms, Some(2 * H)); // {9 h, 2 h}
    assert_eq!(d.rectified_to_verified.p90_ms, Some(2 * H)); // {2 h, 1 h}
    assert_eq!(
        d.report_to_verified,
        Stat {
            n: 2,
            median_ms: Some(5 * H),
            p90_ms: Some(12 * H)
        }
    );
    // Supplies' tasks: four; done 3 (on time 2); sent back 1.
    let m = supplies.measures;
    assert_eq!(
        (m.tasks, m.done, m.on_time, m.decided, m.overdue),
        (4, 3, 2, 3, 1)
    );
    assert_eq!((m.fixed, m.reworked, m.extended), (3, 1, 1));

    let testing = &f.by_category[0];
    assert_eq!(testing.cases, 2);
    assert_eq!(testing.durations.report_to_dispatch.n, 1);
    assert_eq!(
        testing.durations.dispatch_to_rectified.n, 0,
        "the fix did not stand"
    );
    assert_eq!(
        testing
            .states
            .iter()
            .find(|s| s.0 == C::Rejected)
            .unwrap()
            .1,
        1
    );
    assert_eq!(f.overall.cases, 4);
    assert_eq!(f.overall.measures.tasks, 5);

    // Unit 2: decided 1, on time 1 → 100 %; unit 1: decided 3 (2 done + 1 open overdue), on
    // time 1 → 33 %.
    let names: Vec<_> = f
        .by_department
        .iter()
        .map(|u| (u.department_id, u.rank))
        .collect();
    assert_eq!(names, [(2, Some(1)), (1, Some(2))]);
    let u1 = &f.by_department[1];
    assert_eq!((u1.measures.on_time, u1.measures.decided), (1, 3));
    assert_eq!(u1.measures.overdue, 2, "done late on 1, open past due on 3");
    assert_eq!(
        u1.measures.fixed, 3,
        "the reworked open task had reported a fix"
    );
    assert_eq!(u1.measures.reworked, 2);
    assert_eq!(u1.measures.rework_rate(), Some(2.0 / 3.0));
    // Unit 1's clock: dispatch→rectified {9 h, 2 h}; rectified→verified {2 h, 1 h}.
    assert_eq!(u1.durations.dispatch_to_rectified.median_ms, Some(2 * H));
    assert_eq!(u1.durations.rectified_to_verified.p90_ms, Some(2 * H));
    assert_eq!(u1.durations.report_to_dispatch.n, 3);
    let u2 = &f.by_department[0];
    // Unit 2's done task: dispatched 1 h, done 3 h, case verified 12 h.
    assert_eq!(u2.durations.rectified_to_verified.median_ms, Some(9 * H));
    assert_eq!(u2.durations.report_to_verified.median_ms, Some(12 * H));
    assert_eq!(u2.measures.extension_rate(), Some(0.0));
}

#[test]
fn ties_share_a_rank_and_small_units_are_not_ranked() {
    use TaskState as T;
    let cases: Vec<_> = (1..=9)
        .map(|i| {
            case(
                i,
                "other",
                CaseState::Rectified,
                [Some(0), Some(0), Some(H), None],
            )
        })
        .collect();
    let tasks = vec![
        // "b" and "a" each on time twice of two; "c" once of two; "d" has one decided task.
        task(1, 20, T::Done, 0, H, Some(H), 0, 0),
        task(2, 20, T::Done, 0, H, Some(H), 0, 0),
        task(3, 10, T::Done, 0, H, Some(H), 0, 0),
        task(4, 10, T::Done, 0, H, Some(H), 0, 0),
        task(5, 30, T::Done, 0, H, Some(H), 0, 0),
        task(6, 30, T::Done, 0, H, Some(2 * H), 0, 0),
        task(7, 40, T::Done, 0, H, Some(H), 0, 0),
    ];
    let mut tasks = tasks;
    for (t, name) in tasks.iter_mut().zip(["b", "b", "a", "a", "c", "c", "d"]) {
        t.department = name.into();
    }
    let f = figures(&cases, &tasks, 10 * H, RankRule { min_decided: 2 });
    let got: Vec<_> = f
        .by_department
        .iter()
        .map(|u| (u.department.as_str(), u.rank))
        .collect();
    assert_eq!(
        got,
        [("a", Some(1)), ("b", Some(1)), ("c", Some(3)), ("d", None)]
    );
}

#[test]
fn rework_rate_then_speed_break_equal_punctuality() {
    use TaskState as T;
    let cases: Vec<_> = (1..=6)
        .map(|i| {
            case(
                i,
                "other",
                CaseState::Rectified,
                [Some(0), Some(0), Some(H), None],
            )
        })
        .collect();
    let tasks = vec![
        task(1, 1, T::Done, 0, 9 * H, Some(3 * H), 0, 1),
        task(2, 1, T::Done, 0, 9 * H, Some(3 * H), 0, 0),
        task(3, 2, T::Done, 0, 9 * H, Some(5 * H), 0, 0),
        task(4, 2, T::Done, 0, 9 * H, Some(5 * H), 0, 0),
        task(5, 3, T::Done, 0, 9 * H, Some(4 * H), 0, 0),
        task(6, 3, T::Done, 0, 9 * H, Some(4 * H), 0, 0),
    ];
    let f = figures(&cases, &tasks, 10 * H, RankRule { min_decided: 1 });
    let order: Vec<_> = f.by_department.iter().map(|u| u.department_id).collect();
    assert_eq!(
        order,
        [3, 2, 1],
        "no rework beats rework; then the faster fix"
    );
}

fn arb_history() -> impl Strategy<Value = (Vec<CaseRecord>, Vec<TaskRecord>, i64)> {
    let case = (
        0usize..4,
        0usize..CaseState::ALL.len(),
        0i64..1_000,
        proptest::option::of(0i64..1_000),
        proptest::option::of(0i64..1_000),
        proptest::option::of(0i64..1_000),
    );
    let task = (
        0usize..12,
        0i64..5,
        0usize..TaskState::ALL.len(),
        0i64..1_000,
        0i64..1_000,
        0i64..2_000,
        0i64..3,
        0i64..3,
    );
    (
        proptest::collection::vec(case, 0..12),
        proptest::collection::vec(task, 0..30),
        0i64..4_000,
    )
        .prop_map(|(cs, ts, now)| {
            let cats = ["supplies", "testing", "other", "made_up"];
            let cases: Vec<CaseRecord> = cs
                .iter()
                .enumerate()
                .map(|(i, &(cat, st, rep, d, r, v))| {
                    // Times follow the workflow's order: each later than the one before.
                    let dispatched = d.map(|d| rep + d);
                    let rectified = dispatched.zip(r).map(|(d, r)| d + r);
                    let verified = rectified.zip(v).map(|(r, v)| r + v);
                    CaseRecord {
                        id: i as i64,
                        category: cats[cat].into(),
                        state: CaseState::ALL[st],
                        reported_at: rep,
                        first_dispatched_at: dispatched,
                        last_rectified_at: rectified,
                        verified_at: verified,
                    }
                })
                .collect();
            let tasks = ts
                .into_iter()
                // As stored: a task has a completion time exactly when it is done.
                .map(|(c, dept, st, disp, due, done, ext, rw)| TaskRecord {
                    case_id: c as i64,
                    department_id: dept,
                    department: format!("unit {}", dept % 3),
                    state: TaskState::ALL[st],
                    dispatched_at: disp,
                    due_at: disp + due,
                    done_at: (TaskState::ALL[st] == TaskState::Done).then_some(disp + done),
                    extensions: ext,
                    reworks: rw,
                    urges: rw,
                })
                .collect();
            (cases, tasks, now)
        })
}

fn check_measures(m: &TaskMeasures) -> Result<(), TestCaseError> {
    prop_assert!(m.on_time <= m.done && m.done <= m.decided && m.decided <= m.tasks);
    prop_assert!(m.reworked <= m.fixed && m.fixed <= m.tasks && m.extended <= m.tasks);
    prop_assert!(m.overdue <= m.tasks);
    // Every decided task is either on time or overdue.
    prop_assert_eq!(m.on_time + m.overdue, m.decided);
    for r in [m.on_time_rate(), m.rework_rate(), m.extension_rate()]
        .into_iter()
        .flatten()
    {
        prop_assert!((0.0..=1.0).contains(&r));
    }
    Ok(())
}

fn check_stat(s: &Stat, values: &[i64]) -> Result<(), TestCaseError> {
    prop_assert_eq!(s.n, values.len());
    if let (Some(m), Some(p)) = (s.median_ms, s.p90_ms) {
        prop_assert!(values.contains(&m) && values.contains(&p) && m <= p);
    } else {
        prop_assert!(values.is_empty());
    }
    Ok(())
}

proptest! {
    /// Rows add up to the whole, every rate is a share of its own counts, every quantile is a
    /// measured duration, and a verified case's three spans add up to the headline.
    #[test]
    fn figures_add_up((cases, tasks, now) in arb_history()) {
        let f = figures(&cases, &tasks, now, RankRule::default());
        let known: Vec<&TaskRecord> = tasks.iter().filter(|t| cases.iter().any(|c| c.id == t.case_id)).collect();
        prop_assert_eq!(f.overall.cases as usize, cases.len());
        prop_assert_eq!(f.by_category.iter().map(|c| c.cases).sum::<i64>(), f.overall.cases);
        prop_assert_eq!(f.overall.measures.tasks as usize, known.len());
        prop_assert_eq!(f.by_department.iter().map(|u| u.measures.tasks).sum::<i64>(), f.overall.measures.tasks);
        prop_assert_eq!(f.by_category.iter().map(|c| c.measures.overdue).sum::<i64>(), f.overall.measures.overdue);
        prop_assert_eq!(f.by_department.iter().map(|u| u.measures.on_time).sum::<i64>(), f.overall.measures.on_time);
        check_measures(&f.overall.measures)?;
        for c in &f.by_category {
            check_measures(&c.measures)?;
            prop_assert_eq!(c.states.iter().map(|s| s.1).sum::<i64>(), c.cases);
            let mine: Vec<&CaseRecord> = cases.iter().filter(|x| Some(&x.category) == c.category.as_ref()).collect();
            for i in 0..4 {
                let values: Vec<i64> = mine.iter().filter_map(|x| case_spans(x)[i]).collect();
                let s = [c.durations.report_to_dispatch, c.durations.dispatch_to_rectified, c.durations.rectified_to_verified, c.durations.report_to_verified][i];
                check_stat(&s, &values)?;
            }
        }
        for u in &f.by_department {
            check_measures(&u.measures)?;
            prop_assert_eq!(u.states.iter().map(|s| s.1).sum::<i64>(), u.measures.tasks);
            let overdue = known.iter().filter(|t| t.department_id == u.department_id)
                .filter(|t| (t.state == TaskState::Done || t.state.is_open()) && is_overdue(t.due_at, t.done_at.filter(|_| t.state == TaskState::Done), now))
                .count();
            prop_assert_eq!(u.measures.overdue as usize, overdue);
        }
        for c in &cases {
            if let [Some(a), Some(b), Some(x), Some(total)] = case_spans(c) {
                prop_assert_eq!(a + b + x, total);
            }
            if matches!(c.state, CaseState::Verified | CaseState::Closed) && c.verified_at.is_some() {
                prop_assert!(case_spans(c).iter().all(Option::is_some));
            }
        }
        for t in &known {
            let c = cases.iter().find(|c| c.id == t.case_id).unwrap();
            if let [Some(a), Some(b), Some(x), Some(total)] = task_spans(t, c) {
                prop_assert_eq!(a + b + x, total);
            }
        }
    }

    /// The ranking is a function of the figures alone: ranked units come first with ranks that
    /// never decrease and that differ exactly when the figures do, a better on-time rate is
    /// never ranked below a worse one, and the input's order does not matter.
    #[test]
    fn ranking_follows_the_rule((cases, tasks, now) in arb_history(), min in 0i64..4, rotate in 0usize..30) {
        let rule = RankRule { min_decided: min };
        let f = figures(&cases, &tasks, now, rule);
        let units = &f.by_department;
        let ranked = units.iter().take_while(|u| u.rank.is_some()).count();
        prop_assert!(units[ranked..].iter().all(|u| u.rank.is_none() && u.measures.decided < min));
        prop_assert!(units[..ranked].iter().all(|u| u.measures.decided >= min));
        if ranked > 0 {
            prop_assert_eq!(units[0].rank, Some(1));
        }
        for w in units[..ranked].windows(2) {
            let (a, b) = (&w[0], &w[1]);
            prop_assert!(rank_cmp(a, b) != Ordering::Greater);
            prop_assert_eq!(a.rank == b.rank, rank_cmp(a, b) == Ordering::Equal);
            if let (Some(x), Some(y)) = (a.measures.on_time_rate(), b.measures.on_time_rate()) {
                prop_assert!(x >= y);
            }
        }
        let mut shuffled = tasks.clone();
        if !shuffled.is_empty() {
            let k = rotate % shuffled.len();
            shuffled.rotate_left(k);
        }
        let again = figures(&cases, &shuffled, now, rule);
        let key = |f: &Figures| f.by_department.iter().map(|u| (u.department_id, u.rank)).collect::<Vec<_>>();
        prop_assert_eq!(key(&f), key(&again));
    }
}
