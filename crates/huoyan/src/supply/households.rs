//! The register of households that need help (独居老人, 透析, 无智能手机 …), per building, unit and
//! door, with what they need. ID-card numbers are checked, then kept only as a keyed hash and a
//! masked form; phones are masked to all but the community office. One at a time or by a sheet,
//! all or nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use huoyan_core::auth::Role;
use huoyan_core::org::{mask_contact, parse_contact_phone};
use huoyan_core::supply::{Condition, Help, conditions, needs};
use huoyan_core::testing::residents::IdNumber;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::SupplyState;
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::{Check, Required, Text};
use crate::db::{Db, Sql};
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiQuery, ListPage, Paging};
use crate::tabular::{self, Imported, SheetQuery, Table};

/// Most rows one sheet holds: a community's households that need help.
const MAX_ROWS: usize = 5_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHousehold {
    /// The building (a region of level building) in the caller's scope.
    pub building_id: i64,
    #[serde(default)]
    #[schema(value_type = String, max_length = 10)]
    pub unit: Text<10>,
    #[serde(default)]
    #[schema(value_type = String, max_length = 10)]
    pub room: Text<10>,
    #[schema(value_type = String, max_length = 40)]
    pub name: Required<40>,
    #[serde(default)]
    #[schema(value_type = String, max_length = 20)]
    pub phone: Text<20>,
    /// Checked, then stored only hashed and masked.
    #[schema(value_type = Option<String>, max_length = 24)]
    pub id_number: Option<Text<24>>,
    /// Why the household needs help: at least one.
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub needs: Vec<Help>,
    /// The medicines it takes (硝苯地平、胰岛素).
    #[serde(default)]
    #[schema(value_type = String, max_length = 200)]
    pub medicines: Text<200>,
    #[serde(default)]
    #[schema(value_type = String, max_length = 200)]
    pub note: Text<200>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Household {
    pub id: i64,
    pub compound_id: i64,
    /// The compound and building (景程小区3号楼).
    pub building: String,
    pub building_id: i64,
    pub unit: String,
    pub room: String,
    pub name: String,
    /// A mobile, or a landline with its area code; masked, but for the community office.
    pub phone: String,
    /// Masked (`230602********1234`), or empty.
    pub id_number: String,
    pub conditions: Vec<Condition>,
    pub needs: Vec<Help>,
    pub medicines: String,
    pub note: String,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseholdFilter {
    pub compound_id: Option<i64>,
    /// Only those with this condition.
    pub condition: Option<Condition>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn codes<T: Copy>(items: &[T], code: impl Fn(T) -> &'static str) -> String {
    items.iter().map(|i| code(*i)).collect::<Vec<_>>().join(",")
}

/// Registers `new` as `p` inside `change`; returns its id.
pub async fn register(
    change: &mut Change,
    p: &Principal,
    key: &[u8; 32],
    new: &NewHousehold,
) -> AppResult<i64> {
    let mut check = Check::default();
    let mut sql = Sql::new(
        "SELECT g.level, c.level AS parent_level, g.parent_id FROM regions g \
         LEFT JOIN regions c ON c.id = g.parent_id WHERE g.id = ",
    );
    sql.bind(new.building_id);
    let compound = match sql.query().fetch_optional(&mut *change.tx).await? {
        None => {
            check.fail("building_id", "no such building");
            None
        }
        Some(r)
            if r.try_get::<String, _>("level")? != "building"
                || r.try_get::<Option<String>, _>("parent_level")?.as_deref()
                    != Some("compound") =>
        {
            check.fail("building_id", "not a building of a compound");
            None
        }
        Some(r) => {
            super::visible(p, &mut sql, "g.path", None);
            if sql.query().fetch_optional(&mut *change.tx).await?.is_none() {
                check.outside("building_id");
            }
            r.try_get::<Option<i64>, _>("parent_id")?
        }
    };
    let id = match new.id_number.as_ref().filter(|t| !t.trim().is_empty()) {
        None => None,
        Some(t) => IdNumber::parse(t)
            .map_err(|e| check.fail("id_number", e.to_string()))
            .ok(),
    };
    if new.conditions.is_empty() {
        check.fail("conditions", "name at least one");
    }
    let phone = match new.phone.trimmed() {
        "" => Some(String::new()),
        raw => parse_contact_phone(raw)
            .map_err(|e| check.fail("phone", e))
            .ok(),
    };
    check.done()?;
    let hash = id.as_ref().map(|i| i.lookup_hash(key));
    if let Some(h) = &hash {
        let taken = sqlx::query("SELECT 1 FROM supply_households WHERE id_hash = $1")
            .bind(h)
            .fetch_optional(&mut *change.tx)
            .await?;
        if taken.is_some() {
            return Err(AppError::Conflict(vec![FieldError::new(
                "id_number",
                "already registered",
            )]));
        }
    }
    let place = sqlx::query(
        "SELECT 1 FROM supply_households WHERE building_id = $1 AND unit = $2 AND room = $3 AND name = $4",
    )
    .bind(new.building_id)
    .bind(new.unit.trimmed())
    .bind(new.room.trimmed())
    .bind(new.name.trimmed())
    .fetch_optional(&mut *change.tx)
    .await?;
    if place.is_some() {
        return Err(AppError::Conflict(vec![FieldError::new(
            "name",
            "already registered at this door",
        )]));
    }
    let id_masked = id.as_ref().map(IdNumber::masked).unwrap_or_default();
    let row: i64 = sqlx::query_scalar(
        "INSERT INTO supply_households (building_id, compound_id, unit, room, name, phone, id_hash, id_masked, \
         conditions, needs, medicines, note, registered_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(new.building_id)
    .bind(compound.expect("checked"))
    .bind(new.unit.trimmed())
    .bind(new.room.trimmed())
    .bind(new.name.trimmed())
    .bind(phone.expect("checked"))
    .bind(hash)
    .bind(&id_masked)
    .bind(codes(&new.conditions, Condition::code))
    .bind(codes(&new.needs, Help::code))
    .bind(new.medicines.trimmed())
    .bind(new.note.trimmed())
    .bind(p.account_id)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?;
    // The trail keeps the place and the needs, not the name, phone or ID number.
    change
        .record(
            "supply_household",
            row,
            "register",
            &serde_json::json!({"building_id": new.building_id, "unit": new.unit.trimmed(),
                "room": new.room.trimmed(), "conditions": new.conditions, "needs": new.needs}),
        )
        .await?;
    Ok(row)
}

const SELECT: &str = "SELECT h.id, h.compound_id, c.name AS compound, g.name AS building, h.building_id, \
    h.unit, h.room, h.name, h.phone, h.id_masked, h.conditions, h.needs, h.medicines, h.note \
    FROM supply_households h JOIN regions g ON g.id = h.building_id JOIN regions c ON c.id = h.compound_id WHERE 1 = 1";

fn view(p: &Principal, r: &sqlx::any::AnyRow) -> AppResult<Household> {
    let phone: String = r.try_get("phone")?;
    let list = |col: &str| -> AppResult<String> { Ok(r.try_get::<String, _>(col)?) };
    Ok(Household {
        id: r.try_get("id")?,
        compound_id: r.try_get("compound_id")?,
        building: format!("{}{}", list("compound")?, list("building")?),
        building_id: r.try_get("building_id")?,
        unit: r.try_get("unit")?,
        room: r.try_get("room")?,
        name: r.try_get("name")?,
        phone: if p.role == Role::Department {
            phone
        } else {
            mask_contact(&phone)
        },
        id_number: r.try_get("id_masked")?,
        conditions: list("conditions")?
            .split(',')
            .filter_map(Condition::parse)
            .collect(),
        needs: list("needs")?.split(',').filter_map(Help::parse).collect(),
        medicines: r.try_get("medicines")?,
        note: r.try_get("note")?,
    })
}

/// The households in `p`'s sight, by building and door.
pub async fn list(db: &Db, p: &Principal, f: &HouseholdFilter) -> AppResult<ListPage<Household>> {
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let mut sql = Sql::new(SELECT);
    if let Some(c) = f.compound_id {
        sql.push(" AND h.compound_id = ").bind(c);
    }
    if let Some(c) = f.condition {
        sql.push(" AND ',' || h.conditions || ','")
            .like("%,", c.code(), ",%");
    }
    super::visible(p, &mut sql, "g.path", None);
    sql.push(" ORDER BY c.name, g.id, h.unit, h.room, h.id LIMIT ")
        .bind(paging.limit() + 1)
        .push(" OFFSET ")
        .bind(paging.offset());
    let rows = sql.query().fetch_all(&db.pool).await?;
    let mut items = rows
        .iter()
        .map(|r| view(p, r))
        .collect::<AppResult<Vec<_>>>()?;
    let more = items.len() as i64 > paging.limit();
    items.truncate(paging.limit() as usize);
    Ok(ListPage {
        total: paging.offset() + items.len() as i64,
        total_capped: more,
        items,
        limit: paging.limit(),
        offset: paging.offset(),
    })
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
        &["conditions", "情况", "人员类别"],
    ])?;
    let column = |names: &[&str]| t.column(names);
    let (unit, room, phone, id_number, need, medicines, note) = (
        column(&["unit", "单元"]),
        column(&["room", "房号", "门牌"]),
        column(&["phone", "电话", "手机"]),
        column(&["id_number", "身份证号", "证件号"]),
        column(&["needs", "需求"]),
        column(&["medicines", "药品"]),
        column(&["note", "备注"]),
    );
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
    let mut errors = Vec::new();
    let mut n = 0;
    for (line, row) in &t.rows {
        let prefix = format!("row {line}: ");
        let mut bad: Vec<FieldError> = Vec::new();
        let building: Option<i64> = sqlx::query_scalar(
            "SELECT b.id FROM regions b JOIN regions c ON c.id = b.parent_id \
             WHERE c.level = 'compound' AND c.name = $1 AND b.level = 'building' AND b.name = $2 LIMIT 1",
        )
        .bind(cell(row, Some(cols[0])))
        .bind(cell(row, Some(cols[1])))
        .fetch_optional(&mut *change.tx)
        .await?;
        if building.is_none() {
            bad.push(FieldError::new(
                "building",
                "no such building in a compound of that name",
            ));
        }
        let conditions = conditions(&cell(row, Some(cols[3])))
            .map_err(|w| bad.push(FieldError::new("conditions", format!("unknown: {w}"))))
            .ok();
        let needs = needs(&cell(row, need))
            .map_err(|w| bad.push(FieldError::new("needs", format!("unknown: {w}"))))
            .ok();
        let fields = serde_json::json!({
            "building_id": building.unwrap_or(0), "unit": cell(row, unit), "room": cell(row, room),
            "name": cell(row, Some(cols[2])), "phone": cell(row, phone),
            "id_number": cell(row, id_number), "conditions": conditions.unwrap_or_default(),
            "needs": needs.unwrap_or_default(), "medicines": cell(row, medicines), "note": cell(row, note),
        });
        let parsed: Result<NewHousehold, _> =
            crate::http::from_fields(fields.as_object().cloned().unwrap_or_default());
        let outcome = match parsed {
            Ok(new) if bad.is_empty() => register(change, p, key, &new).await.map(|_| ()),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) if bad.is_empty() => n += 1,
            Ok(()) => {}
            Err(
                AppError::Invalid(fields)
                | AppError::Conflict(fields)
                | AppError::OutsideScope(fields),
            ) => bad.extend(fields),
            Err(e) => return Err(e),
        }
        errors.extend(
            bad.into_iter()
                .map(|f| FieldError::new(format!("{prefix}{}", f.field), f.message)),
        );
    }
    if errors.is_empty() {
        Ok(n)
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// Register a household that needs help.
#[utoipa::path(post, path = "/api/v1/supply/households", tag = "supply", operation_id = "register_household",
    request_body = NewHousehold,
    responses((status = 201, body = Household), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn register_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::HouseholdsWrite>,
    ApiJson(new): ApiJson<NewHousehold>,
) -> AppResult<(StatusCode, ApiJson<Household>)> {
    let key = state.db.derived_key("supply.id-number")?;
    let id = Change::run(&state.db, &p.actor(), async |c| {
        register(c, &p, &key, &new).await
    })
    .await?;
    let mut sql = Sql::new(SELECT);
    sql.push(" AND h.id = ").bind(id);
    let row = sql.query().fetch_one(&state.db.pool).await?;
    Ok((StatusCode::CREATED, ApiJson(view(&p, &row)?)))
}

/// The households that need help, in scope.
#[utoipa::path(get, path = "/api/v1/supply/households", tag = "supply", operation_id = "list_households",
    params(HouseholdFilter), responses((status = 200, body = ListPage<Household>)))]
async fn list_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::HouseholdsRead>,
    ApiQuery(f): ApiQuery<HouseholdFilter>,
) -> AppResult<ApiJson<ListPage<Household>>> {
    Ok(ApiJson(list(&state.db, &p, &f).await?))
}

/// Register households from a sheet sent as the raw body: columns 小区 (compound), 楼栋
/// (building), 单元 (unit), 房号 (room), 姓名 (name), 电话 (phone), 身份证号 (ID number), 情况
/// (conditions: 独居老人、残疾、卧床、孕妇、透析、定期治疗、无智能手机), 需求 (needs: 代购药品、上门采样、
/// 代亮健康码), 药品 (medicines), 备注 (note). Nothing is written unless every row is good; a 422
/// names every bad row.
#[utoipa::path(post, path = "/api/v1/supply/households/import", tag = "supply", operation_id = "import_households",
    params(SheetQuery), request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Imported), (status = 422, body = crate::error::ErrorBody)))]
async fn import_route(
    State(state): State<SupplyState>,
    Can(p, _): Can<perm::HouseholdsWrite>,
    ApiQuery(q): ApiQuery<SheetQuery>,
    body: Bytes,
) -> AppResult<ApiJson<Imported>> {
    let format = q.sheet()?;
    let table = tabular::read(format, &body)?;
    let key = state.db.derived_key("supply.id-number")?;
    let imported = Change::run(&state.db, &p.actor(), async |c| {
        import(c, &p, &key, &table).await
    })
    .await?;
    Ok(ApiJson(Imported { imported }))
}

#[derive(askama::Template)]
#[template(path = "supply/households.html")]
struct HouseholdsPage {
    ctx: crate::web::PageCtx,
    page: ListPage<Household>,
    condition: String,
    conditions: Vec<(&'static str, &'static str)>,
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    condition: String,
    #[serde(default)]
    offset: Option<i64>,
}

/// The register on the phone: by building and door, filtered by condition.
async fn households_page(
    State(state): State<SupplyState>,
    crate::auth::Page {
        user, ctx, locale, ..
    }: crate::auth::Page<perm::HouseholdsRead>,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
) -> Result<axum::response::Response, crate::web::PageError> {
    use crate::web::PageResultExt;
    let f = HouseholdFilter {
        condition: Condition::parse(q.condition.trim()),
        offset: q.offset,
        ..Default::default()
    };
    let page = list(&state.db, &user, &f).await.page(locale)?;
    Ok(crate::web::render(&HouseholdsPage {
        page,
        condition: f.condition.map_or("", Condition::code).to_string(),
        conditions: Condition::choices(ctx.en()),
        ctx,
    }))
}

pub fn router() -> axum::Router<SupplyState> {
    axum::Router::new().route("/supply/households", axum::routing::get(households_page))
}

pub fn api() -> OpenApiRouter<SupplyState> {
    OpenApiRouter::new()
        .routes(routes!(list_route, register_route))
        .routes(routes!(import_route))
}
