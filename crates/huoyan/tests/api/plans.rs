//! The case list at scale: its statements read in an index's order as far as the page reaches
//! instead of sorting every match (the plans, on the backend under test, for each filter and the
//! roles whose scope adds its own condition), its pages cross from the overdue cases to the
//! others without losing or repeating one, and its total stops counting at 1,000.

use huoyan::cases::{CaseFilter, ListSql};
use huoyan::db::{Backend, Sql};
use serde_json::Value;
use sqlx::Row;

use crate::{TestApp, spawn_app};

/// The plan of `sql` as one text. On PostgreSQL, sequential scans and sorts are priced out (a
/// demo's few hundred rows would make any plan cheapest), so that a sort or a full scan shows
/// only where no index can serve the statement.
pub(crate) async fn plan(app: &TestApp, sql: &Sql) -> String {
    let lines: Vec<String> = match app.db.backend {
        Backend::Sqlite => sql
            .with_text(&format!("EXPLAIN QUERY PLAN {}", sql.text()))
            .query()
            .fetch_all(&app.db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String, _>("detail").unwrap())
            .collect(),
        Backend::Postgres => {
            let mut tx = app.db.pool.begin().await.unwrap();
            for set in [
                "SET LOCAL enable_seqscan = off",
                "SET LOCAL enable_sort = off",
            ] {
                sqlx::query(set).execute(&mut *tx).await.unwrap();
            }
            let rows = sql
                .with_text(&format!("EXPLAIN {}", sql.text()))
                .query()
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            rows.iter()
                .map(|r| r.try_get::<String, _>(0).unwrap())
                .collect()
        }
    };
    lines.join("\n")
}

/// A sort of every match, as each backend's plan shows it (a sort that only breaks ties within
/// an index's order is not one).
fn sorts_all(backend: Backend, plan: &str) -> bool {
    match backend {
        Backend::Sqlite => plan.contains("USE TEMP B-TREE FOR ORDER BY"),
        Backend::Postgres => plan.lines().any(|l| {
            l.trim_start()
                .trim_start_matches("->")
                .trim_start()
                .starts_with("Sort ")
        }),
    }
}

/// A search that reads the whole timeline to find the cases whose notes match before it looks at
/// a case (PostgreSQL's hashed subplan: 1.4 s at 399,168 cases), instead of each case's notes in
/// turn until the page is full.
fn reads_every_note(backend: Backend, plan: &str) -> bool {
    match backend {
        Backend::Sqlite => plan
            .lines()
            .any(|l| l.trim_start_matches(['|', '`', '-', ' ']) == "SCAN se"),
        Backend::Postgres => plan.contains("hashed SubPlan"),
    }
}

/// A read of the whole table without an index.
fn scans_unordered(backend: Backend, plan: &str) -> bool {
    match backend {
        Backend::Sqlite => plan.lines().any(|l| l.trim() == "SCAN cases"),
        Backend::Postgres => plan.contains("Seq Scan on cases"),
    }
}

#[tokio::test]
async fn every_filter_of_the_list_reads_a_page_in_an_index_order() {
    let app = spawn_app(true).await;
    let district = app
        .id_of("SELECT id FROM regions WHERE level = 'district' ORDER BY id LIMIT 1")
        .await;
    let compound = app
        .id_of("SELECT compound_id FROM cases GROUP BY compound_id ORDER BY COUNT(*) DESC, compound_id LIMIT 1")
        .await;
    let department = app
        .id_of("SELECT department_id FROM case_tasks GROUP BY department_id ORDER BY COUNT(*) DESC, department_id LIMIT 1")
        .await;
    let filters: Vec<(&str, CaseFilter)> = vec![
        ("none", CaseFilter::default()),
        (
            "state",
            CaseFilter {
                state: Some("dispatched".into()),
                ..Default::default()
            },
        ),
        (
            "states",
            CaseFilter {
                state: Some("dispatched,rectifying".into()),
                ..Default::default()
            },
        ),
        (
            "category",
            CaseFilter {
                category: Some("supplies".into()),
                ..Default::default()
            },
        ),
        (
            "source",
            CaseFilter {
                source: Some("hotline".into()),
                ..Default::default()
            },
        ),
        (
            "region",
            CaseFilter {
                region_id: Some(district),
                ..Default::default()
            },
        ),
        (
            "compound",
            CaseFilter {
                compound_id: Some(compound),
                ..Default::default()
            },
        ),
        (
            "department",
            CaseFilter {
                department_id: Some(department),
                ..Default::default()
            },
        ),
        (
            "period",
            CaseFilter {
                from: Some("2022-09-01".into()),
                to: Some("2022-09-02".into()),
                ..Default::default()
            },
        ),
        (
            "mine",
            CaseFilter {
                mine: Some(true),
                ..Default::default()
            },
        ),
        (
            "search",
            CaseFilter {
                q: Some(huoyan::check::Text::parse("蔬菜".into()).unwrap()),
                ..Default::default()
            },
        ),
    ];
    let backend = app.db.backend;
    let mut failures = Vec::new();
    for username in ["group", "supervisor", "dept-gelin"] {
        let p = crate::principal(&app.db, username).await;
        for (name, f) in &filters {
            let sql = ListSql::new(&app.db, &p, f, huoyan::time::now_ms(), 50)
                .await
                .unwrap();
            let [overdue, rest] = &sql.parts;
            for (part, statement) in [
                ("count", &sql.total.sql),
                ("overdue count", &sql.overdue_total.sql),
                ("overdue", overdue),
                ("rest", rest),
            ] {
                let plan = plan(&app, statement).await;
                // The overdue part holds only open cases (a closed one has no deadline); it may
                // sort them, never the history. The rest may sort only what a range of its own
                // index bounds: one period's reports, the cases in a few states (the open
                // ones, on the boards), or those whose entries hold a rare word's pairs (fewer
                // than `search::COMMON` entries, or the search is not narrowed).
                let bounded = matches!(*name, "period" | "states" | "search");
                // A rare word (蔬菜 is, in the demo) starts from the index of pairs; on
                // PostgreSQL its cases are read once before the list (an InitPlan), lest the
                // planner, guessing thousands, walk the newest cases testing each.
                let misses_the_index = *name == "search"
                    && (!plan.contains("case_search")
                        || (backend == Backend::Postgres && !plan.contains("InitPlan")));
                // A region counted alone, for a role the region does not narrow further,
                // starts from its compounds' entries (SQLite, which plans it so whatever the
                // data; a small district's count walked the whole compound index before).
                let walks_every_compound = backend == Backend::Sqlite
                    && username == "group"
                    && *name == "region"
                    && part == "count"
                    && !plan.contains("cases_compound (compound_id=?)");
                // A scope of the whole city tests nothing: no row is read for it.
                let tests_the_city = username == "group" && statement.text().contains("regions sr");
                // A unit's open cases are counted from the state index (the work in hand), not
                // from the unit's tasks of every day.
                let counts_every_task = backend == Backend::Sqlite
                    && username == "dept-gelin"
                    && *name == "states"
                    && part == "count"
                    && !plan.contains("cases_state");
                // A unit's cases are counted from its tasks in case order, each told from the
                // one before, as far as the count reaches: neither listed whole first (SQLite)
                // nor hashed (PostgreSQL), which read every task of the unit's history.
                let unit_counted = part == "count"
                    && *name != "state"
                    && *name != "states"
                    && (username == "dept-gelin" || *name == "department");
                let lists_the_unit = unit_counted
                    && match backend {
                        Backend::Sqlite => {
                            !plan.contains("SEARCH ut USING COVERING INDEX case_tasks_unit_cases")
                                || plan.contains("TEMP B-TREE")
                        }
                        Backend::Postgres => {
                            !plan.contains("case_tasks_unit_cases on case_tasks ut")
                                || plan.contains("Hash")
                        }
                    };
                let bad = scans_unordered(backend, &plan) && part.starts_with("overdue")
                    || tests_the_city
                    || counts_every_task
                    || lists_the_unit
                    || (part == "rest" && !bounded && sorts_all(backend, &plan))
                    || reads_every_note(backend, &plan)
                    || walks_every_compound
                    || misses_the_index;
                if bad {
                    failures.push(format!("{username} / {name} / {part}:\n{plan}\n"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The ids of a list's items.
pub(crate) fn ids(body: &Value) -> Vec<i64> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn pages_cross_from_the_overdue_cases_to_the_rest_without_a_gap() {
    let app = spawn_app(true).await;
    let group = app.token("group").await;
    let (status, all) = app.get(&group, "/api/v1/cases?limit=500").await;
    assert_eq!(status, 200, "{all}");
    let all_ids = ids(&all);
    let overdue = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .take_while(|c| c["overdue"] == true)
        .count();
    assert!(
        overdue >= 3 && overdue + 10 < all_ids.len(),
        "the demo has overdue cases and others: {overdue} of {}",
        all_ids.len()
    );
    // Overdue ones come first, by deadline; then the newest.
    let items = all["items"].as_array().unwrap();
    let due = |i: usize| items[i]["due_at"].as_str().unwrap().to_string();
    assert!((1..overdue).all(|i| due(i - 1) <= due(i)));
    assert!(
        all_ids[overdue..].windows(2).all(|w| w[0] > w[1]),
        "the rest newest first"
    );
    // An offset at the end of i64 is an empty page (it overflowed the page's end before).
    for path in ["/api/v1/cases", "/api/v1/cases/geojson"] {
        let (status, body) = app
            .get(
                &group,
                &format!("{path}?limit=-9223372036854775808&offset=9223372036854775806"),
            )
            .await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // Pages of 7 from every offset around the boundary are the same slices.
    for offset in overdue.saturating_sub(8)..overdue + 8 {
        let (status, page) = app
            .get(&group, &format!("/api/v1/cases?limit=7&offset={offset}"))
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(ids(&page), all_ids[offset..offset + 7], "offset {offset}");
        assert_eq!(page["total"], all["total"]);
        assert_eq!(page["total_capped"], false);
    }
}

#[tokio::test]
async fn a_total_past_a_thousand_is_a_bound_not_a_count() {
    let app = spawn_app(true).await;
    let group = app.token("group").await;
    // 1,001 more reports, copies of the first one, written straight into the table.
    sqlx::query(
        "INSERT INTO cases (kind, source, category, priority, state, compound_id, description, \
         reporter_account_id, reported_at, updated_at) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1001) \
         SELECT c.kind, c.source, c.category, c.priority, 'reported', c.compound_id, c.description, \
         c.reporter_account_id, c.reported_at, c.updated_at FROM n, cases c WHERE c.id = (SELECT MIN(id) FROM cases)",
    )
    .execute(&app.owner.pool)
    .await
    .unwrap();
    let (status, page) = app.get(&group, "/api/v1/cases?limit=50").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1_000);
    assert_eq!(page["total_capped"], true);
    assert_eq!(ids(&page).len(), 50);
    // A narrower filter is counted exactly.
    let (_, page) = app
        .get(&group, "/api/v1/cases?limit=5&state=dispatched")
        .await;
    assert_eq!(page["total_capped"], false, "{page}");
    // The page says 1000+ and still offers the next page.
    let client = crate::page_client();
    let password = huoyan::auth::password::DEMO_PASSWORD;
    assert_eq!(
        crate::page_login(&client, &app, "group", password).await,
        303
    );
    let html = client
        .get(format!("{}/cases", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("(1000+)"), "the list page shows a bound");
    assert!(html.contains("offset=50"), "and a next page");
}

#[tokio::test]
async fn the_boards_and_the_figures_open_tasks_read_their_indexes() {
    let app = spawn_app(true).await;
    let backend = app.db.backend;
    let mut failures = Vec::new();
    // The figures' open tasks past their deadline: one index of the open tasks, no case row (a
    // unit's figures may start from its open tasks instead).
    let now = huoyan::time::now_ms();
    let all = huoyan::cases::figures::tallies::open_overdue_sql(now, None, None, None, None);
    let read = plan(&app, &all).await;
    // PostgreSQL reads the index alone once the table is vacuumed (at 990,188 cases: Index Only
    // Scan); on a fresh demo it may visit the few rows it finds there.
    let covered = match backend {
        Backend::Sqlite => read.contains("COVERING INDEX case_tasks_due"),
        Backend::Postgres => {
            read.contains("using case_tasks_due") || read.contains("on case_tasks_due")
        }
    };
    let unit = huoyan::cases::figures::tallies::open_overdue_sql(
        now,
        Some(0),
        Some(0),
        Some("supplies"),
        Some(1),
    );
    let read_unit = plan(&app, &unit).await;
    let scans = match backend {
        Backend::Sqlite => read_unit.lines().any(|l| l.contains("SCAN t")),
        Backend::Postgres => read_unit.contains("Seq Scan"),
    };
    if !covered || scans || read.contains("cases") {
        failures.push(format!("figures' open tasks:\n{read}\n{read_unit}"));
    }
    // The boards start from the work in hand: the open states' index, or a unit's open tasks;
    // the group's scope, the whole city, reads no row to be tested, nor a unit's, whose inbox
    // holds only its own open tasks' cases (which SQLite reads from their index alone).
    for username in ["group", "dept-gelin"] {
        let p = crate::principal(&app.db, username).await;
        let (sql, _) = huoyan::cases::board::board_sql(&app.db, &p, &CaseFilter::default())
            .await
            .unwrap()
            .unwrap();
        let read = plan(&app, &sql).await;
        let by_state = backend == Backend::Postgres
            || read.contains("INDEX cases_state")
            || (username != "group"
                && read.contains(
                    "COVERING INDEX case_tasks_department (department_id=? AND state=?)",
                ));
        if !by_state || sql.text().contains("regions sr") || sql.text().contains("case_tasks st") {
            failures.push(format!("{username}'s board:\n{read}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
