//! Verifying the trail, as `huoyan audit verify` does: the head's seal, the chain, checkpoints
//! kept elsewhere, the scans against their batches' seals (read beside the chain, `scans`), then
//! the rows the trail vouches for (`huoyan_core::audit::facts` says which event fields give their
//! values). All in one read-only snapshot, so a server writing meanwhile never looks like
//! tampering, and in pages, so a city's millions of events, scans and cases take constant
//! memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use huoyan_core::audit::facts::{self, DataBreak, Expected, Kind, Stored, VOUCHED, Vouched};
use huoyan_core::audit::seal::{AuditKey, Checkpoint, Head};
use huoyan_core::audit::{ChainVerifier, Finding};
use sqlx::{Any, Row, Transaction};

use super::scans::ScanCheck;
use super::{event_from_row, head_from_row};
use crate::db::{Backend, Db, Sql};
use crate::time::now_ms;

#[derive(Debug)]
pub enum Verdict {
    /// The head is sealed with the key, every event links, every checkpoint's event is still
    /// there, every scan is in the batch its event sealed and every vouched row is what its
    /// latest events say.
    Intact {
        events: i64,
        /// The last event's hash: what a checkpoint states.
        head: String,
    },
    Broken(Finding),
}

/// How far a verification has come, written as it goes and readable meanwhile from another
/// task: a page shows it while a long trail is walked.
#[derive(Debug, Default)]
pub struct Progress {
    /// The chain head's event number (how many events there are to check), once read.
    pub head: AtomicI64,
    /// Events whose hashes and links were found to hold.
    pub events: AtomicI64,
    /// Scan rows read against their batches, as the chain's walk reaches the batches' events.
    pub scans: AtomicI64,
    /// Tables whose rows were checked against their events, of [`Progress::TABLES`].
    pub tables: AtomicUsize,
}

impl Progress {
    /// The tables whose rows the trail vouches for: the scans, done with the chain, then each
    /// of `VOUCHED`.
    pub const TABLES: usize = VOUCHED.len() + 1;

    fn read(n: &AtomicI64) -> i64 {
        n.load(Ordering::Relaxed)
    }

    /// (head, events checked, scans checked, tables checked) as last written.
    pub fn now(&self) -> (i64, i64, i64, usize) {
        (
            Self::read(&self.head),
            Self::read(&self.events),
            Self::read(&self.scans),
            self.tables.load(Ordering::Relaxed),
        )
    }
}

/// Events read per page.
const EVENTS_PAGE: i64 = 5_000;
/// Rows read per page; their events are read in one query with this many ids.
const ROWS_PAGE: i64 = 500;

/// Why a walk stopped early: something found, or the database failed.
enum Stop {
    Found(Finding),
    Failed(anyhow::Error),
}

impl From<Finding> for Stop {
    fn from(f: Finding) -> Self {
        Stop::Found(f)
    }
}

impl From<DataBreak> for Stop {
    fn from(d: DataBreak) -> Self {
        Stop::Found(Finding::Data(d))
    }
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Stop::Failed(e.into())
    }
}

fn key(db: &Db) -> anyhow::Result<&AuditKey> {
    db.audit_key.as_ref().ok_or_else(|| {
        anyhow::anyhow!("no audit key: verification needs the key the server writes with")
    })
}

pub async fn verify(db: &Db) -> anyhow::Result<Verdict> {
    verify_with(db, &[]).await
}

/// Verifies the trail, and that it still holds the events `checkpoints` saw.
pub async fn verify_with(db: &Db, checkpoints: &[Checkpoint]) -> anyhow::Result<Verdict> {
    verify_watched(db, checkpoints, &Progress::default()).await
}

/// `verify_with`, writing how far it has come into `progress` as it goes.
pub async fn verify_watched(
    db: &Db,
    checkpoints: &[Checkpoint],
    progress: &Progress,
) -> anyhow::Result<Verdict> {
    Ok(match walk(db, checkpoints, true, progress).await? {
        Ok(head) => Verdict::Intact {
            events: head.seq,
            head: head.hash,
        },
        Err(f) => Verdict::Broken(f),
    })
}

/// Verifies the whole trail, then states its head signed with the key: the text to keep outside
/// the system.
pub async fn checkpoint(db: &Db) -> anyhow::Result<Result<String, Finding>> {
    let key = key(db)?;
    Ok(walk(db, &[], true, &Progress::default())
        .await?
        .map(|head| {
            Checkpoint {
                events: head.seq,
                head: head.hash,
                at_ms: now_ms(),
            }
            .render(key)
        }))
}

/// Whether the stored head's seal holds with the database's key; commands that write check it
/// at start so that a wrong key stops them at once.
pub async fn check_head(db: &Db) -> anyhow::Result<()> {
    let key = key(db)?;
    let row = sqlx::query("SELECT seq, hash, mac, key_id FROM audit_head WHERE id = 1")
        .fetch_one(&db.pool)
        .await?;
    head_from_row(&row)?
        .check(key)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Seals a head written before heads were sealed (a database of an earlier version) once the
/// chain and the rows verify; refuses a head that carries a seal. Returns the events vouched for.
pub async fn seal_old_head(db: &Db) -> anyhow::Result<Result<i64, Finding>> {
    let key = key(db)?;
    let row = sqlx::query("SELECT seq, hash, mac, key_id FROM audit_head WHERE id = 1")
        .fetch_one(&db.pool)
        .await?;
    if head_from_row(&row)?.mac.is_some() {
        anyhow::bail!("the chain head is sealed already; `huoyan audit verify` checks it");
    }
    let head = match walk(db, &[], false, &Progress::default()).await? {
        Ok(h) => h,
        Err(f) => return Ok(Err(f)),
    };
    let sealed = sqlx::query(
        "UPDATE audit_head SET mac = $1, key_id = $2 WHERE id = 1 AND seq = $3 AND hash = $4 AND mac IS NULL",
    )
    .bind(key.seal_head(head.seq, &head.hash))
    .bind(key.id())
    .bind(head.seq)
    .bind(&head.hash)
    .execute(&db.pool)
    .await?
    .rows_affected();
    anyhow::ensure!(
        sealed == 1,
        "the chain head moved while it was verified; run this again"
    );
    Ok(Ok(head.seq))
}

/// Every check in one read-only snapshot; `sealed`: whether the head's seal is checked.
async fn walk(
    db: &Db,
    checkpoints: &[Checkpoint],
    sealed: bool,
    progress: &Progress,
) -> anyhow::Result<Result<Head, Finding>> {
    let key = key(db)?;
    anyhow::ensure!(
        db.pending_migrations().await == 0,
        "the database lacks migrations of this version: run `huoyan migrate` first"
    );
    let mut tx = db.pool.begin().await?;
    // SQLite's read transaction keeps its snapshot from its first read on; PostgreSQL's needs
    // asking for.
    if db.backend == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    let out = steps(&mut tx, sealed.then_some(key), checkpoints, progress).await;
    tx.rollback().await?;
    match out {
        Ok(head) => Ok(Ok(head)),
        Err(Stop::Found(f)) => Ok(Err(f)),
        Err(Stop::Failed(e)) => Err(e),
    }
}

async fn steps(
    tx: &mut Transaction<'static, Any>,
    key: Option<&AuditKey>,
    checkpoints: &[Checkpoint],
    progress: &Progress,
) -> Result<Head, Stop> {
    let row = sqlx::query("SELECT seq, hash, mac, key_id FROM audit_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?;
    let head = head_from_row(&row)?;
    progress.head.store(head.seq, Ordering::Relaxed);
    if let Some(key) = key {
        head.check(key).map_err(Finding::from)?;
    }
    let mut verifier = ChainVerifier::default();
    let mut scans = ScanCheck::default();
    // The hash of each checkpoint's last event, as the trail holds it now.
    let mut there: Vec<Option<String>> = vec![None; checkpoints.len()];
    loop {
        let rows = sqlx::query(
            "SELECT seq, at_ms, actor_id, actor, entity, entity_id, action, summary, prev_hash, hash \
             FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(verifier.verified())
        .bind(EVENTS_PAGE)
        .fetch_all(&mut **tx)
        .await?;
        for r in &rows {
            let e = event_from_row(r)?;
            verifier.check(&e).map_err(|at| Finding::Chain {
                verified: verifier.verified(),
                at,
            })?;
            for (cp, h) in checkpoints.iter().zip(&mut there) {
                if cp.events == e.seq {
                    *h = Some(e.hash.clone());
                }
            }
            scans.event(tx, &e, progress).await?;
        }
        progress
            .events
            .store(verifier.verified(), Ordering::Relaxed);
        if (rows.len() as i64) < EVENTS_PAGE {
            break;
        }
    }
    let events = verifier.finish(&head)?;
    for (cp, h) in checkpoints.iter().zip(&there) {
        cp.check(h.as_deref(), events).map_err(Finding::from)?;
    }
    if let Some(found) = scans.finish(tx, progress).await? {
        return Err(found.into());
    }
    progress.tables.fetch_add(1, Ordering::Relaxed);
    for v in VOUCHED {
        rows(tx, v).await?;
        progress.tables.fetch_add(1, Ordering::Relaxed);
    }
    Ok(head)
}

/// Each row of `v`'s table against its events, then each entity with events against its row.
async fn rows(tx: &mut Transaction<'static, Any>, v: &Vouched) -> Result<(), Stop> {
    let none = Expected::default();
    let columns: Vec<&str> = v.columns.iter().map(|(c, _)| *c).collect();
    let select = format!(
        "SELECT id, {} FROM {} WHERE id > $1 ORDER BY id LIMIT $2",
        columns.join(", "),
        v.table
    );
    let mut after = i64::MIN;
    loop {
        let page = sqlx::query(sqlx::AssertSqlSafe(select.clone()))
            .bind(after)
            .bind(ROWS_PAGE)
            .fetch_all(&mut **tx)
            .await?;
        let ids: Vec<i64> = page
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let expected = fold(tx, v, &ids).await?;
        for (r, &id) in page.iter().zip(&ids) {
            let held = v
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| stored(r, i + 1, *kind))
                .collect::<Result<Vec<_>, _>>()?;
            expected
                .get(&id)
                .unwrap_or(&none)
                .compare(v, id, Some(&held))?;
        }
        match ids.last() {
            Some(&last) if (page.len() as i64) == ROWS_PAGE => after = last,
            _ => break,
        }
    }
    // Entities with events whose row is gone, walked by the (entity, entity_id) index.
    let mut after = String::new();
    loop {
        let page = sqlx::query(
            "SELECT entity_id, MIN(seq) FROM audit_events WHERE entity = $1 AND entity_id > $2 \
             GROUP BY entity_id ORDER BY entity_id LIMIT $3",
        )
        .bind(v.entity)
        .bind(&after)
        .bind(ROWS_PAGE)
        .fetch_all(&mut **tx)
        .await?;
        let mut ids = Vec::with_capacity(page.len());
        for r in &page {
            let (text, seq): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
            let id = text.parse::<i64>().map_err(|_| DataBreak::BadEvent {
                seq,
                entity: v.entity,
                id: text.clone(),
                reason: format!("it names {text:?}, which is no {} id", v.entity),
            })?;
            ids.push(id);
            after = text;
        }
        if !ids.is_empty() {
            let mut sql = Sql::new(&format!("SELECT id FROM {} WHERE id IN (", v.table));
            for (i, id) in ids.iter().enumerate() {
                sql.push(if i == 0 { "" } else { ", " }).bind(*id);
            }
            sql.push(")");
            let present: Vec<i64> = sql
                .query()
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            let missing: Vec<i64> = ids.into_iter().filter(|i| !present.contains(i)).collect();
            if !missing.is_empty() {
                let expected = fold(tx, v, &missing).await?;
                for id in missing {
                    expected.get(&id).unwrap_or(&none).compare(v, id, None)?;
                }
            }
        }
        if (page.len() as i64) < ROWS_PAGE {
            break;
        }
    }
    Ok(())
}

/// The events of `ids` folded by the rule into what their rows must hold.
async fn fold(
    tx: &mut Transaction<'static, Any>,
    v: &Vouched,
    ids: &[i64],
) -> Result<HashMap<i64, Expected>, Stop> {
    let mut out: HashMap<i64, Expected> = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    let mut sql =
        Sql::new("SELECT entity_id, seq, action, summary FROM audit_events WHERE entity = ");
    sql.bind(v.entity).push(" AND entity_id IN (");
    for (i, id) in ids.iter().enumerate() {
        sql.push(if i == 0 { "" } else { ", " })
            .bind(id.to_string());
    }
    sql.push(") ORDER BY seq");
    for r in sql.query().fetch_all(&mut **tx).await? {
        let (entity_id, seq, action, summary): (String, i64, String, String) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
        let f =
            facts::facts(v.entity, &action, &summary).map_err(|reason| DataBreak::BadEvent {
                seq,
                entity: v.entity,
                id: entity_id.clone(),
                reason,
            })?;
        let id = entity_id
            .parse::<i64>()
            .expect("the query matched it against ids written from numbers");
        out.entry(id).or_default().apply(seq, f);
    }
    Ok(out)
}

fn stored(r: &sqlx::any::AnyRow, i: usize, kind: Kind) -> Result<Stored, sqlx::Error> {
    Ok(match kind {
        Kind::Text => Stored::Text(r.try_get(i)?),
        Kind::OptInt => Stored::Int(r.try_get(i)?),
        Kind::Bool => Stored::Bool(r.try_get::<i64, _>(i)? != 0),
    })
}
