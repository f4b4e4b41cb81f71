//! The audit trail: every change goes through `Change`, which holds the writing transaction and
//! appends hash-chained events in it, so a change and its record commit or vanish together. The
//! chain's head is sealed with the audit key (`key`), which the database never holds; `verify`
//! checks the seal, the chain, checkpoints kept elsewhere and the rows the trail vouches for
//! (the scans by their batches' seals, `scans`).

pub mod key;
mod scans;
pub mod steps;
mod update;
mod verifications;
mod verify;

pub use update::{Columns, diff};

pub use verifications::Verifications;
pub use verify::{
    Progress, Verdict, check_head, checkpoint, seal_old_head, verify, verify_watched, verify_with,
};

use huoyan_core::audit::AuditEvent;
use huoyan_core::audit::seal::{AuditKey, Head};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use crate::db::{Arg, Backend, Db, insert_rows};

use crate::error::AppResult;
use crate::time::now_ms;

/// Who made a change: an account, or the system itself (demo loader, background jobs).
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<i64>,
    pub name: String,
}

impl Actor {
    pub fn system(what: &str) -> Self {
        Self {
            id: None,
            name: format!("system:{what}"),
        }
    }
}

/// A writing transaction. Beginning one takes the chain head's row lock (SQLite: the write lock),
/// so writers are serialised and each event knows its predecessor. Dropped without `commit`, it
/// rolls back and leaves nothing behind.
pub struct Change {
    pub tx: Transaction<'static, Any>,
    backend: Backend,
    key: AuditKey,
    actor: Actor,
    seq: i64,
    head: String,
    /// The last event written to `audit_events`; `commit` needs it to equal `seq`.
    written: i64,
    at_ms: i64,
}

impl Change {
    /// Refuses when the head's seal does not hold: building on a head rewritten outside Huoyan
    /// would seal the rewrite.
    pub async fn begin(db: &Db, actor: &Actor) -> AppResult<Change> {
        let key = db.audit_key.clone().ok_or_else(|| {
            anyhow::anyhow!("no audit key: every write seals the audit chain's head with it")
        })?;
        let mut tx = db.pool.begin().await?;
        let row = sqlx::query(
            "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash, mac, key_id",
        )
        .fetch_one(&mut *tx)
        .await?;
        let head = head_from_row(&row)?;
        head.check(&key).map_err(|e| {
            anyhow::anyhow!("refusing to write: {e}; `huoyan audit verify` tells more")
        })?;
        Ok(Change {
            tx,
            backend: db.backend,
            key,
            actor: actor.clone(),
            seq: head.seq,
            head: head.hash,
            written: head.seq,
            at_ms: now_ms(),
        })
    }

    /// Runs `f` in one writing transaction and commits what it wrote; on error nothing stays.
    pub async fn run<T>(
        db: &Db,
        actor: &Actor,
        f: impl AsyncFnOnce(&mut Change) -> AppResult<T>,
    ) -> AppResult<T> {
        let mut change = Change::begin(db, actor).await?;
        let out = f(&mut change).await?;
        change.commit().await?;
        Ok(out)
    }

    /// Whether row `id` exists in `table`, as this transaction sees it (rows it wrote included).
    /// The backend this change writes to, for the few statements whose text differs.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn exists(&mut self, table: &'static str, id: i64) -> AppResult<bool> {
        let sql = format!("SELECT 1 FROM {table} WHERE id = $1");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .is_some())
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Makes what follows in this change the act of `actor` at `at_ms`: a loader replaying a
    /// history writes many people's steps, each at its own time, through the same functions and
    /// with one event each, in one transaction.
    pub fn act_as(&mut self, actor: &Actor, at_ms: i64) {
        self.actor = actor.clone();
        self.at_ms = at_ms;
    }

    /// The time of this change, shared by all its rows and events.
    pub fn at_ms(&self) -> i64 {
        self.at_ms
    }

    /// Appends one event; `summary` says what changed (for updates: before and after of the
    /// fields touched).
    pub async fn record(
        &mut self,
        entity: &str,
        entity_id: impl ToString,
        action: &str,
        summary: &impl Serialize,
    ) -> AppResult<()> {
        let actor = self.actor.clone();
        let event = self.seal(&actor, entity, entity_id, action, summary)?;
        self.write_events(std::slice::from_ref(&event)).await
    }

    /// Chains the next event in memory, made by `actor` (a batch may carry many people's
    /// changes), without writing it: pass it to `write_events` before `commit`, which refuses to
    /// move the head past events not written.
    pub fn seal(
        &mut self,
        actor: &Actor,
        entity: &str,
        entity_id: impl ToString,
        action: &str,
        summary: &impl Serialize,
    ) -> AppResult<AuditEvent> {
        let event = AuditEvent {
            seq: self.seq + 1,
            at_ms: self.at_ms,
            actor_id: actor.id,
            actor: actor.name.clone(),
            entity: entity.to_string(),
            entity_id: entity_id.to_string(),
            action: action.to_string(),
            summary: serde_json::to_string(summary).map_err(anyhow::Error::from)?,
            prev_hash: String::new(),
            hash: String::new(),
        }
        .seal(&self.head);
        self.seq = event.seq;
        self.head.clone_from(&event.hash);
        Ok(event)
    }

    /// Writes events sealed by `seal`, in their order, many to a statement.
    pub async fn write_events(&mut self, events: &[AuditEvent]) -> AppResult<()> {
        let mut rows = Vec::with_capacity(events.len());
        for e in events {
            if e.seq != self.written + 1 {
                return Err(anyhow::anyhow!(
                    "audit event {} written out of order (after {})",
                    e.seq,
                    self.written
                )
                .into());
            }
            self.written = e.seq;
            rows.push(vec![
                Arg::from(e.seq),
                Arg::from(e.at_ms),
                Arg::from(e.actor_id),
                Arg::from(e.actor.as_str()),
                Arg::from(e.entity.as_str()),
                Arg::from(e.entity_id.as_str()),
                Arg::from(e.action.as_str()),
                Arg::from(e.summary.as_str()),
                Arg::from(e.prev_hash.as_str()),
                Arg::from(e.hash.as_str()),
            ]);
        }
        let columns = [
            "seq",
            "at_ms",
            "actor_id",
            "actor",
            "entity",
            "entity_id",
            "action",
            "summary",
            "prev_hash",
            "hash",
        ];
        self.insert_rows("audit_events", &columns, &rows).await
    }

    /// `n` ids for new rows of `table` that no other transaction can take: SQLite's next rowids
    /// (this transaction holds the database's only write lock), PostgreSQL's from the identity
    /// sequence. Known before the INSERT, so a batch knows each row's id without relying on the
    /// order of a multi-row RETURNING.
    pub async fn new_ids(&mut self, table: &'static str, n: usize) -> AppResult<Vec<i64>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        match self.backend {
            Backend::Sqlite => {
                let sql = format!("SELECT COALESCE(MAX(id), 0) FROM {table}");
                let max: i64 = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&mut *self.tx)
                    .await?
                    .try_get(0)?;
                Ok((1..=n as i64).map(|i| max + i).collect())
            }
            Backend::Postgres => {
                let sql = format!(
                    "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, $1)"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(n as i64)
                    .fetch_all(&mut *self.tx)
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?)
            }
        }
    }

    /// Appends `rows` to `table` in a few multi-row INSERTs (`db::insert_rows`).
    pub async fn insert_rows(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Arg>],
    ) -> AppResult<()> {
        for sql in insert_rows(self.backend, table, columns, rows) {
            sql.query().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Sets rows of `table` by their ids in a few multi-row UPDATEs (`db::update_rows`).
    pub async fn update_rows(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Arg>],
    ) -> AppResult<()> {
        for sql in crate::db::update_rows(self.backend, table, columns, rows) {
            sql.query().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Ids for new rows of `table` that this change gives itself, one at a time as it needs
    /// them (a batch that must know rows' ids before it writes them): counted on from the first
    /// that neither a row nor PostgreSQL's identity sequence has taken. This change holds
    /// SQLite's only write lock, and on PostgreSQL the chain's head, which every writing change
    /// takes first; `ids_given` then moves the sequence past them.
    pub async fn count_ids(&mut self, table: &'static str) -> AppResult<Counted> {
        let sql = match self.backend {
            Backend::Sqlite => format!("SELECT COALESCE(MAX(id), 0) + 1, 0 FROM {table}"),
            // The sequence's next value without taking it (SELECT on it is all the role has).
            Backend::Postgres => format!(
                "SELECT GREATEST((SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), s.next), s.next FROM \
                 (SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence('{table}', 'id')::regclass), 0) + 1 AS next) s"
            ),
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(Counted {
            table,
            next: row.try_get(0)?,
            sequence: row.try_get(1)?,
        })
    }

    /// After rows were inserted under ids of `counted`: on PostgreSQL the identity sequence is
    /// advanced past them, so that its next id is not one of theirs.
    pub async fn ids_given(&mut self, counted: &Counted) -> AppResult<()> {
        let behind = counted.next - counted.sequence;
        if self.backend == Backend::Postgres && behind > 0 {
            let sql = format!(
                "SELECT MAX(nextval(pg_get_serial_sequence('{}', 'id'))) FROM generate_series(1, $1)",
                counted.table
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(behind)
                .fetch_one(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Moves the chain head, seals it and commits; the caller's write is acknowledged only after
    /// this.
    pub async fn commit(mut self) -> AppResult<()> {
        if self.written != self.seq {
            return Err(anyhow::anyhow!(
                "audit events {}..={} were sealed but never written",
                self.written + 1,
                self.seq
            )
            .into());
        }
        sqlx::query(
            "UPDATE audit_head SET seq = $1, hash = $2, mac = $3, key_id = $4 WHERE id = 1",
        )
        .bind(self.seq)
        .bind(&self.head)
        .bind(self.key.seal_head(self.seq, &self.head))
        .bind(self.key.id())
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// Ids of a table counted by a change (`Change::count_ids`).
pub struct Counted {
    table: &'static str,
    next: i64,
    /// PostgreSQL's identity sequence's next value when counting began.
    sequence: i64,
}

impl Counted {
    /// The next id.
    pub fn take(&mut self) -> i64 {
        self.next += 1;
        self.next - 1
    }
}

fn event_from_row(r: &sqlx::any::AnyRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        seq: r.try_get("seq")?,
        at_ms: r.try_get("at_ms")?,
        actor_id: r.try_get("actor_id")?,
        actor: r.try_get("actor")?,
        entity: r.try_get("entity")?,
        entity_id: r.try_get("entity_id")?,
        action: r.try_get("action")?,
        summary: r.try_get("summary")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

fn head_from_row(r: &sqlx::any::AnyRow) -> Result<Head, sqlx::Error> {
    Ok(Head {
        seq: r.try_get("seq")?,
        hash: r.try_get("hash")?,
        mac: r.try_get("mac")?,
        key_id: r.try_get("key_id")?,
    })
}

/// One entity's trail, newest first.
pub async fn trail(
    db: &Db,
    entity: &str,
    entity_id: &str,
    limit: i64,
    offset: i64,
) -> AppResult<Vec<AuditEvent>> {
    let rows = sqlx::query(
        "SELECT seq, at_ms, actor_id, actor, entity, entity_id, action, summary, prev_hash, hash \
         FROM audit_events WHERE entity = $1 AND entity_id = $2 ORDER BY seq DESC LIMIT $3 OFFSET $4",
    )
    .bind(entity)
    .bind(entity_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(event_from_row).collect::<Result<_, _>>()?)
}

/// An event as the API and the pages show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrailEvent {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    /// What changed, as recorded.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
    pub hash: String,
}

impl From<huoyan_core::audit::AuditEvent> for TrailEvent {
    fn from(e: huoyan_core::audit::AuditEvent) -> Self {
        TrailEvent {
            seq: e.seq,
            at: crate::time::rfc3339(e.at_ms),
            actor: e.actor,
            action: e.action,
            summary: serde_json::from_str(&e.summary)
                .unwrap_or(serde_json::Value::String(e.summary)),
            hash: e.hash,
        }
    }
}
