//! People: cadres, volunteers and everyone else the operation relies on. Phones are masked in
//! lists, and each caller sees only the people in their scope.

use axum::extract::State;
use huoyan_core::auth::Permission;
use huoyan_core::org::{RegionLevel, mask_phone, parse_phone, validate_birth_year};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
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
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    /// An 11-digit mainland mobile number.
    #[schema(max_length = 20)]
    pub phone: String,
    #[schema(value_type = huoyan_core::org::Gender)]
    pub gender: String,
    pub birth_year: i64,
    #[serde(default)]
    pub party_member: bool,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub employer: String,
    pub home_region_id: Option<i64>,
    /// At most 20 words of at most 30 characters, without commas.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub skills: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PersonUpdate {
    pub name: Option<Required<50>>,
    pub phone: Option<Text<20>>,
    pub employer: Option<Text<100>>,
    pub party_member: Option<bool>,
    pub home_region_id: Option<i64>,
    pub skills: Option<Vec<Text<30>>>,
}

pub const GENDERS: [&str; 2] = ["male", "female"];
const COLUMNS: &str = "people.id AS id, people.name AS name, people.phone AS phone, people.gender AS gender, \
     people.birth_year AS birth_year, people.party_member AS party_member, people.employer AS employer, \
     people.home_region_id AS home_region_id, people.skills AS skills";

/// A person as stored: `party_member` 0 or 1, `skills` joined by commas.
#[derive(Debug, Clone, FromRow)]
struct PersonRow {
    id: i64,
    name: String,
    phone: String,
    gender: String,
    birth_year: i64,
    party_member: i64,
    employer: String,
    home_region_id: Option<i64>,
    skills: String,
}

/// The skill words of `people.skills` (joined by commas).
pub fn split_skills(skills: &str) -> Vec<String> {
    skills
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl From<PersonRow> for Person {
    fn from(r: PersonRow) -> Self {
        Person {
            id: r.id,
            name: r.name,
            phone: r.phone,
            gender: r.gender,
            birth_year: r.birth_year,
            party_member: r.party_member != 0,
            employer: r.employer,
            home_region_id: r.home_region_id,
            skills: split_skills(&r.skills),
        }
    }
}

/// What an update may change. The trail shows phones masked, as lists do.
impl Columns for PersonRow {
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        vec![
            ("name", self.name.as_str().into()),
            ("phone", self.phone.as_str().into()),
            ("employer", self.employer.as_str().into()),
            ("party_member", self.party_member.into()),
            ("home_region_id", self.home_region_id.into()),
            ("skills", self.skills.as_str().into()),
        ]
    }

    fn shown(&self, column: &str, value: &Arg) -> serde_json::Value {
        match (column, value) {
            ("phone", Arg::Text(Some(p))) => mask_phone(p).into(),
            ("party_member", Arg::Int(Some(v))) => (*v != 0).into(),
            ("skills", Arg::Text(Some(s))) => split_skills(s).into(),
            _ => value.to_json(),
        }
    }
}

pub fn from_row(r: &sqlx::any::AnyRow) -> Result<Person, sqlx::Error> {
    PersonRow::from_row(r).map(Person::from)
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
    check.optional(&f("employer"), &new.employer, 100);
    for skill in &new.skills {
        check.storable(&f("skills"), skill);
    }
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
        .any(|s| s.contains(',') || s.trim().is_empty() || s.chars().count() > 30)
        || new.skills.len() > 20
    {
        check.fail(
            &f("skills"),
            "at most 20 skills, each a non-empty word of at most 30 characters without commas",
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
    let level: Option<String> = sqlx::query_scalar("SELECT level FROM regions WHERE id = $1")
        .bind(home)
        .fetch_optional(&mut *tx)
        .await?;
    match level.as_deref().and_then(RegionLevel::parse) {
        None => check.fail(field, "no such region"),
        Some(RegionLevel::Compound | RegionLevel::Building) => {}
        Some(_) => check.fail(field, "a home is a compound or a building"),
    }
    Ok(())
}

pub async fn insert(change: &mut Change, new: &NewPerson, prefix: &str) -> AppResult<i64> {
    let phone = validate(&mut change.tx, new, prefix).await?;
    let id: i64 = sqlx::query_scalar(
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
    .map_err(|e| prefixed(AppError::from(e), prefix))?;
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

/// Person `id` as the caller may see it: no row when it lies outside their scope.
fn scoped(p: &Principal, id: i64) -> Sql {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM people WHERE people.id = "));
    sql.bind(id);
    p.scope_people(&mut sql, "people.id", "people.home_region_id");
    sql
}

/// A person the caller may see, or `NotFound` (scope does not reveal who exists elsewhere).
pub async fn get_scoped(db: &Db, p: &Principal, id: i64) -> AppResult<Person> {
    let row = scoped(p, id)
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
    #[param(inline)]
    pub q: Option<Text<100>>,
    /// People living in this region's subtree.
    pub within: Option<i64>,
    /// Members of this team.
    pub team_id: Option<i64>,
    #[param(inline)]
    pub skill: Option<Text<100>>,
    /// 1 for party members only, 0 for others.
    pub party_member: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub async fn list(db: &Db, p: &Principal, f: &PersonFilter) -> AppResult<ListPage<Person>> {
    let mut filter = Sql::new(" WHERE 1 = 1");
    p.scope_people(&mut filter, "people.id", "people.home_region_id");
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        filter.push(" AND people.name").like("%", q, "%");
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
            .push(" AND (',' || people.skills || ',')")
            .like("%,", s, ",%");
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
    let person = create(&state.db, &p, &new).await?;
    Ok((axum::http::StatusCode::CREATED, ApiJson(person)))
}

const BY_ID: &str = "SELECT id, name, phone, gender, birth_year, party_member, employer, home_region_id, skills \
     FROM people WHERE id = $1";

/// Registers a person whose home lies in the caller's reach, and answers them as written: a
/// branch leader sees the people of their groups only, so the resident they add is theirs to
/// see once they enrol them.
pub async fn create(db: &Db, p: &Principal, new: &NewPerson) -> AppResult<Person> {
    Change::run(db, &p.actor(), async |change| {
        let reach = Reach::of(change, p).await?;
        let mut check = Check::default();
        match new.home_region_id {
            Some(home) => {
                reach
                    .region(change, &mut check, "home_region_id", home)
                    .await?
            }
            None => reach.no_region(&mut check, "home_region_id"),
        }
        check.done()?;
        let id = insert(change, new, "").await?;
        let row: PersonRow = change
            .fetch(BY_ID, id)
            .await?
            .ok_or(AppError::NotFound("person"))?;
        Ok(Person::from(row))
    })
    .await
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

/// Changes a person the caller may see, deciding on the row as the change reads it; a new home
/// must lie in the caller's reach.
pub async fn update(db: &Db, p: &Principal, id: i64, u: &PersonUpdate) -> AppResult<()> {
    Change::run(db, &p.actor(), async |change| {
        let row = scoped(p, id)
            .query()
            .fetch_optional(&mut *change.tx)
            .await?
            .ok_or(AppError::NotFound("person"))?;
        let before = PersonRow::from_row(&row)?;
        let mut after = before.clone();
        let mut check = Check::default();
        if let Some(n) = &u.name {
            check.non_empty("name", n, 50);
            after.name = n.trim().to_string();
        }
        if let Some(ph) = &u.phone {
            match parse_phone(ph) {
                Ok(ph) => after.phone = ph,
                Err(_) => check.fail("phone", "expected an 11-digit mainland mobile number"),
            }
        }
        if let Some(e) = &u.employer {
            after.employer = e.to_string();
        }
        if let Some(pm) = u.party_member {
            after.party_member = pm as i64;
        }
        if let Some(home) = u.home_region_id {
            check_home(&mut change.tx, &mut check, "home_region_id", home).await?;
            if !check.failed("home_region_id") {
                Reach::of(change, p)
                    .await?
                    .region(change, &mut check, "home_region_id", home)
                    .await?;
            }
            after.home_region_id = Some(home);
        }
        if let Some(skills) = &u.skills {
            if skills
                .iter()
                .any(|s| s.contains(',') || s.trim().is_empty())
            {
                check.fail("skills", "each skill is a non-empty word without commas");
            }
            after.skills = skills
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",");
        }
        check.done()?;
        change
            .update("person", "people", id, &before, &after)
            .await?;
        Ok(())
    })
    .await
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
