//! The composition root: the one module that knows every context. It builds each context's state,
//! gathers their routes, pages and menu entries into one server, starts the jobs that run beside
//! it, and stops both on SIGINT or SIGTERM once in-flight requests are answered. Nothing imports
//! it but the command line (and the tests, which serve the same router).
//!
//! Where a new context goes: a folder beside `org` and `cases` holding its storage, routes, pages
//! and templates, with its own state (`#[derive(Clone, FromRef)]`, embedding `Db` and `Menu`), an
//! `api()` and `pages()` router on that state and a `menu()`. It may import the toolkits (`db`,
//! `time`, `check`, `geo`, `http`, `web`, `i18n`, `error`, `tabular`), the kernel (`audit`, `auth`,
//! `notifications`) and `org`, and reach another context only through that context's public
//! functions; it never imports `app`. Register it here, in `App::new`, `router` and `menu`.

mod contract;
mod home;
mod trail;
mod verify;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use axum::{Json, Router};
use huoyan_core::cases::{DeadlinePolicy, EvidencePolicy};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::AuthState;
use crate::cases::CasesState;
use crate::db::Db;
use crate::drones::DronesState;
use crate::error::AppError;
use crate::inspections::InspectionsState;
use crate::org::OrgState;
use crate::supply::SupplyState;
use crate::testing::TestingState;
use crate::web::{Base, Menu, MenuItem};
use crate::workforce::WorkforceState;

/// Largest request body accepted (imports included).
pub const BODY_LIMIT: usize = 20 * 1024 * 1024;

/// The city's configuration that reaches the server.
#[derive(Debug, Default, Clone)]
pub struct Settings {
    /// How long a unit has to fix a case.
    pub deadlines: DeadlinePolicy,
    /// Which categories' fixes need a photo.
    pub evidence: EvidencePolicy,
    /// Mark the session cookies `Secure` (the server is reached through HTTPS).
    pub secure_cookies: bool,
    /// A tile server under the maps' outlines; none: a plain background.
    pub map_tiles: Option<crate::web::map::Tiles>,
    /// The UDP address the drones' MAVLink link listens on; none: no link.
    pub mavlink: Option<SocketAddr>,
}

/// Every context's state, built once per server.
#[derive(Clone)]
pub struct App {
    pub base: Base,
    pub auth: AuthState,
    pub org: OrgState,
    pub cases: CasesState,
    pub inspections: InspectionsState,
    pub workforce: WorkforceState,
    pub testing: TestingState,
    pub drones: DronesState,
    pub supply: SupplyState,
    /// The audit trail's verifications run from the page, one at a time per server.
    pub verifications: crate::audit::Verifications,
    pub map_tiles: Option<crate::web::map::Tiles>,
    pub mavlink: Option<SocketAddr>,
}

impl App {
    pub fn new(db: Db, settings: Settings) -> App {
        let menu = menu();
        let regions = crate::org::regions::Lineages::default();
        App {
            base: Base {
                db: db.clone(),
                menu: menu.clone(),
            },
            auth: AuthState {
                db: db.clone(),
                menu: menu.clone(),
                limiter: Default::default(),
                secure_cookies: settings.secure_cookies,
            },
            org: OrgState {
                db: db.clone(),
                menu: menu.clone(),
                regions: regions.clone(),
            },
            inspections: InspectionsState {
                db: db.clone(),
                menu: menu.clone(),
            },
            workforce: WorkforceState {
                db: db.clone(),
                menu: menu.clone(),
                running: Default::default(),
            },
            testing: TestingState {
                db: db.clone(),
                menu: menu.clone(),
                ingest: Arc::new(crate::testing::Ingest::new(&db)),
            },
            drones: DronesState {
                db: db.clone(),
                menu: menu.clone(),
                live: Default::default(),
                link: Default::default(),
                map_tiles: settings.map_tiles.clone(),
            },
            supply: SupplyState {
                db: db.clone(),
                menu: menu.clone(),
            },
            cases: CasesState {
                intake: Arc::new(crate::cases::intake::Intake::new(&db)),
                db,
                menu,
                regions,
                deadlines: Arc::new(settings.deadlines),
                evidence: Arc::new(settings.evidence),
                proposer: Default::default(),
            },
            verifications: Default::default(),
            map_tiles: settings.map_tiles,
            mavlink: settings.mavlink,
        }
    }

    pub fn db(&self) -> &Db {
        &self.base.db
    }
}

/// The menu, in the order it shows: each context's entries.
fn menu() -> Menu {
    let mut items = vec![MenuItem::new("/", "nav.home", |_| true)];
    items.extend(crate::org::menu());
    items.extend(crate::cases::menu());
    items.extend(crate::inspections::menu());
    items.extend(crate::workforce::menu());
    items.extend(crate::testing::menu());
    items.extend(crate::drones::menu());
    items.extend(crate::supply::menu());
    items.extend(crate::notifications::menu());
    items.extend(crate::auth::menu());
    items.extend(verify::menu());
    Menu::new(items)
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
pub fn api(app: &App) -> (Router, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::auth::routes::api().with_state(app.auth.clone()))
        .merge(crate::auth::accounts::api().with_state(app.auth.clone()))
        .merge(trail::api().with_state(app.base.clone()))
        .merge(crate::org::api().with_state(app.org.clone()))
        .merge(crate::cases::api().with_state(app.cases.clone()))
        .merge(crate::inspections::api().with_state(app.inspections.clone()))
        .merge(crate::workforce::api().with_state(app.workforce.clone()))
        .merge(crate::testing::api().with_state(app.testing.clone()))
        .merge(crate::drones::api().with_state(app.drones.clone()))
        .merge(crate::supply::api().with_state(app.supply.clone()))
        .merge(crate::notifications::api().with_state(app.base.clone()));
    let (router, mut doc) = api.split_for_parts();
    // After the merge: the answers every operation shares need the operations.
    utoipa::Modify::modify(&contract::Contract, &mut doc);
    (router, doc)
}

/// The whole server: the API, its document, the pages, Open311 and the health check.
pub fn router(app: &App) -> Router {
    let (api, doc) = api(app);
    let doc = Arc::new(doc);
    let db = app.db().clone();
    let set =
        |name, value| SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value));
    Router::new()
        .merge(
            api.layer(axum::middleware::from_fn(crate::http::wrong_method))
                .layer(axum::middleware::from_fn(crate::http::localise_errors)),
        )
        .route(
            "/api/v1/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .route("/healthz", get(move || healthz(db.clone())))
        .merge(home::router().with_state(app.base.clone()))
        .merge(crate::web::router())
        .merge(crate::web::field::router(
            &[crate::cases::OFFLINE, crate::testing::OFFLINE].concat(),
        ))
        .merge(crate::web::map::router(app.map_tiles.clone()))
        .merge(crate::web::scan::router())
        .merge(crate::auth::routes::pages().with_state(app.auth.clone()))
        .merge(crate::org::pages().with_state(app.org.clone()))
        .merge(crate::cases::pages().with_state(app.cases.clone()))
        .merge(crate::inspections::pages().with_state(app.inspections.clone()))
        .merge(crate::workforce::pages().with_state(app.workforce.clone()))
        .merge(crate::testing::pages().with_state(app.testing.clone()))
        .merge(crate::drones::pages().with_state(app.drones.clone()))
        .merge(crate::supply::pages().with_state(app.supply.clone()))
        .merge(crate::cases::open311::router().with_state(app.cases.clone()))
        .merge(crate::notifications::pages().with_state(app.base.clone()))
        .merge(verify::router().with_state(verify::VerifyState {
            db: app.db().clone(),
            menu: app.base.menu.clone(),
            runs: app.verifications.clone(),
        }))
        .fallback(crate::web::not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.base.clone(),
            crate::auth::error_pages,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Headers on every answer unless a route set its own: pages and private files are kept
        // by no browser or proxy (`no-store`; the built-in assets say otherwise), and no page's
        // address leaks to another site.
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            crate::web::map::content_security_policy(app.map_tiles.as_ref(), &[]),
        ))
        .layer(set(header::REFERRER_POLICY, "same-origin"))
        .layer(set(header::CACHE_CONTROL, "no-store"))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

async fn healthz(db: Db) -> Result<&'static str, AppError> {
    sqlx::query("SELECT 1").execute(&db.pool).await?;
    Ok("ok")
}

/// Serves until SIGINT or SIGTERM, with the periodic jobs beside the server. On either signal
/// the server stops accepting, answers the requests in flight, and the jobs stop with it.
pub async fn serve(
    app: App,
    listen: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    if let Some(n) = crate::cases::figures::tallies::build(&app.cases.db).await? {
        tracing::info!("the figures' tallies were built from {n} cases");
    }
    crate::cases::search::check(&app.cases.db).await?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    on_ready(addr);
    let link = match app.mavlink {
        Some(addr) => {
            let (bound, task) = crate::drones::start_link(&app.drones, addr).await?;
            tracing::info!("MAVLink link on udp://{bound}");
            Some(task)
        }
        None => None,
    };
    let jobs = tokio::spawn(run_jobs(app.clone()));
    let server = axum::serve(
        nodelay(listener),
        router(&app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop_signal());
    let served = server.await;
    jobs.abort();
    if let Some(link) = link {
        link.abort();
    }
    served?;
    Ok(())
}

/// `listener` with TCP_NODELAY on every connection: an answer's last segment leaves at once
/// instead of waiting for the client's delayed acknowledgement of the one before (about 40 ms
/// on an export's or a page's second segment, measured by bench/reads.sh).
pub fn nodelay(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    fn set(tcp: &mut tokio::net::TcpStream) {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "TCP_NODELAY refused");
        }
    }
    listener.tap_io(set as fn(&mut tokio::net::TcpStream))
}

/// The jobs that run beside the server, each on its own clock, until the server stops.
async fn run_jobs(app: App) {
    tokio::join!(
        crate::cases::search::run(app.cases.db.clone()),
        crate::cases::overdue::run(app.cases),
        crate::auth::sessions::purge_hourly(app.auth.db),
        crate::workforce::sign_out_job(app.workforce.db),
        crate::supply::run(app.supply.db),
    );
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (what systemd and container runtimes send).
async fn stop_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("stopping: answering the requests in flight");
}
