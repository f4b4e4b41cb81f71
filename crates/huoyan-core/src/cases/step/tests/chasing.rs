//! Who is told of each step, and the group's chasing: urging, re-routing, moving a deadline.

use super::*;

/// The kinds of the notices a step leaves, with whom each goes to.
fn told(o: &Outcome) -> Vec<(&'static str, Vec<Audience>)> {
    o.notices
        .iter()
        .map(|(n, to)| (n.kind(), to.clone()))
        .collect()
}

#[test]
fn every_step_tells_whoever_acts_next() {
    let dept = |d| who(Role::Department, 40 + d, Some(d));
    let mut steps = dispatched(10, &[11]);
    steps.extend([
        (dept(10), Step::Accept { note: note("") }),
        (
            dept(10),
            Step::RequestExtension {
                note: note("缺物资"),
                until: T0 + 200 * H,
            },
        ),
        (
            GROUP,
            Step::GrantExtension {
                note: note(""),
                department_id: None,
            },
        ),
        (dept(11), Step::Accept { note: note("") }),
        (
            dept(10),
            Step::ReportFix {
                note: note("已整改"),
            },
        ),
        (
            dept(11),
            Step::ReportFix {
                note: note("已整改"),
            },
        ),
        (
            GROUP,
            Step::Rework {
                note: note("未整改到位"),
                departments: vec![11],
            },
        ),
        (
            dept(11),
            Step::ReportFix {
                note: note("再次整改"),
            },
        ),
        (
            GROUP,
            Step::Verify {
                note: note("属实")
            },
        ),
        (GROUP, Step::Close { note: note("") }),
    ]);
    let (_, _, outs) = walk(&steps).unwrap();
    let group = || vec![Audience::Role(Role::Group)];
    let expected: Vec<Vec<(&str, Vec<Audience>)>> = vec![
        vec![("triaged", group())],
        vec![
            ("dispatched", vec![Audience::Unit(10)]),
            ("dispatched", vec![Audience::Unit(11)]),
        ],
        vec![],
        vec![("extension_asked", group())],
        vec![("extension_granted", vec![Audience::Unit(10)])],
        vec![],
        vec![],
        vec![("fixed", vec![Audience::Verifier { reporter: 100 }])],
        vec![("reworked", vec![Audience::Unit(11)])],
        vec![("fixed", vec![Audience::Verifier { reporter: 100 }])],
        vec![("verified", group())],
        vec![("finished", vec![Audience::Account(100)])],
    ];
    let seen: Vec<_> = outs.iter().map(told).collect();
    assert_eq!(seen, expected);
    assert_eq!(
        outs[1].notices[0].0,
        Notice::Dispatched {
            case: 7,
            lead: true,
            due_at: outs[1].tasks[0].due_at
        }
    );
    // A lead sending the case back hands it to the group.
    let mut back = dispatched(10, &[]);
    back.push((
        dept(10),
        Step::SendBack {
            note: note("非本单位职责"),
        },
    ));
    let (_, _, outs) = walk(&back).unwrap();
    assert_eq!(told(outs.last().unwrap()), vec![("sent_back", group())]);
}

#[test]
fn the_group_urges_a_unit_and_the_figures_count_it() {
    let mut steps = dispatched(10, &[11]);
    steps.push((
        GROUP,
        Step::Urge {
            note: note("今日必须办结"),
            department_id: Some(11),
        },
    ));
    steps.push((
        GROUP,
        Step::Urge {
            note: note("请加快"),
            department_id: None,
        },
    ));
    let (c, tasks, outs) = walk(&steps).unwrap();
    assert_eq!(c.state, CaseState::Dispatched, "urging changes no state");
    assert_eq!(
        tasks.iter().map(|t| t.urges).collect::<Vec<_>>(),
        [1, 2],
        "a named unit alone, then every open task"
    );
    assert_eq!(outs[2].entries[0].department_id, Some(11));
    assert_eq!(
        outs[2].notices,
        vec![(
            Notice::Urged {
                case: 7,
                note: note("今日必须办结")
            },
            vec![Audience::Unit(11)]
        )]
    );
    assert_eq!(outs[3].notices.len(), 2);
    let at = T0 + 10 * H;
    let refuse = |step: &Step, actor: &Actor| {
        decide(&c, &tasks, actor, step, at, &DeadlinePolicy::default()).unwrap_err()
    };
    let unknown = Step::Urge {
        note: note("x"),
        department_id: Some(99),
    };
    assert!(
        matches!(refuse(&unknown, &GROUP), StepError::Invalid { field, .. } if field == "department_id")
    );
    let empty = Step::Urge {
        note: note(" "),
        department_id: None,
    };
    assert!(matches!(refuse(&empty, &GROUP), StepError::Invalid { field, .. } if field == "note"));
    assert_eq!(
        refuse(&unknown, &who(Role::Office, 2, None)),
        StepError::Forbidden
    );
}

#[test]
fn re_routing_withdraws_the_open_tasks_and_dispatches_afresh() {
    let mut steps = dispatched(10, &[11]);
    steps.push((
        who(Role::Department, 50, Some(10)),
        Step::Accept { note: note("") },
    ));
    steps.push((
        GROUP,
        Step::Reroute {
            note: note("应由市场监管局主办"),
            lead: 12,
            due_at: None,
            co: vec![CoUnit {
                department_id: 11,
                instruction: note("配合"),
                due_at: None,
            }],
        },
    ));
    let (c, tasks, outs) = walk(&steps).unwrap();
    assert_eq!(c.state, CaseState::Dispatched);
    assert_eq!(c.department_id, Some(12), "the new lead");
    let states: Vec<(i64, TaskState)> = tasks
        .iter()
        .map(|t| (t.task.department_id, t.task.state))
        .collect();
    assert_eq!(
        states,
        [
            (10, TaskState::Withdrawn),
            (11, TaskState::Withdrawn),
            (12, TaskState::Dispatched),
            (11, TaskState::Dispatched),
        ]
    );
    let kinds = told(outs.last().unwrap());
    assert_eq!(
        kinds,
        vec![
            ("withdrawn", vec![Audience::Unit(10)]),
            ("dispatched", vec![Audience::Unit(12)]),
            ("dispatched", vec![Audience::Unit(11)]),
        ],
        "the dropped lead is told it is withdrawn; the kept unit gets its new task"
    );
    assert_eq!(outs.last().unwrap().entries[0].action, "reroute");
    // The old units can no longer act on it.
    let at = T0 + 10 * H;
    assert!(
        decide(
            &c,
            &tasks,
            &who(Role::Department, 50, Some(10)),
            &Step::ReportFix { note: note("x") },
            at,
            &DeadlinePolicy::default()
        )
        .is_err()
    );
}

#[test]
fn the_group_moves_a_deadline_with_a_reason() {
    let (c, tasks, _) = walk(&dispatched(10, &[11])).unwrap();
    let at = tasks[0].due_at + H;
    let (late, _) = {
        let o = escalate(&c, &tasks, at, &HashMap::new()).unwrap();
        (o.tasks, o.case)
    };
    let step = Step::ChangeDeadline {
        note: note("雨天施工顺延"),
        department_id: None,
        due_at: at + 24 * H,
    };
    let o = decide(&c, &late, &GROUP, &step, at, &DeadlinePolicy::default()).unwrap();
    assert_eq!(
        o.tasks[0].due_at,
        at + 24 * H,
        "the lead's, when none is named"
    );
    assert_eq!(
        o.tasks[0].escalated_at, None,
        "chased again if missed again"
    );
    assert_eq!(
        o.tasks[1].due_at, late[1].due_at,
        "the other unit keeps its own"
    );
    assert_eq!(o.case.due_at, Some(late[1].due_at));
    assert_eq!(told(&o), vec![("deadline_moved", vec![Audience::Unit(10)])]);
    let past = Step::ChangeDeadline {
        note: note("x"),
        department_id: Some(11),
        due_at: at - 1,
    };
    assert!(matches!(
        decide(&c, &late, &GROUP, &past, at, &DeadlinePolicy::default()),
        Err(StepError::Invalid { field, .. }) if field == "due_at"
    ));
}
