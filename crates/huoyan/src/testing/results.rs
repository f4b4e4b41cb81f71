//! Lab results and recalls. A lab imports a sheet of results (tube, result, time), all or
//! nothing with every bad row named; each tube must have reached the lab. A positive tube is
//! recalled in the same transaction: the recall lists the people scanned into it with their
//! buildings and masked phones, and the command side of its region is told at once.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::State;
use huoyan_core::cases::{Priority, Source};
use huoyan_core::testing::codes::Barcode;
use huoyan_core::testing::recall::{FollowUp, Home, buildings};
use huoyan_core::testing::tubes::{TubeState, may_move};
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::TestingState;
use super::tubes::by_barcode;
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath, ApiQuery};
use crate::tabular::{self, SheetQuery, Table};
use crate::time::rfc3339;

/// Most rows one results file holds: a lab's day.
const MAX_ROWS: usize = 50_000;

/// A result as a sheet writes it.
fn positive(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "阴性" | "negative" | "neg" | "-" => Some(false),
        "阳性" | "positive" | "pos" | "+" => Some(true),
        _ => None,
    }
}

/// A result's time as a sheet writes it: RFC 3339, or `YYYY-MM-DD HH:MM[:SS]` in Beijing time.
fn time_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc().timestamp_millis() - 8 * 3600 * 1000)
}

/// Writes every row of `t` inside `change`, or none. Returns (results written, recalls made).
pub async fn import(change: &mut Change, p: &Principal, t: &Table) -> AppResult<(usize, Vec<i64>)> {
    let cols = t.require(&[&["tube", "试管", "管码", "条码"], &["result", "结果"]])?;
    let time = t.column(&["time", "时间", "检测时间"]);
    if t.rows.len() > MAX_ROWS {
        return Err(AppError::invalid(
            "file",
            format!("at most {MAX_ROWS} rows"),
        ));
    }
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    let mut written = 0;
    let mut recalls = Vec::new();
    let mut events = Vec::new();
    let actor = change.actor().clone();
    for (line, row) in &t.rows {
        let cell = |i: Option<usize>| {
            i.and_then(|i| row.get(i))
                .map(|s| s.trim())
                .unwrap_or_default()
        };
        let mut bad = |field: &str, why: String| {
            errors.push(FieldError::new(format!("row {line}: {field}"), why))
        };
        let Ok(code) = Barcode::parse(cell(Some(cols[0]))) else {
            bad("tube", "not a tube barcode".into());
            continue;
        };
        let Some(pos) = positive(cell(Some(cols[1]))) else {
            bad("result", "阴性 or 阳性 (negative or positive)".into());
            continue;
        };
        let at = match cell(time) {
            "" => change.at_ms(),
            s => match time_ms(s) {
                Some(ms) if ms <= change.at_ms() + 5 * 60_000 => ms,
                _ => {
                    bad("time", "a past time, as 2022-08-12 14:30".into());
                    continue;
                }
            },
        };
        if !seen.insert(code.clone()) {
            bad("tube", "named twice in the file".into());
            continue;
        }
        let Some((tube, path)) = by_barcode(&mut change.tx, &code).await? else {
            bad("tube", "no such tube".into());
            continue;
        };
        if p.scope_path
            .as_deref()
            .is_some_and(|s| !path.starts_with(s))
        {
            bad("tube", crate::check::OUTSIDE.into());
            continue;
        }
        let result = if pos { "positive" } else { "negative" };
        if tube.state == TubeState::Resulted {
            if tube.result.as_deref() != Some(result) {
                bad(
                    "result",
                    format!(
                        "the tube was resulted {} already",
                        tube.result.unwrap_or_default()
                    ),
                );
            }
            continue;
        }
        if !may_move(tube.state, TubeState::Resulted, tube.count as u32) {
            bad(
                "tube",
                format!(
                    "the tube is {}: the lab has not received it",
                    tube.state.code()
                ),
            );
            continue;
        }
        if !errors.is_empty() {
            // The file fails: what is left is only checked.
            continue;
        }
        sqlx::query(
            "UPDATE tubes SET state = 'resulted', result = $1, resulted_at = $2, result_by = $3 WHERE id = $4",
        )
        .bind(result)
        .bind(at)
        .bind(p.account_id)
        .bind(tube.id)
        .execute(&mut *change.tx)
        .await?;
        events.push(change.seal(
            &actor,
            "tube",
            tube.id,
            "result",
            &serde_json::json!({"result": result, "at": at}),
        )?);
        written += 1;
        if pos {
            // The recall writes its own events: those sealed before it go first.
            change.write_events(&std::mem::take(&mut events)).await?;
            recalls.push(recall(change, p, tube.id, &tube.barcode, tube.count, &path).await?);
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    change.write_events(&events).await?;
    Ok((written, recalls))
}

/// Recalls the people of positive tube `tube` inside `change`, tells the accounts that act on it
/// (the command side and the supervisors whose region holds the tube's point) and files its
/// follow-ups as cases (`follow_up`).
async fn recall(
    change: &mut Change,
    p: &Principal,
    tube: i64,
    barcode: &str,
    count: i64,
    path: &str,
) -> AppResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO recalls (tube_id, created_at) VALUES ($1, $2) RETURNING id",
    )
    .bind(tube)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    let accounts = crate::notifications::acting_on(
        change,
        path,
        &["commander", "office", "dispatcher", "supervisor"],
    )
    .await?;
    crate::notifications::tell_accounts(
        change,
        &accounts,
        "tube_positive",
        &serde_json::json!({"tube": barcode, "count": count, "recall_id": id,
            "page": format!("/testing/recalls/{id}")}),
    )
    .await?;
    change
        .record(
            "recall",
            id,
            "open",
            &serde_json::json!({"tube_id": tube, "count": count}),
        )
        .await?;
    follow_up(change, p, id, tube, barcode, path).await?;
    Ok(id)
}

/// Files recall `recall`'s follow-ups (`huoyan_core::testing::recall`): for each building of the
/// tube's people, an urgent case for the door retests and one for the building's control, by the
/// lab's account, in the ordinary flow (the office triages them; each new case tells it), and a
/// proposal to the commander to raise its control (`proposals`).
async fn follow_up(
    change: &mut Change,
    p: &Principal,
    recall: i64,
    tube: i64,
    barcode: &str,
    path: &str,
) -> AppResult<()> {
    let homes = sqlx::query(
        "SELECT r.compound_id, g.name, r.building, r.unit, r.room FROM scans sc \
         JOIN residents r ON r.id = sc.resident_id JOIN regions g ON g.id = r.compound_id \
         WHERE sc.tube_id = $1 AND sc.outcome = 'added'",
    )
    .bind(tube)
    .fetch_all(&mut *change.tx)
    .await?
    .iter()
    .map(|r| {
        Ok(Home {
            compound_id: r.try_get(0)?,
            compound: r.try_get(1)?,
            building: r.try_get(2)?,
            unit: r.try_get(3)?,
            room: r.try_get(4)?,
        })
    })
    .collect::<AppResult<Vec<_>>>()?;
    let buildings = buildings(&homes);
    for b in &buildings {
        for &kind in FollowUp::ALL {
            let case = crate::cases::file_finding(
                change,
                p,
                crate::cases::Finding {
                    source: Source::Testing,
                    priority: Priority::Urgent,
                    category: kind.category(),
                    compound_id: b.compound_id,
                    lon: None,
                    lat: None,
                    address: format!("{}{}", b.compound, b.building),
                    description: kind.description(b, barcode, recall),
                },
            )
            .await?;
            sqlx::query(
                "INSERT INTO recall_follow_ups (recall_id, compound_id, building, kind, case_id) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(recall)
            .bind(b.compound_id)
            .bind(&b.building)
            .bind(kind.code())
            .bind(case)
            .execute(&mut *change.tx)
            .await?;
        }
    }
    super::proposals::propose(change, recall, &buildings, path).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultsImported {
    /// Tubes resulted by this file (a tube resulted the same before is not counted again).
    pub imported: usize,
    /// The recalls the positive tubes opened.
    pub recall_ids: Vec<i64>,
}

/// Import a lab's results as the raw body (columns 试管 (tube), 结果 (阴性/阳性), 时间 (time,
/// Beijing)). Nothing is written unless every row is good; a 422 names every bad row. A positive
/// pooled tube opens a recall of its people at once.
#[utoipa::path(post, path = "/api/v1/testing/results/import", tag = "testing", operation_id = "import_results",
    params(SheetQuery), request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = ResultsImported), (status = 422, body = crate::error::ErrorBody)))]
async fn import_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingLab>,
    ApiQuery(q): ApiQuery<SheetQuery>,
    body: Bytes,
) -> AppResult<ApiJson<ResultsImported>> {
    let format = q.sheet()?;
    let table = tabular::read(format, &body)?;
    let (imported, recall_ids) =
        Change::run(&state.db, &p.actor(), async |c| import(c, &p, &table).await).await?;
    Ok(ApiJson(ResultsImported {
        imported,
        recall_ids,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecalledPerson {
    pub resident_id: i64,
    pub name: String,
    pub compound_id: i64,
    pub compound: String,
    pub building: String,
    pub unit: String,
    pub room: String,
    /// Masked.
    pub phone: String,
    #[schema(format = DateTime)]
    pub scanned_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecallView {
    pub id: i64,
    pub tube: String,
    pub point_id: i64,
    pub round_id: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub people: Vec<RecalledPerson>,
    /// The cases it set going, for each building of its people.
    pub follow_ups: Vec<RecallFollowUp>,
    /// Its proposals to the commander to raise each building's control.
    pub proposals: Vec<super::proposals::ControlProposal>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct RecallFollowUp {
    pub case_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: FollowUp,
    pub compound_id: i64,
    pub building: String,
}

/// Recall `id` with its people, as `p` may see it (the tube's point in their region).
pub(super) async fn get(db: &Db, p: &Principal, id: i64) -> AppResult<RecallView> {
    let mut sql = Sql::new(
        "SELECT rc.id, rc.created_at, t.id AS tube_id, t.barcode, t.point_id, t.round_id FROM recalls rc \
         JOIN tubes t ON t.id = rc.tube_id JOIN testing_points tp ON tp.id = t.point_id \
         JOIN sites s ON s.id = tp.site_id JOIN regions g ON g.id = s.region_id WHERE rc.id = ",
    );
    sql.bind(id);
    p.scope_region(&mut sql, "g.path");
    let row = sql
        .query()
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("recall"))?;
    let tube: i64 = row.try_get("tube_id")?;
    let people = sqlx::query(
        "SELECT r.id, r.name, r.compound_id, g.name AS compound, r.building, r.unit, r.room, r.phone, sc.at \
         FROM scans sc JOIN residents r ON r.id = sc.resident_id JOIN regions g ON g.id = r.compound_id \
         WHERE sc.tube_id = $1 AND sc.outcome = 'added' ORDER BY r.compound_id, r.building, r.unit, r.room, r.id",
    )
    .bind(tube)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(RecalledPerson {
            resident_id: r.try_get("id")?,
            name: r.try_get("name")?,
            compound_id: r.try_get("compound_id")?,
            compound: r.try_get("compound")?,
            building: r.try_get("building")?,
            unit: r.try_get("unit")?,
            room: r.try_get("room")?,
            phone: huoyan_core::org::mask_phone(&r.try_get::<String, _>("phone")?),
            scanned_at: rfc3339(r.try_get("at")?),
        })
    })
    .collect::<AppResult<Vec<_>>>()?;
    let follow_ups = sqlx::query_as::<_, RecallFollowUp>(
        "SELECT case_id, kind, compound_id, building FROM recall_follow_ups WHERE recall_id = $1 \
         ORDER BY compound_id, building, case_id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    Ok(RecallView {
        id,
        tube: row.try_get("barcode")?,
        point_id: row.try_get("point_id")?,
        round_id: row.try_get("round_id")?,
        created_at: rfc3339(row.try_get("created_at")?),
        people,
        follow_ups,
        proposals: super::proposals::of_recall(db, id).await?,
    })
}

/// A positive tube's recall: its people to retest at their door, with buildings and masked
/// phones.
#[utoipa::path(get, path = "/api/v1/testing/recalls/{id}", tag = "testing", operation_id = "get_recall",
    params(("id" = i64, Path)),
    responses((status = 200, body = RecallView), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingRecall>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<RecallView>> {
    Ok(ApiJson(get(&state.db, &p, id).await?))
}

pub fn api() -> OpenApiRouter<TestingState> {
    OpenApiRouter::new()
        .routes(routes!(import_route))
        .routes(routes!(get_route))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_and_times_read_as_labs_write_them() {
        assert_eq!(positive("阳性"), Some(true));
        assert_eq!(positive(" Negative "), Some(false));
        assert_eq!(positive("不确定"), None);
        // 2022-08-12 14:30 in Beijing is 06:30 UTC.
        assert_eq!(time_ms("2022-08-12 14:30"), Some(1_660_285_800_000));
        assert_eq!(
            time_ms("2022-08-12T14:30:00+08:00"),
            Some(1_660_285_800_000)
        );
        assert_eq!(time_ms("yesterday"), None);
    }
}
