//! The organisation's pages: the regions tree and each region coloured by control level, on a
//! map, people, teams and branches; each with its history as readable steps. The control orders'
//! pages are in `order_pages`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use huoyan_core::auth::Permission;
use huoyan_core::org::{ControlLevel, MemberRole, TeamKind};
use serde::Deserialize;

use crate::audit::steps::Step;
use crate::auth::{Page, perm};
use crate::check::Text;
use crate::error::{AppError, AppResult};
use crate::http::{ApiQuery, ListPage};
use crate::i18n::Locale;
use crate::org::OrgState;
use crate::time::beijing_rfc3339;
use crate::web::map::MapView;
use crate::web::{PageCtx, PageError, PagePath, PageResultExt, render};

use super::history::steps_for;
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

#[derive(askama::Template)]
#[template(path = "org/regions.html")]
struct RegionsPage {
    ctx: PageCtx,
    roots: Vec<Node>,
    levels: Vec<(&'static str, &'static str)>,
    map: MapView,
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
    Ok(render(&RegionsPage {
        ctx,
        roots,
        levels,
        map: MapView::outlines(locale),
    }))
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
    trail: Option<Vec<Step>>,
    map: MapView,
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
    PagePath(id): PagePath<i64>,
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
        let trail = steps_for(&state.db, &user, "region", id, locale).await?;
        // Its outline and those inside it, with its cases for those who read cases.
        let mut map = MapView::outlines(locale).around(id);
        if user.role.allows(Permission::CasesRead) {
            map = map.with_cases(format!("region_id={id}"));
        }
        Ok::<_, AppError>(RegionPage {
            ctx,
            region,
            crumbs,
            children,
            history,
            sites: site_list,
            trail,
            map,
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
    ApiQuery(q): ApiQuery<ListQuery>,
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
    trail: Option<Vec<Step>>,
}

async fn person_page(
    State(state): State<OrgState>,
    Page {
        user, locale, ctx, ..
    }: Page<perm::PeopleRead>,
    PagePath(id): PagePath<i64>,
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
        let trail = steps_for(&state.db, &user, "person", id, locale).await?;
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
    ApiQuery(q): ApiQuery<ListQuery>,
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
    trail: Option<Vec<Step>>,
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
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let page = async {
        let team = super::teams::detail(&state.db, &user, id).await?;
        let trail = steps_for(&state.db, &user, "team", id, locale).await?;
        Ok::<_, AppError>(TeamPage { ctx, team, trail })
    }
    .await
    .page(locale)?;
    Ok(render(&page))
}

pub fn router() -> Router<OrgState> {
    Router::new()
        .route("/regions", get(regions_tree))
        .route("/regions/{id}", get(region_page))
        .route("/people", get(people_page))
        .route("/people/{id}", get(person_page))
        .route("/teams", get(teams_page))
        .route("/teams/{id}", get(team_page))
        .merge(super::order_pages::router())
}
