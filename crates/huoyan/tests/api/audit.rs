//! The audit trail: every change leaves a chained event; whatever someone who can write the
//! database does to hide a change, `huoyan audit verify` finds.

use huoyan::audit::Verdict;
use huoyan_core::audit::{ChainBreak, Finding};
use serde_json::json;
use sqlx::AnyPool;

use crate::{TestApp, spawn_app};

/// The database as someone who can write it uses it: the file itself on SQLite, the owner's
/// connection on PostgreSQL, with the trail's append-only triggers taken off first (the owner
/// may; the application's role may not).
pub async fn attacker(app: &TestApp) -> &AnyPool {
    let statements: &[&str] = if crate::backend() == "postgres" {
        &[
            "ALTER TABLE audit_events DISABLE TRIGGER USER",
            "ALTER TABLE audit_head DISABLE TRIGGER USER",
        ]
    } else {
        &[
            "DROP TRIGGER IF EXISTS audit_events_no_update",
            "DROP TRIGGER IF EXISTS audit_events_no_delete",
            "DROP TRIGGER IF EXISTS audit_head_moves_forward",
            "DROP TRIGGER IF EXISTS audit_head_kept",
        ]
    };
    for s in statements {
        sqlx::query(*s).execute(&app.owner.pool).await.unwrap();
    }
    &app.owner.pool
}

#[tokio::test]
async fn every_change_leaves_an_event_in_the_entitys_trail() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let site = app.id_of("SELECT MIN(id) FROM sites").await;
    let (status, _) = app
        .send(
            "PATCH",
            &admin,
            &format!("/api/v1/sites/{site}"),
            &json!({"name": "格林街道第1核酸采样点（东）"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, trail) = app
        .get(
            &admin,
            &format!("/api/v1/audit?entity=site&entity_id={site}"),
        )
        .await;
    assert_eq!(status, 200);
    let trail = trail.as_array().unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[0]["action"], "update");
    assert_eq!(trail[0]["actor"], "admin");
    assert_eq!(
        trail[0]["summary"]["after"]["name"],
        "格林街道第1核酸采样点（东）"
    );
    assert_eq!(trail[1]["action"], "create");
    // Roles outside the commission's may not read trails.
    let office = app.token("volunteer").await;
    assert_eq!(
        app.get(
            &office,
            &format!("/api/v1/audit?entity=site&entity_id={site}")
        )
        .await
        .0,
        403
    );
}

#[tokio::test]
async fn verification_finds_an_edited_a_deleted_and_a_truncated_event() {
    let app = spawn_app(true).await;
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        Verdict::Intact { .. }
    ));
    sqlx::query("UPDATE audit_events SET summary = '{}' WHERE seq = 42")
        .execute(attacker(&app).await)
        .await
        .unwrap();
    match huoyan::audit::verify(&app.db).await.unwrap() {
        Verdict::Broken(Finding::Chain { at, verified }) => {
            assert_eq!((at, verified), (ChainBreak::Tampered { seq: 42 }, 41))
        }
        v => panic!("{v:?}"),
    }
    let app = spawn_app(true).await;
    sqlx::query("DELETE FROM audit_events WHERE seq = 7")
        .execute(attacker(&app).await)
        .await
        .unwrap();
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        Verdict::Broken(Finding::Chain { .. })
    ));
    let app = spawn_app(true).await;
    sqlx::query("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)")
        .execute(attacker(&app).await)
        .await
        .unwrap();
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        Verdict::Broken(Finding::Truncated { .. })
    ));
}

#[tokio::test]
async fn concurrent_writers_keep_one_unbroken_chain() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let supervisors: Vec<i64> = {
        use sqlx::Row;
        sqlx::query(
            "SELECT id FROM accounts WHERE username LIKE 'supervisor-%' ORDER BY id LIMIT 20",
        )
        .fetch_all(&app.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (client, base, token) = (app.client.clone(), app.base.clone(), admin.clone());
        let account = supervisors[i % supervisors.len()];
        tasks.push(tokio::spawn(async move {
            let request = if i % 2 == 0 {
                let body = json!({"name": format!("并发{i}"), "phone": format!("1770000{i:04}"), "gender": "female", "birth_year": 1990, "home_region_id": compound});
                client.post(format!("{base}/api/v1/people")).json(&body)
            } else {
                client.patch(format!("{base}/api/v1/accounts/{account}")).json(&json!({"disabled": i % 4 == 1}))
            };
            request.bearer_auth(token).send().await.unwrap().status().as_u16()
        }));
    }
    // Verification beside the writers reads one snapshot: never a head ahead of its events, nor
    // a row ahead of its event.
    loop {
        let finished = tasks.iter().all(|t| t.is_finished());
        let verdict = huoyan::audit::verify(&app.db).await.unwrap();
        assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict:?}");
        if finished {
            break;
        }
    }
    for t in tasks {
        assert!([200, 201].contains(&t.await.unwrap()));
    }
}

#[tokio::test]
async fn the_application_may_only_append_to_the_trail_and_move_its_head_forward() {
    let app = spawn_app(false).await;
    let record = |n: i64| {
        let db = app.db.clone();
        async move {
            huoyan::audit::Change::run(&db, &huoyan::audit::Actor::system("test"), async |c| {
                c.record("test", n, "create", &json!({"n": n})).await
            })
            .await
            .unwrap()
        }
    };
    record(1).await;
    record(2).await;
    let postgres = crate::backend() == "postgres";
    // As the application's role: PostgreSQL refuses by its grants, SQLite by its triggers.
    let refused = async |statement: &str, because: &str| {
        let err = sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(&app.db.pool)
            .await
            .expect_err(statement)
            .to_string();
        assert!(err.contains(because), "{statement}: {err}");
    };
    let denied = if postgres {
        "permission denied"
    } else {
        "append-only"
    };
    refused(
        "UPDATE audit_events SET summary = '{}' WHERE seq = 1",
        denied,
    )
    .await;
    refused("DELETE FROM audit_events WHERE seq = 2", denied).await;
    if postgres {
        refused("TRUNCATE audit_events", "permission denied").await;
        refused("DELETE FROM audit_head", "permission denied").await;
        refused(
            "INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, '')",
            "permission denied",
        )
        .await;
    } else {
        refused("DELETE FROM audit_head", "keeps its one row").await;
    }
    // The head's one row may be updated, but only forward to an event that was written.
    refused(
        "UPDATE audit_head SET seq = 1, hash = (SELECT hash FROM audit_events WHERE seq = 1) WHERE id = 1",
        "only moves forward",
    )
    .await;
    refused(
        "UPDATE audit_head SET seq = 3, hash = 'ab' WHERE id = 1",
        "only moves forward",
    )
    .await;
    // The owner is held by the triggers too, until it takes them off.
    let err = sqlx::query("DELETE FROM audit_events")
        .execute(&app.owner.pool)
        .await
        .expect_err("the owner deletes an event")
        .to_string();
    assert!(err.contains("append-only"), "{err}");
    record(3).await;
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        Verdict::Intact { events: 3, .. }
    ));
}

#[tokio::test]
async fn the_server_will_not_seal_a_rewritten_head() {
    let app = spawn_app(true).await;
    let admin = app.token("admin").await;
    let attacker = attacker(&app).await;
    sqlx::query("UPDATE audit_head SET seq = seq - 1, hash = (SELECT hash FROM audit_events WHERE seq = (SELECT seq - 1 FROM audit_head)) WHERE id = 1")
        .execute(attacker)
        .await
        .unwrap();
    let site = app.id_of("SELECT MIN(id) FROM sites").await;
    let events = app.count("audit_events").await;
    let (status, _) = app
        .send(
            "PATCH",
            &admin,
            &format!("/api/v1/sites/{site}"),
            &json!({"name": "格林街道第1核酸采样点（东）"}),
        )
        .await;
    assert_eq!(status, 500, "a write on a rewritten head is refused");
    assert_eq!(app.count("audit_events").await, events);
    assert!(matches!(
        huoyan::audit::verify(&app.db).await.unwrap(),
        Verdict::Broken(Finding::Head(_))
    ));
}

#[tokio::test]
async fn a_head_from_before_seals_is_sealed_once_after_it_verifies() {
    let app = spawn_app(true).await;
    sqlx::query("UPDATE audit_head SET mac = NULL, key_id = NULL WHERE id = 1")
        .execute(attacker(&app).await)
        .await
        .unwrap();
    let (code, out) = crate::cli::huoyan_on(&app, &["audit", "verify"], "");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("carries no seal"), "{out}");
    let (code, out) = crate::cli::huoyan_on(&app, &["audit", "seal"], "");
    assert_eq!(code, 0, "{out}");
    let (code, out) = crate::cli::huoyan_on(&app, &["audit", "verify"], "");
    assert_eq!(code, 0, "{out}");
    let (code, out) = crate::cli::huoyan_on(&app, &["audit", "seal"], "");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("sealed already"), "{out}");
}

// What someone who can write the database does to hide what happened, and what `huoyan audit
// verify` must then say. The attacker writes through `attacker()`: the database file itself on
// SQLite, an owner's connection on PostgreSQL.

mod tamper {
    use huoyan_core::audit::{AuditEvent, GENESIS};
    use serde_json::json;
    use sqlx::{AnyPool, Row};

    use crate::{TestApp, spawn_app};

    /// The owner's pool, disarmed by `super::attacker` at the start of each test.
    fn attacker(app: &TestApp) -> &AnyPool {
        &app.owner.pool
    }

    async fn sql(app: &TestApp, statement: &str) {
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(attacker(app))
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    async fn one(app: &TestApp, query: &str) -> i64 {
        sqlx::query(sqlx::AssertSqlSafe(query.to_string()))
            .fetch_one(attacker(app))
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }

    fn verify(app: &TestApp) -> (i32, String) {
        crate::cli::huoyan_on(app, &["audit", "verify"], "")
    }

    #[track_caller]
    fn assert_fails(verdict: (i32, String), naming: &[&str]) {
        let (code, out) = verdict;
        assert_ne!(code, 0, "verify passed a tampered trail: {out}");
        assert!(out.starts_with("BROKEN"), "{out}");
        for n in naming {
            assert!(out.contains(n), "verify should name {n:?}: {out}");
        }
    }

    /// Recomputes every hash from event `from` on, as anyone who reads the hash rule can, and
    /// moves the head to the last event.
    async fn rechain(app: &TestApp, from: i64) {
        let mut tx = attacker(app).begin().await.unwrap();
        let mut prev = if from == 1 {
            GENESIS.to_string()
        } else {
            sqlx::query("SELECT hash FROM audit_events WHERE seq = $1")
                .bind(from - 1)
                .fetch_one(&mut *tx)
                .await
                .unwrap()
                .try_get(0)
                .unwrap()
        };
        let rows = sqlx::query(
            "SELECT seq, at_ms, actor_id, actor, entity, entity_id, action, summary FROM audit_events WHERE seq >= $1 ORDER BY seq",
        )
        .bind(from)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        let mut last = from - 1;
        for r in rows {
            let e = AuditEvent {
                seq: r.get(0),
                at_ms: r.get(1),
                actor_id: r.get(2),
                actor: r.get(3),
                entity: r.get(4),
                entity_id: r.get(5),
                action: r.get(6),
                summary: r.get(7),
                prev_hash: String::new(),
                hash: String::new(),
            }
            .seal(&prev);
            sqlx::query("UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE seq = $3")
                .bind(&e.prev_hash)
                .bind(&e.hash)
                .bind(e.seq)
                .execute(&mut *tx)
                .await
                .unwrap();
            prev = e.hash;
            last = e.seq;
        }
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(last)
            .bind(&prev)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn rename_a_site(app: &TestApp, admin: &str, n: usize) {
        let site = app.id_of("SELECT MIN(id) FROM sites").await;
        let (status, _) = app
            .send(
                "PATCH",
                admin,
                &format!("/api/v1/sites/{site}"),
                &json!({"name": format!("格林街道第1核酸采样点（{n}）")}),
            )
            .await;
        assert_eq!(status, 200);
    }

    async fn set_role(app: &TestApp, admin: &str, account: i64, body: serde_json::Value) {
        let (status, body) = app
            .send(
                "PATCH",
                admin,
                &format!("/api/v1/accounts/{account}"),
                &body,
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// (a) An account is disabled; the attacker re-enables it, deletes the last events (the
    /// disabling's among them) and moves the head back to the event before.
    #[tokio::test]
    async fn deleting_the_last_events_and_moving_the_head_back_is_found() {
        let app = spawn_app(true).await;
        super::attacker(&app).await;
        let admin = app.token("admin").await;
        let volunteer = app
            .id_of("SELECT id FROM accounts WHERE username = 'volunteer'")
            .await;
        let before = one(&app, "SELECT MAX(seq) FROM audit_events").await;
        set_role(&app, &admin, volunteer, json!({"disabled": true})).await;
        rename_a_site(&app, &admin, 1).await;
        assert_eq!(verify(&app).0, 0);
        sql(
            &app,
            &format!("UPDATE accounts SET disabled = 0 WHERE id = {volunteer}"),
        )
        .await;
        sql(
            &app,
            &format!("DELETE FROM audit_events WHERE seq > {before}"),
        )
        .await;
        sql(
            &app,
            &format!(
                "UPDATE audit_head SET seq = {before}, hash = (SELECT hash FROM audit_events WHERE seq = {before}) WHERE id = 1"
            ),
        )
        .await;
        assert_fails(verify(&app), &["seal"]);
    }

    /// (b) The attacker promotes an account to administrator and rewrites its creation event to
    /// say it was made one, recomputing every later hash and the head.
    #[tokio::test]
    async fn editing_an_event_and_recomputing_the_later_hashes_is_found() {
        let app = spawn_app(true).await;
        super::attacker(&app).await;
        let volunteer = app
            .id_of("SELECT id FROM accounts WHERE username = 'volunteer'")
            .await;
        let created = one(
            &app,
            &format!("SELECT seq FROM audit_events WHERE entity = 'account' AND entity_id = '{volunteer}' AND action = 'create'"),
        )
        .await;
        sql(&app, &format!("UPDATE accounts SET role = 'admin', scope_region_id = NULL, scope_department_id = NULL, scope_team_id = NULL WHERE id = {volunteer}")).await;
        sql(
            &app,
            &format!(
                r#"UPDATE audit_events SET summary = '{{"username":"volunteer","role":"admin","person_id":null,"scope":{{"region_id":null,"department_id":null,"team_id":null}}}}' WHERE seq = {created}"#
            ),
        )
        .await;
        rechain(&app, created).await;
        assert_fails(verify(&app), &["seal"]);
        // The next write does not seal the rewrite: it is refused.
        let (code, out) = crate::cli::huoyan_on(&app, &["user", "disable", "office"], "");
        assert_ne!(code, 0, "{out}");
        assert_fails(verify(&app), &["seal"]);
    }

    /// (c) An account is disabled, more happens; the attacker re-enables it, deletes the event,
    /// renumbers the later ones and recomputes their hashes and the head.
    #[tokio::test]
    async fn deleting_an_event_and_renumbering_the_later_ones_is_found() {
        let app = spawn_app(true).await;
        super::attacker(&app).await;
        let admin = app.token("admin").await;
        let volunteer = app
            .id_of("SELECT id FROM accounts WHERE username = 'volunteer'")
            .await;
        set_role(&app, &admin, volunteer, json!({"disabled": true})).await;
        let victim = one(&app, "SELECT MAX(seq) FROM audit_events").await;
        for n in 0..3 {
            rename_a_site(&app, &admin, n).await;
        }
        let last = one(&app, "SELECT MAX(seq) FROM audit_events").await;
        sql(
            &app,
            &format!("UPDATE accounts SET disabled = 0 WHERE id = {volunteer}"),
        )
        .await;
        sql(
            &app,
            &format!("DELETE FROM audit_events WHERE seq = {victim}"),
        )
        .await;
        for seq in victim + 1..=last {
            sql(
                &app,
                &format!(
                    "UPDATE audit_events SET seq = {} WHERE seq = {seq}",
                    seq - 1
                ),
            )
            .await;
        }
        rechain(&app, victim).await;
        assert_fails(verify(&app), &["seal"]);
    }

    /// (d) The whole trail deleted and the head reset to that of a fresh database.
    #[tokio::test]
    async fn emptying_the_trail_and_resetting_the_head_is_found() {
        let app = spawn_app(true).await;
        super::attacker(&app).await;
        sql(&app, "DELETE FROM audit_events").await;
        sql(
            &app,
            &format!("UPDATE audit_head SET seq = 0, hash = '{GENESIS}', mac = NULL, key_id = NULL WHERE id = 1"),
        )
        .await;
        assert_fails(verify(&app), &["no audit event"]);
    }

    /// (e) Rows changed without any event: an account promoted, a case deleted with its
    /// dependent rows, an account added.
    #[tokio::test]
    async fn changing_rows_without_events_is_found() {
        let app = spawn_app(true).await;
        super::attacker(&app).await;
        let volunteer = app
            .id_of("SELECT id FROM accounts WHERE username = 'volunteer'")
            .await;
        sql(
            &app,
            &format!("UPDATE accounts SET role = 'admin' WHERE id = {volunteer}"),
        )
        .await;
        assert_fails(
            verify(&app),
            &[&format!("account {volunteer}"), "role", "\"admin\""],
        );
        sql(
            &app,
            &format!("UPDATE accounts SET role = 'volunteer' WHERE id = {volunteer}"),
        )
        .await;
        assert_eq!(verify(&app).0, 0, "{}", verify(&app).1);

        // A blocker lifted, and a published roster set back to a draft, by hand.
        let blocker = one(&app, "SELECT MIN(id) FROM blockers WHERE state = 'open'").await;
        sql(
            &app,
            &format!("UPDATE blockers SET state = 'lifted' WHERE id = {blocker}"),
        )
        .await;
        assert_fails(
            verify(&app),
            &[&format!("blocker {blocker}"), "state", "\"lifted\""],
        );
        sql(
            &app,
            &format!("UPDATE blockers SET state = 'open' WHERE id = {blocker}"),
        )
        .await;
        let plan = one(
            &app,
            "SELECT MIN(id) FROM roster_plans WHERE state = 'published'",
        )
        .await;
        sql(
            &app,
            &format!("UPDATE roster_plans SET state = 'draft' WHERE id = {plan}"),
        )
        .await;
        assert_fails(verify(&app), &[&format!("roster_plan {plan}"), "state"]);

        let app = spawn_app(true).await;
        super::attacker(&app).await;
        let case = one(
            &app,
            "SELECT MAX(id) FROM cases WHERE id NOT IN (SELECT merged_into FROM cases WHERE merged_into IS NOT NULL) \
             AND id NOT IN (SELECT case_id FROM inspection_answers WHERE case_id IS NOT NULL) \
             AND id NOT IN (SELECT case_id FROM recall_follow_ups) \
             AND id NOT IN (SELECT case_id FROM recalls WHERE case_id IS NOT NULL) \
             AND id NOT IN (SELECT case_id FROM supply_deliveries WHERE case_id IS NOT NULL)",
        )
        .await;
        // Files first: they name the event they came with.
        for dependent in ["case_files", "case_events", "case_tasks", "notifications"] {
            sql(
                &app,
                &format!("DELETE FROM {dependent} WHERE case_id = {case}"),
            )
            .await;
        }
        sql(&app, &format!("DELETE FROM cases WHERE id = {case}")).await;
        assert_fails(verify(&app), &[&format!("case {case}"), "gone"]);

        let app = spawn_app(true).await;
        super::attacker(&app).await;
        sql(&app, "INSERT INTO accounts (username, role, password_hash, disabled, created_at) VALUES ('ghost', 'admin', 'x', 0, 0)").await;
        let ghost = one(&app, "SELECT id FROM accounts WHERE username = 'ghost'").await;
        assert_fails(
            verify(&app),
            &[&format!("account {ghost}"), "no audit event"],
        );
    }
}

/// A district's commander reads the trails of what lies in the district and of nothing else:
/// another district's case, person and compound check-ins, and the administrator's account,
/// answer 404 as their own routes do (before, all of them answered 200 with the whole trail).
#[tokio::test]
async fn the_trail_is_read_only_within_the_readers_scope() {
    let app = spawn_app(true).await;
    let case = app.id_of("SELECT MIN(id) FROM cases").await;
    let district_of = |what: &str| {
        format!(
            "SELECT d.id FROM regions d, regions r WHERE d.level = 'district' \
             AND r.path LIKE d.path || '%' AND r.id = ({what})"
        )
    };
    let home = app
        .id_of(&district_of(&format!(
            "SELECT compound_id FROM cases WHERE id = {case}"
        )))
        .await;
    let elsewhere = app
        .id_of(&format!(
            "SELECT MIN(id) FROM regions WHERE level = 'district' AND id <> {home}"
        ))
        .await;
    let person = app
        .id_of(&format!(
            "SELECT MIN(p.id) FROM people p JOIN regions r ON r.id = p.home_region_id \
             JOIN regions d ON d.id = {home} WHERE r.path LIKE d.path || '%'"
        ))
        .await;
    let compound = app
        .id_of(&format!("SELECT compound_id FROM cases WHERE id = {case}"))
        .await;
    let admin_account = app
        .id_of("SELECT id FROM accounts WHERE username = 'admin'")
        .await;
    let inside = app
        .new_login("commander-home", "commander", json!({"region_id": home}))
        .await;
    let outside = app
        .new_login(
            "commander-elsewhere",
            "commander",
            json!({"region_id": elsewhere}),
        )
        .await;
    let admin = app.token("admin").await;
    let trail = |entity: &str, id: i64| format!("/api/v1/audit?entity={entity}&entity_id={id}");
    for (entity, id) in [
        ("case", case),
        ("person", person),
        ("region", compound),
        ("account", admin_account),
    ] {
        let (status, body) = app.get(&outside, &trail(entity, id)).await;
        assert_eq!(status, 404, "{entity} {id} from another district: {body}");
        let (status, body) = app.get(&admin, &trail(entity, id)).await;
        assert_eq!(status, 200, "{entity} {id} for the admin: {body}");
    }
    let (status, body) = app.get(&inside, &trail("case", case)).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.as_array().unwrap().is_empty(), "{body}");
    let (status, body) = app.get(&inside, &trail("account", admin_account)).await;
    assert_eq!(
        status, 404,
        "the admin's account is not a district's: {body}"
    );
    let (status, body) = app
        .get(&admin, "/api/v1/audit?entity=cases&entity_id=1")
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("entity"), "{body}");
}
