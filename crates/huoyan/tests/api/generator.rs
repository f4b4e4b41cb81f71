//! `huoyan demo --cases N` writes its cases many rows to a statement (`cases::bulk`); the same
//! history replayed step by step through the application's own functions (`intake::file_in`,
//! `cases::take`, the overdue job) must leave the same database, row for row.

use huoyan::db::Db;
use huoyan::demo::Replay;
use sqlx::{Column, Row};

/// Every row of `table` in `order`, each value as text (binary as its length and first bytes).
async fn rows(db: &Db, table: &str, order: &str) -> Vec<String> {
    // The cases' events, at their historical times; the chain's hashes also cover the events
    // of setting up the demo, made at the time of loading.
    let sql = match table {
        "audit_events" => format!(
            "SELECT seq, at_ms, actor_id, actor, entity, entity_id, action, summary FROM {table} \
             WHERE entity = 'case' ORDER BY {order}"
        ),
        _ => format!("SELECT * FROM {table} ORDER BY {order}"),
    };
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (0..r.columns().len())
                .map(|i| {
                    let name = r.columns()[i].name();
                    let value = if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
                        format!("{v:?}")
                    } else if let Ok(v) = r.try_get::<Option<i32>, _>(i) {
                        format!("{v:?}")
                    } else if let Ok(v) = r.try_get::<Option<f64>, _>(i) {
                        format!("{v:?}")
                    } else if let Ok(v) = r.try_get::<Option<String>, _>(i) {
                        format!("{v:?}")
                    } else if let Ok(v) = r.try_get::<Option<Vec<u8>>, _>(i) {
                        format!("{:?}", v.map(|b| (b.len(), b[..b.len().min(16)].to_vec())))
                    } else {
                        panic!("{table}.{name}: a type this test does not read")
                    };
                    format!("{name}={value}")
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[tokio::test]
async fn the_batched_generator_writes_what_the_application_would_step_by_step() {
    let steps = crate::fresh_db().await;
    let batched = crate::fresh_db().await;
    for (db, how) in [(&steps.db, Replay::Steps), (&batched.db, Replay::Batched)] {
        huoyan::demo::load_with(db, Some(800), how, &mut |_| {})
            .await
            .unwrap();
    }
    for (table, order) in [
        ("cases", "id"),
        ("case_tasks", "id"),
        ("case_events", "id"),
        ("case_files", "id"),
        ("file_blobs", "sha256"),
        ("notifications", "id"),
        ("case_figure_tallies", "day, category, department_id"),
        ("audit_events", "seq"),
    ] {
        let (a, b) = (
            rows(&steps.db, table, order).await,
            rows(&batched.db, table, order).await,
        );
        assert!(
            a.len() > 100 || table == "file_blobs",
            "{table}: {} rows",
            a.len()
        );
        if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
            panic!(
                "{table}: {} rows step by step, {} batched; row {i} differs:\n  steps:   {:?}\n  batched: {:?}",
                a.len(),
                b.len(),
                a.get(i),
                b.get(i)
            );
        }
    }
    for db in [&steps.db, &batched.db] {
        let verdict = huoyan::audit::verify(db).await.unwrap();
        assert!(
            matches!(verdict, huoyan::audit::Verdict::Intact { .. }),
            "{verdict:?}"
        );
    }
}
