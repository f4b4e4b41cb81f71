//! The organisation's pages: the regions tree coloured by control level, region, people, teams
//! and branches, control orders (with the form to issue one).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use huoyan_core::auth::Permission;
use huoyan_core::org::{ControlLevel, MemberRole, TeamKind};
use serde::Deserialize;

use crate::audit::TrailEvent;
use crate::auth::{Page, Principal, perm};
use crate::check::Text;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::ListPage;
use crate::i18n::Locale;
use crate::org::OrgState;
use crate::time::beijing_rfc3339;
use crate::web::PageCtx;
use crate::web::PageError;
use crate::web::PageResultExt;
use crate::web::render;

use super::regions::{Region, RegionFilter};

/// A region with its children, for the tree.
pub struct Node {
    pub region: Region,
    pub children: Vec<Node>,
}

impl Node {
    pub fn level_class(&self) -> &str {
        self.region
            .control
            .as_ref()
            .map(|c| c.level.as_str())
            .unwrap_or("none")
    }
}

fn control_label(locale: Locale, r: &Region) -> String {
    match &r.control {
        Some(c) => c.label.clone(),
        None => locale.t("level.none").to_string(),
    }
}

async fn trail_for(
    state: &OrgState,
    user: &Principal,
    entity: &str,
    id: i64,
) -> AppResult<Option<Vec<TrailEvent>>> {
    if !user.role.allows(Permission::AuditRead) {
        return Ok(None);
    }
    let events = crate::audit::trail(&state.db, entity, &id.to_string(), 50, 0).await?;
    Ok(Some(events.into_iter().map(TrailEvent::from).collect()))
}

#[derive(askama::Template)]
#[template(path = "org/regions.html")]
struct RegionsPage {
    ctx: PageCtx,
    roots: Vec<Node>,
    levels: Vec<(&'static str, &'static str)>,
}

impl RegionsPage {
    fn label(&self, r: &Region) -> String {
        control_label(self.ctx.locale, r)
    }
}

async fn all_at(state: &OrgState, level: &str, locale: Locale) -> AppResult<Vec<Region>> {
    let f = RegionFilter {
        level: Some(level.into()),
        limit: Some(500),
        ..Default::default()
    };
    Ok(super::regions::list(&state.db, &f, locale).await?.items)
}

/// City → districts → subdistricts, each coloured by its level; deeper levels on the region page.
async fn regions_tree(
    State(state): State<OrgState>,
    Page { locale, ctx, .. }: Page,
) -> Result<Response, PageError> {
    let (cities, districts, subdistricts) = async {
        Ok::<_, AppError>((
            all_at(&state, "city", locale).await?,
            all_at(&state, "district", locale).await?,
            all_at(&state, "subdistrict", locale).await?,
        ))
    }
    .await
    .page(locale)?;
    let mut subs_by_parent: std::collections::HashMap<i64, Vec<Node>> =
        std::collections::HashMap::new();
    for s in subdistricts {
        subs_by_parent
            .entry(s.parent_id.unwrap_or_default())
            .or_default()
            .push(Node {
                region: s,
                children: vec![],
            });
    }
    let mut districts_by_parent: std::collections::HashMap<i64, Vec<Node>> =
        std::collections::HashMap::new();
    for d in districts {
        let children = subs_by_parent.remove(&d.id).unwrap_or_default();
        districts_by_parent
            .entry(d.parent_id.unwrap_or_default())
            .or_default()
            .push(Node {
                region: d,
                children,
            });
    }
    let roots = cities
        .into_iter()
        .map(|c| {
            let children = districts_by_parent.remove(&c.id).unwrap_or_default();
            Node {
                region: c,
                children,
            }
        })
        .collect();
    let levels = ControlLevel::ALL
        .iter()
        .map(|l| (l.code(), l.label(locale.is_en())))
        .collect();
    Ok(render(&RegionsPage { ctx, roots, levels }))
}

#[derive(askama::Template)]
#[template(path = "org/region.html")]
struct RegionPage {
    ctx: PageCtx,
    region: Region,
    crumbs: Vec<(i64, String, String)>,
    children: Vec<Region>,
    history: Vec<(String, String, String)>,
    sites: Vec<super::sites::Site>,
    trail: Option<Vec<TrailEvent>>,
}

impl RegionPage {
    fn label(&self, r: &Region) -> String {
        control_label(self.ctx.locale, r)
    }
    fn level_class<'a>(&self, r: &'a Region) -> &'a str {
        r.control
            .as_ref()
            .map(|c| c.level.as_str())
            .unwrap_or("none")
    }
    fn level_name(&self) -> &'static str {
        huoyan_core::org::RegionLevel::parse(&self.region.level)
            .map(|l| l.label(self.ctx.en()))
            .unwrap_or("")
    }
    fn since(&self) -> String {
        self.region
            .control
            .as_ref()
            .map(|c| beijing_rfc3339(&c.since))
            .unwrap_or_default()
    }
}

async fn region_page(
    State(state): State<OrgState>,
    Page {
        user, locale, ctx, ..
    }: Page,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let page = async {
        let region = super::regions::with_control(&state.db, id, locale).await?;
        let crumbs = super::regions::lineage(&state.db, &region.path).await?;
        let f = RegionFilter {
            parent_id: Some(id),
            limit: Some(500),
            ..Default::default()
        };
        let children = super::regions::list(&state.db, &f, locale).await?.items;
        let history = super::regions::history(&state.db, id)
            .await?
            .into_iter()
            .map(|h| {
                (
                    crate::time::beijing(h.from.timestamp_millis()),
                    h.level
                        .map(|l| l.label(locale.is_en()).to_string())
                        .unwrap_or_else(|| locale.t("level.none").to_string()),
                    h.order_number.unwrap_or_default(),
                )
            })
            .collect();
        let site_list = super::sites::in_region(&state.db, id).await?;
        let trail = trail_for(&state, &user, "region", id).await?;
        Ok::<_, AppError>(RegionPage {
            ctx,
            region,
            crumbs,
            children,
            history,
            sites: site_list,
            trail,
        })
    }
    .await
    .page(locale)?;
    Ok(render(&page))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    kind: Option<String>,
    offset: Option<i64>,
}

impl ListQuery {
    /// The search, checked as the API checks it.
    fn search(&self) -> AppResult<Option<Text<100>>> {
        self.q
            .clone()
            .map(Text::parse)
            .transpose()
            .map_err(|why| AppError::invalid("q", why))
    }
}

#[derive(askama::Template)]
#[template(path = "org/people.html")]
struct PeoplePage {
    ctx: PageCtx,
    page: ListPage<super::people::Person>,
    q: String,
}

impl PeoplePage {
    fn gender(&self, g: &str) -> &str {
        self.ctx.t(if g == "male" {
            "person.male"
        } else {
            "person.female"
        })
    }
}

async fn people_page(
    State(state): State<OrgState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::PeopleRead>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let f = super::people::PersonFilter {
        q: q.search().page(locale)?,
        limit: Some(50),
        offset: q.offset,
        ..Default::default()
    };
    let page = super::people::list(&state.db, &user, &f)
        .await
        .page(locale)?;
    Ok(render(&PeoplePage {
        ctx,
        page,
        q: q.q.unwrap_or_default(),
    }))
}

#[derive(askama::Template)]
#[template(path = "org/person.html")]
struct PersonPage {
    ctx: PageCtx,
    person: super::people::Person,
    home: Vec<(i64, String, String)>,
    trail: Option<Vec<TrailEvent>>,
}

async fn person_page(
    State(state): State<OrgState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::PeopleRead>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let page = async {
        let person = super::people::get_scoped(&state.db, &user, id).await?;
        let home = match person.home_region_id {
            Some(h) => {
                super::regions::lineage(&state.db, &super::regions::get(&state.db, h).await?.path)
                    .await?
            }
            None => vec![],
        };
        let trail = trail_for(&state, &user, "person", id).await?;
        Ok::<_, AppError>(PersonPage {
            ctx,
            person,
            home,
            trail,
        })
    }
    .await
    .page(locale)?;
    Ok(render(&page))
}

#[derive(askama::Template)]
#[template(path = "org/teams.html")]
struct TeamsPage {
    ctx: PageCtx,
    page: ListPage<super::teams::Team>,
    kinds: Vec<(&'static str, &'static str)>,
    kind: String,
}

impl TeamsPage {
    fn kind_label(&self, k: &str) -> &'static str {
        TeamKind::parse(k)
            .map(|k| k.label(self.ctx.en()))
            .unwrap_or("")
    }
}

async fn teams_page(
    State(state): State<OrgState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::TeamsRead>,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let f = super::teams::TeamFilter {
        kind: q.kind.clone(),
        q: q.search().page(locale)?,
        limit: Some(100),
        offset: q.offset,
        ..Default::default()
    };
    let page = super::teams::list(&state.db, &user, &f)
        .await
        .page(locale)?;
    let kinds = TeamKind::ALL
        .iter()
        .map(|k| (k.code(), k.label(locale.is_en())))
        .collect();
    Ok(render(&TeamsPage {
        ctx,
        page,
        kinds,
        kind: q.kind.unwrap_or_default(),
    }))
}

#[derive(askama::Template)]
#[template(path = "org/team.html")]
struct TeamPage {
    ctx: PageCtx,
    team: super::teams::TeamDetail,
    trail: Option<Vec<TrailEvent>>,
}

impl TeamPage {
    fn kind_label(&self, k: &str) -> &'static str {
        TeamKind::parse(k)
            .map(|k| k.label(self.ctx.en()))
            .unwrap_or("")
    }
    fn role_label(&self, r: &str) -> &'static str {
        MemberRole::parse(r)
            .map(|r| r.label(self.ctx.en()))
            .unwrap_or("")
    }
}

async fn team_page(
    State(state): State<OrgState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::TeamsRead>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let page = async {
        let team = super::teams::detail(&state.db, &user, id).await?;
        let trail = trail_for(&state, &user, "team", id).await?;
        Ok::<_, AppError>(TeamPage { ctx, team, trail })
    }
    .await
    .page(locale)?;
    Ok(render(&page))
}

#[derive(askama::Template)]
#[template(path = "org/orders.html")]
struct OrdersPage {
    ctx: PageCtx,
    orders: Vec<super::orders::Order>,
    region_names: std::collections::HashMap<i64, String>,
}

impl OrdersPage {
    fn level_label(&self, l: &str) -> &'static str {
        ControlLevel::parse(l)
            .map(|l| l.label(self.ctx.en()))
            .unwrap_or("")
    }
    fn regions(&self, ids: &[i64]) -> String {
        ids.iter()
            .map(|i| {
                self.region_names
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join("、")
    }
    fn time(&self, t: &str) -> String {
        beijing_rfc3339(t)
    }
}

async fn region_names(
    state: &OrgState,
    orders: &[super::orders::Order],
) -> AppResult<std::collections::HashMap<i64, String>> {
    let mut names = std::collections::HashMap::new();
    for id in orders.iter().flat_map(|o| o.region_ids.iter()) {
        if !names.contains_key(id) {
            let name: String = sqlx::query_scalar("SELECT name FROM regions WHERE id = $1")
                .bind(id)
                .fetch_one(&state.db.pool)
                .await?;
            names.insert(*id, name);
        }
    }
    Ok(names)
}

async fn orders_page(
    State(state): State<OrgState>,
    Page { locale, ctx, .. }: Page,
) -> Result<Response, PageError> {
    let page = async {
        let f = super::orders::OrderFilter {
            level: None,
            region_id: None,
            q: None,
            limit: Some(200),
            offset: None,
        };
        let orders = super::orders::list(&state.db, &f).await?.items;
        let region_names = region_names(&state, &orders).await?;
        Ok::<_, AppError>(OrdersPage {
            ctx,
            orders,
            region_names,
        })
    }
    .await
    .page(locale)?;
    Ok(render(&page))
}

#[derive(askama::Template)]
#[template(path = "org/order.html")]
struct OrderPage {
    ctx: PageCtx,
    order: super::orders::Order,
    region_names: std::collections::HashMap<i64, String>,
    trail: Option<Vec<TrailEvent>>,
}

impl OrderPage {
    fn level_label(&self) -> &'static str {
        ControlLevel::parse(&self.order.level)
            .map(|l| l.label(self.ctx.en()))
            .unwrap_or("")
    }
    fn time(&self, t: &str) -> String {
        beijing_rfc3339(t)
    }
}

async fn order_page(
    State(state): State<OrgState>,
    Page {
        user, locale, ctx, ..
    }: Page,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let page = async {
        let order = super::orders::get(&state.db, id).await?;
        let region_names = region_names(&state, std::slice::from_ref(&order)).await?;
        let trail = trail_for(&state, &user, "control_order", id).await?;
        Ok::<_, AppError>(OrderPage {
            ctx,
            order,
            region_names,
            trail,
        })
    }
    .await
    .page(locale)?;
    Ok(render(&page))
}

#[derive(Deserialize, Default, Clone)]
struct OrderForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    effective_from: String,
    #[serde(default)]
    effective_until: String,
    #[serde(default)]
    region_codes: String,
    #[serde(default)]
    body: String,
}

#[derive(askama::Template)]
#[template(path = "org/order_new.html")]
struct NewOrderPage {
    ctx: PageCtx,
    form: OrderForm,
    errors: Vec<FieldError>,
    levels: Vec<(&'static str, &'static str)>,
}

impl NewOrderPage {
    fn error_for(&self, field: &str) -> String {
        crate::web::messages_for(&self.errors, field, self.ctx.locale)
    }
}

fn new_order_page(ctx: PageCtx, form: OrderForm, errors: Vec<FieldError>) -> Response {
    let levels = ControlLevel::ALL
        .iter()
        .map(|l| (l.code(), l.label(ctx.en())))
        .collect();
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    (
        status,
        render(&NewOrderPage {
            ctx,
            form,
            errors,
            levels,
        }),
    )
        .into_response()
}

async fn order_form(Page { ctx, .. }: Page<perm::OrdersWrite>) -> Response {
    new_order_page(ctx, OrderForm::default(), vec![])
}

/// `datetime-local` inputs carry Beijing wall time without a zone.
fn beijing_input(field: &str, s: &str) -> Result<String, FieldError> {
    crate::time::beijing_local(s).ok_or_else(|| FieldError::new(field, "expected a date and time"))
}

async fn order_create(
    State(state): State<OrgState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::OrdersWrite>,
    axum::Form(form): axum::Form<OrderForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf)).page(locale)?;
    let mut errors = Vec::new();
    let from = beijing_input("effective_from", &form.effective_from)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let until = if form.effective_until.is_empty() {
        None
    } else {
        beijing_input("effective_until", &form.effective_until)
            .map_err(|e| errors.push(e))
            .ok()
    };
    let mut region_ids = Vec::new();
    for code in form
        .region_codes
        .split([',', '，', ' ', '、'])
        .filter(|c| !c.is_empty())
    {
        match sqlx::query_scalar::<_, i64>("SELECT id FROM regions WHERE code = $1")
            .bind(code)
            .fetch_optional(&state.db.pool)
            .await
        {
            Ok(Some(id)) => region_ids.push(id),
            Ok(None) => errors.push(FieldError::new(
                "region_codes",
                format!("no region with code {code}"),
            )),
            Err(e) => {
                return Err(PageError {
                    error: e.into(),
                    locale,
                });
            }
        }
    }
    if region_ids.is_empty() && errors.iter().all(|e| e.field != "region_codes") {
        errors.push(FieldError::new(
            "region_codes",
            "name at least one region by its code",
        ));
    }
    if errors.is_empty() {
        let new = super::orders::NewOrder {
            number: form.number.clone(),
            issued_at: crate::time::rfc3339(crate::time::now_ms()),
            effective_from: from,
            effective_until: until,
            level: form.level.clone(),
            region_ids,
            body: form.body.clone(),
        };
        match super::orders::create(&state.db, &user, &new).await {
            Ok(id) => return Ok(Redirect::to(&format!("/orders/{id}")).into_response()),
            // The form names regions by their codes, in one field.
            Err(AppError::Invalid(f) | AppError::Conflict(f)) => {
                errors.extend(f.into_iter().map(|mut e| {
                    if e.field.starts_with("region_ids") {
                        e.field = "region_codes".into();
                    }
                    e
                }))
            }
            Err(e) => return Err(PageError { error: e, locale }),
        }
    }
    Ok(new_order_page(ctx, form, errors))
}

pub fn router() -> Router<OrgState> {
    Router::new()
        .route("/regions", get(regions_tree))
        .route("/regions/{id}", get(region_page))
        .route("/people", get(people_page))
        .route("/people/{id}", get(person_page))
        .route("/teams", get(teams_page))
        .route("/teams/{id}", get(team_page))
        .route("/orders", get(orders_page).post(order_create))
        .route("/orders/new", get(order_form))
        .route("/orders/{id}", get(order_page))
}
