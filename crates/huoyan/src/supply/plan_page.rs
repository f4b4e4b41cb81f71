//! The dispatcher's planning page (`/supply/plan`): pick a compound, see its buildings with their
//! doors (from the residents' registry where the compound has one) and its volunteer groups,
//! set each building's packages and the deadline, and plan the batch.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::supply::Goods;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use super::SupplyState;
use crate::audit::Change;
use crate::auth::{Page, Principal, perm};
use crate::db::Sql;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::from_fields;
use crate::web::{PageCtx, PageError, PageResultExt, render};

/// A building as the form shows it.
struct Building {
    id: i64,
    name: String,
    /// Households in the registry, 0 where the compound has none registered.
    doors: i64,
}

#[derive(askama::Template)]
#[template(path = "supply/plan.html")]
struct PlanPage {
    ctx: PageCtx,
    compounds: Vec<(i64, String)>,
    compound: Option<i64>,
    buildings: Vec<Building>,
    teams: Vec<(i64, String)>,
    goods: Vec<(&'static str, &'static str)>,
}

impl PlanPage {
    fn chosen(&self, id: &i64) -> bool {
        self.compound == Some(*id)
    }
}

#[derive(Deserialize)]
struct PlanQuery {
    #[serde(default)]
    compound: Option<String>,
}

/// The compound's buildings and the volunteer groups and branches working there, in `p`'s
/// sight; none when the compound is not.
async fn compound_of(
    state: &SupplyState,
    p: &Principal,
    compound: i64,
) -> AppResult<(Vec<Building>, Vec<(i64, String)>)> {
    let mut sql = Sql::new(
        "SELECT g.id, g.name, (SELECT COUNT(*) FROM (SELECT DISTINCT r.unit, r.room FROM residents r \
         WHERE r.compound_id = g.parent_id AND r.building = g.name) AS d) AS doors \
         FROM regions g WHERE g.level = 'building' AND g.parent_id = ",
    );
    sql.bind(compound);
    super::visible(p, &mut sql, "g.path", None);
    sql.push(" ORDER BY g.id LIMIT 2000");
    let buildings = sql
        .query()
        .fetch_all(&state.db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Building {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                doors: r.try_get("doors")?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let mut sql = Sql::new(
        "SELECT t.id, t.name FROM teams t LEFT JOIN teams b ON b.id = t.parent_id \
         JOIN regions g ON g.id = COALESCE(t.region_id, b.region_id) \
         WHERE t.kind IN ('volunteer_group', 'party_branch') AND g.id = ",
    );
    sql.bind(compound);
    super::visible(p, &mut sql, "g.path", None);
    sql.push(" ORDER BY t.kind DESC, t.name LIMIT 200");
    let teams = sql
        .query()
        .fetch_all(&state.db.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<AppResult<Vec<_>>>()?;
    Ok((buildings, teams))
}

async fn plan_page(
    State(state): State<SupplyState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::SupplyPlan>,
    axum::extract::Query(q): axum::extract::Query<PlanQuery>,
) -> Result<Response, PageError> {
    let compounds = super::pages::compounds(&state, &user).await.page(locale)?;
    let compound = match q.compound.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| AppError::invalid("compound", "a compound's id"))
                .page(locale)?,
        ),
    };
    let (buildings, teams) = match compound {
        Some(c) => compound_of(&state, &user, c).await.page(locale)?,
        None => (Vec::new(), Vec::new()),
    };
    Ok(render(&PlanPage {
        ctx,
        compounds,
        compound,
        buildings,
        teams,
        goods: Goods::choices(locale.is_en()),
    }))
}

/// The form: one `building`, `planned` and `doors` per row (a row with no packages is left
/// out), a `team` per group ticked.
#[derive(Deserialize)]
struct PlanForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    region_id: String,
    #[serde(default)]
    goods: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    building: Vec<String>,
    #[serde(default)]
    planned: Vec<String>,
    #[serde(default)]
    doors: Vec<String>,
    #[serde(default)]
    team: Vec<String>,
}

/// A number as typed, or the text itself, so the request's parsing names the field.
fn number(s: &str) -> Value {
    let s = s.trim();
    s.parse::<i64>().map_or_else(|_| s.into(), Value::from)
}

impl PlanForm {
    fn parse(self) -> AppResult<super::NewBatch> {
        if self.building.len() != self.planned.len() || self.building.len() != self.doors.len() {
            return Err(AppError::invalid(
                "shares",
                "a building, its packages and its doors per row",
            ));
        }
        let deadline = crate::time::beijing_local(self.deadline.trim()).ok_or_else(|| {
            AppError::Invalid(vec![FieldError::new(
                "deadline",
                "expected a date and time",
            )])
        })?;
        let shares: Vec<Value> = self
            .building
            .iter()
            .zip(&self.planned)
            .zip(&self.doors)
            .filter(|((_, p), _)| !p.trim().is_empty() && p.trim() != "0")
            .map(|((b, p), d)| json!({"building_id": number(b), "planned": number(p), "doors": number(d)}))
            .collect();
        let fields = json!({
            "region_id": number(&self.region_id),
            "goods": self.goods.trim(),
            "title": self.title,
            "deadline": deadline,
            "shares": shares,
            "team_ids": self.team.iter().map(|t| number(t)).collect::<Vec<_>>(),
        });
        from_fields(fields.as_object().cloned().unwrap_or_default())
    }
}

async fn plan_submit(
    State(state): State<SupplyState>,
    Page { user, locale, .. }: Page<perm::SupplyPlan>,
    axum_extra::extract::Form(form): axum_extra::extract::Form<PlanForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let new = form.parse().page(locale)?;
    let id = Change::run(&state.db, &user.actor(), async |c| {
        super::plan(c, &user, &new).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/supply/batches/{id}")).into_response())
}

pub fn router() -> Router<SupplyState> {
    Router::new().route(
        "/supply/plan",
        axum::routing::get(plan_page).post(plan_submit),
    )
}
