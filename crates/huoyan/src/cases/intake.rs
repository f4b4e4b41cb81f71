//! Case intake: writing reports that passed validation. A filing becomes one `cases` row, its
//! first timeline entry and its own audit event. A report that comes with photos is written with
//! them in a transaction of its own (`write_one`): all of it or nothing, never a case without the
//! photos it was sent with.
//!
//! Under load the reports are written by group commit (`db::group`): up to `BATCH` of them in one
//! transaction, each caller answered once its case is committed. A batch that one filing's data
//! fails (a rule of the database broken, a value it cannot store) is rolled back whole and its
//! filings are written again one by one, so that the bad filing gets its own error and costs the
//! others nothing.

use std::collections::HashMap;

use huoyan_core::cases::{CaseState, Category, Kind, Priority, Source};
use sqlx::Row;

use super::files::Upload;
use super::store::NewReport;
use super::{Case, CaseDetail, TimelineEntry};
use crate::audit::{Actor, Change};
use crate::check::Check;
use crate::db::group::{Batch, Writer};
use crate::db::{Backend, Db, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::time::rfc3339;

/// Most filings in one transaction.
const BATCH: usize = 256;
/// Filings waiting for the writer before senders wait too.
const QUEUE: usize = 4096;

/// A report that passed validation, ready to be written.
#[derive(Debug, Clone)]
pub struct Filing {
    pub actor: Actor,
    pub account_id: i64,
    pub key: Option<String>,
    pub kind: Kind,
    pub source: Source,
    pub category: Category,
    pub priority: Priority,
    pub compound_id: i64,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: String,
    /// Trimmed.
    pub description: String,
}

impl Filing {
    /// The case as `store::insert_reports` and `store::insert_report` write it for this filing
    /// (under case id `id`, its report entry `entry`), so that the answer to a new report needs
    /// no read (a test compares it with a later read).
    pub fn as_written(&self, id: i64, entry: i64, at_ms: i64) -> CaseDetail {
        CaseDetail {
            case: Case {
                id,
                kind: self.kind,
                source: self.source,
                category: self.category,
                priority: self.priority,
                state: CaseState::Reported,
                compound_id: self.compound_id,
                lon: self.lon,
                lat: self.lat,
                address: self.address.clone(),
                description: self.description.clone(),
                reporter_account_id: self.account_id,
                department_id: None,
                due_at: None,
                overdue: false,
                merged_into: None,
                reported_at: rfc3339(at_ms),
                updated_at: rfc3339(at_ms),
            },
            // A new report has no units' tasks yet; one with photos is answered by a read.
            tasks: Vec::new(),
            files: Vec::new(),
            timeline: vec![TimelineEntry {
                id: entry,
                at: rfc3339(at_ms),
                actor_account_id: Some(self.account_id),
                action: "report".to_string(),
                from_state: None,
                to_state: CaseState::Reported,
                note: self.description.clone(),
                department_id: None,
                lon: None,
                lat: None,
            }],
        }
    }
}

/// What a filing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filed {
    /// It made case `id`, with its report entry `entry`, at `at_ms`.
    New { id: i64, entry: i64, at_ms: i64 },
    /// Its key was used before, for case `id`.
    Existing(i64),
}

impl Filed {
    pub fn id(self) -> i64 {
        match self {
            Filed::New { id, .. } | Filed::Existing(id) => id,
        }
    }
}

/// The intake's group-commit writer (`db::group`): reports a transaction at a time.
pub struct Intake(Writer<Reports>);

struct Reports;

impl Batch for Reports {
    type Item = Filing;
    type Done = Filed;

    async fn write(&self, db: &Db, filings: Vec<Filing>) -> Vec<AppResult<Filed>> {
        write_all(db, &filings).await
    }
}

impl Intake {
    pub fn new(db: &Db) -> Self {
        Self(Writer::new(db, Reports, BATCH, QUEUE))
    }

    /// Files one case through the writer; answers once it is committed.
    pub async fn file(&self, filing: Filing) -> AppResult<Filed> {
        self.0.write(filing).await
    }
}

/// Writes `filings` in one transaction. If one of them broke a rule of the database (a region
/// deleted meanwhile, a key taken) or held a value it cannot store (PostgreSQL's data
/// exceptions), each is written again in its own, so that it alone fails.
/// If the database itself failed (unreachable, busy, the commit lost), every filing gets that
/// error at once: retrying one by one would make each caller wait out the same failure in turn,
/// and after a lost commit, which may have landed, it could file keyless reports twice.
/// One answer per filing, in order.
pub async fn write_all(db: &Db, filings: &[Filing]) -> Vec<AppResult<Filed>> {
    match write_many(db, filings).await {
        Ok(filed) => filed.into_iter().map(Ok).collect(),
        Err(e) if crate::db::group::refused_by_item(&e) => {
            if filings.len() > 1 {
                tracing::warn!(error = %e, filings = filings.len(), "intake batch refused; writing its filings one by one");
            }
            let mut out = Vec::with_capacity(filings.len());
            for f in filings {
                out.push(write_one(db, f, &[]).await);
            }
            out
        }
        Err(e) => {
            tracing::error!(error = %e, filings = filings.len(), "intake batch failed");
            let message = e.to_string();
            filings
                .iter()
                .map(|_| Err(anyhow::anyhow!("the report was not saved: {message}").into()))
                .collect()
        }
    }
}

/// Writes `filings` in one transaction: one `cases` row, one timeline entry and one audit event
/// (by the filing's own actor) for each filing whose key its account has not used, earlier or in
/// this batch; a used key answers with the case it made. All or nothing. The rows go in a few
/// multi-row INSERTs, whatever the number of filings.
pub async fn write_many(db: &Db, filings: &[Filing]) -> AppResult<Vec<Filed>> {
    let mut change = Change::begin(db, &Actor::system("intake")).await?;
    let at = change.at_ms();
    // Keys are looked up under the chain head's lock, which every writer takes first, so no
    // other transaction can file one of them before this one commits.
    let used = used_keys(&mut change, db.backend, filings).await?;
    // Which filings make a case (their index among the new ones) and which repeat a key.
    enum Plan {
        Make(usize),
        SameAs(usize),
        Existing(i64),
    }
    let mut plans = Vec::with_capacity(filings.len());
    let mut making: Vec<&Filing> = Vec::with_capacity(filings.len());
    let mut in_batch: HashMap<(i64, &str), usize> = HashMap::new();
    for f in filings {
        let key = f.key.as_deref().map(|k| (f.account_id, k));
        if let Some(k) = key {
            if let Some(&id) = used.get(&(k.0, k.1.to_string())) {
                plans.push(Plan::Existing(id));
                continue;
            }
            if let Some(&i) = in_batch.get(&k) {
                plans.push(Plan::SameAs(i));
                continue;
            }
            in_batch.insert(k, making.len());
        }
        plans.push(Plan::Make(making.len()));
        making.push(f);
    }
    let cases = change.new_ids("cases", making.len()).await?;
    let entries = change.new_ids("case_events", making.len()).await?;
    let ids: Vec<(i64, i64)> = cases.into_iter().zip(entries).collect();
    let mut events = Vec::with_capacity(making.len());
    for (f, &(id, _)) in making.iter().zip(&ids) {
        events.push(change.seal(&f.actor, "case", id, "report", &summary(f))?);
    }
    let reports: Vec<NewReport> = making
        .iter()
        .zip(&ids)
        .map(|(f, &(id, entry))| NewReport {
            filing: f,
            id,
            entry,
            at,
        })
        .collect();
    super::store::insert_reports(&mut change, &reports).await?;
    let made: Vec<i64> = ids.iter().map(|(case, _)| *case).collect();
    crate::notifications::tell_new_reports(&mut change, &made).await?;
    change.write_events(&events).await?;
    change.commit().await?;
    Ok(plans
        .into_iter()
        .map(|p| match p {
            Plan::Make(i) => Filed::New {
                id: ids[i].0,
                entry: ids[i].1,
                at_ms: at,
            },
            Plan::SameAs(i) => Filed::Existing(ids[i].0),
            Plan::Existing(id) => Filed::Existing(id),
        })
        .collect())
}

/// The cases the filings' accounts already filed under the filings' keys.
async fn used_keys(
    change: &mut Change,
    backend: Backend,
    filings: &[Filing],
) -> AppResult<HashMap<(i64, String), i64>> {
    let pairs: Vec<(i64, &str)> = filings
        .iter()
        .filter_map(|f| Some((f.account_id, f.key.as_deref()?)))
        .collect();
    let mut used = HashMap::new();
    if pairs.is_empty() {
        return Ok(used);
    }
    let rows = key_lookup(backend, &pairs)
        .query()
        .persistent(crate::db::prepared(backend))
        .fetch_all(&mut *change.tx)
        .await?;
    for r in rows {
        used.insert((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?);
    }
    Ok(used)
}

/// The statement that finds the cases filed under `pairs` of account and key: each pair probes
/// the unique index on (account, key). Two IN lists instead let PostgreSQL read all of an
/// account's cases through its other index whenever its statistics, lagging behind a busy intake,
/// think the account has few (9 ms a batch at 40,000 cases of one supervisor, and growing); the
/// join on a list of pairs is a nested loop of index probes whatever the statistics say. The list
/// repeats its last pair up to a power of two, so the statement has few shapes (see
/// `insert_rows`).
pub fn key_lookup(backend: Backend, pairs: &[(i64, &str)]) -> Sql {
    let mut sql = Sql::new("SELECT c.reporter_account_id, c.idempotency_key, c.id FROM ");
    crate::db::pair_list(&mut sql, backend, pairs);
    sql.push(
        " JOIN cases c ON c.reporter_account_id = k.column1 AND c.idempotency_key = k.column2",
    );
    sql
}

pub(super) fn summary(f: &Filing) -> serde_json::Value {
    serde_json::json!({"category": f.category.code(), "compound_id": f.compound_id, "priority": f.priority.code(), "to": CaseState::Reported.code()})
}

/// Files one report inside `change`, at its time, with its audit event and `photos` (the demo's
/// history files each report so, at the time it was made); returns the case's and its report
/// entry's ids.
pub async fn file_in(change: &mut Change, f: &Filing, photos: &[Upload]) -> AppResult<(i64, i64)> {
    let (id, entry) = super::store::insert_report(change, f).await?;
    crate::notifications::tell_new_reports(change, &[id]).await?;
    change.record("case", id, "report", &summary(f)).await?;
    super::store::attach(change, id, entry, photos).await?;
    Ok((id, entry))
}

/// The answer to a filing whose data the database refused: the fields that validation should
/// have refused (a caller that skipped it), else the filing as a whole.
fn refused_data(f: &Filing) -> AppError {
    let mut check = Check::default();
    for (field, value) in [
        ("description", f.description.as_str()),
        ("address", f.address.as_str()),
        ("idempotency-key", f.key.as_deref().unwrap_or_default()),
    ] {
        check.storable(field, value);
    }
    check
        .done()
        .err()
        .unwrap_or_else(|| AppError::invalid("body", "holds a value the database cannot store"))
}

/// Writes one filing with its photos in its own transaction: a report that comes with photos
/// is filed so, all of it or nothing.
pub async fn write_one(db: &Db, f: &Filing, photos: &[Upload]) -> AppResult<Filed> {
    let written = Change::run(db, &f.actor, async |change| {
        let (id, entry) = file_in(change, f, photos).await?;
        Ok(Filed::New {
            id,
            entry,
            at_ms: change.at_ms(),
        })
    })
    .await;
    match written {
        // Two sends of one key at once: the second lost the race on the unique key and answers
        // with the case the first made.
        Err(AppError::Conflict(_)) if f.key.is_some() => {
            match by_key(db, f.account_id, f.key.as_deref()).await? {
                Some(id) => Ok(Filed::Existing(id)),
                None => Err(AppError::Conflict(vec![FieldError::new(
                    "idempotency-key",
                    "conflict",
                )])),
            }
        }
        Err(e) if crate::db::group::is_data_exception(&e) => {
            tracing::warn!(error = %e, "the database refused a filing's data");
            Err(refused_data(f))
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
            .persistent(crate::db::prepared(db.backend))
            .fetch_optional(&db.pool)
            .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}
