//! The demo's historical cases (2022-08-20 to 09-05): about 300, in every state and category,
//! each timeline a walk the workflow allows, each case's state, lead and deadline what its
//! timeline and tasks make them, and departments that differ in how often they are on time.

use std::collections::{BTreeSet, HashMap};

use huoyan_core::auth::Role;
use huoyan_core::cases::{Action, CaseState, Category, transition};
use sqlx::Row;

use crate::spawn_app;

fn bj(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

struct Event {
    at: i64,
    actor: Option<i64>,
    action: String,
    from: Option<String>,
    to: String,
    department: Option<i64>,
}

struct TaskRow {
    department: i64,
    share: String,
    state: String,
    due_at: i64,
    times: [Option<i64>; 4],
}

#[tokio::test]
async fn the_demo_cases_walk_the_workflow_from_the_order_to_the_fifth_of_september() {
    let app = spawn_app(true).await;
    let db = &app.db.pool;
    let (from, until) = (
        bj("2022-08-20T00:00:00+08:00"),
        bj("2022-09-06T00:00:00+08:00"),
    );
    let within = |ms: i64| (from..until).contains(&ms);

    let mut accounts: HashMap<i64, (Role, Option<i64>)> = HashMap::new();
    for r in sqlx::query("SELECT id, role, scope_department_id FROM accounts")
        .fetch_all(db)
        .await
        .unwrap()
    {
        let role: String = r.get(1);
        accounts.insert(r.get(0), (Role::parse(&role).unwrap(), r.get(2)));
    }
    let mut events: HashMap<i64, Vec<Event>> = HashMap::new();
    for r in sqlx::query("SELECT case_id, at, actor_account_id, action, from_state, to_state, department_id FROM case_events ORDER BY id")
        .fetch_all(db)
        .await
        .unwrap()
    {
        events.entry(r.get(0)).or_default().push(Event {
            at: r.get(1),
            actor: r.get(2),
            action: r.get(3),
            from: r.get(4),
            to: r.get(5),
            department: r.get(6),
        });
    }
    let mut tasks: HashMap<i64, Vec<TaskRow>> = HashMap::new();
    for r in sqlx::query("SELECT case_id, department_id, share, state, due_at, dispatched_at, accepted_at, done_at, escalated_at FROM case_tasks ORDER BY id")
        .fetch_all(db)
        .await
        .unwrap()
    {
        let dispatched: i64 = r.get(5);
        tasks.entry(r.get(0)).or_default().push(TaskRow {
            department: r.get(1),
            share: r.get(2),
            state: r.get(3),
            due_at: r.get(4),
            times: [Some(dispatched), r.get(6), r.get(7), r.get(8)],
        });
    }

    let cases = sqlx::query("SELECT id, state, category, department_id, due_at, reported_at, updated_at, merged_into, reporter_account_id FROM cases ORDER BY id")
        .fetch_all(db)
        .await
        .unwrap();
    // About 300 of the scenario's own, and the supervision teams' findings (about 60).
    assert!((300..=420).contains(&cases.len()), "{} cases", cases.len());
    let mut states = BTreeSet::new();
    let mut categories = BTreeSet::new();
    let mut actions = BTreeSet::new();
    for c in &cases {
        let id: i64 = c.get(0);
        let state: String = c.get(1);
        let category: String = c.get(2);
        let (lead, due): (Option<i64>, Option<i64>) = (c.get(3), c.get(4));
        let (reported, updated): (i64, i64) = (c.get(5), c.get(6));
        let (merged_into, reporter): (Option<i64>, i64) = (c.get(7), c.get(8));
        states.insert(state.clone());
        categories.insert(category);
        assert!(
            within(reported) && within(updated) && reported <= updated,
            "case {id}"
        );

        // The timeline: a report, then steps each allowed to its actor's role from the state the
        // previous one left, forward in time, ending where the case is.
        let timeline = &events[&id];
        assert_eq!(
            (
                timeline[0].action.as_str(),
                timeline[0].from.as_deref(),
                timeline[0].to.as_str(),
                timeline[0].actor
            ),
            ("report", None, "reported", Some(reporter)),
            "case {id} begins with its report"
        );
        assert_eq!(timeline[0].at, reported, "case {id}");
        let mut current = "reported".to_string();
        let mut last_at = reported;
        for e in &timeline[1..] {
            assert!(
                within(e.at) && e.at >= last_at,
                "case {id}: {} at {}",
                e.action,
                e.at
            );
            assert_eq!(
                e.from.as_deref(),
                Some(current.as_str()),
                "case {id}: {}",
                e.action
            );
            actions.insert(e.action.clone());
            match e.action.as_str() {
                // The overdue job's entry names the unit and no actor; the surviving case of a
                // merge records it. Neither changes the state.
                "escalate" => {
                    assert!(e.actor.is_none() && e.department.is_some(), "case {id}");
                    assert_eq!(e.to, current, "case {id}");
                }
                "absorb" => {
                    assert_eq!(accounts[&e.actor.unwrap()].0, Role::Office, "case {id}");
                    assert_eq!(e.to, current, "case {id}");
                }
                action => {
                    let action =
                        Action::parse(action).unwrap_or_else(|| panic!("case {id}: {action}"));
                    let (role, unit) = accounts[&e.actor.expect("a step has an actor")];
                    let state = CaseState::parse(&current).unwrap();
                    assert!(
                        transition(state, action, role).is_ok(),
                        "case {id}: a {role:?} may not {action:?} a {state:?} case"
                    );
                    if role == Role::Department {
                        assert_eq!(unit, e.department, "case {id}: a unit acts on its own task");
                    }
                    if role == Role::Supervisor && matches!(action, Action::Verify | Action::Rework)
                    {
                        assert_eq!(
                            e.actor,
                            Some(reporter),
                            "case {id}: the reporter re-inspects"
                        );
                    }
                }
            }
            current = e.to.clone();
            last_at = e.at;
        }
        assert_eq!(
            current, state,
            "case {id}: the timeline ends where the case is"
        );
        let last_step = timeline
            .iter()
            .filter(|e| e.action != "escalate" && e.action != "absorb")
            .map(|e| e.at)
            .max();
        assert_eq!(
            Some(updated),
            last_step,
            "case {id}: updated at its last step"
        );

        // Lead and deadline are what the tasks make them.
        let units = tasks.get(&id).map(Vec::as_slice).unwrap_or_default();
        let open_due = units
            .iter()
            .filter(|t| matches!(t.state.as_str(), "dispatched" | "rectifying"))
            .map(|t| t.due_at)
            .min();
        assert_eq!(
            due, open_due,
            "case {id}: due at its earliest open task's deadline"
        );
        let expected_lead = units
            .iter()
            .rev()
            .find(|t| t.share == "lead" && t.state != "withdrawn")
            .map(|t| t.department);
        assert_eq!(lead, expected_lead, "case {id}: the lead unit");
        for t in units {
            for at in t.times.iter().flatten() {
                assert!(within(*at), "case {id}: task times fall in the operation");
            }
            assert!(
                t.due_at > t.times[0].unwrap(),
                "case {id}: due after dispatch"
            );
        }
        assert_eq!(
            merged_into.is_some(),
            state == "merged",
            "case {id}: merged into a case exactly when merged"
        );
        if let Some(target) = merged_into {
            assert!(
                events[&target].iter().any(|e| e.action == "absorb"),
                "case {target} records the report merged into it"
            );
        }
    }
    let all_states: BTreeSet<String> = CaseState::ALL
        .iter()
        .map(|s| s.code().to_string())
        .collect();
    assert_eq!(states, all_states, "every state appears");
    let all_categories: BTreeSet<String> =
        Category::ALL.iter().map(|c| c.code().to_string()).collect();
    assert_eq!(categories, all_categories, "every category appears");
    for step in [
        "send_back",
        "rework",
        "request_extension",
        "grant_extension",
        "refuse_extension",
        "escalate",
        "merge",
        "fix_on_site",
        "reject",
    ] {
        assert!(actions.contains(step), "some case went through {step}");
    }

    // Departments differ in how often they finish on time: the figures have a spread to show.
    let rates = sqlx::query(
        "SELECT department_id, SUM(CASE WHEN done_at <= due_at THEN 1 ELSE 0 END), COUNT(*) FROM case_tasks WHERE done_at IS NOT NULL \
         GROUP BY department_id HAVING COUNT(*) >= 10",
    )
    .fetch_all(db)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<i64, _>(1) as f64 / r.get::<i64, _>(2) as f64)
    .collect::<Vec<f64>>();
    let (best, worst) = rates
        .iter()
        .fold((0f64, 1f64), |(b, w), r| (b.max(*r), w.min(*r)));
    assert!(
        rates.len() >= 8 && best - worst >= 0.15,
        "on-time rates {rates:?}"
    );

    for r in sqlx::query("SELECT at, read_at FROM notifications")
        .fetch_all(db)
        .await
        .unwrap()
    {
        let (at, read): (i64, Option<i64>) = (r.get(0), r.get(1));
        assert!(within(at) && read.is_some_and(|r| within(r) && r >= at));
    }
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        huoyan::audit::Verdict::Intact { .. }
    ));
    // The history went through the workflow: each step of a timeline has its audit event, by
    // its actor at its historical time (a merge's `absorb` line on the surviving case is the
    // merged report's event), and so has each file, which came with its step.
    let mut audited: HashMap<i64, BTreeSet<(String, i64, Option<i64>)>> = HashMap::new();
    let mut attached: HashMap<i64, Vec<(i64, Option<i64>)>> = HashMap::new();
    for r in sqlx::query(
        "SELECT entity_id, action, at_ms, actor_id FROM audit_events WHERE entity = 'case'",
    )
    .fetch_all(db)
    .await
    .unwrap()
    {
        let id: String = r.get(0);
        let (action, at, actor): (String, i64, Option<i64>) = (r.get(1), r.get(2), r.get(3));
        if action == "attach" {
            attached
                .entry(id.parse().unwrap())
                .or_default()
                .push((at, actor));
        } else {
            audited
                .entry(id.parse().unwrap())
                .or_default()
                .insert((action, at, actor));
        }
    }
    let mut files: HashMap<i64, Vec<(i64, Option<i64>)>> = HashMap::new();
    for r in sqlx::query(
        "SELECT f.case_id, f.uploaded_at, f.uploaded_by, e.at, e.actor_account_id \
         FROM case_files f JOIN case_events e ON e.id = f.entry_id ORDER BY f.id",
    )
    .fetch_all(db)
    .await
    .unwrap()
    {
        let (at, by): (i64, Option<i64>) = (r.get(1), r.get(2));
        assert_eq!((at, by), (r.get(3), r.get(4)), "a file came with its step");
        files.entry(r.get(0)).or_default().push((at, by));
    }
    for list in attached.values_mut().chain(files.values_mut()) {
        list.sort();
    }
    assert_eq!(attached, files, "one audit event per file");
    // Where the default policy asks a photo of the fix, every fix has one.
    let policy = huoyan_core::cases::EvidencePolicy::default();
    let needs: Vec<String> = Category::ALL
        .iter()
        .filter(|c| policy.needs_fix_photo(**c))
        .map(|c| format!("'{}'", c.code()))
        .collect();
    let fixes = |with_photo: bool| {
        let sql = format!(
            "SELECT COUNT(*) FROM case_events e JOIN cases c ON c.id = e.case_id \
             WHERE e.action IN ('report_fix', 'fix_on_site') AND c.category IN ({}) AND {} EXISTS \
             (SELECT 1 FROM case_files f WHERE f.entry_id = e.id AND f.media_type LIKE 'image/%')",
            needs.join(", "),
            if with_photo { "" } else { "NOT" }
        );
        async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(db)
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    assert!(fixes(true).await >= 20, "the demo shows fixes with photos");
    assert_eq!(fixes(false).await, 0, "no fix without its photo");
    for (case, timeline) in &events {
        let steps: BTreeSet<(String, i64, Option<i64>)> = timeline
            .iter()
            .filter(|e| e.action != "absorb")
            .map(|e| (e.action.clone(), e.at, e.actor))
            .collect();
        assert_eq!(audited.get(case), Some(&steps), "case {case}");
    }

    // The API shows them in each role's scope: the group all, a compound's supervisor theirs.
    let group = app.token("group").await;
    let (_, listed) = app.get(&group, "/api/v1/cases?limit=1").await;
    assert_eq!(listed["total"].as_i64(), Some(cases.len() as i64));
    let supervisor = app.token("supervisor-005").await;
    let (_, own) = app.get(&supervisor, "/api/v1/cases?limit=500").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE code = 'DQ-C005'")
        .await;
    assert!(
        own["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["compound_id"] == compound)
    );
}

/// `huoyan demo --cases N`: about N cases over the scenario's days through the same path, in
/// every state with the units' tasks, extensions and reworks, ids following the time of report,
/// and an intact audit trail.
#[tokio::test]
async fn the_generator_fills_a_database_with_about_n_cases_of_every_kind() {
    let fresh = crate::fresh_db().await;
    let db = &fresh.db;
    let mut progress = Vec::new();
    huoyan::demo::load(db, Some(3000), &mut |m| progress.push(m.to_string()))
        .await
        .unwrap();
    let n = |sql: &str| {
        let sql = sql.to_string();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_one(&db.pool)
                .await
                .unwrap()
                .try_get::<i64, _>(0)
                .unwrap()
        }
    };
    let cases = n("SELECT COUNT(*) FROM cases").await;
    assert!((2850..=3300).contains(&cases), "{cases} cases");
    assert!(
        progress.iter().any(|m| m.contains("to day 17 of 17")),
        "progress is reported day by day: {progress:?}"
    );
    let states = n("SELECT COUNT(DISTINCT state) FROM cases").await;
    assert_eq!(states, CaseState::ALL.len() as i64, "every state");
    assert!(n("SELECT COUNT(*) FROM case_tasks WHERE extensions > 0").await > 0);
    assert!(n("SELECT COUNT(*) FROM case_tasks WHERE reworks > 0").await > 0);
    assert!(n("SELECT COUNT(*) FROM cases WHERE merged_into IS NOT NULL").await > 0);
    // Only a duplicate reported days after the day it joins comes before later days' reports.
    let inversions = n(
        "SELECT COUNT(*) FROM cases a JOIN cases b ON b.id = a.id + 1 \
         WHERE b.reported_at < a.reported_at - 86400000",
    )
    .await;
    assert!(
        inversions * 100 < cases,
        "{inversions} ids out of time order"
    );
    let verdict = huoyan::audit::verify(db).await.unwrap();
    assert!(
        matches!(verdict, huoyan::audit::Verdict::Intact { .. }),
        "{verdict:?}"
    );
}
