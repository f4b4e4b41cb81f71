use proptest::prelude::*;

use super::*;

const H: i64 = 3_600_000;
const T0: i64 = 1_661_000_000_000;

fn case() -> CaseNow {
    CaseNow {
        id: 7,
        state: CaseState::Reported,
        category: Category::StaticControl,
        priority: Priority::Normal,
        reporter: 100,
        department_id: None,
        due_at: None,
        merged_into: None,
        updated_at: T0,
    }
}

fn who(role: Role, account_id: i64, department_id: Option<i64>) -> Actor {
    Actor {
        account_id,
        role,
        department_id,
    }
}

const OFFICE: Actor = Actor {
    account_id: 2,
    role: Role::Office,
    department_id: None,
};
const GROUP: Actor = Actor {
    account_id: 3,
    role: Role::Group,
    department_id: None,
};

fn note(s: &str) -> String {
    s.to_string()
}

/// Takes the steps in turn, an hour apart, returning the case and tasks after each.
fn walk(steps: &[(Actor, Step)]) -> Result<(CaseNow, Vec<TaskNow>, Vec<Outcome>), StepError> {
    let (mut c, mut tasks, mut outs) = (case(), Vec::new(), Vec::new());
    for (i, (actor, step)) in steps.iter().enumerate() {
        let o = decide(
            &c,
            &tasks,
            actor,
            step,
            T0 + (i as i64 + 1) * H,
            &DeadlinePolicy::default(),
        )?;
        c = o.case.clone();
        // The store gives new tasks their ids.
        tasks = o
            .tasks
            .iter()
            .enumerate()
            .map(|(k, t)| TaskNow {
                id: Some(t.id.unwrap_or(k as i64 + 1)),
                ..t.clone()
            })
            .collect();
        outs.push(o);
    }
    Ok((c, tasks, outs))
}

fn dispatched(lead: i64, co: &[i64]) -> Vec<(Actor, Step)> {
    vec![
        (
            OFFICE,
            Step::Triage {
                note: note("门岗无人"),
                category: None,
                priority: Some(Priority::High),
            },
        ),
        (
            GROUP,
            Step::Dispatch {
                note: note("立即安排值守"),
                lead,
                due_at: None,
                co: co
                    .iter()
                    .map(|&d| CoUnit {
                        department_id: d,
                        instruction: note("配合"),
                        due_at: None,
                    })
                    .collect(),
            },
        ),
    ]
}

#[test]
fn the_three_party_loop_from_report_to_close() {
    let mut steps = dispatched(10, &[]);
    let unit = who(Role::Department, 4, Some(10));
    steps.push((unit, Step::Accept { note: note("") }));
    steps.push((
        unit,
        Step::ReportFix {
            note: note("已安排两人值守"),
        },
    ));
    steps.push((
        who(Role::Supervisor, 100, None),
        Step::Verify {
            note: note("已核实"),
        },
    ));
    steps.push((GROUP, Step::Close { note: note("") }));
    let (c, tasks, outs) = walk(&steps).unwrap();
    assert_eq!(c.state, CaseState::Closed);
    assert_eq!(
        c.priority,
        Priority::High,
        "the office's triage classified it"
    );
    assert_eq!(c.department_id, Some(10));
    assert_eq!(c.due_at, None, "no task is open");
    assert_eq!(tasks.len(), 1);
    let t = &tasks[0];
    assert_eq!(t.task.state, TaskState::Done);
    // Dispatched at hour 2 with the high priority's 12 hours.
    assert_eq!((t.dispatched_at, t.due_at), (T0 + 2 * H, T0 + 14 * H));
    assert_eq!(
        (t.accepted_at, t.done_at),
        (Some(T0 + 3 * H), Some(T0 + 4 * H))
    );
    assert_eq!(t.instruction, "立即安排值守");
    let actions: Vec<_> = outs.iter().map(|o| o.entries[0].action).collect();
    assert_eq!(
        actions,
        [
            "triage",
            "dispatch",
            "accept",
            "report_fix",
            "verify",
            "close"
        ]
    );
    assert_eq!(outs[1].entries[0].department_id, Some(10));
    assert_eq!(outs[3].entries[0].from, Some(CaseState::Rectifying));
    assert_eq!(outs[3].entries[0].to, CaseState::Rectified);
}

#[test]
fn deadlines_in_the_past_are_refused_by_name() {
    let (c, _, _) = walk(&dispatched(10, &[])[..1]).unwrap();
    let at = T0 + 5 * H;
    let policy = DeadlinePolicy::default();
    let past = Step::Dispatch {
        note: note(""),
        lead: 10,
        due_at: Some(T0),
        co: vec![],
    };
    assert_eq!(
        decide(&c, &[], &GROUP, &past, at, &policy),
        Err(StepError::invalid(
            "due_at",
            "a deadline must lie in the future"
        ))
    );
    let co_past = Step::Dispatch {
        note: note(""),
        lead: 10,
        due_at: None,
        co: vec![CoUnit {
            department_id: 11,
            instruction: note(""),
            due_at: Some(at),
        }],
    };
    assert!(matches!(
        decide(&c, &[], &GROUP, &co_past, at, &policy),
        Err(StepError::Invalid { field, .. }) if field == "co[0].due_at"
    ));
    // An extension must move the deadline later than both the current one and now.
    let mut steps = dispatched(10, &[]);
    let unit = who(Role::Department, 4, Some(10));
    steps.push((unit, Step::Accept { note: note("") }));
    let (c, tasks, _) = walk(&steps).unwrap();
    let ask = |until| Step::RequestExtension {
        note: note("缺人手"),
        until,
    };
    for until in [T0, tasks[0].due_at] {
        assert!(matches!(
            decide(&c, &tasks, &unit, &ask(until), T0 + 4 * H, &policy),
            Err(StepError::Invalid { field, .. }) if field == "until"
        ));
    }
}

#[test]
fn extensions_are_asked_and_answered() {
    let mut steps = dispatched(10, &[11]);
    let unit = who(Role::Department, 4, Some(10));
    let until = T0 + 40 * H;
    steps.push((
        unit,
        Step::RequestExtension {
            note: note("缺人手"),
            until,
        },
    ));
    let (c, tasks, _) = walk(&steps).unwrap();
    assert_eq!(c.state, CaseState::Dispatched, "asking changes no state");
    assert_eq!(tasks[0].extension_until, Some(until));
    let policy = DeadlinePolicy::default();
    let grant = Step::GrantExtension {
        note: note(""),
        department_id: None,
    };
    let o = decide(&c, &tasks, &GROUP, &grant, T0 + 5 * H, &policy).unwrap();
    assert_eq!((o.tasks[0].due_at, o.tasks[0].extensions), (until, 1));
    assert_eq!(o.tasks[0].extension_until, None);
    assert_eq!(o.case.due_at, Some(o.tasks[1].due_at.min(until)));
    assert_eq!(o.entries[0].department_id, Some(10));
    // Answered too late, the asked deadline has passed: it can only be refused.
    assert!(decide(&c, &tasks, &GROUP, &grant, until + 1, &policy).is_err());
    let refuse = Step::RefuseExtension {
        note: note("按期完成"),
        department_id: Some(10),
    };
    let o = decide(&c, &tasks, &GROUP, &refuse, until + 1, &policy).unwrap();
    assert_eq!(
        (o.tasks[0].due_at, o.tasks[0].extension_until),
        (tasks[0].due_at, None)
    );
    assert_eq!(
        decide(&o.case, &o.tasks, &GROUP, &refuse, until + 2, &policy),
        Err(StepError::invalid("action", "no extension was requested"))
    );
}

#[test]
fn who_may_act() {
    let steps = dispatched(10, &[]);
    let (c, tasks, _) = walk(&steps).unwrap();
    let policy = DeadlinePolicy::default();
    let accept = Step::Accept { note: note("") };
    // A department account without a unit, and another unit, may not act on this task.
    assert_eq!(
        decide(
            &c,
            &tasks,
            &who(Role::Department, 4, None),
            &accept,
            T0 + 9 * H,
            &policy
        ),
        Err(StepError::Forbidden)
    );
    assert!(matches!(
        decide(&c, &tasks, &who(Role::Department, 5, Some(12)), &accept, T0 + 9 * H, &policy),
        Err(StepError::Invalid { field, .. }) if field == "department_id"
    ));
    assert_eq!(
        decide(&c, &tasks, &OFFICE, &accept, T0 + 9 * H, &policy),
        Err(StepError::Forbidden)
    );
    // Verification by a supervisor is the reporter's own.
    let mut steps = dispatched(10, &[]);
    let unit = who(Role::Department, 4, Some(10));
    steps.push((unit, Step::Accept { note: note("") }));
    steps.push((
        unit,
        Step::ReportFix {
            note: note("已整改"),
        },
    ));
    let (c, tasks, _) = walk(&steps).unwrap();
    let verify = Step::Verify { note: note("ok") };
    assert_eq!(
        decide(
            &c,
            &tasks,
            &who(Role::Supervisor, 101, None),
            &verify,
            T0 + 9 * H,
            &policy
        ),
        Err(StepError::Forbidden)
    );
    assert!(
        decide(
            &c,
            &tasks,
            &who(Role::Supervisor, 100, None),
            &verify,
            T0 + 9 * H,
            &policy
        )
        .is_ok()
    );
    // A note that is the step's substance may not be empty.
    assert_eq!(
        decide(
            &c,
            &tasks,
            &GROUP,
            &Step::Verify { note: note("  ") },
            T0 + 9 * H,
            &policy
        ),
        Err(StepError::invalid("note", "must not be empty"))
    );
}

#[test]
fn a_merge_tells_every_reporter_once_and_takes_its_followers_along() {
    let into = MergeInto {
        id: 9,
        state: CaseState::Triaged,
        reporter: 200,
        absorbed: vec![(5, 100), (6, 300)],
    };
    let step = Step::Merge {
        note: note("同一门岗"),
        into: into.clone(),
    };
    let o = decide(
        &case(),
        &[],
        &OFFICE,
        &step,
        T0 + H,
        &DeadlinePolicy::default(),
    )
    .unwrap();
    assert_eq!(
        (o.case.state, o.case.merged_into),
        (CaseState::Merged, Some(9))
    );
    assert_eq!(o.redirected, vec![5, 6]);
    assert_eq!(
        o.notices,
        vec![(
            Notice::Merged { case: 7, into: 9 },
            vec![
                Audience::Account(100),
                Audience::Account(200),
                Audience::Account(300)
            ]
        )]
    );
    assert_eq!(o.entries.len(), 2);
    assert_eq!((o.entries[1].case_id, o.entries[1].action), (9, "absorb"));
    let closed = Step::Merge {
        note: note(""),
        into: MergeInto {
            state: CaseState::Closed,
            ..into.clone()
        },
    };
    assert!(
        decide(
            &case(),
            &[],
            &OFFICE,
            &closed,
            T0 + H,
            &DeadlinePolicy::default()
        )
        .is_err()
    );
    let itself = Step::Merge {
        note: note(""),
        into: MergeInto { id: 7, ..into },
    };
    assert!(
        decide(
            &case(),
            &[],
            &OFFICE,
            &itself,
            T0 + H,
            &DeadlinePolicy::default()
        )
        .is_err()
    );
}

#[test]
fn overdue_tasks_are_escalated_once() {
    let (c, tasks, _) = walk(&dispatched(10, &[11])).unwrap();
    let names = HashMap::from([(10, "派出所".to_string()), (11, "物业".to_string())]);
    assert_eq!(escalate(&c, &tasks, tasks[0].due_at, &names), None);
    let late = tasks[0].due_at + 1;
    let o = escalate(&c, &tasks, late, &names).unwrap();
    assert_eq!(o.entries.len(), 2, "both units are late");
    assert!(o.tasks.iter().all(|t| t.escalated_at == Some(late)));
    let chasers = vec![Audience::Role(Role::Group), Audience::Role(Role::Commander)];
    assert_eq!(
        o.notices[0].1, chasers,
        "the group and the commanders chase"
    );
    assert_eq!(
        o.notices[1],
        (
            Notice::Overdue {
                case: 7,
                due_at: tasks[0].due_at
            },
            vec![Audience::Unit(10)]
        ),
        "and the unit is told"
    );
    assert_eq!(o.case, c, "escalation changes no state");
    assert_eq!(escalate(&o.case, &o.tasks, late + H, &names), None);
}

#[test]
fn files_are_added_by_the_cases_actors_while_it_is_open() {
    let (c, tasks, _) = walk(&dispatched(10, &[])).unwrap();
    let units = open_units(&tasks);
    assert_eq!(units, vec![10]);
    let may = |state: CaseState, actor: Actor| may_attach(state, c.reporter, &units, &actor);
    assert!(may(c.state, who(Role::Supervisor, 100, None)).is_ok());
    assert!(may(c.state, who(Role::Department, 4, Some(10))).is_ok());
    assert_eq!(
        may(c.state, who(Role::Department, 5, Some(12))),
        Err(StepError::Forbidden)
    );
    assert_eq!(
        may(c.state, who(Role::Supervisor, 101, None)),
        Err(StepError::Forbidden)
    );
    assert!(matches!(
        may(CaseState::Closed, who(Role::Supervisor, 100, None)),
        Err(StepError::Invalid { field, .. }) if field == "file"
    ));
}

fn any_step(units: Vec<i64>) -> impl Strategy<Value = (Actor, Step)> {
    let unit = proptest::sample::select(units.clone());
    let roles = proptest::sample::select(vec![
        Role::Office,
        Role::Group,
        Role::Department,
        Role::Supervisor,
        Role::Inspector,
    ]);
    (
        0usize..14,
        roles,
        unit,
        proptest::collection::vec(proptest::sample::select(units), 0..3),
        0i64..60,
    )
        .prop_map(|(a, role, unit, others, hours)| {
            let actor = Actor {
                account_id: if role == Role::Supervisor { 100 } else { unit },
                role,
                department_id: (role == Role::Department).then_some(unit),
            };
            let n = note("说明");
            let step = match a {
                0 => Step::Triage {
                    note: n,
                    category: None,
                    priority: None,
                },
                1 => Step::Reject { note: n },
                2 => Step::Dispatch {
                    note: n,
                    lead: unit,
                    due_at: None,
                    co: others
                        .iter()
                        .map(|&d| CoUnit {
                            department_id: d,
                            instruction: note(""),
                            due_at: None,
                        })
                        .collect(),
                },
                3 => Step::Accept { note: n },
                4 => Step::SendBack { note: n },
                5 => Step::ReportFix { note: n },
                6 => Step::Verify { note: n },
                7 => Step::Rework {
                    note: n,
                    departments: others,
                },
                8 => Step::Close { note: n },
                9 => Step::FixOnSite { note: n },
                10 => Step::RequestExtension {
                    note: n,
                    until: T0 + hours * 24 * H,
                },
                11 => Step::GrantExtension {
                    note: n,
                    department_id: None,
                },
                12 => Step::RefuseExtension {
                    note: n,
                    department_id: Some(unit),
                },
                _ => Step::Merge {
                    note: n,
                    into: MergeInto {
                        id: 99,
                        state: CaseState::Triaged,
                        reporter: 1,
                        absorbed: vec![],
                    },
                },
            };
            (actor, step)
        })
}

proptest! {
    /// Whatever steps whoever tries, an accepted step follows the state machine for its action
    /// and role, never touches an earlier task's identity or order, keeps the case's derived
    /// fields in step with its tasks, and writes exactly one entry for the case itself.
    #[test]
    fn every_accepted_step_keeps_the_case_consistent(steps in proptest::collection::vec(any_step(vec![10, 11, 12]), 0..40)) {
        let (mut c, mut tasks) = (case(), Vec::<TaskNow>::new());
        let policy = DeadlinePolicy::default();
        for (i, (actor, step)) in steps.iter().enumerate() {
            let at = T0 + i as i64 * H;
            let Ok(o) = decide(&c, &tasks, actor, step, at, &policy) else { continue };
            let allowed = transition(c.state, step.action(), actor.role);
            prop_assert!(allowed.is_ok());
            prop_assert!(!c.state.is_terminal());
            prop_assert!(o.tasks.len() >= tasks.len());
            for (before, after) in tasks.iter().zip(&o.tasks) {
                prop_assert_eq!(before.id, after.id);
                prop_assert_eq!(before.task.department_id, after.task.department_id);
                prop_assert_eq!(before.task.share, after.task.share);
            }
            prop_assert_eq!(o.case.due_at, o.tasks.iter().filter(|t| t.task.state.is_open()).map(|t| t.due_at).min());
            prop_assert!(o.tasks.iter().all(|t| !t.task.state.is_open() || t.due_at > t.dispatched_at));
            prop_assert_eq!(o.entries.iter().filter(|e| e.case_id == c.id).count(), 1);
            prop_assert_eq!(o.case.updated_at, at);
            c = o.case;
            tasks = o.tasks.into_iter().enumerate().map(|(k, t)| TaskNow { id: Some(k as i64), ..t }).collect();
        }
    }
}

mod chasing;
