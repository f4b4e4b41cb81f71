//! Zero reports (零报告): every compound supervisor checks in once a Beijing day, with problems or
//! with "nothing to report", and the office sees which compounds have not been heard from.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Change;
use crate::auth::{Can, Page, Principal, perm};
use crate::cases::CasesState;
use crate::check::Check;
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiQuery, ListPage, Paging};
use crate::time::beijing_day;
use crate::web::{PageCtx, PageError, PageResultExt, Typed, render};
use huoyan_core::auth::Permission;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCheckIn {
    /// The compound; the supervisor's own when absent.
    pub compound_id: Option<i64>,
    /// True: "nothing to report today"; false: problems were reported.
    pub nothing_to_report: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckIn {
    pub compound_id: i64,
    #[schema(format = Date)]
    pub day: String,
    pub nothing_to_report: bool,
}

/// Check in for today (Beijing time). Checking in again the same day replaces the answer.
#[utoipa::path(post, path = "/api/v1/check-ins", tag = "cases", operation_id = "check_in", request_body = NewCheckIn, responses((status = 201, body = CheckIn), (status = 422, body = crate::error::ErrorBody)))]
async fn check_in(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CasesReport>,
    ApiJson(c): ApiJson<NewCheckIn>,
) -> AppResult<(StatusCode, ApiJson<CheckIn>)> {
    Ok((StatusCode::CREATED, ApiJson(record(&state, &p, &c).await?)))
}

/// Records today's check-in of a compound in the caller's scope (the API and the phone page).
pub async fn record(
    app: &CasesState,
    p: &crate::auth::Principal,
    c: &NewCheckIn,
) -> AppResult<CheckIn> {
    let compound = c
        .compound_id
        .or(p.scope.region_id)
        .ok_or_else(|| AppError::invalid("compound_id", "name the compound"))?;
    match app.regions.get(&app.db, compound).await? {
        Some((huoyan_core::org::RegionLevel::Compound, path)) => {
            if !p.region_in_scope(&path) {
                let mut check = Check::default();
                check.outside("compound_id");
                check.done()?;
            }
        }
        _ => return Err(AppError::invalid("compound_id", "not a compound")),
    }
    let day = Change::run(&app.db, &p.actor(), async |change| {
        let day = beijing_day(change.at_ms());
        sqlx::query("DELETE FROM check_ins WHERE compound_id = $1 AND account_id = $2 AND day = $3")
            .bind(compound)
            .bind(p.account_id)
            .bind(&day)
            .execute(&mut *change.tx)
            .await?;
        sqlx::query("INSERT INTO check_ins (compound_id, account_id, day, nothing_to_report, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(compound)
            .bind(p.account_id)
            .bind(&day)
            .bind(c.nothing_to_report as i64)
            .bind(change.at_ms())
            .execute(&mut *change.tx)
            .await?;
        change.record("check_in", compound, "check_in", &serde_json::json!({"day": day, "nothing_to_report": c.nothing_to_report})).await?;
        Ok(day)
    })
    .await?;
    Ok(CheckIn {
        compound_id: compound,
        day,
        nothing_to_report: c.nothing_to_report,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MissingQuery {
    /// YYYY-MM-DD in Beijing time; today when absent or blank.
    #[param(schema_with = crate::time::day_or_blank)]
    pub day: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SilentCompound {
    pub compound_id: i64,
    pub name: String,
}

/// Compounds in your scope not heard from on the day: no check-in and no case reported.
#[utoipa::path(get, path = "/api/v1/check-ins/missing", tag = "cases", operation_id = "list_missing_check_ins", params(MissingQuery), responses((status = 200, body = ListPage<SilentCompound>)))]
async fn missing(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CheckInsRead>,
    ApiQuery(q): ApiQuery<MissingQuery>,
) -> AppResult<ApiJson<ListPage<SilentCompound>>> {
    Ok(ApiJson(silent(&state.db, &p, &q).await?.1))
}

/// The day asked for (today by default) and the compounds in scope not heard from on it.
pub async fn silent(
    db: &crate::db::Db,
    p: &crate::auth::Principal,
    q: &MissingQuery,
) -> AppResult<(String, ListPage<SilentCompound>)> {
    let day = match q.day.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| AppError::invalid("day", "expected YYYY-MM-DD"))?
            .to_string(),
        None => beijing_day(crate::time::now_ms()),
    };
    // The Beijing day as a UTC millisecond range, for cases reported on it.
    let start = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d")
        .expect("formatted above")
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists");
    let start_ms = start.and_utc().timestamp_millis() - 8 * 3_600_000;
    let mut filter = Sql::new(" WHERE regions.level = 'compound'");
    p.scope_region(&mut filter, "regions.path");
    filter.push(" AND NOT EXISTS (SELECT 1 FROM check_ins c WHERE c.compound_id = regions.id AND c.day = ").bind(day.clone()).push(")");
    filter
        .push(" AND NOT EXISTS (SELECT 1 FROM cases k WHERE k.compound_id = regions.id AND k.reported_at >= ")
        .bind(start_ms)
        .push(" AND k.reported_at < ")
        .bind(start_ms + 86_400_000)
        .push(")");
    let paging = Paging {
        limit: q.limit,
        offset: q.offset,
    };
    let page = crate::http::fetch_page(
        db,
        "regions.id, regions.name",
        "regions",
        &filter,
        "regions.id",
        &paging,
        |r| {
            Ok(SilentCompound {
                compound_id: r.try_get("id")?,
                name: r.try_get("name")?,
            })
        },
    )
    .await?;
    Ok((day, page))
}

#[derive(askama::Template)]
#[template(path = "cases/check_ins.html")]
struct CheckInsPage {
    ctx: PageCtx,
    day: String,
    page: ListPage<SilentCompound>,
    done: Option<CheckIn>,
    can_check_in: bool,
    can_read: bool,
    /// The compounds to check in for, for a caller who has none of their own (an inspector, a
    /// pilot, the office); empty for a compound's supervisor.
    compounds: Vec<(i64, String)>,
    /// The refused form's compound as chosen, and why it was refused.
    typed: Typed,
    errors: Vec<FieldError>,
}

impl CheckInsPage {
    fn error_for(&self, field: &str) -> String {
        crate::web::messages_for(&self.errors, field, self.ctx.locale)
    }
    fn other_errors(&self) -> Vec<&FieldError> {
        self.errors
            .iter()
            .filter(|e| e.field != "compound_id")
            .collect()
    }
}

#[derive(Debug, Deserialize)]
struct CheckInForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    nothing_to_report: Option<String>,
    #[serde(default)]
    compound_id: String,
}

/// What the page shows besides the list: today's answer once given, or the refused form.
#[derive(Default)]
struct Outcome {
    status: StatusCode,
    done: Option<CheckIn>,
    typed: Typed,
    errors: Vec<FieldError>,
}

async fn render_page(
    state: &CasesState,
    ctx: PageCtx,
    user: &Principal,
    q: MissingQuery,
    outcome: Outcome,
) -> Result<axum::response::Response, PageError> {
    let locale = ctx.locale;
    let can_read = user.role.allows(Permission::CheckInsRead);
    let can_check_in = user.role.allows(Permission::CasesReport);
    if !can_read && !can_check_in {
        return Err(AppError::Forbidden).page(locale);
    }
    let (day, page) = if can_read {
        silent(&state.db, user, &q).await.page(locale)?
    } else {
        (
            beijing_day(crate::time::now_ms()),
            ListPage {
                items: Vec::new(),
                total: 0,
                limit: 0,
                offset: 0,
            },
        )
    };
    let compounds = if can_check_in && own_compound(state, user).await.page(locale)?.is_none() {
        super::pages::compounds_for(&state.db, user)
            .await
            .page(locale)?
    } else {
        Vec::new()
    };
    let page = CheckInsPage {
        ctx,
        day,
        page,
        done: outcome.done,
        can_check_in,
        can_read,
        compounds,
        typed: outcome.typed,
        errors: outcome.errors,
    };
    Ok((outcome.status, render(&page)).into_response())
}

/// The compound the caller supervises: their scope, when it is one.
async fn own_compound(state: &CasesState, user: &Principal) -> AppResult<Option<i64>> {
    let Some(region) = user.scope.region_id else {
        return Ok(None);
    };
    let level = state.regions.get(&state.db, region).await?.map(|(l, _)| l);
    Ok((level == Some(huoyan_core::org::RegionLevel::Compound)).then_some(region))
}

/// The daily zero report (零报告) for supervisors, and for the office the compounds not heard
/// from on a day.
async fn page(
    State(state): State<CasesState>,
    Page { user, ctx, .. }: Page,
    ApiQuery(q): ApiQuery<MissingQuery>,
) -> Result<axum::response::Response, PageError> {
    render_page(&state, ctx, &user, q, Outcome::default()).await
}

async fn submit(
    State(state): State<CasesState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::CasesReport>,
    axum::Form(form): axum::Form<CheckInForm>,
) -> Result<axum::response::Response, PageError> {
    let q = MissingQuery {
        day: None,
        limit: None,
        offset: None,
    };
    let sent = async {
        user.check_csrf(Some(&form.csrf))?;
        let compound_id = match form.compound_id.trim() {
            "" => None,
            id => Some(
                id.parse()
                    .map_err(|_| AppError::invalid("compound_id", "choose from the list"))?,
            ),
        };
        let c = NewCheckIn {
            compound_id,
            nothing_to_report: form.nothing_to_report.is_some(),
        };
        record(&state, &user, &c).await
    }
    .await;
    let outcome = match sent {
        Ok(done) => Outcome {
            done: Some(done),
            ..Default::default()
        },
        Err(e @ (AppError::Invalid(_) | AppError::OutsideScope(_))) => Outcome {
            status: e.status(),
            typed: Typed(
                [("compound_id".to_string(), vec![form.compound_id])]
                    .into_iter()
                    .collect(),
            ),
            errors: e.fields().to_vec(),
            ..Default::default()
        },
        Err(e) => return Err(e).page(locale),
    };
    render_page(&state, ctx, &user, q, outcome).await
}

pub fn pages() -> axum::Router<CasesState> {
    axum::Router::new().route("/check-ins", axum::routing::get(page).post(submit))
}

pub fn api() -> OpenApiRouter<CasesState> {
    OpenApiRouter::new()
        .routes(routes!(check_in))
        .routes(routes!(missing))
}
