//! The scan bench's fixtures: a round with its residents and open tubes, written straight to the
//! tables (what is measured is the scans, not how the round was set up).

use huoyan::db::{Arg, Backend, Db};
use sqlx::Row;

/// A round's fixtures: residents `0..residents` with codes `B{index}` and tubes
/// `R{round}-{index}` (a tenth as many), all open at the point.
#[derive(Clone)]
pub struct Fixture {
    pub round: i64,
    pub residents: u64,
}

impl Fixture {
    pub fn code(&self, i: u64) -> String {
        format!("B{:09}", i % self.residents)
    }
    pub fn tube(&self, i: u64) -> String {
        format!("R{}-{:08}", self.round, (i % self.residents) / 10)
    }
    /// Scan `n` (from 1) of connection `c` of `clients`: each connection fills its own tubes.
    pub fn scan_of(&self, c: usize, clients: usize, n: u64) -> u64 {
        let per = self.residents / clients as u64;
        c as u64 * per + (n - 1) % per
    }
}

/// Writes a round with `residents` residents and their tubes straight to the tables, the tubes in
/// the order `clients` connections will fill them (the first of every connection's, then the
/// second…), as samplers open tubes when they start them: the ids of the tubes being filled at
/// once lie together, as in a real round, not a connection's share apart.
pub async fn fixture(
    db: &Db,
    sampler: i64,
    point: i64,
    residents: u64,
    clients: usize,
) -> anyhow::Result<Fixture> {
    let mut tx = db.pool.begin().await?;
    let round: i64 = sqlx::query(
        "INSERT INTO testing_rounds (name, day, state, created_at) VALUES ('bench', '2022-08-12', 'open', 0) RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    sqlx::query(
        "INSERT INTO testing_round_points (round_id, point_id, mode) VALUES ($1, $2, 'pooled_10')",
    )
    .bind(round)
    .bind(point)
    .execute(&mut *tx)
    .await?;
    let compound: i64 = sqlx::query("SELECT s.region_id FROM testing_points tp JOIN sites s ON s.id = tp.site_id WHERE tp.id = $1")
        .bind(point)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    let f = Fixture { round, residents };
    let start: i64 = sqlx::query("SELECT COUNT(*) FROM residents WHERE code LIKE 'B%'")
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    let mut rows = Vec::new();
    // Residents are shared by every round: made once, for the largest round asked.
    for i in start as u64..residents {
        rows.push(vec![
            Arg::from(compound),
            Arg::from(format!("{}号楼", i % 30 + 1)),
            Arg::from("居民"),
            Arg::from(format!("B{i:09}")),
            Arg::from("green"),
            Arg::from(0i64),
        ]);
        if rows.len() == 10_000 {
            insert(
                &mut tx,
                db.backend,
                "residents",
                &[
                    "compound_id",
                    "building",
                    "name",
                    "code",
                    "colour",
                    "created_at",
                ],
                &rows,
            )
            .await?;
            rows.clear();
        }
    }
    insert(
        &mut tx,
        db.backend,
        "residents",
        &[
            "compound_id",
            "building",
            "name",
            "code",
            "colour",
            "created_at",
        ],
        &rows,
    )
    .await?;
    rows.clear();
    let per = (residents / clients as u64).max(1);
    let mut order: Vec<u64> = (0..residents.div_ceil(10)).collect();
    order.sort_by_key(|t| (t * 10 % per, t * 10 / per));
    for t in order {
        rows.push(vec![
            Arg::from(f.tube(t * 10)),
            Arg::from(round),
            Arg::from(point),
            Arg::from("pooled_10"),
            Arg::from(10i64),
            Arg::from("open"),
            Arg::from(sampler),
            Arg::from(0i64),
        ]);
        if rows.len() == 10_000 {
            insert(
                &mut tx,
                db.backend,
                "tubes",
                &[
                    "barcode",
                    "round_id",
                    "point_id",
                    "mode",
                    "capacity",
                    "state",
                    "opened_by",
                    "opened_at",
                ],
                &rows,
            )
            .await?;
            rows.clear();
        }
    }
    insert(
        &mut tx,
        db.backend,
        "tubes",
        &[
            "barcode",
            "round_id",
            "point_id",
            "mode",
            "capacity",
            "state",
            "opened_by",
            "opened_at",
        ],
        &rows,
    )
    .await?;
    tx.commit().await?;
    Ok(f)
}

async fn insert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Arg>],
) -> anyhow::Result<()> {
    for sql in huoyan::db::insert_rows(backend, table, columns, rows) {
        sql.query().execute(&mut **tx).await?;
    }
    Ok(())
}
