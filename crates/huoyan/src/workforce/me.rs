//! Each person's own duty, on the phone: the published shifts from yesterday on with their
//! sign-in and sign-out, their blockers, the form that reports one ("my building is sealed
//! tomorrow"), and the page a post's QR code opens to sign in there.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::workforce::blockers::BlockerReason;
use huoyan_core::workforce::posts::Job;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WorkforceState;
use super::blockers::{self, BlockerFilter, BlockerView, NewBlocker};
use super::days::Day;
use crate::audit::Change;
use crate::auth::{Page, Principal};
use crate::check::Text;
use crate::db::Db;
use crate::error::AppResult;
use crate::http::ApiJson;
use crate::web::{PageCtx, PageError, PageResultExt, render};

/// Days ahead a person's shifts are listed (the engine plans at most 14).
const AHEAD_DAYS: i64 = 14;

#[derive(Debug, Serialize, ToSchema)]
pub struct MyShift {
    pub day: String,
    pub shift_id: i64,
    pub site_name: String,
    pub region_name: String,
    pub job: Job,
    pub hours: String,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    #[schema(format = DateTime)]
    pub signed_in_at: Option<String>,
    #[schema(format = DateTime)]
    pub signed_out_at: Option<String>,
    /// Signed out by the server at the shift's end.
    pub signed_out_auto: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyDuty {
    /// The caller's person; none for an account that names nobody.
    pub person_id: Option<i64>,
    /// Whether the person is on duty (rostered by a dispatcher).
    pub on_duty: bool,
    /// Published shifts from yesterday to 14 days on, earliest first.
    pub shifts: Vec<MyShift>,
    /// The person's blockers that still block (open, or a request refused).
    pub blockers: Vec<BlockerView>,
}

async fn duty(db: &Db, p: &Principal) -> AppResult<MyDuty> {
    let Some(person) = p.person_id else {
        return Ok(MyDuty {
            person_id: None,
            on_duty: false,
            shifts: Vec::new(),
            blockers: Vec::new(),
        });
    };
    let on_duty = sqlx::query("SELECT 1 FROM duty_people WHERE person_id = $1")
        .bind(person)
        .fetch_optional(&db.pool)
        .await?
        .is_some();
    let today = Day::today();
    let rows = sqlx::query(
        "SELECT r.day, r.shift_id, r.starts_at, r.ends_at, s.name AS site_name, g.name AS region_name, po.job, \
         sh.start_minute, sh.end_minute, si.in_at, si.out_at, si.out_auto FROM roster r JOIN post_shifts sh ON sh.id = r.shift_id \
         LEFT JOIN sign_ins si ON si.person_id = r.person_id AND si.day = r.day AND si.shift_id = r.shift_id \
         JOIN posts po ON po.id = sh.post_id JOIN sites s ON s.id = po.site_id JOIN regions g ON g.id = s.region_id \
         WHERE r.person_id = $1 AND r.day >= $2 AND r.day <= $3 ORDER BY r.day",
    )
    .bind(person)
    .bind(today.plus(-1).to_string())
    .bind(today.plus(AHEAD_DAYS).to_string())
    .fetch_all(&db.pool)
    .await?;
    let shifts = rows
        .iter()
        .map(|r| {
            let job: String = r.try_get("job")?;
            Ok(MyShift {
                day: r.try_get("day")?,
                shift_id: r.try_get("shift_id")?,
                site_name: r.try_get("site_name")?,
                region_name: r.try_get("region_name")?,
                job: Job::parse(&job).ok_or_else(|| anyhow::anyhow!("a post's job {job:?}"))?,
                hours: super::posts::shift_time(
                    r.try_get("start_minute")?,
                    r.try_get("end_minute")?,
                )?
                .to_string(),
                starts_at: crate::time::rfc3339(r.try_get("starts_at")?),
                ends_at: crate::time::rfc3339(r.try_get("ends_at")?),
                signed_in_at: r
                    .try_get::<Option<i64>, _>("in_at")?
                    .map(crate::time::rfc3339),
                signed_out_at: r
                    .try_get::<Option<i64>, _>("out_at")?
                    .map(crate::time::rfc3339),
                signed_out_auto: r.try_get::<Option<i64>, _>("out_auto")?.unwrap_or(0) != 0,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let f = BlockerFilter {
        state: Some(blockers::StateFilter::Holding),
        day: None,
        person_id: Some(person),
        limit: Some(50),
        offset: None,
    };
    let yesterday = today.plus(-1).to_string();
    let mut mine = blockers::list(db, p, &f).await?.items;
    mine.retain(|b| b.last_day >= yesterday);
    Ok(MyDuty {
        person_id: Some(person),
        on_duty,
        shifts,
        blockers: mine,
    })
}

/// My shifts and blockers.
#[utoipa::path(get, path = "/api/v1/workforce/me", tag = "workforce", operation_id = "my_duty",
    responses((status = 200, body = MyDuty)))]
async fn duty_route(
    State(state): State<WorkforceState>,
    p: Principal,
) -> AppResult<ApiJson<MyDuty>> {
    Ok(ApiJson(duty(&state.db, &p).await?))
}

pub fn api() -> OpenApiRouter<WorkforceState> {
    OpenApiRouter::new().routes(routes!(duty_route))
}

#[derive(askama::Template)]
#[template(path = "workforce/duty.html")]
struct DutyPage {
    ctx: PageCtx,
    duty: MyDuty,
    today: String,
    tomorrow: String,
    reasons: Vec<(&'static str, &'static str)>,
}

impl DutyPage {
    /// A shift of today's (or last night's, still running) that can be signed in or out.
    fn current(&self, s: &MyShift) -> bool {
        s.day == self.today
            || s.ends_at.as_str() > crate::time::rfc3339(crate::time::now_ms()).as_str()
                && s.day.as_str() < self.today.as_str()
    }

    fn at(&self, t: &str) -> String {
        crate::time::beijing_rfc3339(t)
    }
}

async fn duty_page(
    State(state): State<WorkforceState>,
    Page {
        user, ctx, locale, ..
    }: Page,
) -> Result<Response, PageError> {
    let duty = duty(&state.db, &user).await.page(locale)?;
    Ok(render(&DutyPage {
        reasons: BlockerReason::choices(ctx.en()),
        ctx,
        duty,
        today: Day::today().to_string(),
        tomorrow: Day::today().plus(1).to_string(),
    }))
}

#[derive(Deserialize)]
pub(super) struct BlockerForm {
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
    #[serde(default)]
    pub person_id: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub first_day: String,
    #[serde(default)]
    pub last_day: String,
    #[serde(default)]
    pub note: String,
}

impl BlockerForm {
    /// The form's fields as the API's request, each bad one named.
    pub(super) fn parse(self) -> AppResult<NewBlocker> {
        let person = self.person_id.trim();
        let last = self.last_day.trim();
        crate::http::from_fields(
            serde_json::json!({
                "person_id": if person.is_empty() { serde_json::Value::Null } else {
                    person.parse::<i64>().map(Into::into).unwrap_or(serde_json::Value::String(person.into()))
                },
                "reason": self.reason.trim(),
                "first_day": self.first_day.trim(),
                "last_day": if last.is_empty() { serde_json::Value::Null } else { last.into() },
                "note": self.note,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        )
    }
}

/// Records a blocker from a form; `back` is where the page returns.
pub(super) async fn record(
    state: &WorkforceState,
    user: &Principal,
    locale: crate::i18n::Locale,
    form: BlockerForm,
    back: &str,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let new = form.parse().page(locale)?;
    Change::run(&state.db, &user.actor(), async |c| {
        blockers::open(c, user, &new).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(back).into_response())
}

async fn blocker_submit(
    State(state): State<WorkforceState>,
    Page { user, locale, .. }: Page,
    axum::Form(form): axum::Form<BlockerForm>,
) -> Result<Response, PageError> {
    let form = BlockerForm {
        person_id: String::new(),
        ..form
    };
    record(&state, &user, locale, form, "/duty").await
}

#[derive(Deserialize)]
struct SignForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    shift_id: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    lat: String,
}

impl SignForm {
    fn number(v: &str) -> serde_json::Value {
        let v = v.trim();
        if v.is_empty() {
            serde_json::Value::Null
        } else {
            v.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(
                    serde_json::Value::String(v.into()),
                    serde_json::Value::Number,
                )
        }
    }

    fn text(v: &str) -> serde_json::Value {
        let v = v.trim();
        if v.is_empty() {
            serde_json::Value::Null
        } else {
            v.into()
        }
    }
}

async fn sign_in_submit(
    State(state): State<WorkforceState>,
    Page { user, locale, .. }: Page,
    axum::Form(form): axum::Form<SignForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let s: super::signins::SignIn = crate::http::from_fields(
        serde_json::json!({
            "code": SignForm::text(&form.code), "shift_id": SignForm::number(&form.shift_id),
            "day": SignForm::text(&form.day), "lon": SignForm::number(&form.lon), "lat": SignForm::number(&form.lat),
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    )
    .page(locale)?;
    let db = state.db.clone();
    Change::run(&state.db, &user.actor(), async |c| {
        super::signins::sign_in(c, &db, &user, &s).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to("/duty#shifts").into_response())
}

async fn sign_out_submit(
    State(state): State<WorkforceState>,
    Page { user, locale, .. }: Page,
    axum::Form(form): axum::Form<SignForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let s: super::signins::SignOut = crate::http::from_fields(
        serde_json::json!({"shift_id": SignForm::number(&form.shift_id), "day": SignForm::text(&form.day)})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
    .page(locale)?;
    Change::run(&state.db, &user.actor(), async |c| {
        super::signins::sign_out(c, &user, &s).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to("/duty#shifts").into_response())
}

#[derive(askama::Template)]
#[template(path = "workforce/scan.html")]
struct ScanPage {
    ctx: PageCtx,
    code: String,
}

#[derive(Deserialize)]
struct CodeQuery {
    #[serde(default)]
    code: String,
}

/// Where a post's QR code leads the phone's camera: one button signs in with the code.
async fn scan_page(
    Page { ctx, locale, .. }: Page,
    axum::extract::Query(q): axum::extract::Query<CodeQuery>,
) -> Result<Response, PageError> {
    let code = Text::<100>::field("code", q.code).page(locale)?;
    Ok(render(&ScanPage {
        ctx,
        code: code.trimmed().to_string(),
    }))
}

async fn script() -> Response {
    crate::web::asset(crate::web::JAVASCRIPT, include_str!("../../static/duty.js"))
}

pub fn router() -> Router<WorkforceState> {
    Router::new()
        .route("/duty", axum::routing::get(duty_page))
        .route("/duty/blockers", axum::routing::post(blocker_submit))
        .route("/duty/sign-in", axum::routing::get(scan_page))
        .route("/duty/sign-ins", axum::routing::post(sign_in_submit))
        .route("/duty/sign-outs", axum::routing::post(sign_out_submit))
        .route("/static/duty.js", axum::routing::get(script))
}
