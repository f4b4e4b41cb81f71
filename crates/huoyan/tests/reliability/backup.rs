//! Backups as an operator takes them while reports keep coming, restored as the README says
//! (put in place, verify, serve): `huoyan backup` for SQLite, which runs whatever the backend
//! under test, and `pg_dump`/`pg_restore` for PostgreSQL, on the PostgreSQL run. Either copy is a
//! consistent prefix of what the server acknowledged.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use sqlx::Row;

use crate::crash::CaseReports;
use crate::harness::{Load, Sent, Workload, once_each};
use crate::{
    PROCESS_LIMIT, Server, assert_chain_intact, backend, demo_into, fresh_db, fresh_sqlite, huoyan,
    remove_db,
};

const SENDERS: usize = 8;

/// Files reports on a server over the demo in `db` and, once some are acknowledged, runs
/// `take_copy`; files more, then stops the server. The reports acknowledged before the copy
/// began, and everything sent.
async fn copy_under_load(
    db: &str,
    take_copy: impl AsyncFnOnce(),
) -> (Arc<CaseReports>, HashMap<String, i64>, Sent) {
    demo_into(db).await;
    let server = Server::start(db).await;
    let reports = Arc::new(CaseReports::sign_in(&server, db).await);
    let load = Load::start(&reports, &server.endpoint, "backup-", SENDERS, 20_000);
    load.until_acked(30).await;
    let before = load.acked();
    take_copy().await;
    // Enough acknowledged after the copy ended that some of them were surely committed after
    // it too: at most SENDERS requests were in flight when it ended.
    load.until_acked(load.acked().len() + SENDERS + 20).await;
    let sent = load.finish().await;
    server.kill().await;
    (reports, before, sent)
}

/// The copy in database `copy` holds every report acknowledged `before` it began, only
/// acknowledged ones, not those acknowledged well after, and every one up to its newest; its
/// cases and audit events agree. Its reports by key.
async fn assert_consistent_prefix(
    copy: &str,
    reports: &CaseReports,
    before: &HashMap<String, i64>,
    sent: &Sent,
) -> HashMap<String, i64> {
    let in_copy = once_each(reports.stored(copy, "backup-").await, "backup-");
    for (key, id) in before {
        assert_eq!(
            in_copy.get(key),
            Some(id),
            "{key}, acknowledged before the copy began, is in it"
        );
    }
    for (key, id) in &in_copy {
        assert_eq!(
            sent.acked.get(key),
            Some(id),
            "{key} in the copy was acknowledged by the server"
        );
    }
    assert!(
        in_copy.len() < sent.acked.len(),
        "reports acknowledged after the copy are not in it"
    );
    // A prefix: case ids are handed out in commit order (under the chain head's lock), so the
    // copy holds every acknowledged report up to its newest and none after.
    let newest = *in_copy.values().max().expect("the copy holds reports");
    let up_to_newest = sent.acked.values().filter(|id| **id <= newest).count();
    assert_eq!(
        up_to_newest,
        in_copy.len(),
        "the copy is a prefix of the reports"
    );
    events_and_cases_agree(copy).await;
    eprintln!(
        "the copy holds {} of {} acknowledged reports ({} acknowledged before it began)",
        in_copy.len(),
        sent.acked.len(),
        before.len()
    );
    in_copy
}

/// Serves the restored database `restored` and checks that it answers: reads, resends and new
/// reports. Then its audit chain is intact.
async fn assert_serves(restored: &str, reports: &CaseReports, in_copy: &HashMap<String, i64>) {
    assert_chain_intact(restored).await;
    let server = Server::start(restored).await;
    let to = &server.endpoint;
    let healthz = to
        .client
        .get(format!("{}/healthz", to.base))
        .send()
        .await
        .unwrap();
    assert_eq!(healthz.status(), 200);
    let (key, id) = in_copy.iter().max_by_key(|(_, id)| **id).unwrap();
    assert!(reports.readable(to, *id).await, "case {id} reads back");
    assert_eq!(
        reports.send(to, key).await,
        Some(*id),
        "a resend finds its case"
    );
    assert!(
        reports.send(to, "after-restore-1").await.is_some(),
        "the restored database takes new reports"
    );
    server.kill().await;
    assert_chain_intact(restored).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_is_a_consistent_prefix_and_restores() {
    let db = fresh_sqlite();
    let copy = format!("{db}.backup");
    let (reports, before, sent) = copy_under_load(&db, async || {
        let (code, out) = huoyan(&["backup", "--db", &db, "--to", &copy]).await;
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("chain intact"), "{out}");
    })
    .await;
    let (code, out) = huoyan(&["backup", "--db", &db, "--to", &copy]).await;
    assert_ne!(code, 0, "a backup never overwrites a file: {out}");
    assert!(out.contains("already exists"), "{out}");
    let in_copy = assert_consistent_prefix(&copy, &reports, &before, &sent).await;
    // Restore as the README says: put the file in place, verify, serve.
    let restored = format!("{db}.restored");
    std::fs::copy(&copy, &restored).unwrap();
    assert_serves(&restored, &reports, &in_copy).await;
    for f in [&db, &copy, &restored] {
        remove_db(f);
    }
}

/// Runs a PostgreSQL client tool to the end; its output when it fails.
async fn pg_tool(program: &str, args: &[&str]) {
    let run = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(PROCESS_LIMIT, run)
        .await
        .unwrap_or_else(|_| panic!("{program} took over {PROCESS_LIMIT:?}"))
        .unwrap_or_else(|e| panic!("{program} runs (PostgreSQL's client tools): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dumped_under_load_restores_as_the_readme_says() {
    if backend() != "postgres" {
        eprintln!("pg_dump and pg_restore are tested on the PostgreSQL run");
        return;
    }
    let db = fresh_db().await;
    let dump = fresh_sqlite().replace(".db", ".dump");
    let (reports, before, sent) = copy_under_load(&db, async || {
        pg_tool("pg_dump", &["-Fc", &format!("--file={dump}"), &db]).await;
    })
    .await;
    // The README's createdb makes an empty database, as fresh_db does.
    let restored = fresh_db().await;
    pg_tool(
        "pg_restore",
        &[
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "-d",
            &restored,
            &dump,
        ],
    )
    .await;
    let in_copy = assert_consistent_prefix(&restored, &reports, &before, &sent).await;
    assert_serves(&restored, &reports, &in_copy).await;
    let _ = std::fs::remove_file(&dump);
}

/// Every case has its audit events (a report's, or the demo's history), and every report event
/// its case.
async fn events_and_cases_agree(db: &str) {
    let db = huoyan::db::Db::connect(db).await.unwrap();
    let count = |sql: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
                .try_get::<i64, _>(0)
                .unwrap()
        }
    };
    let cases_without_event = count(
        "SELECT COUNT(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM audit_events e \
         WHERE e.entity = 'case' AND e.entity_id = CAST(c.id AS TEXT))",
    )
    .await;
    let events_without_case = count(
        "SELECT COUNT(*) FROM audit_events e WHERE e.entity = 'case' AND e.action = 'report' \
         AND NOT EXISTS (SELECT 1 FROM cases c WHERE CAST(c.id AS TEXT) = e.entity_id)",
    )
    .await;
    db.pool.close().await;
    assert_eq!((cases_without_event, events_without_case), (0, 0));
}

#[tokio::test]
async fn a_backup_of_a_database_whose_chain_is_broken_fails() {
    let db = fresh_sqlite();
    demo_into(&db).await;
    let live = huoyan::db::Db::connect(&db).await.unwrap();
    // Whoever can write the file can drop the trigger that keeps events append-only.
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&live.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET summary = '{}' WHERE seq = 42")
        .execute(&live.pool)
        .await
        .unwrap();
    live.pool.close().await;
    let copy = format!("{db}.backup");
    let (code, out) = huoyan(&["backup", "--db", &db, "--to", &copy]).await;
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("BROKEN: event 42:"), "{out}");
    assert!(
        Path::new(&copy).exists(),
        "the faithful copy is kept as evidence"
    );
    for f in [&db, &copy] {
        remove_db(f);
    }
}

#[tokio::test]
async fn a_missing_database_is_not_created_by_a_backup() {
    let db = fresh_sqlite();
    let copy = format!("{db}.backup");
    let (code, out) = huoyan(&["backup", "--db", &db, "--to", &copy]).await;
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("no SQLite database"), "{out}");
    assert!(!Path::new(&db).exists() && !Path::new(&copy).exists());
}

#[tokio::test]
async fn postgres_is_backed_up_with_pg_dump() {
    let (code, out) = huoyan(&[
        "backup",
        "--db",
        "postgres://huoyan:secret@127.0.0.1:5432/huoyan",
        "--to",
        "huoyan.dump",
    ])
    .await;
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("pg_dump -Fc") && out.contains("pg_restore"),
        "{out}"
    );
    assert!(
        !out.contains("secret"),
        "the password is not printed: {out}"
    );
    assert!(!Path::new("huoyan.dump").exists());
}
