//! GeoReport v2 service requests: the cases as the public may see them (list, one, the token of
//! a request filed without waiting), and filing one with an `api_key`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use huoyan_core::auth::Permission;
use huoyan_core::cases::{CaseState, Category, is_overdue};
use serde::Serialize;
use sqlx::Row;

use super::{
    Format, MAX_REQUESTS, Many, Open311Error, Params, SERVICE_NOTICE, WINDOW_MS,
    check_jurisdiction, parse_w3c, reply, respond, unknown_format, unknown_service, w3c,
};
use crate::auth::{Principal, Via};
use crate::cases::CasesState;
use crate::check::Text;
use crate::db::{Db, Sql};
use crate::error::quote;
use crate::http::IdempotencyKey;
use crate::time::now_ms;

/// A case as the public may see it.
#[derive(Serialize)]
struct ServiceRequest {
    service_request_id: String,
    status: &'static str,
    status_notes: String,
    service_name: String,
    service_code: String,
    description: String,
    agency_responsible: Option<String>,
    service_notice: Option<String>,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: Option<String>,
    address: String,
    address_id: String,
    zipcode: Option<String>,
    lat: Option<f64>,
    long: Option<f64>,
    media_url: Option<String>,
}

const REQUEST_COLUMNS: &str = "SELECT cases.id, cases.category, cases.state, cases.description, cases.address, cases.compound_id, \
     cases.lat, cases.lon, cases.due_at, cases.reported_at, cases.updated_at, departments.name AS agency, \
     regions.name AS compound \
     FROM cases JOIN regions ON regions.id = cases.compound_id LEFT JOIN departments ON departments.id = cases.department_id \
     WHERE 1 = 1";

fn request_from_row(r: &sqlx::any::AnyRow, now: i64) -> Result<ServiceRequest, sqlx::Error> {
    let id: i64 = r.try_get("id")?;
    let code: String = r.try_get("category")?;
    let state: String = r.try_get("state")?;
    let address: String = r.try_get("address")?;
    let compound_id: i64 = r.try_get("compound_id")?;
    let due: Option<i64> = r.try_get("due_at")?;
    let compound: String = r.try_get("compound")?;
    let state = CaseState::parse(&state);
    let closed = state.is_some_and(CaseState::is_terminal);
    let mut notes = match state {
        Some(s) => format!("{}（{}）", s.zh(), s.en()),
        None => String::new(),
    };
    if !closed && due.is_some_and(|d| is_overdue(d, None, now)) {
        notes.push_str("；已超期（overdue）");
    }
    Ok(ServiceRequest {
        service_request_id: id.to_string(),
        status: if closed { "closed" } else { "open" },
        status_notes: notes,
        service_name: Category::parse(&code).map_or_else(|| code.clone(), |c| c.zh().to_string()),
        service_code: code,
        description: r.try_get("description")?,
        agency_responsible: r.try_get("agency")?,
        service_notice: None,
        requested_datetime: w3c(r.try_get("reported_at")?),
        updated_datetime: w3c(r.try_get("updated_at")?),
        expected_datetime: due.map(w3c),
        // From the most specific place to the most general, as the standard asks.
        address: if address.trim().is_empty() {
            compound
        } else {
            format!("{}，{compound}", address.trim())
        },
        address_id: compound_id.to_string(),
        zipcode: None,
        lat: r.try_get("lat")?,
        long: r.try_get("lon")?,
        media_url: None,
    })
}

async fn fetch_requests(db: &Db, sql: &Sql) -> Result<Vec<ServiceRequest>, Open311Error> {
    let now = now_ms();
    let rows = sql.query().fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| request_from_row(r, now))
        .collect::<Result<_, _>>()
        .map_err(Open311Error::from)
}

fn requests_doc(format: Format, items: Vec<ServiceRequest>) -> Many<ServiceRequest> {
    Many {
        format,
        item: "request",
        items,
    }
}

/// `GET requests`: by id (which overrides every other filter), or by service, status and the
/// time of the report within a window of at most 90 days (the last 90 when none is given),
/// newest first, at most 1000.
pub(super) async fn list_requests(
    format: Format,
    state: CasesState,
    params: Params,
) -> Result<Response, Open311Error> {
    check_jurisdiction(&state.db, &params).await?;
    let mut sql = Sql::new(REQUEST_COLUMNS);
    let ids = params.list("service_request_id");
    if !ids.is_empty() {
        if ids.len() > MAX_REQUESTS as usize {
            return Err(Open311Error::bad(
                "service_request_id",
                format!("at most {MAX_REQUESTS} ids at once"),
            ));
        }
        // An id that is not a number names no request, like any other unknown id.
        let ids: Vec<i64> = ids.iter().filter_map(|i| i.parse().ok()).collect();
        if ids.is_empty() {
            sql.push(" AND 1 = 0");
        } else {
            sql.push(" AND cases.id IN (");
            for (n, id) in ids.into_iter().enumerate() {
                if n > 0 {
                    sql.push(", ");
                }
                sql.bind(id);
            }
            sql.push(")");
        }
    } else {
        let mut errors = Vec::new();
        let codes = params.list("service_code");
        for code in &codes {
            if Category::parse(code).is_none() {
                errors.push(unknown_service(code).descriptions.remove(0));
            }
        }
        let mut want_open = false;
        let mut want_closed = false;
        for status in params.list("status") {
            match status {
                "open" => want_open = true,
                "closed" => want_closed = true,
                other => errors.push(format!(
                    "status: {} is neither open nor closed",
                    quote(other)
                )),
            }
        }
        let mut date = |field: &str| match params.get(field).map(|s| parse_w3c(field, s)) {
            Some(Ok(t)) => Some(t),
            Some(Err(mut e)) => {
                errors.append(&mut e.descriptions);
                None
            }
            None => None,
        };
        let (start, end) = (date("start_date"), date("end_date"));
        let (start, end) = match (start, end) {
            (Some(s), Some(e)) => (s, e),
            (Some(s), None) => (s, s + WINDOW_MS),
            (None, Some(e)) => (e - WINDOW_MS, e),
            (None, None) => {
                let now = now_ms();
                (now - WINDOW_MS, now)
            }
        };
        if start > end {
            errors.push("end_date: must not be before start_date".into());
        } else if end - start > WINDOW_MS {
            errors.push("end_date: the range may not span more than 90 days".into());
        }
        if !errors.is_empty() {
            return Err(Open311Error {
                status: StatusCode::BAD_REQUEST,
                descriptions: errors,
            });
        }
        if !codes.is_empty() {
            sql.push(" AND cases.category IN (");
            for (n, code) in codes.into_iter().enumerate() {
                if n > 0 {
                    sql.push(", ");
                }
                sql.bind(code);
            }
            sql.push(")");
        }
        if want_open != want_closed {
            sql.push(if want_closed {
                " AND cases.state IN ("
            } else {
                " AND cases.state NOT IN ("
            });
            let terminal = CaseState::ALL.iter().filter(|s| s.is_terminal());
            for (n, s) in terminal.enumerate() {
                if n > 0 {
                    sql.push(", ");
                }
                sql.bind(s.code());
            }
            sql.push(")");
        }
        sql.push(" AND cases.reported_at >= ")
            .bind(start)
            .push(" AND cases.reported_at <= ")
            .bind(end);
    }
    sql.push(" ORDER BY cases.reported_at DESC, cases.id DESC LIMIT ")
        .bind(MAX_REQUESTS);
    let items = fetch_requests(&state.db, &sql).await?;
    Ok(reply(
        format,
        StatusCode::OK,
        "service_requests",
        &requests_doc(format, items),
    ))
}

/// The case behind a service request id, if there is one.
async fn one_request(db: &Db, id: &str) -> Result<Option<ServiceRequest>, Open311Error> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    let mut sql = Sql::new(REQUEST_COLUMNS);
    sql.push(" AND cases.id = ").bind(id);
    Ok(fetch_requests(db, &sql).await?.pop())
}

pub(super) async fn get_request(
    State(state): State<CasesState>,
    Path(file): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Some((id, format)) = Format::split(&file) else {
        return unknown_format(&file);
    };
    let answer = async {
        let params = Params::from_query(query)?;
        check_jurisdiction(&state.db, &params).await?;
        let request = one_request(&state.db, id).await?.ok_or_else(|| {
            Open311Error::not_found("service_request_id", format!("no request {}", quote(id)))
        })?;
        Ok(reply(
            format,
            StatusCode::OK,
            "service_requests",
            &requests_doc(format, vec![request]),
        ))
    };
    respond(format, answer.await)
}

#[derive(Serialize)]
struct TokenAnswer {
    service_request_id: String,
    token: String,
}

/// Every request is realtime, so no token is handed out; a token is read as the request's id.
pub(super) async fn get_token(
    State(state): State<CasesState>,
    Path(file): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Some((token, format)) = Format::split(&file) else {
        return unknown_format(&file);
    };
    let answer = async {
        let params = Params::from_query(query)?;
        check_jurisdiction(&state.db, &params).await?;
        let request = one_request(&state.db, token).await?.ok_or_else(|| {
            Open311Error::not_found("token", format!("no token {}", quote(token)))
        })?;
        let doc = Many {
            format,
            item: "request",
            items: vec![TokenAnswer {
                service_request_id: request.service_request_id,
                token: token.to_string(),
            }],
        };
        Ok(reply(format, StatusCode::OK, "service_requests", &doc))
    };
    respond(format, answer.await)
}

#[derive(Serialize)]
struct Created {
    service_request_id: String,
    service_notice: &'static str,
    account_id: Option<String>,
}

/// The account behind an `api_key`, if it may file cases.
async fn reporter(state: &CasesState, key: Option<&str>) -> Result<Principal, Open311Error> {
    let key =
        key.ok_or_else(|| Open311Error::forbidden("api_key: required to file a service request"))?;
    let p = crate::auth::load(&state.db, key, Via::Bearer)
        .await?
        .ok_or_else(|| Open311Error::forbidden("api_key: not a valid API token"))?;
    p.require(Permission::CasesReport)?;
    Ok(p)
}

/// A text parameter of a request, checked as the JSON API checks it.
fn form_text<const N: usize>(form: &Params, field: &str, errors: &mut Vec<String>) -> Text<N> {
    Text::parse(form.get(field).unwrap_or_default().to_string()).unwrap_or_else(|why| {
        errors.push(format!("{field}: {why}"));
        Text::default()
    })
}

/// `POST requests`: files a case as the account behind `api_key`.
pub(super) async fn create_request(
    format: Format,
    state: CasesState,
    headers: HeaderMap,
    query: Params,
    form: Params,
) -> Result<Response, Open311Error> {
    if query.get("api_key").is_some() {
        // Addresses are written to logs on the way (proxies, the server's trace): a key there
        // is a key leaked.
        return Err(Open311Error::bad(
            "api_key",
            "send it in the form body, never in the address",
        ));
    }
    check_jurisdiction(&state.db, &form).await?;
    check_jurisdiction(&state.db, &query).await?;
    let p = reporter(&state, form.get("api_key")).await?;
    let code = form
        .get("service_code")
        .ok_or_else(|| Open311Error::bad("service_code", "required; see services.xml"))?;
    let category = Category::parse(code).ok_or_else(|| unknown_service(code))?;
    let mut errors = Vec::new();
    let compound_id = match form.get("address_id").map(str::parse::<i64>) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            errors.push("address_id: the id of a compound (a number)".to_string());
            None
        }
        // Matched from lat/long by `report`, which names address_id when that fails.
        None => None,
    };
    let mut coordinate = |field: &str| match form.get(field).map(str::parse::<f64>) {
        Some(Ok(v)) if v.is_finite() => Some(v),
        Some(_) => {
            errors.push(format!("{field}: a WGS84 coordinate in decimal degrees"));
            None
        }
        None => None,
    };
    let (lat, lon) = (coordinate("lat"), coordinate("long"));
    let address = form_text(&form, "address_string", &mut errors);
    let description = form_text(&form, "description", &mut errors);
    if !errors.is_empty() {
        return Err(Open311Error {
            status: StatusCode::BAD_REQUEST,
            descriptions: errors,
        });
    }
    let new = crate::cases::NewCase {
        kind: None,
        source: None,
        category,
        priority: None,
        compound_id,
        lon,
        lat,
        address,
        description,
    };
    let key = IdempotencyKey::parse(headers.get("idempotency-key").map(|v| v.as_bytes()))?;
    let (id, made) = crate::cases::report(&state, &p, &new, &key, &[]).await?;
    let doc = Many {
        format,
        item: "request",
        items: vec![Created {
            service_request_id: id.to_string(),
            service_notice: SERVICE_NOTICE,
            account_id: Some(p.account_id.to_string()),
        }],
    };
    let status = if made.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(reply(format, status, "service_requests", &doc))
}
