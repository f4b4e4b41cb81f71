//! The server killed (SIGKILL) while supervisors' reports pour in, restarted on the same
//! database: no acknowledged report is lost or doubled, every resend finds its case, and the
//! audit chain is intact.

use std::sync::Arc;

use serde_json::{Value, json};
use sqlx::Row;

use crate::harness::{Workload, crash_cycles};
use crate::{Endpoint, Server, backend, demo_into, fresh_db, remove_db};

/// Reports filed by one supervisor on their compound, each with its idempotency key.
pub struct CaseReports {
    token: String,
    account_id: i64,
    compound_id: i64,
}

impl CaseReports {
    /// Signs in as the demo's `supervisor` on `server`, over database `db`.
    pub async fn sign_in(server: &Server, db: &str) -> CaseReports {
        let to = &server.endpoint;
        let r = to
            .client
            .post(format!("{}/api/v1/auth/token", to.base))
            .json(&json!({"username": "supervisor", "password": huoyan::auth::password::DEMO_PASSWORD}))
            .send()
            .await
            .expect("sign in");
        assert_eq!(r.status(), 200, "sign in as supervisor");
        let token = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .expect("a token")
            .to_string();
        let db = huoyan::db::Db::connect(db)
            .await
            .expect("open the database");
        let row =
            sqlx::query("SELECT id, scope_region_id FROM accounts WHERE username = 'supervisor'")
                .fetch_one(&db.pool)
                .await
                .expect("the demo's supervisor");
        db.pool.close().await;
        CaseReports {
            token,
            account_id: row.try_get(0).unwrap(),
            compound_id: row.try_get(1).unwrap(),
        }
    }

    /// Whether the server at `to` answers this supervisor's reading of case `id`.
    pub async fn readable(&self, to: &Endpoint, id: i64) -> bool {
        let r = to
            .client
            .get(format!("{}/api/v1/cases/{id}", to.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("the server answers");
        r.status() == 200 && r.json::<Value>().await.unwrap()["id"] == id
    }
}

impl Workload for CaseReports {
    async fn send(&self, to: &Endpoint, key: &str) -> Option<i64> {
        let body = json!({"category": "supplies", "compound_id": self.compound_id,
            "description": format!("5号楼蔬菜包未送达（{key}）")});
        let r = to
            .client
            .post(format!("{}/api/v1/cases", to.base))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .ok()?;
        let status = r.status().as_u16();
        let answer: Value = r.json().await.ok()?;
        assert!(
            status == 201 || status == 200,
            "report {key}: {status} {answer}"
        );
        Some(
            answer["id"]
                .as_i64()
                .expect("an acknowledged case has an id"),
        )
    }

    async fn stored(&self, db: &str, prefix: &str) -> Vec<(String, i64)> {
        let db = huoyan::db::Db::connect(db)
            .await
            .expect("open the database");
        let rows = sqlx::query(
            "SELECT c.idempotency_key, c.id, (SELECT COUNT(*) FROM audit_events e \
               WHERE e.entity = 'case' AND e.entity_id = CAST(c.id AS TEXT) AND e.action = 'report') \
             FROM cases c WHERE c.reporter_account_id = $1 AND c.idempotency_key LIKE $2",
        )
        .bind(self.account_id)
        .bind(format!("{prefix}%"))
        .fetch_all(&db.pool)
        .await
        .expect("read the cases");
        db.pool.close().await;
        rows.iter()
            .map(|r| {
                let (key, id, events): (String, i64, i64) = (
                    r.try_get(0).unwrap(),
                    r.try_get(1).unwrap(),
                    r.try_get(2).unwrap(),
                );
                assert_eq!(events, 1, "case {id} ({key}) has one report event");
                (key, id)
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_reports_survive_the_server_being_killed() {
    let cycles = if backend() == "postgres" { 3 } else { 10 };
    let db = fresh_db().await;
    demo_into(&db).await;
    let server = Server::start(&db).await;
    let reports = Arc::new(CaseReports::sign_in(&server, &db).await);
    let started = std::time::Instant::now();
    let report = crash_cycles(&db, &reports, server, cycles).await;
    for (n, c) in report.iter().enumerate() {
        eprintln!(
            "crash cycle {n} on {}: {} sent, {} acknowledged, {} committed unacknowledged, {:?}",
            backend(),
            c.tried,
            c.acked,
            c.landed_unacked,
            c.took
        );
    }
    eprintln!(
        "{cycles} crash cycles on {} in {:?}",
        backend(),
        started.elapsed()
    );
    remove_db(&db);
}
