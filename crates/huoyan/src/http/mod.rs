//! HTTP plumbing shared by every context: the app state, the JSON extractor whose errors name the
//! field, list envelopes, the router that gathers each context's routes, and the server.

pub mod pages;

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::sessions::LoginLimiter;
use crate::db::Db;
use crate::error::AppError;

/// Largest request body accepted (imports included).
pub const BODY_LIMIT: usize = 20 * 1024 * 1024;

pub struct App {
    pub db: Db,
    pub limiter: LoginLimiter,
    /// How long a unit has to fix a case (the city's configuration, or the defaults).
    pub deadlines: huoyan_core::cases::DeadlinePolicy,
    /// The group-commit writer that files cases.
    pub intake: crate::cases::intake::Intake,
    pub regions: crate::org::regions::Lineages,
}

#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl AppState {
    pub fn new(db: Db) -> Self {
        Self::with_deadlines(db, Default::default())
    }

    pub fn with_deadlines(db: Db, deadlines: huoyan_core::cases::DeadlinePolicy) -> Self {
        AppState(Arc::new(App {
            intake: crate::cases::intake::Intake::new(db.clone()),
            db,
            limiter: LoginLimiter::default(),
            deadlines,
            regions: Default::default(),
        }))
    }
}

/// JSON body extractor: malformed JSON, unknown fields, wrong types and oversized bodies become
/// a 4xx whose `fields` name what is wrong.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> axum::response::Response {
        Json(self.0).into_response()
    }
}

/// Query-string extractor whose errors name the parameter.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// Path extractor whose errors name the segment.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// `limit` and `offset` of every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// At most 500; 50 when absent.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl Paging {
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(50).clamp(1, 500)
    }
    pub fn offset(&self) -> i64 {
        self.offset.unwrap_or(0).max(0)
    }
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    /// Rows matching the filters, over all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

impl<T> ListPage<T> {
    /// The offset of the page before this one, for pagers.
    pub fn prev_offset(&self) -> Option<i64> {
        (self.offset > 0).then(|| (self.offset - self.limit).max(0))
    }

    /// The offset of the page after this one, for pagers.
    pub fn next_offset(&self) -> Option<i64> {
        (self.offset + self.limit < self.total).then_some(self.offset + self.limit)
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Huoyan 火眼 API", description = "Command, supervision and volunteer coordination for a sealed city."),
    components(schemas(crate::error::ErrorBody, crate::error::FieldError)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The JSON API of every context with its OpenAPI document.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::auth::routes::api())
        .merge(crate::auth::accounts::api())
        .merge(crate::audit::routes::api())
        .merge(crate::org::api())
        .merge(crate::cases::api())
        .merge(crate::notifications::api())
        .split_for_parts()
}

pub fn router(state: AppState) -> Router {
    let (api, doc) = api();
    let doc = Arc::new(doc);
    Router::new()
        .merge(api.layer(axum::middleware::from_fn(localise_errors)))
        .route(
            "/api/v1/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .route("/healthz", get(healthz))
        .merge(pages::router())
        .merge(crate::cases::open311::router())
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        )
        .layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ),
        )
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// An API error's messages in the language the request names with `?lang=` (the pages' scripts
/// name their page's, to show the messages beside the form's fields); English without it.
async fn localise_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let locale = pages::asked_locale(req.uri()).filter(|l| !l.is_en());
    let res = next.run(req).await;
    let Some(locale) = locale.filter(|_| res.status().is_client_error()) else {
        return res;
    };
    let (mut parts, body) = res.into_parts();
    // Error bodies are small; anything that does not read as one goes out as it came.
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut error = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(error)) => error,
        _ => return axum::response::Response::from_parts(parts, bytes.into()),
    };
    let localise = |v: Option<&mut serde_json::Value>| {
        if let Some(v) = v
            && let Some(text) = v.as_str()
        {
            *v = locale.message(text).into();
        }
    };
    localise(error.get_mut("message"));
    if let Some(fields) = error.get_mut("fields").and_then(|f| f.as_array_mut()) {
        for f in fields {
            localise(f.get_mut("message"));
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    axum::response::Response::from_parts(parts, serde_json::Value::Object(error).to_string().into())
}

async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<&'static str, AppError> {
    sqlx::query("SELECT 1").execute(&state.db.pool).await?;
    Ok("ok")
}

/// Serves until the process is stopped.
pub async fn serve(
    db: Db,
    deadlines: huoyan_core::cases::DeadlinePolicy,
    listen: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    on_ready(addr);
    crate::cases::overdue::spawn(db.clone());
    let app = router(AppState::with_deadlines(db, deadlines));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// Times leave the API as RFC 3339 in UTC.
pub fn rfc3339(ms: i64) -> String {
    use chrono::TimeZone;
    chrono::Utc
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Parses an RFC 3339 time from the API into epoch milliseconds, naming the field when it is bad.
pub fn parse_time(field: &str, s: &str) -> Result<i64, crate::error::FieldError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            crate::error::FieldError::new(
                field,
                "expected an RFC 3339 time such as 2022-08-20T20:00:00+08:00",
            )
        })
}

/// Reads an optional query value where an empty one (`?region_id=`, what an unchosen select
/// sends) means absent, as for a missing one.
pub fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let raw: Option<String> = Option::deserialize(d)?;
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// The first instant of a Beijing calendar day given as YYYY-MM-DD.
pub fn beijing_day_start(field: &str, day: &str) -> Result<i64, crate::error::FieldError> {
    use chrono::TimeZone;
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| chrono_tz::Asia::Shanghai.from_local_datetime(&t).single())
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| crate::error::FieldError::new(field, "expected a day such as 2022-08-20"))
}

/// Runs `SELECT columns FROM from filter ORDER BY order LIMIT/OFFSET` and its count: the one way
/// every list endpoint pages.
pub async fn fetch_page<T>(
    db: &crate::db::Db,
    columns: &str,
    from: &str,
    filter: &crate::db::Sql,
    order: &str,
    paging: &Paging,
    map: impl Fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
) -> Result<ListPage<T>, AppError> {
    use sqlx::Row;
    let mut count = crate::db::Sql::new(&format!("SELECT COUNT(*) FROM {from}"));
    count.push(filter.text());
    let mut rows = crate::db::Sql::new(&format!("SELECT {columns} FROM {from}"));
    rows.push(filter.text());
    let (limit, offset) = (paging.limit(), paging.offset());
    let total: i64 = filter
        .with_text(count.text())
        .query()
        .fetch_one(&db.pool)
        .await?
        .try_get(0)?;
    let mut q = filter.with_text(rows.text());
    q.push(&format!(" ORDER BY {order} LIMIT "))
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let items = q
        .query()
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(map)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ListPage {
        items,
        total,
        limit,
        offset,
    })
}

/// An RFC 3339 time from the API shown in Beijing time.
pub fn beijing_rfc3339(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| pages::beijing(t.timestamp_millis()))
        .unwrap_or_else(|_| s.to_string())
}
