//! The live map (`/drones`): the sealed zones' outlines, every drone moving on them as its
//! telemetry arrives (server-sent events from `/drones/live/events`), its track and the mission
//! path beside it, its video played by the scheme of its URL, the missions to preview and
//! download, and for a pilot the aerial finding form.

use std::convert::Infallible;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use huoyan_core::auth::Permission;
use huoyan_core::cases::Category;
use huoyan_core::drones::link::Status;
use huoyan_core::drones::{Objective, stream_origin};
use tokio::sync::broadcast::error::RecvError;

use super::DronesState;
use super::fleet::{Drone, list, squads};
use super::live::Telemetry;
use crate::auth::{Page, perm};
use crate::web::map::{MapView, content_security_policy};
use crate::web::{PageCtx, PageError, PageResultExt, render};

#[derive(askama::Template)]
#[template(path = "drones/live.html")]
struct LivePage {
    ctx: PageCtx,
    map: MapView,
    drones: Vec<Drone>,
    can_fly: bool,
    can_plan: bool,
    can_manage: bool,
    /// The drone squads to register a drone for, for a manager not bound to one squad.
    squads: Vec<(i64, String)>,
    categories: Vec<(&'static str, &'static str)>,
    objectives: Vec<(&'static str, &'static str)>,
    /// `{"idle": "待命", …}` for the script that updates the statuses.
    statuses: String,
}

async fn live_page(
    State(state): State<DronesState>,
    Page {
        user, ctx, locale, ..
    }: Page<perm::DronesRead>,
) -> Result<Response, PageError> {
    let drones = list(&state).await.page(locale)?;
    // The page may play video only from the drones' own stream origins.
    let mut origins: Vec<String> = drones
        .iter()
        .flat_map(|d| &d.streams)
        .filter_map(|s| stream_origin(&s.url).ok())
        .collect();
    origins.sort();
    origins.dedup();
    let statuses: serde_json::Map<String, serde_json::Value> = Status::ALL
        .iter()
        .map(|s| (s.code().to_string(), s.label(locale.is_en()).into()))
        .collect();
    let can_manage = user.role.allows(Permission::DronesManage);
    let squads = if can_manage && user.scope.team_id.is_none() {
        squads(&state).await.page(locale)?
    } else {
        Vec::new()
    };
    let mut page = render(&LivePage {
        map: MapView::outlines(locale),
        can_fly: user.role.allows(Permission::DronesFly),
        can_plan: user.role.allows(Permission::DronesPlan),
        can_manage,
        squads,
        categories: Category::choices(locale.is_en()),
        objectives: Objective::choices(locale.is_en()),
        statuses: serde_json::Value::Object(statuses).to_string(),
        drones,
        ctx,
    });
    page.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        content_security_policy(state.map_tiles.as_ref(), &origins),
    );
    Ok(page)
}

fn event(t: &Telemetry) -> Event {
    Event::default()
        .json_data(t)
        .unwrap_or_else(|_| Event::default().comment("unserialisable"))
}

/// Every vehicle heard so far, then each change as it comes. A subscriber that falls behind skips
/// to the newest: a map wants where the drones are, not where they were.
async fn events(
    State(state): State<DronesState>,
    _page: Page<perm::DronesRead>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    use futures_util::StreamExt;
    let rx = state.live.subscribe();
    let now = crate::time::now_ms();
    let known: Vec<Result<Event, Infallible>> =
        state.live.all(now).iter().map(|t| Ok(event(t))).collect();
    let changes = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(t) => return Some((Ok(event(&t)), rx)),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(futures_util::stream::iter(known).chain(changes)).keep_alive(KeepAlive::default())
}

async fn script() -> Response {
    crate::web::asset(
        crate::web::JAVASCRIPT,
        include_str!("../../static/drones.js"),
    )
    .into_response()
}

async fn player() -> Response {
    crate::web::asset(
        crate::web::JAVASCRIPT,
        include_str!("../../static/vendor/hls.js-1.7.4.light.min.js"),
    )
    .into_response()
}

pub fn router() -> Router<DronesState> {
    Router::new()
        .route("/drones", axum::routing::get(live_page))
        .route("/drones/live/events", axum::routing::get(events))
        .route("/static/drones.js", axum::routing::get(script))
        .route(
            "/static/vendor/hls.js-1.7.4.light.min.js",
            axum::routing::get(player),
        )
}
