//! A plan on the page: its progress while the engine runs (with a stop button), then its draft:
//! the objective's parts, each empty place with why, each row with a pin, what it drops from the
//! published roster; re-plan keeping the ticked rows (and moving someone to another shift: a pin
//! there), or publish.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use huoyan_core::auth::Permission;
use serde::Deserialize;

use super::WorkforceState;
use super::days::Day;
use super::planning::{self, PinRequest, PlanRequest};
use super::plans::{self, PlanView, RowView};
use super::posts::{self, PostFilter, PostView};
use crate::audit::Change;
use crate::auth::{Page, perm};
use crate::error::{AppError, FieldError};
use crate::web::{PageCtx, PageError, PageResultExt, render};

#[derive(askama::Template)]
#[template(path = "workforce/plan.html")]
struct PlanPage {
    ctx: PageCtx,
    plan: PlanView,
    can_plan: bool,
    /// The posts someone may be moved to (those of the dispatcher's region).
    posts: Vec<PostView>,
}

impl PlanPage {
    fn pin(&self, r: &RowView) -> String {
        format!("{}|{}|{}", r.person_id, r.place.shift_id, r.place.day)
    }

    fn is(&self, state: &str) -> bool {
        self.plan.state.code() == state
    }

    fn percent(&self) -> i64 {
        self.plan.progress_permille / 10
    }

    /// The draft's people, each once, by name.
    fn people(&self) -> Vec<(i64, &str)> {
        let mut people: Vec<(i64, &str)> = self
            .plan
            .rows
            .iter()
            .map(|r| (r.person_id, r.person_name.as_str()))
            .collect();
        people.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
        people.dedup();
        people
    }

    fn days(&self) -> Vec<String> {
        let Ok(first) = Day::parse(&self.plan.first_day) else {
            return Vec::new();
        };
        (0..self.plan.days)
            .map(|i| first.plus(i).to_string())
            .collect()
    }
}

async fn plan_page(
    State(state): State<WorkforceState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::WorkforceRead>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let plan = plans::get(&state.db, &state.running, &user, id)
        .await
        .page(locale)?;
    let can_plan = user.role.allows(Permission::WorkforcePlan);
    let posts = if can_plan && plan.state.code() == "draft" {
        posts::list(&state.db, &user, &PostFilter::default())
            .await
            .page(locale)?
    } else {
        Vec::new()
    };
    Ok(render(&PlanPage {
        ctx,
        plan,
        can_plan,
        posts,
    }))
}

#[derive(Deserialize)]
struct PlanForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    first_day: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    pins: Vec<String>,
    /// Someone to move: a pin on shift `move_to` on `move_day` (the first day when blank), in
    /// place of their ticked rows that day.
    #[serde(default)]
    move_person: String,
    #[serde(default)]
    move_to: String,
    #[serde(default)]
    move_day: String,
}

impl PlanForm {
    fn parse(self) -> Result<PlanRequest, AppError> {
        let mut bad = Vec::new();
        let first_day = Day::parse(&self.first_day)
            .map_err(|why| bad.push(FieldError::new("first_day", why)))
            .ok();
        let days = self
            .days
            .trim()
            .parse::<i64>()
            .map_err(|_| bad.push(FieldError::new("days", "1 to 14 days")))
            .ok();
        let mut pins = Vec::new();
        for (i, v) in self.pins.iter().enumerate() {
            let parts: Vec<&str> = v.split('|').collect();
            match parts[..] {
                [person, shift, day] => match (person.parse(), shift.parse(), Day::parse(day)) {
                    (Ok(person_id), Ok(shift_id), Ok(day)) => pins.push(PinRequest {
                        person_id,
                        shift_id,
                        day,
                    }),
                    _ => bad.push(FieldError::new(format!("pins[{i}]"), "person|shift|day")),
                },
                _ => bad.push(FieldError::new(format!("pins[{i}]"), "person|shift|day")),
            }
        }
        let moved = match (self.move_person.trim(), self.move_to.trim()) {
            ("", "") => None,
            ("", _) => {
                bad.push(FieldError::new("move_person", "choose whom to move"));
                None
            }
            (_, "") => {
                bad.push(FieldError::new("move_to", "choose where to move them"));
                None
            }
            (person, shift) => {
                let person = person
                    .parse::<i64>()
                    .map_err(|_| bad.push(FieldError::new("move_person", "choose whom to move")))
                    .ok();
                let shift = shift
                    .parse::<i64>()
                    .map_err(|_| bad.push(FieldError::new("move_to", "choose where to move them")))
                    .ok();
                let day = match self.move_day.trim() {
                    "" => first_day,
                    d => Day::parse(d)
                        .map_err(|why| bad.push(FieldError::new("move_day", why)))
                        .ok(),
                };
                person
                    .zip(shift)
                    .zip(day)
                    .map(|((person_id, shift_id), day)| PinRequest {
                        person_id,
                        shift_id,
                        day,
                    })
            }
        };
        if let Some(m) = moved {
            pins.retain(|p| (p.person_id, p.day) != (m.person_id, m.day));
            pins.push(m);
        }
        match (first_day, days) {
            (Some(first_day), Some(days)) if bad.is_empty() => Ok(PlanRequest {
                first_day,
                days,
                pins,
                seconds: None,
            }),
            _ => Err(AppError::Invalid(bad)),
        }
    }
}

async fn plan_submit(
    State(state): State<WorkforceState>,
    Page { user, locale, .. }: Page<perm::WorkforcePlan>,
    axum_extra::extract::Form(form): axum_extra::extract::Form<PlanForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let req = form.parse().page(locale)?;
    let id = planning::launch(&state, &user, req).await.page(locale)?;
    Ok(Redirect::to(&format!("/workforce/plans/{id}")).into_response())
}

#[derive(Deserialize)]
struct Csrf {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

async fn cancel_submit(
    State(state): State<WorkforceState>,
    Page { user, locale, .. }: Page<perm::WorkforcePlan>,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<Csrf>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    planning::cancel(&state, &user, id).await.page(locale)?;
    Ok(Redirect::to(&format!("/workforce/plans/{id}")).into_response())
}

async fn publish_submit(
    State(state): State<WorkforceState>,
    Page { user, locale, .. }: Page<perm::WorkforcePlan>,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<Csrf>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    Change::run(&state.db, &user.actor(), async |c| {
        plans::publish(c, &user, id).await
    })
    .await
    .page(locale)?;
    Ok(Redirect::to(&format!("/workforce/plans/{id}")).into_response())
}

pub fn router() -> Router<WorkforceState> {
    Router::new()
        .route("/workforce/plans", axum::routing::post(plan_submit))
        .route("/workforce/plans/{id}", axum::routing::get(plan_page))
        .route(
            "/workforce/plans/{id}/cancel",
            axum::routing::post(cancel_submit),
        )
        .route(
            "/workforce/plans/{id}/publish",
            axum::routing::post(publish_submit),
        )
}
