//! Case intake: writing a report that passed validation. A filing becomes one `cases` row, its
//! first timeline entry and one audit event, in one transaction.

use huoyan_core::cases::{Kind, Priority, Source};
use sqlx::Row;

use crate::audit::{Actor, Change};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};

/// A report that passed validation, ready to be written.
#[derive(Debug, Clone)]
pub struct Filing {
    pub actor: Actor,
    pub account_id: i64,
    pub key: Option<String>,
    pub kind: Kind,
    pub source: Source,
    /// A checked category code.
    pub category: String,
    pub priority: Priority,
    pub compound_id: i64,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: String,
    /// Trimmed.
    pub description: String,
}

/// What filing did: the case, and whether this filing made it (false: its key was used before).
pub type Filed = (i64, bool);

/// Writes one filing in its own transaction.
pub async fn write_one(db: &Db, f: &Filing) -> AppResult<Filed> {
    let written = Change::run(db, &f.actor, async |change| {
        let at = change.at_ms();
        let id: i64 = sqlx::query(
            "INSERT INTO cases (kind, source, category, priority, state, compound_id, lon, lat, address, description, reporter_account_id, \
             reported_at, updated_at, idempotency_key) VALUES ($1, $2, $3, $4, 'reported', $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING id",
        )
        .bind(f.kind.code())
        .bind(f.source.code())
        .bind(&f.category)
        .bind(f.priority.code())
        .bind(f.compound_id)
        .bind(f.lon)
        .bind(f.lat)
        .bind(&f.address)
        .bind(&f.description)
        .bind(f.account_id)
        .bind(at)
        .bind(f.key.as_deref())
        .fetch_one(&mut *change.tx)
        .await?
        .try_get(0)?;
        sqlx::query("INSERT INTO case_events (case_id, at, actor_account_id, action, from_state, to_state, note) VALUES ($1, $2, $3, 'report', NULL, 'reported', $4)")
            .bind(id)
            .bind(at)
            .bind(f.account_id)
            .bind(&f.description)
            .execute(&mut *change.tx)
            .await?;
        change
            .record("case", id, "report", &serde_json::json!({"category": f.category, "compound_id": f.compound_id, "priority": f.priority.code()}))
            .await?;
        Ok((id, true))
    })
    .await;
    match written {
        // Two sends of one key at once: the second lost the race on the unique key and answers
        // with the case the first made.
        Err(AppError::Conflict(_)) if f.key.is_some() => {
            match by_key(db, f.account_id, f.key.as_deref()).await? {
                Some(id) => Ok((id, false)),
                None => Err(AppError::Conflict(vec![FieldError::new(
                    "idempotency-key",
                    "conflict",
                )])),
            }
        }
        other => other,
    }
}

/// The case `account_id` already filed under `key`, if any.
pub async fn by_key(db: &Db, account_id: i64, key: Option<&str>) -> AppResult<Option<i64>> {
    let Some(k) = key else { return Ok(None) };
    let row =
        sqlx::query("SELECT id FROM cases WHERE reporter_account_id = $1 AND idempotency_key = $2")
            .bind(account_id)
            .bind(k)
            .fetch_optional(&db.pool)
            .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}
