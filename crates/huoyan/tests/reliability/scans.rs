//! The server killed (SIGKILL) while samplers' scans pour in, restarted on the same database:
//! every acknowledged scan is stored once, as acknowledged, with the audit event that seals its
//! batch; a resend gets the same answer; no tube holds more than its capacity or other than its
//! added scans.

use std::sync::Arc;

use serde_json::{Value, json};
use sqlx::Row;

use crate::harness::{Workload, crash_cycles};
use crate::{Endpoint, Server, backend, demo_into, fresh_db, remove_db};

/// Residents and 10-in-1 tubes the round has: keys are spread over them, so tubes fill, refuse
/// the eleventh and residents come back (scanned twice) across cycles.
const RESIDENTS: usize = 3_000;

/// Scans by the demo sampler into the tubes of one round at 景程小区's point.
pub struct Scans {
    token: String,
    account_id: i64,
}

impl Scans {
    /// Sets up a point, a round, residents and open tubes through the API of `server` (over
    /// database `db`) and signs the sampler in.
    pub async fn set_up(server: &Server, db: &str) -> Scans {
        let to = &server.endpoint;
        let token = |user: &'static str| async move {
            let r: Value = to
                .client
                .post(format!("{}/api/v1/auth/token", to.base))
                .json(&json!({"username": user, "password": huoyan::auth::password::DEMO_PASSWORD}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["token"].as_str().unwrap().to_string()
        };
        let dispatcher = token("dispatcher").await;
        let sampler = token("sampler").await;
        let handle = huoyan::db::Db::connect(db).await.unwrap();
        let one = async |sql: &str| -> i64 {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&handle.pool)
                .await
                .unwrap()
                .try_get(0)
                .unwrap()
        };
        let site = one("SELECT id FROM sites WHERE name = '景程小区核酸采样点'").await;
        let compound = one("SELECT id FROM regions WHERE name = '景程小区'").await;
        // The demo's own point at the site (its nine days of testing were sampled there).
        let point = one(&format!(
            "SELECT id FROM testing_points WHERE site_id = {site}"
        ))
        .await;
        let account_id = one("SELECT id FROM accounts WHERE username = 'sampler'").await;
        handle.pool.close().await;
        let post = async |token: &str, path: &str, body: Value| -> Value {
            let r = to
                .client
                .post(format!("{}{path}", to.base))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json().await.unwrap()
        };
        let round = post(
            &dispatcher,
            "/api/v1/testing/rounds",
            json!({"name": "crash", "day": "2022-08-12", "region_ids": [compound], "points": [{"point_id": point, "mode": "pooled_10"}]}),
        )
        .await;
        let mut sheet = String::from("小区,楼栋,姓名,健康码\n");
        for i in 0..RESIDENTS {
            sheet.push_str(&format!(
                "景程小区,{}号楼,居民{i},HYCRASH{i:05}\n",
                i % 30 + 1
            ));
        }
        let r = to
            .client
            .post(format!(
                "{}/api/v1/testing/residents/import?format=csv",
                to.base
            ))
            .bearer_auth(&dispatcher)
            .body(sheet)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        for t in 0..RESIDENTS / 10 {
            post(&sampler, "/api/v1/testing/tubes", json!({"barcode": format!("T-CRASH-{t:04}"), "round_id": round["id"], "point_id": point})).await;
        }
        Scans {
            token: sampler,
            account_id,
        }
    }
}

/// The resident and tube a key scans: the number after the key's last `-`.
fn target(key: &str) -> (String, String) {
    let n: usize = key.rsplit('-').next().unwrap().parse().unwrap();
    let i = n % RESIDENTS;
    (format!("T-CRASH-{:04}", i / 10), format!("HYCRASH{i:05}"))
}

impl Workload for Scans {
    async fn send(&self, to: &Endpoint, key: &str) -> Option<i64> {
        let (tube, code) = target(key);
        let r = to
            .client
            .post(format!("{}/api/v1/testing/scans", to.base))
            .bearer_auth(&self.token)
            .json(&json!({"tube": tube, "code": code, "key": key}))
            .send()
            .await
            .ok()?;
        let status = r.status().as_u16();
        let answer: Value = r.json().await.ok()?;
        if status == 503 {
            // Busy: not acknowledged; the harness sends it again.
            return None;
        }
        assert_eq!(status, 200, "scan {key}: {answer}");
        Some(
            answer["scan_id"]
                .as_i64()
                .expect("an acknowledged scan has an id"),
        )
    }

    async fn stored(&self, db: &str, prefix: &str) -> Vec<(String, i64)> {
        let db = huoyan::db::Db::connect(db)
            .await
            .expect("open the database");
        let rows = sqlx::query(
            "SELECT idempotency_key, id FROM scans WHERE account_id = $1 AND idempotency_key LIKE $2",
        )
        .bind(self.account_id)
        .bind(format!("{prefix}%"))
        .fetch_all(&db.pool)
        .await
        .expect("read the scans");
        // Every tube within its capacity and holding exactly its added scans, whatever was cut.
        // One pass over each table: a subquery per tube took PostgreSQL minutes over the demo's
        // 20,000 tubes (its plan crossed two indexes for every tube).
        let bad: i64 = sqlx::query(
            "SELECT COUNT(*) FROM tubes t LEFT JOIN (SELECT tube_id, COUNT(*) AS n FROM scans \
             WHERE outcome = 'added' GROUP BY tube_id) a ON a.tube_id = t.id \
             WHERE t.count > t.capacity OR t.count <> COALESCE(a.n, 0)",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        assert_eq!(
            bad, 0,
            "every tube holds its added scans and no more than its capacity"
        );
        let twice: i64 = sqlx::query(
            "SELECT COUNT(*) FROM (SELECT round_id, resident_id FROM scans WHERE outcome = 'added' \
             GROUP BY round_id, resident_id HAVING COUNT(*) > 1) AS d",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        assert_eq!(twice, 0, "nobody is added twice to a round");
        // The batches the audit trail seals, as (first, last) scan ids.
        let sealed: Vec<(i64, i64)> = sqlx::query(
            "SELECT summary FROM audit_events WHERE entity = 'scans' AND action = 'write'",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let s: Value = serde_json::from_str(&r.try_get::<String, _>(0).unwrap()).unwrap();
            (s["first"].as_i64().unwrap(), s["last"].as_i64().unwrap())
        })
        .collect();
        db.pool.close().await;
        rows.iter()
            .map(|r| {
                let (key, id): (String, i64) = (r.try_get(0).unwrap(), r.try_get(1).unwrap());
                assert!(
                    sealed.iter().any(|(a, b)| (*a..=*b).contains(&id)),
                    "scan {id} ({key}) lies in a batch an audit event seals"
                );
                (key, id)
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_scans_survive_the_server_being_killed() {
    let cycles = if backend() == "postgres" { 5 } else { 20 };
    let db = fresh_db().await;
    demo_into(&db).await;
    let server = Server::start(&db).await;
    let scans = Arc::new(Scans::set_up(&server, &db).await);
    let started = std::time::Instant::now();
    let report = crash_cycles(&db, &scans, server, cycles).await;
    for (n, c) in report.iter().enumerate() {
        eprintln!(
            "scan crash cycle {n} on {}: {} sent, {} acknowledged, {} committed unacknowledged, {:?}",
            backend(),
            c.tried,
            c.acked,
            c.landed_unacked,
            c.took
        );
    }
    eprintln!(
        "{cycles} scan crash cycles on {} in {:?}",
        backend(),
        started.elapsed()
    );
    remove_db(&db);
}
