//! The scan ingest: `POST /api/v1/testing/scans` takes one scan or a scanner's queued batch, and
//! answers each once it is committed. Scans are written by group commit (`db::group`): up to
//! `BATCH` of them in one transaction, which reads what decides them (the tubes, the residents,
//! who is already in the round, the keys already used) in a few statements for the whole batch,
//! decides each in order in memory (`huoyan_core::testing::tubes::admit`), and writes the rows in
//! multi-row INSERTs with one audit event sealing their hash. A request waits for no other read;
//! a full queue is refused at once (503 with `Retry-After`).
//!
//! Every scan sent is kept with what it did (added, or why not), under its account's idempotency
//! key: a scan sent again is answered as the first time and never written twice. The unique
//! index on (round, resident) for added scans and the tubes' CHECK on their count back the
//! decisions up in the database.

use std::collections::{HashMap, HashSet};

use axum::extract::State;
use chrono::{DateTime, FixedOffset};
use huoyan_core::testing::codes::{Barcode, HealthCode};
use huoyan_core::testing::residents::CodeColour;
use huoyan_core::testing::tubes::{Admission, Scanned, admit};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::TestingState;
use super::tube_memory::{TubeMemory, push_in, write_counts};
use crate::audit::{Actor, Change};
use crate::auth::{Can, Principal, perm};
use crate::check::{Required, Text};
use crate::db::group::{Batch, Writer, refused_by_item};
use crate::db::{Arg, Db, Sql, select_joined};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::ApiJson;

/// Most scans in one transaction: at 20,000 a second, one commit (one flush to disk) in 50 ms.
const BATCH: usize = 1_000;
/// Scans waiting for the writer before new ones are refused: one batch, so that an accepted scan
/// waits at most for the batch being written and its own (about 0.1 s each at the rate this
/// machine sustains) and overload is answered 503 at once; a scanner told 503 sends again a
/// second later.
const QUEUE: usize = 1_000;
/// Most scans one request carries (a scanner's queue after an hour offline is a few hundred).
const MOST_PER_REQUEST: usize = 500;
/// How far back a queued scan may say it was made.
const OLDEST_MS: i64 = 48 * 3600 * 1000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScan {
    /// The tube's barcode (opened first with `POST /api/v1/testing/tubes`).
    #[schema(value_type = String, example = "T-2022081200001")]
    pub tube: Text<200>,
    /// What the resident's health code or card scanned as: the code, or the link printed on it.
    #[schema(value_type = String, example = "HY23456789AB")]
    pub code: Text<200>,
    /// The scanner's idempotency key for this scan (a UUID): sent again, the scan is answered as
    /// the first time.
    #[schema(value_type = String, example = "0b5c9f2e-4d7a-4c1e-9a55-1f2e3d4c5b6a")]
    pub key: Required<64>,
    /// When it was scanned, for a scan sent late from the scanner's queue (RFC 3339; within the
    /// last 48 hours); now when absent.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scanned_at: Option<DateTime<FixedOffset>>,
}

/// One scan (`tube`, `code`, `key`) or a batch (`scans`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    #[schema(value_type = Option<String>)]
    pub tube: Option<Text<200>>,
    #[schema(value_type = Option<String>)]
    pub code: Option<Text<200>>,
    #[schema(value_type = Option<String>)]
    pub key: Option<Required<64>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scanned_at: Option<DateTime<FixedOffset>>,
    /// Up to 500 scans, answered each in its place.
    pub scans: Option<Vec<NewScan>>,
}

/// What a scan did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScanAnswer {
    pub scan_id: i64,
    pub tube: String,
    /// `added`, or why not: `tube_not_open`, `tube_full`, `scanned_twice`, `sample_alone` (a red
    /// or yellow code: sample them alone and report), `unknown_code`.
    pub outcome: String,
    /// People in the tube now.
    pub count: i64,
    /// The tube holds its capacity: seal it.
    pub full: bool,
    /// The code's colour, when the code is registered.
    pub colour: Option<CodeColour>,
    /// The resident's name, masked but for its first character, for the sampler to compare.
    pub name: Option<String>,
    /// The key was used before: this is the first answer again, nothing was written.
    pub repeated: bool,
}

/// One item of a batch's answer: the scan's answer, or why it was not taken.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanAnswer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::error::ErrorBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswer {
    pub results: Vec<BatchItem>,
}

/// A scan that passed parsing, ready for the writer.
#[derive(Debug, Clone)]
pub struct Scan {
    pub account_id: i64,
    /// The caller's region path: a scan into a tube outside it is refused.
    pub scope_path: Option<String>,
    pub key: String,
    pub tube: Barcode,
    pub code: HealthCode,
    pub at_ms: i64,
}

impl Scan {
    /// `new` sent by `p` at `now_ms`; an error names the field under `prefix`.
    pub fn parse(p: &Principal, new: &NewScan, prefix: &str, now_ms: i64) -> AppResult<Scan> {
        let mut errors = Vec::new();
        let tube = Barcode::parse(&new.tube)
            .map_err(|e| errors.push(FieldError::new(format!("{prefix}tube"), e.to_string())))
            .ok();
        let code = HealthCode::parse(&new.code)
            .map_err(|e| errors.push(FieldError::new(format!("{prefix}code"), e.to_string())))
            .ok();
        let at_ms = match new.scanned_at {
            None => now_ms,
            Some(t) => {
                let ms = t.timestamp_millis();
                if ms > now_ms + 5 * 60_000 || ms < now_ms - OLDEST_MS {
                    errors.push(FieldError::new(
                        format!("{prefix}scanned_at"),
                        "within the last 48 hours",
                    ));
                }
                ms.min(now_ms)
            }
        };
        match (tube, code) {
            (Some(tube), Some(code)) if errors.is_empty() => Ok(Scan {
                account_id: p.account_id,
                scope_path: p.scope_path.clone(),
                key: new.key.trimmed().to_string(),
                tube,
                code,
                at_ms,
            }),
            _ => Err(AppError::Invalid(errors)),
        }
    }
}

/// The ingest's group-commit writer.
pub struct Ingest(Writer<Scans>);

/// The writer's batches, and the tubes it remembers between them. Batches run one at a time; the
/// memory is taken out for a batch and put back after, so a batch that panics leaves it empty.
#[derive(Default)]
pub struct Scans(std::sync::Mutex<TubeMemory>);

impl Batch for Scans {
    type Item = Scan;
    type Done = ScanAnswer;

    async fn write(&self, db: &Db, scans: Vec<Scan>) -> Vec<AppResult<ScanAnswer>> {
        let mut memory = std::mem::take(&mut *self.0.lock().expect("tube memory"));
        let answers = write_all(db, &mut memory, &scans).await;
        *self.0.lock().expect("tube memory") = memory;
        answers
    }
}

impl Ingest {
    pub fn new(db: &Db) -> Self {
        Self(Writer::new(db, Scans::default(), BATCH, QUEUE))
    }

    /// Writes one scan; answers once it is committed, or at once with `Busy` when the queue is
    /// full.
    pub async fn scan(&self, scan: Scan) -> AppResult<ScanAnswer> {
        self.0.try_write(scan).await
    }

    /// Writes a scanner's queue in one batch (a scan the database refuses fails alone); answers
    /// once committed, or at once with `Busy` for all of them when the queue has no room.
    pub async fn scans(&self, scans: Vec<Scan>) -> AppResult<Vec<AppResult<ScanAnswer>>> {
        self.0.try_write_all(scans).await
    }
}

/// Writes `scans` in one transaction; if the database refused one of them, each again alone, so
/// that it alone fails. One answer per scan, in order.
pub async fn write_all(
    db: &Db,
    memory: &mut TubeMemory,
    scans: &[Scan],
) -> Vec<AppResult<ScanAnswer>> {
    match write_many(db, memory, scans).await {
        Ok(answers) => answers,
        Err(e) if refused_by_item(&e) && scans.len() > 1 => {
            tracing::warn!(error = %e, scans = scans.len(), "scan batch refused; writing its scans one by one");
            let mut out = Vec::with_capacity(scans.len());
            for s in scans {
                out.push(
                    match write_many(db, memory, std::slice::from_ref(s)).await {
                        Ok(mut one) => one.pop().expect("one answer"),
                        Err(e) => Err(e),
                    },
                );
            }
            out
        }
        Err(e) => {
            tracing::error!(error = %e, scans = scans.len(), "scan batch failed");
            let message = e.to_string();
            scans
                .iter()
                .map(|_| Err(anyhow::anyhow!("the scan was not saved: {message}").into()))
                .collect()
        }
    }
}

/// A registered code as the batch holds it.
struct Resident {
    id: i64,
    colour: CodeColour,
    name: String,
}

/// `张三丰` → `张**`.
fn masked_name(name: &str) -> String {
    let mut chars = name.chars();
    let first: String = chars.next().into_iter().collect();
    first + &"*".repeat(chars.count())
}

/// Writes `scans` in one transaction: reads what decides them, decides each in order, writes the
/// new rows, the tubes' counts and one audit event. All or nothing; a scan whose tube is unknown
/// or out of the caller's region gets its own error without failing the others. A batch decided
/// on a remembered tube that changed meanwhile is undone and decided again from what is stored.
pub async fn write_many(
    db: &Db,
    memory: &mut TubeMemory,
    scans: &[Scan],
) -> AppResult<Vec<AppResult<ScanAnswer>>> {
    // Read in the transaction, a tube can only have changed again on PostgreSQL, by a seal
    // committed between the read and the write: rare, and never three times running.
    for _ in 0..3 {
        let mut change = Change::begin(db, &Actor::system("scans")).await?;
        if let Some(answers) = write_in(&mut change, db, memory, scans).await? {
            if answers.iter().any(|a| matches!(a, Ok(a) if !a.repeated)) {
                change.commit().await?;
            }
            // Else nothing new: the transaction is dropped and rolls back.
            return Ok(answers);
        }
        memory.forget();
    }
    Err(anyhow::anyhow!("the batch's tubes kept changing while it was written").into())
}

/// `write_many`'s batch inside `change`, at its time (the demo replays a history's scans in the
/// batches the writer makes, each sealed when it was written); `None` when a remembered tube had
/// changed, and `change` must then be dropped. The tubes are remembered as the batch leaves
/// them before `change` commits: should it not, the next batch finds their counts changed and
/// reads them again.
pub async fn write_in(
    change: &mut Change,
    db: &Db,
    memory: &mut TubeMemory,
    scans: &[Scan],
) -> AppResult<Option<Vec<AppResult<ScanAnswer>>>> {
    let used = used_keys(change, db, scans).await?;
    let mut tubes = memory.take(change, scans.iter().map(|s| &s.tube)).await?;
    let residents = residents_of(change, scans).await?;
    let rounds: Vec<i64> = tubes.values().map(|t| t.round).collect();
    let ids: Vec<i64> = residents.values().map(|r| r.id).collect();
    let mut in_round = in_rounds(change, &rounds, &ids).await?;
    let fresh = scans
        .iter()
        .filter(|s| !used.contains_key(&(s.account_id, s.key.clone())))
        .count();
    let mut ids = change.new_ids("scans", fresh).await?.into_iter();
    let mut answers: Vec<AppResult<ScanAnswer>> = Vec::with_capacity(scans.len());
    let mut in_batch: HashMap<(i64, &str), usize> = HashMap::new();
    let mut rows: Vec<Vec<Arg>> = Vec::with_capacity(fresh);
    let mut digest = Sha256::new();
    for s in scans {
        if let Some(stored) = used.get(&(s.account_id, s.key.clone())) {
            answers.push(Ok(stored.clone()));
            continue;
        }
        if let Some(&i) = in_batch.get(&(s.account_id, s.key.as_str())) {
            let again = match &answers[i] {
                Ok(a) => Ok(ScanAnswer {
                    repeated: true,
                    ..a.clone()
                }),
                Err(e) => Err(AppError::invalid(
                    "key",
                    format!("sent with a scan that failed: {e}"),
                )),
            };
            answers.push(again);
            continue;
        }
        in_batch.insert((s.account_id, s.key.as_str()), answers.len());
        let id = ids.next().expect("an id for every fresh scan");
        let Some(tube) = tubes.get_mut(&s.tube) else {
            answers.push(Err(AppError::invalid(
                "tube",
                "no such tube: scan the tube's barcode to open it first",
            )));
            continue;
        };
        if s.scope_path
            .as_deref()
            .is_some_and(|p| !tube.path.starts_with(p))
        {
            answers.push(Err(AppError::OutsideScope(vec![FieldError::new(
                "tube",
                crate::check::OUTSIDE,
            )])));
            continue;
        }
        let person = residents.get(&s.code);
        let scanned = person.map(|r| Scanned {
            colour: r.colour,
            in_round: in_round.contains(&(tube.round, r.id)),
        });
        let outcome = match admit(tube.tube, scanned) {
            Admission::Added { count, .. } => {
                tube.tube.count = count;
                if let Some(r) = person {
                    in_round.insert((tube.round, r.id));
                }
                "added"
            }
            Admission::Refused(why) => why.code(),
        };
        let resident = person.map(|r| r.id);
        let line = huoyan_core::audit::scans::ScanRow {
            id,
            tube_id: tube.id,
            round_id: tube.round,
            resident_id: resident,
            code: s.code.as_str(),
            outcome,
            account_id: s.account_id,
            idempotency_key: &s.key,
            at: s.at_ms,
        }
        .line();
        digest.update(line.as_bytes());
        rows.push(vec![
            Arg::from(id),
            Arg::from(tube.id),
            Arg::from(tube.round),
            Arg::from(resident),
            Arg::from(s.code.as_str()),
            Arg::from(outcome),
            Arg::from(s.account_id),
            Arg::from(s.key.as_str()),
            Arg::from(s.at_ms),
        ]);
        answers.push(Ok(ScanAnswer {
            scan_id: id,
            tube: s.tube.as_str().to_string(),
            outcome: outcome.to_string(),
            count: i64::from(tube.tube.count),
            full: i64::from(tube.tube.count) >= tube.capacity,
            colour: person.map(|r| r.colour),
            name: person.map(|r| masked_name(&r.name)),
            repeated: false,
        }));
    }
    if rows.is_empty() {
        memory.keep(tubes);
        return Ok(Some(answers));
    }
    let (first, last, n) = (row_id(&rows[0]), row_id(&rows[rows.len() - 1]), rows.len());
    change
        .insert_rows(
            "scans",
            &[
                "id",
                "tube_id",
                "round_id",
                "resident_id",
                "code",
                "outcome",
                "account_id",
                "idempotency_key",
                "at",
            ],
            &rows,
        )
        .await?;
    if !write_counts(change, &tubes).await? {
        return Ok(None);
    }
    change
        .record(
            "scans",
            first,
            "write",
            &serde_json::json!({"first": first, "last": last, "count": n,
                "sha256": hex::encode(digest.finalize())}),
        )
        .await?;
    memory.keep(tubes);
    Ok(Some(answers))
}

fn row_id(row: &[Arg]) -> i64 {
    match row[0] {
        Arg::Int(Some(id)) => id,
        _ => unreachable!("a scan row starts with its id"),
    }
}

/// The answers stored for the keys `scans` name that their accounts used before.
async fn used_keys(
    change: &mut Change,
    db: &Db,
    scans: &[Scan],
) -> AppResult<HashMap<(i64, String), ScanAnswer>> {
    let pairs: Vec<(i64, &str)> = scans
        .iter()
        .map(|s| (s.account_id, s.key.as_str()))
        .collect();
    let mut sql = Sql::new(
        "SELECT s.account_id, s.idempotency_key, s.id, s.outcome, t.barcode, t.count, t.capacity, \
         r.colour, r.name FROM ",
    );
    crate::db::pair_list(&mut sql, db.backend, &pairs);
    sql.push(
        " JOIN scans s ON s.account_id = k.column1 AND s.idempotency_key = k.column2 \
         JOIN tubes t ON t.id = s.tube_id LEFT JOIN residents r ON r.id = s.resident_id",
    );
    let mut out = HashMap::new();
    for r in sql
        .query()
        .persistent(crate::db::prepared(db.backend))
        .fetch_all(&mut *change.tx)
        .await?
    {
        let (count, capacity): (i64, i64) = (r.try_get("count")?, r.try_get("capacity")?);
        let colour: Option<String> = r.try_get("colour")?;
        let name: Option<String> = r.try_get("name")?;
        out.insert(
            (r.try_get("account_id")?, r.try_get("idempotency_key")?),
            ScanAnswer {
                scan_id: r.try_get("id")?,
                tube: r.try_get("barcode")?,
                outcome: r.try_get("outcome")?,
                count,
                full: count >= capacity,
                colour: colour.as_deref().and_then(CodeColour::parse),
                name: name.as_deref().map(masked_name),
                repeated: true,
            },
        );
    }
    Ok(out)
}

async fn residents_of(
    change: &mut Change,
    scans: &[Scan],
) -> AppResult<HashMap<HealthCode, Resident>> {
    let codes: Vec<String> = scans
        .iter()
        .map(|s| s.code.as_str().to_string())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut sql = Sql::new("SELECT id, code, colour, name FROM residents WHERE code");
    push_in(&mut sql, &codes);
    let mut out = HashMap::new();
    for r in sql.query().fetch_all(&mut *change.tx).await? {
        let (code, colour): (String, String) = (r.try_get("code")?, r.try_get("colour")?);
        out.insert(
            HealthCode::parse(&code).map_err(|e| anyhow::anyhow!("stored code {code:?}: {e}"))?,
            Resident {
                id: r.try_get("id")?,
                colour: CodeColour::parse(&colour)
                    .ok_or_else(|| anyhow::anyhow!("resident colour {colour:?}"))?,
                name: r.try_get("name")?,
            },
        );
    }
    Ok(out)
}

/// Which of `residents` are in one of `rounds`' tubes already.
async fn in_rounds(
    change: &mut Change,
    rounds: &[i64],
    residents: &[i64],
) -> AppResult<HashSet<(i64, i64)>> {
    if rounds.is_empty() || residents.is_empty() {
        return Ok(HashSet::new());
    }
    let mut rounds = rounds.to_vec();
    rounds.sort_unstable();
    rounds.dedup();
    let pairs: Vec<Vec<Arg>> = rounds
        .iter()
        .flat_map(|&round| residents.iter().map(move |&r| vec![round.into(), r.into()]))
        .collect();
    let mut out = HashSet::new();
    for sql in select_joined(
        change.backend(),
        "SELECT s.round_id, s.resident_id",
        2,
        "JOIN scans s ON s.round_id = v.column1 AND s.resident_id = v.column2 \
         AND s.outcome = 'added'",
        &pairs,
    ) {
        for r in sql.query().fetch_all(&mut *change.tx).await? {
            out.insert((r.try_get(0)?, r.try_get(1)?));
        }
    }
    Ok(out)
}

/// Scan one resident's code into a tube, or send a scanner's queue (`scans`, up to 500). Success
/// means committed. Each scan is answered with what it did: `added`, or why not (the sampler is
/// shown it at once). A scan sent again under its key is answered as the first time. When the
/// server takes more than it can write it answers 503 with `Retry-After` at once: send again.
#[utoipa::path(post, path = "/api/v1/testing/scans", tag = "testing", operation_id = "scan",
    request_body = ScanRequest,
    responses((status = 200, description = "one scan: its answer; a batch: `BatchAnswer`, each scan answered or refused in its place", body = ScanAnswer),
        (status = 403, body = crate::error::ErrorBody),
        (status = 503, description = "busy: send again after `Retry-After` seconds", body = crate::error::ErrorBody,
            headers(("Retry-After" = i64, description = "seconds to wait")))))]
async fn scan_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingSample>,
    ApiJson(req): ApiJson<ScanRequest>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let now = crate::time::now_ms();
    match req {
        ScanRequest {
            tube: Some(tube),
            code: Some(code),
            key: Some(key),
            scanned_at,
            scans: None,
        } => {
            let new = NewScan {
                tube,
                code,
                key,
                scanned_at,
            };
            let scan = Scan::parse(&p, &new, "", now)?;
            Ok(ApiJson(state.ingest.scan(scan).await?).into_response())
        }
        ScanRequest {
            tube: None,
            code: None,
            key: None,
            scanned_at: None,
            scans: Some(scans),
        } => {
            if scans.is_empty() || scans.len() > MOST_PER_REQUEST {
                return Err(AppError::invalid(
                    "scans",
                    format!("1 to {MOST_PER_REQUEST} scans"),
                ));
            }
            // The scans that parse go to the writer together; the others answer their error in
            // their place.
            let mut parsed = Vec::with_capacity(scans.len());
            let mut slots: Vec<Option<AppResult<ScanAnswer>>> = Vec::with_capacity(scans.len());
            for (i, new) in scans.iter().enumerate() {
                match Scan::parse(&p, new, &format!("scans[{i}]."), now) {
                    Ok(scan) => {
                        parsed.push(scan);
                        slots.push(None);
                    }
                    Err(e) => slots.push(Some(Err(e))),
                }
            }
            let mut written = if parsed.is_empty() {
                Vec::new()
            } else {
                state.ingest.scans(parsed).await?
            }
            .into_iter();
            let answers = slots.into_iter().map(|slot| {
                slot.unwrap_or_else(|| {
                    written
                        .next()
                        .unwrap_or_else(|| Err(anyhow::anyhow!("no answer for the scan").into()))
                })
            });
            let results = answers
                .into_iter()
                .map(|a| match a {
                    Ok(scan) => BatchItem {
                        scan: Some(scan),
                        error: None,
                    },
                    Err(e) => BatchItem {
                        scan: None,
                        error: Some(crate::error::ErrorBody {
                            error: e.code().to_string(),
                            message: e.public_message(),
                            fields: e.fields().to_vec(),
                        }),
                    },
                })
                .collect();
            Ok(ApiJson(BatchAnswer { results }).into_response())
        }
        _ => Err(AppError::invalid(
            "body",
            "one scan (tube, code, key) or a batch (scans), not both",
        )),
    }
}

pub fn api() -> OpenApiRouter<TestingState> {
    OpenApiRouter::new().routes(routes!(scan_route))
}
