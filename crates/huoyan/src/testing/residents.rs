//! The residents' registry: by compound, building and unit, each with the health code a scan
//! reads and its colour. ID-card numbers are checked, then kept only as a keyed hash and a masked
//! form. A resident without a smartphone gets a code of ours printed on a card (`cards`), which a
//! sampler may register on their behalf at the point. Registers one at a time or by a sheet,
//! all or nothing.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::testing::codes::HealthCode;
use huoyan_core::testing::residents::{CodeColour, IdNumber};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{TestingState, id_key};
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required, Text};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiQuery, ListPage, Paging};
use crate::org::scope::Reach;
use crate::tabular::{self, Imported, SheetQuery, Table};

/// Most rows one sheet holds: a large compound's residents (景程小区 has about 7,800).
const MAX_ROWS: usize = 20_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResident {
    /// The compound they live in.
    pub compound_id: i64,
    #[schema(value_type = String, example = "3号楼")]
    pub building: Required<20>,
    #[serde(default)]
    #[schema(value_type = String, example = "2单元")]
    pub unit: Text<10>,
    #[serde(default)]
    #[schema(value_type = String, example = "502")]
    pub room: Text<10>,
    #[schema(value_type = String)]
    pub name: Required<40>,
    #[serde(default)]
    #[schema(value_type = String)]
    pub phone: Text<20>,
    /// The ID-card number: checked, then stored only hashed and masked.
    #[schema(value_type = Option<String>)]
    pub id_number: Option<Text<24>>,
    /// The health code their phone shows; absent for someone without a smartphone, who is given
    /// a printed card's code.
    #[schema(value_type = Option<String>)]
    pub code: Option<Text<200>>,
    #[serde(default = "green")]
    pub colour: CodeColour,
}

fn green() -> CodeColour {
    CodeColour::Green
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResidentView {
    pub id: i64,
    pub compound_id: i64,
    pub building: String,
    pub unit: String,
    pub room: String,
    pub name: String,
    /// Masked.
    pub phone: String,
    /// Masked (`230602********1234`).
    pub id_number: String,
    pub code: String,
    pub colour: CodeColour,
    /// Their code is on a printed card (no smartphone).
    pub carded: bool,
}

/// Registers `new` inside `change`: the compound in `p`'s reach, the ID number checked and not
/// registered before, the code not taken. `reach` is `p`'s, read once per change by the caller.
pub async fn register(
    change: &mut Change,
    p: &Principal,
    reach: &Reach,
    key: &[u8; 32],
    new: &NewResident,
) -> AppResult<i64> {
    let mut check = Check::default();
    if change.exists("regions", new.compound_id).await? {
        reach
            .region(change, &mut check, "compound_id", new.compound_id)
            .await?;
    } else {
        check.fail("compound_id", "no such region");
    }
    let id = match new.id_number.as_ref().filter(|t| !t.trim().is_empty()) {
        None => None,
        Some(t) => match IdNumber::parse(t) {
            Ok(id) => Some(id),
            Err(e) => {
                check.fail("id_number", e.to_string());
                None
            }
        },
    };
    let (code, carded) = match new.code.as_ref().filter(|t| !t.trim().is_empty()) {
        Some(t) => match HealthCode::parse(t) {
            Ok(c) => (Some(c), false),
            Err(e) => {
                check.fail("code", e.to_string());
                (None, false)
            }
        },
        None => (Some(HealthCode::card(rand::random())), true),
    };
    check.done()?;
    let code = code.expect("checked");
    let mut check = Check::default();
    let hash = id.as_ref().map(|i| i.lookup_hash(key));
    if let Some(h) = &hash {
        let taken = sqlx::query("SELECT 1 FROM residents WHERE id_hash = $1")
            .bind(h)
            .fetch_optional(&mut *change.tx)
            .await?;
        if taken.is_some() {
            check.fail("id_number", "registered already");
        }
    }
    let taken = sqlx::query("SELECT 1 FROM residents WHERE code = $1")
        .bind(code.as_str())
        .fetch_optional(&mut *change.tx)
        .await?;
    if taken.is_some() {
        check.fail("code", "registered already");
    }
    if let Err(AppError::Invalid(fields)) = check.done() {
        return Err(AppError::Conflict(fields));
    }
    let masked = id.as_ref().map(IdNumber::masked).unwrap_or_default();
    let row: i64 = sqlx::query_scalar(
        "INSERT INTO residents (compound_id, building, unit, room, name, phone, id_hash, id_masked, \
         code, colour, carded, registered_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(new.compound_id)
    .bind(new.building.trimmed())
    .bind(new.unit.trimmed())
    .bind(new.room.trimmed())
    .bind(new.name.trimmed())
    .bind(new.phone.trimmed())
    .bind(hash)
    .bind(&masked)
    .bind(code.as_str())
    .bind(new.colour.code())
    .bind(i64::from(carded))
    .bind(p.account_id)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    // The event names the resident by id and masked number only: the trail is read by more
    // people than the registry.
    change
        .record(
            "resident",
            row,
            "register",
            &serde_json::json!({"compound_id": new.compound_id, "building": new.building.trimmed(),
                "unit": new.unit.trimmed(), "id_number": masked, "code": code.as_str(),
                "colour": new.colour.code(), "carded": carded}),
        )
        .await?;
    Ok(row)
}

const SELECT: &str = "SELECT r.id, r.compound_id, r.building, r.unit, r.room, r.name, r.phone, \
     r.id_masked, r.code, r.colour, r.carded FROM residents r JOIN regions g ON g.id = r.compound_id \
     WHERE 1 = 1";

fn view(r: &sqlx::any::AnyRow) -> AppResult<ResidentView> {
    let colour: String = r.try_get("colour")?;
    Ok(ResidentView {
        id: r.try_get("id")?,
        compound_id: r.try_get("compound_id")?,
        building: r.try_get("building")?,
        unit: r.try_get("unit")?,
        room: r.try_get("room")?,
        name: r.try_get("name")?,
        phone: huoyan_core::org::mask_phone(&r.try_get::<String, _>("phone")?),
        id_number: r.try_get("id_masked")?,
        code: r.try_get("code")?,
        colour: CodeColour::parse(&colour)
            .ok_or_else(|| anyhow::anyhow!("resident colour {colour:?}"))?,
        carded: r.try_get::<i64, _>("carded")? != 0,
    })
}

/// Register a resident of a compound in the caller's region. Without `code` they are given a
/// card's code (print it from the cards page).
#[utoipa::path(post, path = "/api/v1/testing/residents", tag = "testing", operation_id = "register_resident",
    request_body = NewResident,
    responses((status = 201, body = ResidentView), (status = 403, body = crate::error::ErrorBody),
        (status = 409, description = "the ID number or code is registered already", body = crate::error::ErrorBody)))]
async fn register_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingRegister>,
    ApiJson(new): ApiJson<NewResident>,
) -> AppResult<(StatusCode, ApiJson<ResidentView>)> {
    let key = id_key(&state.db)?;
    let id = Change::run(&state.db, &p.actor(), async |c| {
        let reach = Reach::of(c, &p).await?;
        register(c, &p, &reach, &key, &new).await
    })
    .await?;
    let mut sql = Sql::new(SELECT);
    sql.push(" AND r.id = ").bind(id);
    let row = sql.query().fetch_one(&state.db.pool).await?;
    Ok((StatusCode::CREATED, ApiJson(view(&row)?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResidentFilter {
    pub compound_id: Option<i64>,
    pub building: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The residents of the caller's region, by compound and building, their phones and ID numbers
/// masked.
#[utoipa::path(get, path = "/api/v1/testing/residents", tag = "testing", operation_id = "list_residents",
    params(ResidentFilter), responses((status = 200, body = ListPage<ResidentView>)))]
async fn list_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingRegister>,
    ApiQuery(f): ApiQuery<ResidentFilter>,
) -> AppResult<ApiJson<ListPage<ResidentView>>> {
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let mut sql = Sql::new(SELECT);
    p.scope_region(&mut sql, "g.path");
    if let Some(c) = f.compound_id {
        sql.push(" AND r.compound_id = ").bind(c);
    }
    if let Some(b) = &f.building {
        sql.push(" AND r.building = ").bind(b.trim().to_string());
    }
    sql.push(" ORDER BY r.compound_id, r.building, r.unit, r.room, r.id");
    paging.push_page(&mut sql);
    let rows = sql.query().fetch_all(&state.db.pool).await?;
    let items = rows.iter().map(view).collect::<AppResult<Vec<_>>>()?;
    Ok(ApiJson(paging.page(items)))
}

/// Every row of `t` registered inside `change`, or none: each bad row's errors named at once.
pub async fn import(
    change: &mut Change,
    p: &Principal,
    key: &[u8; 32],
    t: &Table,
) -> AppResult<usize> {
    let cols = t.require(&[
        &["compound", "小区"],
        &["building", "楼栋", "楼号"],
        &["name", "姓名"],
    ])?;
    let unit = t.column(&["unit", "单元"]);
    let room = t.column(&["room", "房号", "门牌"]);
    let phone = t.column(&["phone", "电话", "手机"]);
    let id_number = t.column(&["id_number", "身份证号", "证件号"]);
    let code = t.column(&["code", "健康码"]);
    let colour = t.column(&["colour", "color", "码色"]);
    if t.rows.len() > MAX_ROWS {
        return Err(AppError::invalid(
            "file",
            format!("at most {MAX_ROWS} rows"),
        ));
    }
    let cell = |row: &[String], i: Option<usize>| {
        i.and_then(|i| row.get(i))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let reach = Reach::of(change, p).await?;
    let mut compounds: HashMap<String, Option<i64>> = HashMap::new();
    let mut errors = Vec::new();
    let mut n = 0;
    for (line, row) in &t.rows {
        let prefix = format!("row {line}: ");
        let mut bad = |field: &str, why: String| {
            errors.push(FieldError::new(format!("{prefix}{field}"), why))
        };
        let name = cell(row, Some(cols[0]));
        let compound = match compounds.get(&name) {
            Some(c) => *c,
            None => {
                let ids: Vec<i64> =
                    sqlx::query_scalar("SELECT id FROM regions WHERE name = $1 LIMIT 2")
                        .bind(&name)
                        .fetch_all(&mut *change.tx)
                        .await?;
                let c = (ids.len() == 1).then(|| ids[0]);
                compounds.insert(name.clone(), c);
                c
            }
        };
        if compound.is_none() {
            bad("compound", format!("no single region named {name:?}"));
        }
        let colour = match cell(row, colour).as_str() {
            "" => Some(CodeColour::Green),
            c => CodeColour::ALL
                .iter()
                .copied()
                .find(|x| x.code() == c || x.zh() == c || x.zh().trim_end_matches('码') == c),
        };
        if colour.is_none() {
            bad("colour", "绿码, 黄码 or 红码 (green, yellow, red)".into());
        }
        let fields = (
            text(&mut bad, "building", cell(row, Some(cols[1]))),
            text(&mut bad, "unit", cell(row, unit)),
            text(&mut bad, "room", cell(row, room)),
            text(&mut bad, "name", cell(row, Some(cols[2]))),
            text(&mut bad, "phone", cell(row, phone)),
            text(&mut bad, "id_number", cell(row, id_number)),
            text(&mut bad, "code", cell(row, code)),
        );
        let (
            Some(compound_id),
            Some(colour),
            (
                Some(building),
                Some(unit),
                Some(room),
                Some(name),
                Some(phone),
                Some(id_number),
                Some(code),
            ),
        ) = (compound, colour, fields)
        else {
            continue;
        };
        let new = NewResident {
            compound_id,
            building,
            unit,
            room,
            name,
            phone,
            id_number: Some(id_number),
            code: Some(code),
            colour,
        };
        match register(change, p, &reach, key, &new).await {
            Ok(_) => n += 1,
            Err(
                AppError::Invalid(fields)
                | AppError::Conflict(fields)
                | AppError::OutsideScope(fields),
            ) => errors.extend(
                fields
                    .into_iter()
                    .map(|f| FieldError::new(format!("{prefix}{}", f.field), f.message)),
            ),
            Err(e) => return Err(e),
        }
    }
    if errors.is_empty() {
        Ok(n)
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// A sheet's cell as the request's field `field` would be parsed; why not told to `bad`.
fn text<const MAX: usize, const REQUIRED: bool>(
    bad: &mut impl FnMut(&str, String),
    field: &str,
    value: String,
) -> Option<Text<MAX, REQUIRED>> {
    Text::parse(value).map_err(|why| bad(field, why)).ok()
}

/// Register residents from a sheet sent as the raw body: columns 小区 (compound), 楼栋
/// (building), 单元 (unit), 房号 (room), 姓名 (name), 电话 (phone), 身份证号 (ID number), 健康码
/// (code; empty: a card's code is made), 码色 (绿码/黄码/红码). Nothing is written unless every
/// row is good; a 422 names every bad row.
#[utoipa::path(post, path = "/api/v1/testing/residents/import", tag = "testing", operation_id = "import_residents",
    params(SheetQuery), request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Imported), (status = 422, body = crate::error::ErrorBody)))]
async fn import_route(
    State(state): State<TestingState>,
    Can(p, _): Can<perm::TestingManage>,
    ApiQuery(q): ApiQuery<SheetQuery>,
    body: Bytes,
) -> AppResult<ApiJson<Imported>> {
    let format = q.sheet()?;
    let table = tabular::read(format, &body)?;
    let key = id_key(&state.db)?;
    let imported = Change::run(&state.db, &p.actor(), async |c| {
        import(c, &p, &key, &table).await
    })
    .await?;
    Ok(ApiJson(Imported { imported }))
}

/// The residents a card sheet prints: those of `building` in `compound` with a card's code.
pub async fn carded(
    db: &Db,
    p: &Principal,
    compound: i64,
    building: &str,
) -> AppResult<Vec<ResidentView>> {
    let mut sql = Sql::new(SELECT);
    p.scope_region(&mut sql, "g.path");
    sql.push(" AND r.carded = 1 AND r.compound_id = ")
        .bind(compound)
        .push(" AND r.building = ")
        .bind(building.to_string())
        .push(" ORDER BY r.unit, r.room, r.id LIMIT 2000");
    let rows = sql.query().fetch_all(&db.pool).await?;
    rows.iter().map(view).collect()
}

pub fn api() -> OpenApiRouter<TestingState> {
    OpenApiRouter::new()
        .routes(routes!(register_route, list_route))
        .routes(routes!(import_route))
}
