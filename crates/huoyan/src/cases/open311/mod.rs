//! Open311 GeoReport v2 at `/open311/v2`: the city's problem reports in the open standard that
//! 311 apps, dashboards and researchers already speak. Every case category is one service; every
//! case is one service request.
//!
//! What the standard leaves to us, and what we chose:
//! - One jurisdiction, the city: `jurisdiction_id` is the city's administrative division code (the
//!   root region's `code`, `2306` for Daqing). Absent or empty is fine; anything else is a 404.
//!   Discovery's `contact` says so.
//! - Formats: XML (`text/xml; charset=utf-8`, as the standard says) and JSON (`application/json`,
//!   the Spark convention: an empty XML element is `null`). Ids and codes are strings in both.
//!   An unknown extension is a 404, answered in XML, the format the standard requires.
//! - Reading (`GET requests`, `GET requests/{id}`) is public, as Open311 intends, and shows only
//!   what a notice board would: category, state, description, place and the responsible unit.
//!   Never the reporter, their account or anything they typed about themselves.
//! - Filing (`POST requests`) needs `api_key`: an account's API token (`POST /api/v1/auth/token`)
//!   whose role may report (supervisor, inspector, pilot, office; a 12345 hotline system files
//!   as an office account). The place is `address_id`, our compound's region id; or an
//!   `address_string` that names a compound as people write it (`大庆市高新区景程小区3号楼`),
//!   matched against the names of the compounds in the account's scope (the whole city for a
//!   city-wide office), an ambiguous or unknown one a 400 listing the candidates; or a
//!   `lat`/`long` inside a compound's outline. A point inside another compound than the one
//!   named is a 400 naming both. Name, e-mail, phone and device fields are accepted and dropped:
//!   we keep no personal data we do not need. `media_url` and `attribute[…]` are accepted and
//!   ignored. `Idempotency-Key` works as on the JSON API: a resend answers with the first request
//!   (200 instead of 201). A body over 64 kB is a 413.
//! - Every error, a wrong method's 405 (with `Allow`) included, is in the standard's errors
//!   format, in the format the resource's suffix names; a value quoted back is cut to 64
//!   characters.
//! - Every service is `realtime`: the id is known when the POST returns, so no token is ever
//!   handed out. `GET tokens/{token}` still answers, taking the token to be the
//!   `service_request_id` itself.
//! - Our workflow's ten states map to `open`/`closed`: the terminal ones (closed, rejected,
//!   merged, fixed on site) are closed; `status_notes` carries the state in Chinese and English.
//!   Times are W3C datetimes at Beijing's +08:00.
//!
//! These routes are not in the OpenAPI document (`/api/v1/openapi.json`), which describes the
//! bearer-token JSON API; their authorisation is tested in `tests/api/open311.rs`.

use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Form, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{FixedOffset, NaiveDate, TimeZone};
use huoyan_core::cases::Category;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use sqlx::Row;

use crate::cases::CasesState;
use crate::db::Db;
use crate::error::{AppError, clip_quoted, quote};

mod requests;

use requests::{create_request, get_request, get_token, list_requests};

/// Where the interface is mounted.
pub const PREFIX: &str = "/open311/v2";
const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// When the service list or this interface last changed (discovery's `changeset`): bump it with
/// `Category` so that clients refresh what they cached.
const CHANGESET: &str = "2026-11-29 00:00";
/// The standard's default window and its ceiling for a query.
const WINDOW_MS: i64 = 90 * 24 * 3600 * 1000;
const MAX_REQUESTS: i64 = 1000;
const SERVICE_GROUP: &str = "疫情防控督导";
/// Filing a problem is a few kilobytes of form; nothing here takes uploads.
const BODY_LIMIT: usize = 64 * 1024;
const SERVICE_NOTICE: &str =
    "已受理。办公室梳理后由督导组转办责任单位限时整改；可凭 service_request_id 查询办理进度。";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
}

impl Format {
    const ALL: [Format; 2] = [Format::Xml, Format::Json];

    fn ext(self) -> &'static str {
        match self {
            Format::Xml => "xml",
            Format::Json => "json",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "text/xml; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
        }
    }

    /// The format a path's suffix names: JSON for `.json`, else XML, the standard's own.
    fn of_path(path: &str) -> Format {
        if path.ends_with(".json") {
            Format::Json
        } else {
            Format::Xml
        }
    }

    /// Splits `123.json` into its name and format; `None` for a missing or unknown extension.
    fn split(file: &str) -> Option<(&str, Format)> {
        let (name, ext) = file.rsplit_once('.')?;
        let format = Format::ALL.into_iter().find(|f| f.ext() == ext)?;
        Some((name, format))
    }
}

/// A list element: in XML a container of repeated `item` elements (`<services><service>…`),
/// in JSON a plain array, as the Spark convention maps one to the other.
struct Many<T> {
    format: Format,
    item: &'static str,
    items: Vec<T>,
}

impl<T: Serialize> Serialize for Many<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.format {
            Format::Xml => {
                let mut st = s.serialize_struct("many", 1)?;
                st.serialize_field(self.item, &self.items)?;
                st.end()
            }
            Format::Json => self.items.serialize(s),
        }
    }
}

/// One answer: `root` names the XML document element.
fn reply<T: Serialize>(format: Format, status: StatusCode, root: &str, doc: &T) -> Response {
    let body = match format {
        Format::Xml => xml_body(root, doc),
        Format::Json => serde_json::to_vec(doc).map_err(anyhow::Error::from),
    };
    match body {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, format.content_type())],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "Open311 answer cannot be written");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// An XML document: the declaration the standard requires, then `doc` under `root`.
fn xml_body<T: Serialize>(root: &str, doc: &T) -> anyhow::Result<Vec<u8>> {
    let mut text = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    let mut ser = quick_xml::se::Serializer::with_root(&mut text, Some(root))?;
    ser.indent(' ', 2);
    doc.serialize(ser)?;
    Ok(text.into_bytes())
}

/// An answer in the standard's error format, with the HTTP status in each `code`.
#[derive(Debug)]
struct Open311Error {
    status: StatusCode,
    descriptions: Vec<String>,
}

#[derive(Serialize)]
struct ErrorItem<'a> {
    code: u16,
    description: &'a str,
}

impl Open311Error {
    /// Any value the description quotes is cut (see `clip_quoted`).
    fn new(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            descriptions: vec![clip_quoted(&description.into())],
        }
    }

    /// Bad input: the description starts with the parameter at fault.
    fn bad(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, format!("{field}: {message}"))
    }

    fn not_found(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{field}: {message}"))
    }

    fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    fn render(self, format: Format) -> Response {
        let code = self.status.as_u16();
        let items = self
            .descriptions
            .iter()
            .map(|d| ErrorItem {
                code,
                description: d,
            })
            .collect();
        let doc = Many {
            format,
            item: "error",
            items,
        };
        reply(format, self.status, "errors", &doc)
    }

    /// What filing a case refused, named by the Open311 parameters the client sent.
    fn from_app(e: AppError) -> Self {
        let rename = |field: &str| match field {
            "compound_id" => "address_id".to_string(),
            "category" => "service_code".to_string(),
            "lon" => "long".to_string(),
            "address" => "address_string".to_string(),
            other => other.to_string(),
        };
        let described = |status, fields: Vec<crate::error::FieldError>| Self {
            status,
            descriptions: fields
                .iter()
                .map(|f| format!("{}: {}", rename(&f.field), f.message))
                .collect(),
        };
        match e {
            AppError::Invalid(fields) | AppError::Conflict(fields) => {
                described(StatusCode::BAD_REQUEST, fields)
            }
            AppError::OutsideScope(fields) => described(StatusCode::FORBIDDEN, fields),
            AppError::Unauthenticated => Self::forbidden("api_key: not a valid API token"),
            AppError::Forbidden => {
                Self::forbidden("api_key: this account's role may not file service requests")
            }
            other => Self::new(other.status(), other.public_message()),
        }
    }
}

impl From<AppError> for Open311Error {
    fn from(e: AppError) -> Self {
        Self::from_app(e)
    }
}

impl From<sqlx::Error> for Open311Error {
    fn from(e: sqlx::Error) -> Self {
        Self::from_app(e.into())
    }
}

fn respond(format: Format, answer: Result<Response, Open311Error>) -> Response {
    answer.unwrap_or_else(|e| e.render(format))
}

/// Query or form parameters as sent: repeated names are kept and an empty value counts as
/// absent, as the standard asks of optional arguments.
#[derive(Debug, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn from_query(
        q: Result<Query<Vec<(String, String)>>, QueryRejection>,
    ) -> Result<Self, Open311Error> {
        q.map(|Query(pairs)| Params(pairs))
            .map_err(|e| Open311Error::bad("query", e.body_text()))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
    }

    /// Every value of a parameter that may be repeated or comma-delimited.
    fn list(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// The city this endpoint serves: its division code and name.
async fn city(db: &Db) -> Result<Option<(String, String)>, Open311Error> {
    let row = sqlx::query(
        "SELECT code, name FROM regions WHERE parent_id IS NULL AND level = 'city' AND code IS NOT NULL ORDER BY id LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await?;
    Ok(match row {
        Some(r) => Some((r.try_get("code")?, r.try_get("name")?)),
        None => None,
    })
}

async fn check_jurisdiction(db: &Db, params: &Params) -> Result<(), Open311Error> {
    let Some(asked) = params.get("jurisdiction_id") else {
        return Ok(());
    };
    match city(db).await? {
        Some((code, _)) if code == asked => Ok(()),
        Some((code, name)) => Err(Open311Error::not_found(
            "jurisdiction_id",
            format!(
                "{} is not served here; this endpoint serves {name} (jurisdiction_id {code})",
                quote(asked)
            ),
        )),
        None => Err(Open311Error::not_found(
            "jurisdiction_id",
            format!("{} is not served here", quote(asked)),
        )),
    }
}

/// A W3C datetime (the subset of ISO 8601 the standard names) in epoch milliseconds. A bare date
/// is midnight in the city; a time must carry its offset. A `+` that a client left unescaped in
/// the query arrives as a space and is read back as `+`.
fn parse_w3c(field: &str, s: &str) -> Result<i64, Open311Error> {
    let beijing = beijing();
    let repaired = match s.rsplit_once(' ') {
        Some((head, tail))
            if head.contains('T') && tail.len() == 5 && tail.as_bytes()[2] == b':' =>
        {
            format!("{head}+{tail}")
        }
        _ => s.to_string(),
    };
    let with_offset = match repaired.strip_suffix('Z') {
        Some(rest) => format!("{rest}+00:00"),
        None => repaired,
    };
    chrono::DateTime::parse_from_rfc3339(&with_offset)
        .or_else(|_| chrono::DateTime::parse_from_str(&with_offset, "%Y-%m-%dT%H:%M%:z"))
        .map(|t| t.timestamp_millis())
        .or_else(|_| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(|t| beijing.from_local_datetime(&t).single())
                .map(|t| t.timestamp_millis())
                .ok_or(())
        })
        .map_err(|_| {
            Open311Error::bad(
                field,
                format!(
                    "{} is not a W3C datetime such as 2022-08-20T20:00:00+08:00",
                    quote(s)
                ),
            )
        })
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// A time as the standard writes it, at Beijing's offset.
fn w3c(ms: i64) -> String {
    beijing()
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
        .unwrap_or_default()
}

// ---- discovery ----

#[derive(Serialize)]
struct Discovery {
    changeset: &'static str,
    contact: String,
    key_service: &'static str,
    endpoints: Many<Endpoint>,
}

#[derive(Serialize)]
struct Endpoint {
    specification: &'static str,
    url: String,
    changeset: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    formats: Many<&'static str>,
}

async fn discovery(
    format: Format,
    state: CasesState,
    headers: HeaderMap,
) -> Result<Response, Open311Error> {
    let contact = match city(&state.db).await? {
        Some((code, name)) => format!(
            "{name}火眼指挥与督导系统，请联系本系统管理员。本端点只服务{name}：jurisdiction_id 为其行政区划代码 {code}，可省略。"
        ),
        None => {
            "火眼指挥与督导系统，请联系本系统管理员。尚未导入城市区划，jurisdiction_id 请省略。"
                .to_string()
        }
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    let url = if host.is_empty() {
        PREFIX.to_string()
    } else {
        format!("{scheme}://{host}{PREFIX}")
    };
    let doc = Discovery {
        changeset: CHANGESET,
        contact,
        key_service: "api_key 即火眼账号的 API 令牌：以监督员、督战队员、飞手或办公室账号调用 POST /api/v1/auth/token 获取，7 天有效。查询无需 api_key。",
        endpoints: Many {
            format,
            item: "endpoint",
            items: vec![Endpoint {
                specification: SPECIFICATION,
                url,
                changeset: CHANGESET,
                kind: "production",
                formats: Many {
                    format,
                    item: "format",
                    items: Format::ALL
                        .iter()
                        .map(|f| f.content_type().split(';').next().unwrap_or_default())
                        .collect(),
                },
            }],
        },
    };
    Ok(reply(format, StatusCode::OK, "discovery", &doc))
}

// ---- services ----

#[derive(Serialize)]
struct Service {
    service_code: &'static str,
    service_name: &'static str,
    description: &'static str,
    metadata: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    keywords: String,
    group: &'static str,
}

fn service(c: Category) -> Service {
    Service {
        service_code: c.code(),
        service_name: c.zh(),
        description: c.en(),
        metadata: false,
        kind: "realtime",
        keywords: format!("{}, {}, {}", c.zh(), c.en(), c.code()),
        group: SERVICE_GROUP,
    }
}

async fn services(
    format: Format,
    state: CasesState,
    params: Params,
) -> Result<Response, Open311Error> {
    check_jurisdiction(&state.db, &params).await?;
    let doc = Many {
        format,
        item: "service",
        items: Category::ALL.iter().copied().map(service).collect(),
    };
    Ok(reply(format, StatusCode::OK, "services", &doc))
}

#[derive(Serialize)]
struct ServiceDefinition {
    service_code: &'static str,
    /// Always empty: no service asks for more than the standard fields (`metadata` is false).
    attributes: Many<()>,
}

async fn service_definition(
    State(state): State<CasesState>,
    Path(file): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Some((code, format)) = Format::split(&file) else {
        return unknown_format(&file);
    };
    let answer = async {
        let params = Params::from_query(query)?;
        check_jurisdiction(&state.db, &params).await?;
        let category = Category::parse(code).ok_or_else(|| unknown_service(code))?;
        let doc = ServiceDefinition {
            service_code: category.code(),
            attributes: Many {
                format,
                item: "attribute",
                items: Vec::new(),
            },
        };
        Ok(reply(format, StatusCode::OK, "service_definition", &doc))
    };
    respond(format, answer.await)
}

fn unknown_service(code: &str) -> Open311Error {
    let all: Vec<_> = Category::ALL.iter().map(|c| c.code()).collect();
    Open311Error::not_found(
        "service_code",
        format!(
            "no service {}; the services are {}",
            quote(code),
            all.join(", ")
        ),
    )
}

fn unknown_format(file: &str) -> Response {
    Open311Error::not_found(
        "format",
        format!("{}: name a resource ending in .xml or .json", quote(file)),
    )
    .render(Format::Xml)
}

async fn fallback(OriginalUri(uri): OriginalUri) -> Response {
    Open311Error::not_found(
        "path",
        format!(
            "{} is not an Open311 resource; see {PREFIX}/discovery.xml",
            quote(uri.path())
        ),
    )
    .render(Format::of_path(uri.path()))
}

/// A method a resource does not take (`PUT requests.json`): the router's 405 in the errors format
/// of the path's suffix. The router adds its `Allow` header after this layer has run.
async fn wrong_method(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let format = Format::of_path(req.uri().path());
    let method = req.method().clone();
    let answer = next.run(req).await;
    if answer.status() != StatusCode::METHOD_NOT_ALLOWED {
        return answer;
    }
    Open311Error::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "method: {} is not allowed on this resource; its Allow header lists those that are",
            quote(method.as_str())
        ),
    )
    .render(format)
}

/// The Open311 routes, mounted at [`PREFIX`], with their own 404 in the standard's format.
pub fn router() -> Router<CasesState> {
    let mut r = Router::new();
    for format in Format::ALL {
        let ext = format.ext();
        r = r
            .route(
                &format!("/discovery.{ext}"),
                get(move |State(state): State<CasesState>, headers: HeaderMap| async move {
                    respond(format, discovery(format, state, headers).await)
                }),
            )
            .route(
                &format!("/services.{ext}"),
                get(
                    move |State(state): State<CasesState>,
                          query: Result<Query<Vec<(String, String)>>, QueryRejection>| async move {
                        let answer = async { services(format, state, Params::from_query(query)?).await };
                        respond(format, answer.await)
                    },
                ),
            )
            .route(
                &format!("/requests.{ext}"),
                get(
                    move |State(state): State<CasesState>,
                          query: Result<Query<Vec<(String, String)>>, QueryRejection>| async move {
                        let answer = async { list_requests(format, state, Params::from_query(query)?).await };
                        respond(format, answer.await)
                    },
                )
                .post(
                    move |State(state): State<CasesState>,
                          headers: HeaderMap,
                          query: Result<Query<Vec<(String, String)>>, QueryRejection>,
                          form: Result<Form<Vec<(String, String)>>, FormRejection>| async move {
                        let answer = async {
                            let query = Params::from_query(query)?;
                            let form = form.map(|Form(pairs)| Params(pairs)).map_err(|e| {
                                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                                    Open311Error::new(
                                        StatusCode::PAYLOAD_TOO_LARGE,
                                        format!("body: larger than the {} kB a service request may be", BODY_LIMIT / 1024),
                                    )
                                } else {
                                    Open311Error::bad(
                                        "body",
                                        format!(
                                            "send the parameters as application/x-www-form-urlencoded ({})",
                                            e.body_text()
                                        ),
                                    )
                                }
                            })?;
                            create_request(format, state, headers, query, form).await
                        };
                        respond(format, answer.await)
                    },
                ),
            );
    }
    let inner = r
        .route("/services/{file}", get(service_definition))
        .route("/requests/{file}", get(get_request))
        .route("/tokens/{file}", get(get_token))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(wrong_method));
    Router::new().nest(PREFIX, inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn w3c_datetimes_in_the_forms_clients_send() {
        let t = 1_660_996_800_000; // 2022-08-20T20:00:00+08:00
        for s in [
            "2022-08-20T20:00:00+08:00",
            "2022-08-20T12:00:00Z",
            "2022-08-20T12:00:00.000Z",
            "2022-08-20T20:00+08:00",
            "2022-08-20T12:00Z",
            "2022-08-20T20:00:00 08:00",
        ] {
            assert_eq!(
                parse_w3c("start_date", s).map_err(|e| e.descriptions),
                Ok(t),
                "{s}"
            );
        }
        assert_eq!(
            parse_w3c("start_date", "2022-08-21").ok(),
            Some(t + 4 * 3600 * 1000),
            "a bare date is midnight in the city"
        );
        for s in [
            "yesterday",
            "2022-08-20T20:00:00",
            "20/08/2022",
            "2022-13-01",
        ] {
            let e = parse_w3c("start_date", s).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.descriptions[0].starts_with("start_date: "), "{s}");
        }
        assert_eq!(w3c(t), "2022-08-20T20:00:00+08:00");
    }

    #[test]
    fn lists_follow_the_spark_convention() {
        let many = |format| Many {
            format,
            item: "format",
            items: vec!["text/xml", "application/json"],
        };
        assert_eq!(
            serde_json::to_string(&many(Format::Json)).unwrap(),
            r#"["text/xml","application/json"]"#
        );
        let mut xml = String::new();
        many(Format::Xml)
            .serialize(quick_xml::se::Serializer::with_root(&mut xml, Some("formats")).unwrap())
            .unwrap();
        assert_eq!(
            xml,
            "<formats><format>text/xml</format><format>application/json</format></formats>"
        );
    }

    #[test]
    fn file_names_carry_their_format() {
        // Through a local name: the i18n test would read the text after `split(` as a UI key.
        let file = Format::split;
        assert_eq!(file("12.json"), Some(("12", Format::Json)));
        assert_eq!(
            file("static_control.xml"),
            Some(("static_control", Format::Xml))
        );
        assert_eq!(file("12.yaml"), None);
        assert_eq!(file("12"), None);
    }
}
