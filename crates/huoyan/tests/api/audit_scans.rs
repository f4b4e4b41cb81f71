//! Scans are vouched for by their batches: after scans through the API `huoyan audit verify`
//! holds; a scan changed, deleted or added with SQL behind Huoyan's back is named by the finding
//! that fits it, and once the row is put back the trail holds again (so the finding was that
//! change's, and nothing else was broken).

use huoyan::audit::Verdict;
use huoyan_core::audit::Finding;
use huoyan_core::audit::facts::DataBreak;
use serde_json::json;
use sqlx::Row;

use crate::testing::{open, scan, set_up};
use crate::{TestApp, spawn_app};

/// A batch as its event seals it.
#[derive(Debug, Clone, Copy)]
struct Batch {
    seq: i64,
    first: i64,
    last: i64,
    count: i64,
}

async fn batches(app: &TestApp) -> Vec<Batch> {
    sqlx::query(
        "SELECT seq, summary FROM audit_events WHERE entity = 'scans' AND action = 'write' ORDER BY seq",
    )
    .fetch_all(&app.owner.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let s: serde_json::Value = serde_json::from_str(&r.get::<String, _>(1)).unwrap();
        Batch {
            seq: r.get(0),
            first: s["first"].as_i64().unwrap(),
            last: s["last"].as_i64().unwrap(),
            count: s["count"].as_i64().unwrap(),
        }
    })
    .collect()
}

/// Runs `statement` as someone who can write the database (the file on SQLite, the owner on
/// PostgreSQL; the scans have no triggers to take off).
async fn sql(app: &TestApp, statement: &str) {
    sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
        .execute(&app.owner.pool)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
}

async fn intact(app: &TestApp) {
    let verdict = huoyan::audit::verify(&app.db).await.unwrap();
    assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict:?}");
}

/// What verification finds, which must be about the data; the command line must fail on it too,
/// saying `naming`.
async fn found(app: &TestApp, naming: &str) -> DataBreak {
    let finding = match huoyan::audit::verify(&app.db).await.unwrap() {
        Verdict::Broken(Finding::Data(d)) => d,
        v => panic!("not a data finding: {v:?}"),
    };
    let (code, out) = crate::cli::huoyan_on(app, &["audit", "verify"], "");
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("BROKEN"), "{out}");
    assert!(out.contains(naming), "verify should name {naming:?}: {out}");
    finding
}

/// The row `id` as an INSERT that puts it back.
async fn insert_of(app: &TestApp, id: i64) -> String {
    let r = sqlx::query(
        "SELECT tube_id, round_id, resident_id, code, outcome, account_id, idempotency_key, at \
         FROM scans WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.owner.pool)
    .await
    .unwrap();
    let resident: Option<i64> = r.get(2);
    format!(
        "INSERT INTO scans (id, tube_id, round_id, resident_id, code, outcome, account_id, idempotency_key, at) \
         VALUES ({id}, {}, {}, {}, '{}', '{}', {}, '{}', {})",
        r.get::<i64, _>(0),
        r.get::<i64, _>(1),
        resident.map_or("NULL".to_string(), |r| r.to_string()),
        r.get::<String, _>(3),
        r.get::<String, _>(4),
        r.get::<i64, _>(5),
        r.get::<String, _>(6),
        r.get::<i64, _>(7),
    )
}

#[tokio::test]
async fn audit_verify_names_scans_changed_deleted_or_added_behind_the_trail() {
    let app = spawn_app(true).await;
    let r = set_up(&app, 30, false).await;
    // The demo's own history has batches of its own: this test's come after.
    let before = batches(&app).await.iter().map(|b| b.seq).max().unwrap_or(0);
    for t in 1..=2 {
        open(&app, &r, &format!("T-AUDIT-{t:04}")).await;
    }
    // Scans one at a time, each its own batch.
    for i in 1..=3 {
        scan(
            &app,
            &r,
            "T-AUDIT-0001",
            &format!("HYTEST{i:04}"),
            &format!("one-{i}"),
        )
        .await;
    }
    // A scanner's queue, written as one batch: a scan into a tube nobody opened takes an id
    // and writes no row, and a code nobody registered is kept without a resident.
    let mut queue: Vec<_> = (4..=9)
        .map(|i| json!({"tube": "T-AUDIT-0002", "code": format!("HYTEST{i:04}"), "key": format!("q-{i}")}))
        .collect();
    queue.insert(
        3,
        json!({"tube": "T-NOT-OPENED", "code": "HYTEST0010", "key": "q-gap"}),
    );
    queue.push(json!({"tube": "T-AUDIT-0002", "code": "HYNOBODY01", "key": "q-nobody"}));
    let (status, body) = app
        .send(
            "POST",
            &r.sampler,
            "/api/v1/testing/scans",
            &json!({ "scans": queue }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let written: Vec<Batch> = batches(&app)
        .await
        .into_iter()
        .filter(|b| b.seq > before)
        .collect();
    let big = *written.iter().max_by_key(|b| b.count).unwrap();
    assert_eq!(
        (big.count, big.last - big.first),
        (7, 7),
        "the queue is one batch with an empty id: {written:?}"
    );
    let single = written[0];
    assert_eq!(
        (single.count, single.first),
        (1, single.last),
        "{written:?}"
    );
    let (code, out) = crate::cli::huoyan_on(&app, &["audit", "verify"], "");
    assert_eq!(code, 0, "{out}");
    intact(&app).await;

    let names = |b: Batch| format!("scans {}..{} (event {})", b.first, b.last, b.seq);
    let hash = |b: Batch| DataBreak::BatchHash {
        table: "scans",
        seq: b.seq,
        first: b.first,
        last: b.last,
    };
    let id_of = async |key: &str| {
        app.id_of(&format!(
            "SELECT id FROM scans WHERE idempotency_key = '{key}'"
        ))
        .await
    };
    let middle = id_of("q-5").await;

    // An outcome changed, in a batch of many and in a batch of one.
    sql(
        &app,
        &format!("UPDATE scans SET outcome = 'scanned_twice' WHERE id = {middle}"),
    )
    .await;
    assert_eq!(found(&app, &names(big)).await, hash(big));
    sql(
        &app,
        &format!("UPDATE scans SET outcome = 'added' WHERE id = {middle}"),
    )
    .await;
    intact(&app).await;
    sql(
        &app,
        &format!(
            "UPDATE scans SET outcome = 'tube_full' WHERE id = {}",
            single.first
        ),
    )
    .await;
    assert_eq!(found(&app, &names(single)).await, hash(single));
    sql(
        &app,
        &format!(
            "UPDATE scans SET outcome = 'added' WHERE id = {}",
            single.first
        ),
    )
    .await;
    intact(&app).await;

    // A scan moved to someone else, who was never sampled.
    let resident = |code: &str| format!("(SELECT id FROM residents WHERE code = '{code}')");
    sql(
        &app,
        &format!(
            "UPDATE scans SET resident_id = {} WHERE id = {middle}",
            resident("HYTEST0030")
        ),
    )
    .await;
    assert_eq!(found(&app, &names(big)).await, hash(big));
    sql(
        &app,
        &format!(
            "UPDATE scans SET resident_id = {} WHERE id = {middle}",
            resident("HYTEST0005")
        ),
    )
    .await;
    intact(&app).await;

    // A row deleted: counted, and named when it is one of the batch's ends.
    for (id, expected) in [
        (
            middle,
            DataBreak::BatchCount {
                table: "scans",
                seq: big.seq,
                first: big.first,
                last: big.last,
                rows: 6,
                count: 7,
            },
        ),
        (
            big.first,
            DataBreak::BatchRowGone {
                table: "scans",
                seq: big.seq,
                first: big.first,
                last: big.last,
                id: big.first,
            },
        ),
    ] {
        let back = insert_of(&app, id).await;
        sql(&app, &format!("DELETE FROM scans WHERE id = {id}")).await;
        assert_eq!(found(&app, &names(big)).await, expected);
        sql(&app, &back).await;
        intact(&app).await;
    }

    // A row added with a fresh id, past every batch; and one in the id the queue left empty.
    let forged = |id: Option<i64>, key: &str| {
        let (column, value) = id.map_or((String::new(), String::new()), |id| {
            ("id, ".to_string(), format!("{id}, "))
        });
        format!(
            "INSERT INTO scans ({column}tube_id, round_id, resident_id, code, outcome, account_id, idempotency_key, at) \
             SELECT {value}tube_id, round_id, {}, 'HYTEST0030', 'added', account_id, '{key}', at FROM scans WHERE id = {middle}",
            resident("HYTEST0030"),
        )
    };
    sql(&app, &forged(None, "forged")).await;
    let fresh = id_of("forged").await;
    assert!(fresh > big.last);
    assert_eq!(
        found(&app, &format!("scan {fresh}")).await,
        DataBreak::NoEvent {
            entity: "scan",
            id: fresh
        }
    );
    sql(&app, &format!("DELETE FROM scans WHERE id = {fresh}")).await;
    intact(&app).await;
    let empty = app
        .id_of(&format!(
            "SELECT MIN(id) + 1 FROM scans s WHERE id >= {} AND NOT EXISTS (SELECT 1 FROM scans n WHERE n.id = s.id + 1)",
            big.first
        ))
        .await;
    assert!(
        empty < big.last,
        "the unopened tube's id lies inside the batch"
    );
    sql(&app, &forged(Some(empty), "forged-gap")).await;
    assert_eq!(
        found(&app, &names(big)).await,
        DataBreak::BatchCount {
            table: "scans",
            seq: big.seq,
            first: big.first,
            last: big.last,
            rows: 8,
            count: 7,
        }
    );
}
