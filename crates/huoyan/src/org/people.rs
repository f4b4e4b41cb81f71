//! People: cadres, volunteers and everyone else the operation relies on. Phones are masked in
//! lists, and each caller sees only the people in their scope.

use axum::extract::State;
use huoyan_core::auth::Permission;
use huoyan_core::org::{RegionLevel, mask_phone, parse_phone, validate_birth_year};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{Actor, Change};
use crate::auth::{Can, Principal, perm};
use crate::check::Check;
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};
use crate::org::OrgState;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Person {
    pub id: i64,
    pub name: String,
    /// Masked (138****1234) in lists and for roles that may not edit people.
    pub phone: String,
    /// `male` or `female`.
    #[schema(value_type = huoyan_core::org::Gender)]
    pub gender: String,
    pub birth_year: i64,
    pub party_member: bool,
    pub employer: String,
    /// The compound (or building) the person lives in.
    pub home_region_id: Option<i64>,
    pub skills: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub name: String,
    pub phone: String,
    #[schema(value_type = huoyan_core::org::Gender)]
    pub gender: String,
    pub birth_year: i64,
    #[serde(default)]
    pub party_member: bool,
    #[serde(default)]
    pub employer: String,
    pub home_region_id: Option<i64>,
    #[serde(default)]
    pub skills: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PersonUpdate {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub employer: Option<String>,
    pub party_member: Option<bool>,
    pub home_region_id: Option<i64>,
    pub skills: Option<Vec<String>>,
}

pub const GENDERS: [&str; 2] = ["male", "female"];
const COLUMNS: &str = "people.id, people.name, people.phone, people.gender, people.birth_year, people.party_member, people.employer, people.home_region_id, people.skills";

pub fn from_row(r: &sqlx::any::AnyRow) -> Result<Person, sqlx::Error> {
    let skills: String = r.try_get(8)?;
    Ok(Person {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        phone: r.try_get(2)?,
        gender: r.try_get(3)?,
        birth_year: r.try_get(4)?,
        party_member: r.try_get::<i64, _>(5)? != 0,
        employer: r.try_get(6)?,
        home_region_id: r.try_get(7)?,
        skills: skills
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

fn this_year() -> i64 {
    use chrono::Datelike;
    chrono::Utc::now().year() as i64
}

/// Checks a new person's fields (every bad one at once) and returns the phone in bare form.
pub async fn validate(
    tx: &mut sqlx::AnyConnection,
    new: &NewPerson,
    prefix: &str,
) -> AppResult<String> {
    let f = |name: &str| format!("{prefix}{name}");
    let mut check = Check::default();
    check.non_empty(&f("name"), &new.name, 50);
    let phone = parse_phone(&new.phone)
        .map_err(|e| {
            check.fail(
                &f("phone"),
                e.to_string().split(": ").nth(1).unwrap_or_default(),
            )
        })
        .ok();
    if !GENDERS.contains(&new.gender.as_str()) {
        check.fail(&f("gender"), "male or female");
    }
    if validate_birth_year(new.birth_year, this_year()).is_err() {
        check.fail(&f("birth_year"), "must lie between 1900 and this year");
    }
    if new
        .skills
        .iter()
        .any(|s| s.contains(',') || s.trim().is_empty())
    {
        check.fail(
            &f("skills"),
            "each skill is a non-empty word without commas",
        );
    }
    if let Some(home) = new.home_region_id {
        check_home(tx, &mut check, &f("home_region_id"), home).await?;
    }
    check.done()?;
    Ok(phone.unwrap_or_default())
}

async fn check_home(
    tx: &mut sqlx::AnyConnection,
    check: &mut Check,
    field: &str,
    home: i64,
) -> AppResult<()> {
    let level: Option<String> = sqlx::query("SELECT level FROM regions WHERE id = $1")
        .bind(home)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    match level.as_deref().and_then(RegionLevel::parse) {
        None => check.fail(field, "no such region"),
        Some(RegionLevel::Compound | RegionLevel::Building) => {}
        Some(_) => check.fail(field, "a home is a compound or a building"),
    }
    Ok(())
}

pub async fn insert(change: &mut Change, new: &NewPerson, prefix: &str) -> AppResult<i64> {
    let phone = validate(&mut change.tx, new, prefix).await?;
    let id: i64 = sqlx::query(
        "INSERT INTO people (name, phone, gender, birth_year, party_member, employer, home_region_id, skills, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(new.name.trim())
    .bind(&phone)
    .bind(&new.gender)
    .bind(new.birth_year)
    .bind(new.party_member as i64)
    .bind(&new.employer)
    .bind(new.home_region_id)
    .bind(new.skills.join(","))
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await
    .map_err(|e| prefixed(AppError::from(e), prefix))?
    .try_get(0)?;
    change
        .record("person", id, "create", &serde_json::json!({"name": new.name.trim(), "phone": mask_phone(&phone), "home_region_id": new.home_region_id}))
        .await?;
    Ok(id)
}

/// Puts a row prefix (`rows[3].`) on the fields of a conflict raised by the database.
fn prefixed(e: AppError, prefix: &str) -> AppError {
    match e {
        AppError::Conflict(fields) => AppError::Conflict(
            fields
                .into_iter()
                .map(|mut f| {
                    f.field = format!("{prefix}{}", f.field);
                    f
                })
                .collect(),
        ),
        e => e,
    }
}

/// A person the caller may see, or `NotFound` (scope does not reveal who exists elsewhere).
pub async fn get_scoped(db: &Db, p: &Principal, id: i64) -> AppResult<Person> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM people WHERE people.id = "));
    sql.bind(id);
    p.scope_people(&mut sql, "people.id", "people.home_region_id");
    let row = sql
        .query()
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("person"))?;
    let mut person = from_row(&row)?;
    if !p.role.allows(Permission::PeopleWrite) {
        person.phone = mask_phone(&person.phone);
    }
    Ok(person)
}

#[derive(Debug, Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct PersonFilter {
    /// Part of the name.
    pub q: Option<String>,
    /// People living in this region's subtree.
    pub within: Option<i64>,
    /// Members of this team.
    pub team_id: Option<i64>,
    pub skill: Option<String>,
    /// 1 for party members only, 0 for others.
    pub party_member: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub async fn list(db: &Db, p: &Principal, f: &PersonFilter) -> AppResult<ListPage<Person>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    p.scope_people(&mut filter, "people.id", "people.home_region_id");
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        filter.push(" AND people.name LIKE ").bind(format!("%{q}%"));
    }
    if let Some(w) = f.within {
        let region = super::regions::get(db, w).await?;
        filter
            .push(" AND people.home_region_id IN (SELECT id FROM regions WHERE path LIKE ")
            .bind(format!("{}%", region.path))
            .push(")");
    }
    if let Some(t) = f.team_id {
        filter
            .push(" AND people.id IN (SELECT person_id FROM team_members WHERE team_id = ")
            .bind(t)
            .push(")");
    }
    if let Some(s) = f.skill.as_deref().filter(|s| !s.is_empty()) {
        filter
            .push(" AND (',' || people.skills || ',') LIKE ")
            .bind(format!("%,{s},%"));
    }
    if let Some(pm) = f.party_member {
        filter.push(" AND people.party_member = ").bind(pm);
    }
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let mut page = crate::http::fetch_page(
        db,
        COLUMNS,
        "people",
        &filter,
        "people.id",
        &paging,
        from_row,
    )
    .await?;
    for person in &mut page.items {
        person.phone = mask_phone(&person.phone);
    }
    Ok(page)
}

/// List the people in the caller's scope; phones masked.
#[utoipa::path(get, path = "/api/v1/people", tag = "org", operation_id = "list_people", params(PersonFilter), responses((status = 200, body = ListPage<Person>), (status = 404, description = "the region named by `within` does not exist", body = crate::error::ErrorBody)))]
async fn list_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::PeopleRead>,
    ApiQuery(f): ApiQuery<PersonFilter>,
) -> AppResult<ApiJson<ListPage<Person>>> {
    Ok(ApiJson(list(&state.db, &p, &f).await?))
}

/// Register a person.
#[utoipa::path(post, path = "/api/v1/people", tag = "org", operation_id = "create_person", request_body = NewPerson, responses((status = 201, body = Person), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::PeopleWrite>,
    ApiJson(new): ApiJson<NewPerson>,
) -> AppResult<(axum::http::StatusCode, ApiJson<Person>)> {
    let id = create(&state.db, &p, &new).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        ApiJson(get_scoped(&state.db, &p, id).await?),
    ))
}

pub async fn create(db: &Db, p: &Principal, new: &NewPerson) -> AppResult<i64> {
    if let (Some(path), Some(home)) = (&p.scope_path, new.home_region_id) {
        // A region-scoped editor adds people only inside their region.
        let inside = sqlx::query("SELECT 1 FROM regions WHERE id = $1 AND path LIKE $2")
            .bind(home)
            .bind(format!("{path}%"))
            .fetch_optional(&db.pool)
            .await?;
        if inside.is_none() {
            return Err(AppError::invalid("home_region_id", "outside your scope"));
        }
    }
    let id = Change::run(db, &p.actor(), async |change| insert(change, new, "").await).await?;
    Ok(id)
}

/// One person in the caller's scope.
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "org", operation_id = "get_person", params(("id" = i64, Path)), responses((status = 200, body = Person), (status = 404, body = crate::error::ErrorBody)))]
async fn get_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::PeopleRead>,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Person>> {
    Ok(ApiJson(get_scoped(&state.db, &p, id).await?))
}

pub async fn update(db: &Db, p: &Principal, id: i64, u: &PersonUpdate) -> AppResult<()> {
    let before = get_scoped(db, p, id).await?;
    let actor: Actor = p.actor();
    let mut change = Change::begin(db, &actor).await?;
    let mut check = Check::default();
    if let Some(n) = &u.name {
        check.non_empty("name", n, 50);
    }
    let phone = match &u.phone {
        Some(ph) => parse_phone(ph)
            .map_err(|_| check.fail("phone", "expected an 11-digit mainland mobile number"))
            .ok(),
        None => None,
    };
    if let Some(home) = u.home_region_id {
        check_home(&mut change.tx, &mut check, "home_region_id", home).await?;
    }
    check.done()?;
    sqlx::query(
        "UPDATE people SET name = COALESCE($1, name), phone = COALESCE($2, phone), employer = COALESCE($3, employer), \
         party_member = COALESCE($4, party_member), home_region_id = COALESCE($5, home_region_id), skills = COALESCE($6, skills) WHERE id = $7",
    )
    .bind(u.name.as_deref().map(str::trim))
    .bind(phone.clone())
    .bind(u.employer.clone())
    .bind(u.party_member.map(|b| b as i64))
    .bind(u.home_region_id)
    .bind(u.skills.as_ref().map(|s| s.join(",")))
    .bind(id)
    .execute(&mut *change.tx)
    .await?;
    change
        .record("person", id, "update", &serde_json::json!({
            "before": {"name": before.name, "phone": mask_phone(&before.phone), "home_region_id": before.home_region_id, "skills": before.skills},
            "after": {"name": u.name.as_ref().unwrap_or(&before.name), "phone": phone.as_deref().map(mask_phone).unwrap_or(mask_phone(&before.phone)),
                      "home_region_id": u.home_region_id.or(before.home_region_id), "skills": u.skills.as_ref().unwrap_or(&before.skills)},
        }))
        .await?;
    change.commit().await
}

/// Change a person's details.
#[utoipa::path(patch, path = "/api/v1/people/{id}", tag = "org", operation_id = "update_person", params(("id" = i64, Path)), request_body = PersonUpdate, responses((status = 200, body = Person)))]
async fn update_route(
    State(state): State<OrgState>,
    Can(p, _): Can<perm::PeopleWrite>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<PersonUpdate>,
) -> AppResult<ApiJson<Person>> {
    update(&state.db, &p, id, &u).await?;
    Ok(ApiJson(get_scoped(&state.db, &p, id).await?))
}

pub fn api() -> OpenApiRouter<OrgState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, create_route))
        .routes(routes!(get_route, update_route))
}
