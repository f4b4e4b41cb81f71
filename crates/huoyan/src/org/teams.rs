//! Teams of the kinds in DESIGN.md, their members, and double registration (双报到) of a person
//! with their community and their compound's temporary party branch.

use axum::extract::State;
use huoyan_core::org::{MemberRole, RegionLevel, TeamKind};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Row};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{Change, Columns};
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required, Text};
use crate::db::{Arg, Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};
use crate::org::OrgState;
use crate::org::scope::Reach;
use crate::time::rfc3339;

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Team {
    pub id: i64,
    /// supervision_team, supervision_group, party_branch, volunteer_group, drone_squad, cadre_group.
    #[schema(value_type = huoyan_core::org::TeamKind)]
    pub kind: String,
    pub name: String,
    /// A volunteer group's branch.
    pub parent_id: Option<i64>,
    /// Where the team works (a branch: its compound).
    pub region_id: Option<i64>,
    pub member_count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Member {
    pub person_id: i64,
    pub name: String,
    /// leader, member, working_group, group_leader.
    #[schema(value_type = huoyan_core::org::MemberRole)]
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamDetail {
    #[serde(flatten)]
    pub team: Team,
    pub members: Vec<Member>,
    /// Child teams (a branch's volunteer groups).
    pub groups: Vec<Team>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    #[schema(value_type = huoyan_core::org::TeamKind)]
    pub kind: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub parent_id: Option<i64>,
    pub region_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TeamUpdate {
    pub name: Option<Required<100>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub person_id: i64,
    #[schema(value_type = huoyan_core::org::MemberRole)]
    pub role: String,
}

const COLUMNS: &str = "id, kind, name, parent_id, region_id, \
     (SELECT COUNT(*) FROM team_members m WHERE m.team_id = teams.id) AS member_count";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Team, sqlx::Error> {
    Team::from_row(r)
}

/// What an update may change.
impl Columns for Team {
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![("name", self.name.as_str().into())]
    }
}

/// Team-scoped callers (a branch leader) reach their own team and its groups only.
fn scope_teams(p: &Principal, sql: &mut Sql) {
    if let Some(t) = p.scope.team_id {
        sql.push(" AND (id = ")
            .bind(t)
            .push(" OR parent_id = ")
            .bind(t)
            .push(")");
    }
}

/// Team `id` as the caller may see it: no row when it lies outside their scope.
fn scoped(p: &Principal, id: i64) -> Sql {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM teams WHERE id = "));
    sql.bind(id);
    scope_teams(p, &mut sql);
    sql
}

pub async fn get_scoped(db: &Db, p: &Principal, id: i64) -> AppResult<Team> {
    let row = scoped(p, id)
        .query()
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("team"))?;
    Ok(from_row(&row)?)
}

/// Inside a change: team `id` as the caller may see it (else `NotFound`), which must also work
/// in their reach (else `region_id` fails: a district's dispatcher sees every team but changes
/// only those working in their district).
async fn writable(change: &mut Change, p: &Principal, reach: &Reach, id: i64) -> AppResult<Team> {
    let row = scoped(p, id)
        .query()
        .fetch_optional(&mut *change.tx)
        .await?
        .ok_or(AppError::NotFound("team"))?;
    let team = from_row(&row)?;
    let mut check = Check::default();
    reach.team(change, &mut check, "region_id", id).await?;
    check.done()?;
    Ok(team)
}

pub async fn detail(db: &Db, p: &Principal, id: i64) -> AppResult<TeamDetail> {
    let team = get_scoped(db, p, id).await?;
    let members: Vec<Member> = sqlx::query_as(
        "SELECT m.person_id AS person_id, pe.name AS name, m.role AS role FROM team_members m JOIN people pe ON pe.id = m.person_id WHERE m.team_id = $1 \
         ORDER BY CASE m.role WHEN 'leader' THEN 0 WHEN 'working_group' THEN 1 WHEN 'group_leader' THEN 2 ELSE 3 END, pe.id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    let groups: Vec<Team> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM teams WHERE parent_id = $1 ORDER BY id"
    )))
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    Ok(TeamDetail {
        team,
        members,
        groups,
    })
}

pub async fn insert(change: &mut Change, new: &NewTeam, prefix: &str) -> AppResult<i64> {
    let f = |n: &str| format!("{prefix}{n}");
    let mut check = Check::default();
    check.non_empty(&f("name"), &new.name, 100);
    let kind = TeamKind::parse(&new.kind);
    if kind.is_none() {
        check.fail(&f("kind"), "one of supervision_team, supervision_group, party_branch, volunteer_group, drone_squad, cadre_group");
    }
    let parent_kind = match new.parent_id {
        Some(pid) => {
            let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM teams WHERE id = $1")
                .bind(pid)
                .fetch_optional(&mut *change.tx)
                .await?;
            match kind {
                Some(k) => TeamKind::parse(&k),
                None => {
                    check.fail(&f("parent_id"), "no such team");
                    None
                }
            }
        }
        None => None,
    };
    if let Some(kind) = kind {
        if (new.parent_id.is_none() || parent_kind.is_some()) && kind.parent_kind() != parent_kind {
            match kind.parent_kind() {
                Some(k) => check.fail(
                    &f("parent_id"),
                    format!("a {} belongs to a {}", kind.code(), k.code()),
                ),
                None => check.fail(
                    &f("parent_id"),
                    format!("a {} has no parent team", kind.code()),
                ),
            }
        }
        if let Some(rid) = new.region_id {
            let level: Option<String> =
                sqlx::query_scalar("SELECT level FROM regions WHERE id = $1")
                    .bind(rid)
                    .fetch_optional(&mut *change.tx)
                    .await?;
            match level {
                None => check.fail(&f("region_id"), "no such region"),
                Some(l)
                    if kind == TeamKind::PartyBranch
                        && RegionLevel::parse(&l) != Some(RegionLevel::Compound) =>
                {
                    check.fail(
                        &f("region_id"),
                        "a temporary party branch belongs to a compound",
                    )
                }
                Some(_) => {}
            }
        } else if kind == TeamKind::PartyBranch {
            check.fail(
                &f("region_id"),
                "a temporary party branch belongs to a compound",
            );
        }
    }
    check.done()?;
    let id: i64 = sqlx::query_scalar("INSERT INTO teams (kind, name, parent_id, region_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(&new.kind)
        .bind(new.name.trim())
        .bind(new.parent_id)
        .bind(new.region_id)
        .bind(change.at_ms())
        .fetch_one(&mut *change.tx)
        .await?;
    change.record("team", id, "create", &serde_json::json!({"kind": new.kind, "name": new.name.trim(), "parent_id": new.parent_id, "region_id": new.region_id})).await?;
    Ok(id)
}

pub async fn add_member(
    change: &mut Change,
    team_id: i64,
    m: &NewMember,
    prefix: &str,
) -> AppResult<()> {
    let f = |n: &str| format!("{prefix}{n}");
    let mut check = Check::default();
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM teams WHERE id = $1")
        .bind(team_id)
        .fetch_optional(&mut *change.tx)
        .await?;
    let kind = kind
        .and_then(|k| TeamKind::parse(&k))
        .ok_or(AppError::NotFound("team"))?;
    match MemberRole::parse(&m.role) {
        None => check.fail(
            &f("role"),
            "one of leader, member, working_group, group_leader",
        ),
        Some(role) if !kind.allows_role(role) => check.fail(
            &f("role"),
            format!("a {} has no {} role", kind.code(), role.code()),
        ),
        Some(_) => {}
    }
    if !change.exists("people", m.person_id).await? {
        check.fail(&f("person_id"), "no such person");
    }
    check.done()?;
    sqlx::query("INSERT INTO team_members (team_id, person_id, role) VALUES ($1, $2, $3)")
        .bind(team_id)
        .bind(m.person_id)
        .bind(&m.role)
        .execute(&mut *change.tx)
        .await
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => AppError::Conflict(vec![crate::error::FieldError::new(
                f("person_id"),
                "already a member of this team",
            )]),
            e => e,
        })?;
    change
        .record(
            "team",
            team_id,
            "add_member",
            &serde_json::json!({"person_id": m.person_id, "role": m.role}),
        )
        .await?;
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct TeamFilter {
    pub kind: Option<String>,
    pub parent_id: Option<i64>,
    /// Teams working in this region's subtree.
    pub within: Option<i64>,
    #[param(inline)]
    pub q: Option<Text<100>>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub async fn list(db: &Db, p: &Principal, f: &TeamFilter) -> AppResult<ListPage<Team>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    scope_teams(p, &mut filter);
    if let Some(k) = f.kind.as_deref().filter(|k| !k.is_empty()) {
        filter.push(" AND kind = ").bind(k);
    }
    if let Some(pid) = f.parent_id {
        filter.push(" AND parent_id = ").bind(pid);
    }
    if let Some(w) = f.within {
        let region = super::regions::get(db, w).await?;
        filter
            .push(" AND region_id IN (SELECT id FROM regions WHERE path LIKE ")
            .bind(format!("{}%", region.path))
            .push(")");
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        filter.push(" AND name").like("%", q, "%");
    }
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    crate::http::fetch_page(db, COLUMNS, "teams", &filter, "id", &paging, from_row).await
}

/// List teams and branches.
#[utoipa::path(get, path = "/api/v1/teams", tag = "org", operation_id = "list_teams", params(TeamFilter), responses((status = 200, body = ListPage<Team>), (status = 404, description = "the region named by `within` does not exist", body = crate::error::ErrorBody)))]
async fn list_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::TeamsRead>,
    ApiQuery(f): ApiQuery<TeamFilter>,
) -> AppResult<ApiJson<ListPage<Team>>> {
    Ok(ApiJson(list(&state.db, &p, &f).await?))
}

/// Form a team (a volunteer group under its branch).
#[utoipa::path(post, path = "/api/v1/teams", tag = "org", operation_id = "create_team", request_body = NewTeam, responses((status = 201, body = Team), (status = 422, body = crate::error::ErrorBody)))]
async fn create_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::TeamsWrite>,
    ApiJson(new): ApiJson<NewTeam>,
) -> AppResult<(axum::http::StatusCode, ApiJson<Team>)> {
    let id = Change::run(&state.db, &p.actor(), async |change| {
        let reach = Reach::of(change, &p).await?;
        let mut check = Check::default();
        match (p.scope.team_id, new.parent_id) {
            // A branch leader forms groups under their own branch only.
            (Some(own), parent) if parent != Some(own) => check.outside("parent_id"),
            (_, Some(parent)) => reach.team(change, &mut check, "parent_id", parent).await?,
            (_, None) => {}
        }
        // A group with no region of its own works where its branch does.
        match (new.region_id, new.parent_id) {
            (Some(region), _) => {
                reach
                    .region(change, &mut check, "region_id", region)
                    .await?
            }
            (None, None) => reach.no_region(&mut check, "region_id"),
            (None, Some(_)) => {}
        }
        check.done()?;
        insert(change, &new, "").await
    })
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        ApiJson(get_scoped(&state.db, &p, id).await?),
    ))
}

/// A team with its members and groups.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "org", operation_id = "get_team", params(("id" = i64, Path)), responses((status = 200, body = TeamDetail)))]
async fn get_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::TeamsRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<TeamDetail>> {
    Ok(ApiJson(detail(&state.db, &p, id).await?))
}

/// Renames a team the caller may change, deciding on the row as the change reads it.
pub async fn update(db: &Db, p: &Principal, id: i64, u: &TeamUpdate) -> AppResult<()> {
    Change::run(db, &p.actor(), async |change| {
        let reach = Reach::of(change, p).await?;
        let before = writable(change, p, &reach, id).await?;
        let mut after = before.clone();
        let mut check = Check::default();
        if let Some(n) = &u.name {
            check.non_empty("name", n, 100);
            after.name = n.trim().to_string();
        }
        check.done()?;
        change.update("team", "teams", id, &before, &after).await?;
        Ok(())
    })
    .await
}

/// Rename a team.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "org", operation_id = "update_team", params(("id" = i64, Path)), request_body = TeamUpdate, responses((status = 200, body = Team)))]
async fn update_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::TeamsWrite>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<TeamUpdate>,
) -> AppResult<ApiJson<Team>> {
    update(&state.db, &p, id, &u).await?;
    Ok(ApiJson(get_scoped(&state.db, &p, id).await?))
}

/// Add a member with a role fitting the team's kind.
#[utoipa::path(post, path = "/api/v1/teams/{id}/members", tag = "org", operation_id = "add_team_member", params(("id" = i64, Path)), request_body = NewMember, responses((status = 201, body = TeamDetail)))]
async fn add_member_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::TeamsWrite>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(m): ApiJson<NewMember>,
) -> AppResult<(axum::http::StatusCode, ApiJson<TeamDetail>)> {
    Change::run(&state.db, &p.actor(), async |change| {
        let reach = Reach::of(change, &p).await?;
        writable(change, &p, &reach, id).await?;
        let mut check = Check::default();
        reach
            .person(change, &mut check, "person_id", m.person_id)
            .await?;
        check.done()?;
        add_member(change, id, &m, "").await
    })
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        ApiJson(detail(&state.db, &p, id).await?),
    ))
}

/// Remove a member.
#[utoipa::path(delete, path = "/api/v1/teams/{id}/members/{person_id}", tag = "org", operation_id = "remove_team_member", params(("id" = i64, Path), ("person_id" = i64, Path)), responses((status = 200, body = TeamDetail)))]
async fn remove_member_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::TeamsWrite>,
    ApiPath((id, person_id)): ApiPath<(i64, i64)>,
) -> AppResult<ApiJson<TeamDetail>> {
    Change::run(&state.db, &p.actor(), async |change| {
        let reach = Reach::of(change, &p).await?;
        writable(change, &p, &reach, id).await?;
        let done = sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND person_id = $2")
            .bind(id)
            .bind(person_id)
            .execute(&mut *change.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(AppError::NotFound("member"));
        }
        change
            .record(
                "team",
                id,
                "remove_member",
                &serde_json::json!({"person_id": person_id}),
            )
            .await
    })
    .await?;
    Ok(ApiJson(detail(&state.db, &p, id).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Registration {
    pub id: i64,
    pub person_id: i64,
    pub community_id: i64,
    pub branch_id: i64,
    #[schema(format = DateTime)]
    pub registered_at: String,
}

/// A registration as stored, its time in epoch milliseconds.
#[derive(Debug, FromRow)]
struct RegistrationRow {
    id: i64,
    person_id: i64,
    community_id: i64,
    branch_id: i64,
    registered_at: i64,
}

impl From<RegistrationRow> for Registration {
    fn from(r: RegistrationRow) -> Self {
        Registration {
            id: r.id,
            person_id: r.person_id,
            community_id: r.community_id,
            branch_id: r.branch_id,
            registered_at: rfc3339(r.registered_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegistration {
    pub person_id: i64,
    pub community_id: i64,
    pub branch_id: i64,
}

/// Records a double registration: the branch must be a temporary party branch of a compound
/// inside the community.
pub async fn register(change: &mut Change, r: &NewRegistration, prefix: &str) -> AppResult<i64> {
    let f = |n: &str| format!("{prefix}{n}");
    let mut check = Check::default();
    if !change.exists("people", r.person_id).await? {
        check.fail(&f("person_id"), "no such person");
    }
    let community = sqlx::query("SELECT level, path FROM regions WHERE id = $1")
        .bind(r.community_id)
        .fetch_optional(&mut *change.tx)
        .await?;
    let community_path = match community {
        Some(row) if row.try_get::<String, _>("level")? == "community" => {
            Some(row.try_get::<String, _>("path")?)
        }
        Some(_) => {
            check.fail(&f("community_id"), "not a community");
            None
        }
        None => {
            check.fail(&f("community_id"), "no such region");
            None
        }
    };
    let branch = sqlx::query("SELECT t.kind AS kind, r.path AS path FROM teams t LEFT JOIN regions r ON r.id = t.region_id WHERE t.id = $1")
        .bind(r.branch_id)
        .fetch_optional(&mut *change.tx)
        .await?;
    match branch {
        Some(row) if row.try_get::<String, _>("kind")? == "party_branch" => {
            let branch_path: Option<String> = row.try_get("path")?;
            if let (Some(c), Some(b)) = (&community_path, &branch_path)
                && !b.starts_with(c.as_str())
            {
                check.fail(
                    &f("branch_id"),
                    "the branch's compound is not in this community",
                );
            }
        }
        Some(_) => check.fail(&f("branch_id"), "not a temporary party branch"),
        None => check.fail(&f("branch_id"), "no such team"),
    }
    check.done()?;
    let id: i64 = sqlx::query_scalar("INSERT INTO registrations (person_id, community_id, branch_id, registered_at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(r.person_id)
        .bind(r.community_id)
        .bind(r.branch_id)
        .bind(change.at_ms())
        .fetch_one(&mut *change.tx)
        .await
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict(_) => AppError::Conflict(vec![crate::error::FieldError::new(f("person_id"), "already registered")]),
            e => e,
        })?;
    change.record("registration", id, "create", &serde_json::json!({"person_id": r.person_id, "community_id": r.community_id, "branch_id": r.branch_id})).await?;
    Ok(id)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegistrationFilter {
    pub community_id: Option<i64>,
    pub branch_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The person a double registration is of.
pub async fn registration_person(db: &Db, id: i64) -> AppResult<i64> {
    sqlx::query_scalar("SELECT person_id FROM registrations WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("registration"))
}

/// Double registrations (双报到) in the caller's scope.
#[utoipa::path(get, path = "/api/v1/registrations", tag = "org", operation_id = "list_registrations", params(RegistrationFilter), responses((status = 200, body = ListPage<Registration>)))]
async fn list_registrations(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::PeopleRead>,
    ApiQuery(f): ApiQuery<RegistrationFilter>,
) -> AppResult<ApiJson<ListPage<Registration>>> {
    let mut filter = Sql::new(" JOIN people ON people.id = registrations.person_id WHERE 1 = 1");
    p.scope_people(&mut filter, "people.id", "people.home_region_id");
    if let Some(c) = f.community_id {
        filter.push(" AND registrations.community_id = ").bind(c);
    }
    if let Some(b) = f.branch_id {
        filter.push(" AND registrations.branch_id = ").bind(b);
    }
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let page = crate::http::fetch_page(
        &state.db,
        "registrations.id AS id, registrations.person_id AS person_id, registrations.community_id AS community_id, \
         registrations.branch_id AS branch_id, registrations.registered_at AS registered_at",
        "registrations",
        &filter,
        "registrations.id",
        &paging,
        |r| RegistrationRow::from_row(r).map(Registration::from),
    )
    .await?;
    Ok(ApiJson(page))
}

/// Register a person with their community and their compound's branch.
#[utoipa::path(post, path = "/api/v1/registrations", tag = "org", operation_id = "create_registration", request_body = NewRegistration, responses((status = 201, body = Registration), (status = 422, body = crate::error::ErrorBody)))]
async fn create_registration(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::TeamsWrite>,
    ApiJson(r): ApiJson<NewRegistration>,
) -> AppResult<(axum::http::StatusCode, ApiJson<Registration>)> {
    let (id, at) = Change::run(&state.db, &p.actor(), async |change| {
        // A branch leader registers people with their own branch; a district's dispatcher,
        // people, communities and branches of their district.
        let reach = Reach::of(change, &p).await?;
        let mut check = Check::default();
        reach
            .person(change, &mut check, "person_id", r.person_id)
            .await?;
        reach
            .overlapping_region(change, &mut check, "community_id", r.community_id)
            .await?;
        reach
            .team(change, &mut check, "branch_id", r.branch_id)
            .await?;
        check.done()?;
        Ok((register(change, &r, "").await?, change.at_ms()))
    })
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        ApiJson(Registration {
            id,
            person_id: r.person_id,
            community_id: r.community_id,
            branch_id: r.branch_id,
            registered_at: rfc3339(at),
        }),
    ))
}

pub fn api() -> OpenApiRouter<OrgState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, create_route))
        .routes(routes!(get_route, update_route))
        .routes(routes!(add_member_route))
        .routes(routes!(remove_member_route))
        .routes(routes!(list_registrations, create_registration))
}
