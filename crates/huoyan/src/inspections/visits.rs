//! A stop's visit: every item of its checklist version answered, with the time and place it was
//! recorded (a place far from the site is flagged, never refused), each failure filed as a case
//! (source inspection) in the same transaction. The photos of a finding and its fix on the spot go
//! through the case's own files and steps.

use axum::extract::State;
use huoyan_core::inspections::checklist::{self, Answer, Answered, AnswersError, Checklist};
use huoyan_core::inspections::visits::{distance_m, far_from_site};
use huoyan_core::org::SiteKind;
use serde::Deserialize;
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::InspectionsState;
use super::rounds::{RoundDetail, detail};
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Text};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiPath};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    pub code: Text<40, true>,
    pub answer: Answer,
    /// What was seen; required for a failure.
    #[serde(default)]
    pub note: Text<1000>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    /// Where the visit is recorded (WGS-84), from the phone.
    pub lon: f64,
    pub lat: f64,
    #[serde(default)]
    pub note: Text<2000>,
    /// Every item of the stop's checklist, once.
    pub answers: Vec<AnswerBody>,
}

fn refused(e: AnswersError, v: &Visit) -> AppError {
    let code = match &e {
        AnswersError::Unknown(c)
        | AnswersError::Twice(c)
        | AnswersError::Missing(c)
        | AnswersError::FailWithoutNote(c) => c,
    };
    let field = match v.answers.iter().position(|a| a.code.trimmed() == code) {
        Some(i) if matches!(e, AnswersError::FailWithoutNote(_)) => format!("answers[{i}].note"),
        Some(i) => format!("answers[{i}]"),
        None => "answers".into(),
    };
    AppError::invalid(field, e.to_string())
}

/// Records `v` as the visit of stop `stop_id` by `p` (an inspector of the round's team) inside
/// `change`; returns the round's id. A stop is visited once: a second visit is a conflict.
pub async fn visit(
    change: &mut Change,
    db: &Db,
    p: &Principal,
    stop_id: i64,
    v: &Visit,
) -> AppResult<i64> {
    let stop = sqlx::query(
        "SELECT s.round_id, s.visited_at, r.team_id, c.kind, c.version, c.items, \
         site.id AS site_id, site.name, site.address, site.lon, site.lat, site.region_id \
         FROM inspection_stops s JOIN inspection_rounds r ON r.id = s.round_id \
         JOIN checklists c ON c.id = s.checklist_id JOIN sites site ON site.id = s.site_id \
         WHERE s.id = $1",
    )
    .bind(stop_id)
    .fetch_optional(&mut *change.tx)
    .await?
    .ok_or(AppError::NotFound("stop"))?;
    if p.scope.team_id != Some(stop.try_get::<i64, _>("team_id")?) {
        return Err(AppError::NotFound("stop"));
    }
    if let Some(at) = stop.try_get::<Option<i64>, _>("visited_at")? {
        return Err(AppError::Conflict(vec![FieldError::new(
            "stop",
            format!("visited already, at {}", crate::time::beijing(at)),
        )]));
    }
    let mut check = Check::default();
    crate::geo::check_point(&mut check, Some(v.lon), Some(v.lat));
    check.done()?;
    let kind: String = stop.try_get("kind")?;
    let items: String = stop.try_get("items")?;
    let list = Checklist {
        kind: SiteKind::parse(&kind).ok_or_else(|| anyhow::anyhow!("checklist kind {kind:?}"))?,
        version: u32::try_from(stop.try_get::<i64, _>("version")?).unwrap_or(0),
        items: serde_json::from_str(&items).map_err(anyhow::Error::from)?,
    };
    let answered: Vec<Answered> = v
        .answers
        .iter()
        .map(|a| Answered {
            code: a.code.trimmed().into(),
            answer: a.answer,
            note: a.note.trimmed().into(),
        })
        .collect();
    let failed = checklist::findings(&list, &answered).map_err(|e| refused(e, v))?;
    let site = crate::org::sites::Site {
        id: stop.try_get("site_id")?,
        region_id: stop.try_get("region_id")?,
        kind,
        name: stop.try_get("name")?,
        lon: stop.try_get("lon")?,
        lat: stop.try_get("lat")?,
        address: stop.try_get("address")?,
    };
    let (distance, far) = match (site.lon, site.lat) {
        (Some(lon), Some(lat)) => (
            Some(distance_m([lon, lat], [v.lon, v.lat])),
            far_from_site([lon, lat], [v.lon, v.lat]),
        ),
        _ => (None, false),
    };
    let compound = if failed.is_empty() {
        None
    } else {
        Some(
            crate::org::sites::compound_of(db, &site)
                .await?
                .ok_or_else(|| {
                    AppError::invalid(
                        "stop",
                        "the site's region holds no compound to file its findings against",
                    )
                })?,
        )
    };
    // The claim: of two phones sending the same stop, one visit is written.
    let claimed = sqlx::query(
        "UPDATE inspection_stops SET visited_at = $1, visited_by = $2, lon = $3, lat = $4, \
         distance_m = $5, far = $6, note = $7 WHERE id = $8 AND visited_at IS NULL",
    )
    .bind(change.at_ms())
    .bind(p.account_id)
    .bind(v.lon)
    .bind(v.lat)
    .bind(distance)
    .bind(i64::from(far))
    .bind(v.note.trimmed())
    .bind(stop_id)
    .execute(&mut *change.tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Err(AppError::Conflict(vec![FieldError::new(
            "stop",
            "visited already",
        )]));
    }
    let mut cases = Vec::new();
    for a in &answered {
        let case_id = if a.answer == Answer::Fail {
            let item = list
                .items
                .iter()
                .find(|i| i.code == a.code)
                .expect("checked against the checklist");
            let id = crate::cases::file_finding(
                change,
                p,
                crate::cases::Finding {
                    source: huoyan_core::cases::Source::Inspection,
                    priority: huoyan_core::cases::Priority::Normal,
                    category: item.category,
                    compound_id: compound.expect("a failure has its compound"),
                    lon: site.lon,
                    lat: site.lat,
                    address: site.name.clone(),
                    description: format!("【督查】{}：{}不合格。{}", site.name, item.zh, a.note),
                },
            )
            .await?;
            cases.push(id);
            Some(id)
        } else {
            None
        };
        sqlx::query(
            "INSERT INTO inspection_answers (stop_id, item, answer, note, case_id) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(stop_id)
        .bind(&a.code)
        .bind(a.answer.code())
        .bind(&a.note)
        .bind(case_id)
        .execute(&mut *change.tx)
        .await?;
    }
    let answers: serde_json::Map<String, serde_json::Value> = answered
        .iter()
        .map(|a| (a.code.clone(), a.answer.code().into()))
        .collect();
    change
        .record(
            "inspection_stop",
            stop_id,
            "visit",
            &serde_json::json!({"answers": answers, "far": far, "distance_m": distance.map(f64::round), "case_ids": cases}),
        )
        .await?;
    Ok(stop.try_get("round_id")?)
}

/// Record a stop's visit: every item of its checklist answered (a failure with a note), and
/// where the phone was. Each failure is filed as a case with source inspection; attach its
/// photos and fix it on the spot through the case (`/api/v1/cases/{id}/files`,
/// `…/transitions` with `fix_on_site`). A place more than 500 m from the site is flagged, not
/// refused. Answered with the round.
#[utoipa::path(post, path = "/api/v1/inspections/stops/{id}/visit", tag = "inspections", operation_id = "visit_stop",
    params(("id" = i64, Path)), request_body = Visit,
    responses((status = 200, body = RoundDetail), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn visit_route(
    State(state): State<InspectionsState>,
    Can(p, _): Can<perm::InspectionsRun>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(v): ApiJson<Visit>,
) -> AppResult<ApiJson<RoundDetail>> {
    let db = state.db.clone();
    let round = Change::run(&state.db, &p.actor(), async |c| {
        visit(c, &db, &p, id, &v).await
    })
    .await?;
    Ok(ApiJson(detail(&state.db, &p, round).await?))
}

pub fn api() -> OpenApiRouter<InspectionsState> {
    OpenApiRouter::new().routes(routes!(visit_route))
}
