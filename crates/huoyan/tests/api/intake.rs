//! One bad report among many honest ones filed at the same moment: it alone is refused, the same
//! on both backends, and the honest ones it shares a group-commit batch with are written.

use huoyan::cases::intake::{Filed, Filing, write_all};
use huoyan::error::AppError;
use huoyan_core::cases::{Kind, Priority, Source};
use serde_json::json;
use sqlx::Row;

use crate::{TestApp, backend, fields, spawn_app};

#[tokio::test]
async fn a_report_with_a_nul_character_is_refused_alone_among_honest_ones_sent_at_once() {
    let app = spawn_app(true).await;
    let supervisor = app.token("supervisor").await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let mut sent = tokio::task::JoinSet::new();
    for i in 0..64 {
        let (client, base, token) = (app.client.clone(), app.base.clone(), supervisor.clone());
        // The bad one in the middle, so that it shares a batch with honest ones.
        let description = if i == 32 {
            "bad-intake 东门岗\u{0}无人".to_string()
        } else {
            format!("intake-{i} 东门岗无人")
        };
        sent.spawn(async move {
            let r = client
                .post(format!("{base}/api/v1/cases"))
                .bearer_auth(token)
                .json(&json!({"category": "static_control", "compound_id": compound, "description": description}))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (i, status, r.json::<serde_json::Value>().await.unwrap_or_default())
        });
    }
    let mut honest = 0;
    while let Some(answer) = sent.join_next().await {
        let (i, status, body) = answer.unwrap();
        if i == 32 {
            assert_eq!(
                (status, fields(&body)),
                (422, vec!["description".to_string()]),
                "{body}"
            );
        } else {
            assert_eq!(status, 201, "report {i}: {body}");
            let (status, case) = app
                .get(&supervisor, &format!("/api/v1/cases/{}", body["id"]))
                .await;
            assert_eq!(status, 200);
            assert_eq!(case["description"], format!("intake-{i} 东门岗无人"));
            honest += 1;
        }
    }
    assert_eq!(honest, 63);
    assert_eq!(
        app.id_of("SELECT COUNT(*) FROM cases WHERE description LIKE 'intake-%'")
            .await,
        63
    );
    // The address is checked the same way.
    let (status, body) = app
        .send(
            "POST",
            &supervisor,
            "/api/v1/cases",
            &json!({"category": "static_control", "compound_id": compound, "description": "东门岗无人", "address": "3号楼\u{0}"}),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["address".to_string()]),
        "{body}"
    );
}

/// The demo supervisor's account and its compound, 景程小区.
pub(crate) async fn supervisor_and_compound(app: &TestApp) -> (i64, i64) {
    let account = app
        .id_of("SELECT id FROM accounts WHERE username = 'supervisor'")
        .await;
    let compound = app
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    (account, compound)
}

/// A keyless report by the demo supervisor of `compound`.
pub(crate) fn supervisors(account: i64, compound: i64, description: String) -> Filing {
    Filing {
        actor: huoyan::audit::Actor {
            id: Some(account),
            name: "supervisor".into(),
        },
        account_id: account,
        key: None,
        kind: Kind::Problem,
        source: Source::Supervisor,
        category: huoyan_core::cases::Category::StaticControl,
        priority: Priority::Normal,
        compound_id: compound,
        lon: None,
        lat: None,
        address: String::new(),
        description,
    }
}

#[tokio::test]
async fn the_writer_saves_a_batchs_honest_filings_when_the_database_refuses_one() {
    let app = spawn_app(true).await;
    let (account, compound) = supervisor_and_compound(&app).await;
    let filing = |description: String| supervisors(account, compound, description);
    // Past validation, as a filing from a caller that skipped it would be.
    let filings: Vec<Filing> = (0..64)
        .map(|i| {
            filing(if i == 40 {
                "bad-writer 门岗\u{0}无人".to_string()
            } else {
                format!("writer-{i} 门岗无人")
            })
        })
        .collect();
    let answers = write_all(&app.db, &filings).await;
    assert_eq!(answers.len(), 64);
    for (i, answer) in answers.iter().enumerate() {
        match (i, answer) {
            (40, Ok(_)) => assert_eq!(backend(), "sqlite", "only SQLite stores a NUL"),
            (40, Err(AppError::Invalid(errors))) => {
                assert_eq!(errors[0].field, "description", "{errors:?}")
            }
            (40, Err(e)) => panic!("the bad filing: {e:?}"),
            (_, Ok(Filed::New { .. })) => {}
            (_, other) => panic!("honest filing {i}: {other:?}"),
        }
    }
    assert_eq!(
        app.id_of("SELECT COUNT(*) FROM cases WHERE description LIKE 'writer-%'")
            .await,
        63
    );
}

/// A busy intake outruns the planner's statistics: PostgreSQL still thought the supervisor had a
/// few dozen cases when it had 40,000, and read every one of them for each batch's key lookup
/// (9 ms a batch, growing; the writer is serial, so intake slowed with it). The lookup must probe
/// the unique index on (account, key) whatever the statistics say.
#[tokio::test]
async fn the_key_lookup_probes_the_unique_index_however_stale_the_statistics() {
    let app = spawn_app(true).await;
    let (account, compound) = supervisor_and_compound(&app).await;
    if app.db.backend == huoyan::db::Backend::Postgres {
        // Statistics taken now, while the supervisor has the demo's few cases, and kept.
        for sql in [
            "ALTER TABLE cases SET (autovacuum_enabled = false)",
            "ANALYZE cases",
        ] {
            sqlx::query(sql).execute(&app.owner.pool).await.unwrap();
        }
    }
    let filings: Vec<Filing> = (0..4096)
        .map(|i| Filing {
            key: Some(format!("stale-{i}")),
            ..supervisors(account, compound, format!("东门岗无人 {i}"))
        })
        .collect();
    for batch in filings.chunks(256) {
        for filed in write_all(&app.db, batch).await {
            assert!(matches!(filed, Ok(Filed::New { .. })), "{filed:?}");
        }
    }
    let keys: Vec<String> = (3968..4096).map(|i| format!("stale-{i}")).collect();
    let pairs: Vec<(i64, &str)> = keys.iter().map(|k| (account, k.as_str())).collect();
    let plan = crate::plans::plan(
        &app,
        &huoyan::cases::intake::key_lookup(app.db.backend, &pairs),
    )
    .await;
    let probes = plan.lines().any(|l| match app.db.backend {
        huoyan::db::Backend::Sqlite => {
            l.contains("INDEX sqlite_autoindex_cases")
                && l.contains("(reporter_account_id=? AND idempotency_key=?)")
        }
        huoyan::db::Backend::Postgres => {
            l.contains("Index Cond")
                && l.contains("reporter_account_id =")
                && l.contains("idempotency_key =")
        }
    });
    assert!(probes, "{plan}");
    // And it finds them.
    let found = huoyan::cases::intake::key_lookup(app.db.backend, &pairs)
        .query()
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    let found: std::collections::BTreeSet<String> = found
        .iter()
        .map(|r| sqlx::Row::try_get(r, 1).unwrap())
        .collect();
    assert_eq!(found.len(), 128);
}

/// A statement is prepared once per connection with the types of its first values: a NULL
/// position first must not make the same statement refuse a position after it (sqlx's `Any`
/// driver bound a NULL `f64` as PostgreSQL's `real`; `db::Float8` binds it as `double precision`).
#[tokio::test]
async fn a_position_is_taken_where_the_same_statement_first_had_none() {
    let fresh = crate::fresh_db().await;
    let mut conn = fresh.db.pool.acquire().await.unwrap();
    for v in [None, Some(125.031_25), None, Some(-46.5)] {
        let got: Option<f64> = sqlx::query("SELECT CAST($1 AS DOUBLE PRECISION)")
            .bind(huoyan::db::Float8(v))
            .fetch_one(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{v:?}: {e}"))
            .try_get(0)
            .unwrap();
        assert_eq!(got, v);
    }
}
