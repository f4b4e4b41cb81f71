//! `huoyan copy`: a SQLite database moved into PostgreSQL serves the same answers, keeps its audit
//! chain and goes on writing after the copied ids; a database that holds data is never copied into.
//! Runs in both suites: the source is always SQLite and the destination always PostgreSQL.

use huoyan::audit::Verdict;
use huoyan::backup::to_postgres;
use huoyan::db::Db;
use huoyan_core::audit::seal::AuditKey;
use serde_json::{Value, json};
use sqlx::Row;

use crate::{FreshDb, TestApp, new_pg, serve};

/// The demo in a new SQLite file, sealed with `key`; its path.
async fn sqlite_demo(key: &AuditKey) -> String {
    let path = std::env::temp_dir()
        .join(format!(
            "huoyan_copy_{}_{}.db",
            std::process::id(),
            rand::random::<u32>()
        ))
        .display()
        .to_string();
    let db = Db::connect_and_migrate(&path)
        .await
        .expect("a SQLite file")
        .with_audit_key(key.clone());
    huoyan::demo::load(&db, None, &mut |_| {})
        .await
        .expect("demo loads");
    db.pool.close().await;
    path
}

async fn open(url: &str, key: &AuditKey) -> TestApp {
    let db = Db::connect(url)
        .await
        .expect("opens")
        .with_audit_key(key.clone());
    let key_file = std::env::temp_dir().join(format!("huoyan_copy_{}.key", rand::random::<u32>()));
    serve(
        FreshDb {
            owner: db.clone(),
            db,
            db_arg: url.to_string(),
            key_file,
        },
        Default::default(),
    )
    .await
}

/// What the office and a department see of the cases: every figure, the first pages of the
/// lists, the map, the Open311 list and one merged case in full.
async fn answers(app: &TestApp) -> Vec<Value> {
    let office = app.token("office").await;
    let dept = app.token("dept-gelin").await;
    let mut out = Vec::new();
    for (token, path) in [
        (&office, "/api/v1/cases?limit=100"),
        (&office, "/api/v1/cases?state=closed&limit=100"),
        (&office, "/api/v1/cases?q=%E8%94%AC%E8%8F%9C&limit=100"),
        (&office, "/api/v1/cases/figures?exact=true"),
        (&office, "/api/v1/cases/geojson"),
        (&office, "/open311/v2/requests.json"),
        (&dept, "/api/v1/cases?limit=100"),
        (&office, "/api/v1/notifications?limit=100"),
    ] {
        let (status, body) = app.get(token, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        out.push(body);
    }
    let merged: i64 = sqlx::query("SELECT MIN(id) FROM cases WHERE merged_into IS NOT NULL")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .expect("the demo merges cases");
    let (status, body) = app.get(&office, &format!("/api/v1/cases/{merged}")).await;
    assert_eq!(status, 200, "{body}");
    out.push(body);
    out
}

/// Where two answers first differ, with both values, if they do.
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => x
            .iter()
            // The figures say when they were computed, a second apart at most.
            .filter(|(k, _)| *k != "generated_at")
            .find_map(|(k, v)| first_difference(v, y.get(k)?, format!("{at}.{k}")))
            .or_else(|| x.keys().ne(y.keys()).then(|| format!("{at}: keys differ"))),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, format!("{at}[{i}]"))),
        _ => (a != b).then(|| format!("{at}: {a} vs {b}")),
    }
}

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

#[tokio::test]
async fn a_sqlite_database_copied_into_postgresql_answers_the_same_and_goes_on() {
    let key = AuditKey::from_bytes(rand::random());
    let source = sqlite_demo(&key).await;
    let dest = new_pg(&format!(
        "huoyan_copy_{}_{}",
        std::process::id(),
        rand::random::<u32>()
    ))
    .await;
    let mut lines = Vec::new();
    let verdict = to_postgres::run(&source, &dest, key.clone(), &mut |l| {
        lines.push(l.to_string())
    })
    .await
    .expect("copies");
    let from = open(&source, &key).await;
    let to = open(&dest, &key).await;
    // The search index is derived, so left out and built again, as `huoyan copy` does.
    let indexed = huoyan::cases::search::rebuild(&to.db, &mut |_, _| {})
        .await
        .expect("indexes");
    assert_eq!(indexed, count(&from.db, "case_events").await);
    let events = count(&from.db, "audit_events").await;
    assert!(
        matches!(verdict, Verdict::Intact { events: e, .. } if e == events),
        "{verdict:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("cases: ")),
        "progress per table: {lines:?}"
    );
    for table in [
        "regions",
        "accounts",
        "cases",
        "case_events",
        "case_tasks",
        "case_files",
        "file_blobs",
        "notifications",
        "audit_events",
        "case_figure_tallies",
    ] {
        assert_eq!(
            count(&from.db, table).await,
            count(&to.db, table).await,
            "{table}"
        );
    }
    for (a, b) in answers(&from).await.iter().zip(answers(&to).await.iter()) {
        if let Some(at) = first_difference(a, b, String::new()) {
            panic!("SQLite and its copy answer differently at {at}");
        }
    }

    // The copy goes on: a new report takes the next id and extends the chain.
    let supervisor = to.token("supervisor").await;
    let compound = to
        .id_of("SELECT id FROM regions WHERE name = '景程小区'")
        .await;
    let (status, body) = to
        .send(
            "POST",
            &supervisor,
            "/api/v1/cases",
            &json!({"category": "static_control", "compound_id": compound, "description": "3号楼缺菜"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let last: i64 = sqlx::query("SELECT MAX(id) FROM cases")
        .fetch_one(&from.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(body["id"], last + 1);
    assert!(matches!(
        huoyan::audit::verify(&to.db).await.unwrap(),
        Verdict::Intact { events: e, .. } if e > events
    ));

    // Never into a database that holds data: the copy refuses, naming why, and changes nothing.
    let again = to_postgres::run(&source, &dest, key.clone(), &mut |_| {}).await;
    let err = again.expect_err("refused").to_string();
    assert!(err.contains("already holds"), "{err}");
    assert_eq!(count(&to.db, "cases").await, last + 1);
}
