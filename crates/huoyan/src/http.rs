//! The JSON API's kit, shared by every context: extractors whose errors name the field, list
//! envelopes and paging, the `Idempotency-Key` header, and the middleware that answers errors in
//! the language a request asks for. It imports no context.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::Locale;

/// JSON body extractor: malformed JSON, unknown fields, wrong types and oversized bodies become
/// a 4xx whose `fields` name what is wrong.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        // Every request body is an object: serde would also take a struct from an array of its
        // fields in order (`[null, null]` as an empty update), which the document does not allow.
        let Json(raw) = Json::<Box<serde_json::value::RawValue>>::from_request(req, state).await?;
        if !raw.get().trim_start().starts_with('{') {
            return Err(AppError::invalid("body", "a JSON object"));
        }
        let Json(value) = Json::<T>::from_bytes(raw.get().as_bytes())?;
        Ok(ApiJson(value))
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> axum::response::Response {
        Json(self.0).into_response()
    }
}

/// Query-string extractor whose errors name the parameter.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// Path extractor whose errors name the segment.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// `limit` and `offset` of every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// At most 500; 50 when absent.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl Paging {
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(50).clamp(1, 500)
    }
    pub fn offset(&self) -> i64 {
        self.offset.unwrap_or(0).max(0)
    }

    /// Appends ` LIMIT … OFFSET …` reading one row past the page, which tells whether more follow
    /// without counting them (see `page`).
    pub fn push_page(&self, sql: &mut crate::db::Sql) {
        sql.push(" LIMIT ")
            .bind(self.limit() + 1)
            .push(" OFFSET ")
            .bind(self.offset());
    }

    /// The page of `items` read with `push_page`: counted as far as it reaches, `total_capped`
    /// when more follow.
    pub fn page<T>(&self, mut items: Vec<T>) -> ListPage<T> {
        let more = items.len() as i64 > self.limit();
        items.truncate(self.limit() as usize);
        ListPage {
            total: self.offset() + items.len() as i64 + i64::from(more),
            total_capped: more,
            items,
            limit: self.limit(),
            offset: self.offset(),
        }
    }
}

/// Most rows a list counts. Past it `total` is this figure and `total_capped` is set (shown as
/// "1000+"): an exact count of a large selection costs a scan of it on every page, and nobody
/// acts on the difference between 1,000 and 600,000 matches without narrowing the filters. (At
/// 10,000 the count alone took 60–260 ms of a page at 516,526 cases; bench/reads.sh.)
pub const COUNT_CAP: i64 = 1_000;

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListPage<T> {
    pub items: Vec<T>,
    /// Rows matching the filters, over all pages, counted up to 1,000 (see `total_capped`); a
    /// list may count less where counting costs more than the page (a search for a common word
    /// is counted only as far as the page reaches).
    pub total: i64,
    /// More rows match than were counted: `total` is a lower bound; narrow the filters for an
    /// exact figure.
    pub total_capped: bool,
    pub limit: i64,
    pub offset: i64,
}

impl<T> ListPage<T> {
    /// The offset of the page before this one, for pagers.
    pub fn prev_offset(&self) -> Option<i64> {
        (self.offset > 0).then(|| (self.offset - self.limit).max(0))
    }

    /// The offset of the page after this one, for pagers.
    pub fn next_offset(&self) -> Option<i64> {
        let next = self.offset.saturating_add(self.limit);
        let more =
            next < self.total || (self.total_capped && self.items.len() as i64 == self.limit);
        more.then_some(next)
    }

    /// The total as pages show it: "1000+" when capped.
    pub fn total_label(&self) -> String {
        if self.total_capped {
            format!("{}+", self.total)
        } else {
            self.total.to_string()
        }
    }

    /// An empty page.
    pub fn empty() -> Self {
        ListPage {
            items: Vec::new(),
            total: 0,
            total_capped: false,
            limit: 0,
            offset: 0,
        }
    }
}

/// How many rows of `from` match a filter, counted up to `cap`, and whether more do: the count
/// reads at most `cap + 1` rows whatever the table holds.
pub struct BoundedCount {
    /// The statement, public so that tests can read its plan.
    pub sql: crate::db::Sql,
    cap: i64,
}

impl BoundedCount {
    pub fn new(from: &str, filter: &crate::db::Sql, cap: i64) -> Self {
        Self::of(&format!("SELECT 1 FROM {from}"), filter, cap)
    }

    /// The rows `select` (a `SELECT … FROM …` without its clause) reads with `filter`.
    pub fn of(select: &str, filter: &crate::db::Sql, cap: i64) -> Self {
        BoundedCount {
            sql: filter.with_text(&format!(
                "SELECT COUNT(*) FROM ({select}{} LIMIT {}) AS counted",
                filter.text(),
                cap.saturating_add(1)
            )),
            cap,
        }
    }

    /// (the count up to the cap, whether more rows match).
    pub async fn run(&self, db: &crate::db::Db) -> Result<(i64, bool), AppError> {
        self.run_on(&mut *db.pool.acquire().await?, db.backend)
            .await
    }

    /// The same on `conn`.
    pub async fn run_on(
        &self,
        conn: &mut sqlx::AnyConnection,
        backend: crate::db::Backend,
    ) -> Result<(i64, bool), AppError> {
        use sqlx::Row;
        let n: i64 = self
            .sql
            .query()
            .persistent(crate::db::prepared(backend))
            .fetch_one(conn)
            .await?
            .try_get(0)?;
        Ok((n.min(self.cap), n > self.cap))
    }
}

/// The language an API request asks for with `?lang=` (the pages' scripts name their page's);
/// English without it, the API's own language.
pub struct ApiLocale(pub Locale);

impl<S: Send + Sync> FromRequestParts<S> for ApiLocale {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ApiLocale(Locale::asked(&parts.uri).unwrap_or(Locale::En)))
    }
}

/// An API error's messages in the language the request names with `?lang=` (the pages' scripts
/// name their page's, to show the messages beside the form's fields); English without it.
pub async fn localise_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let locale = Locale::asked(req.uri()).filter(|l| !l.is_en());
    let res = next.run(req).await;
    let Some(locale) = locale.filter(|_| res.status().is_client_error()) else {
        return res;
    };
    let (mut parts, body) = res.into_parts();
    // Error bodies are small; anything that does not read as one goes out as it came.
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut error = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(error)) => error,
        _ => return axum::response::Response::from_parts(parts, bytes.into()),
    };
    let localise = |v: Option<&mut serde_json::Value>| {
        if let Some(v) = v
            && let Some(text) = v.as_str()
        {
            *v = locale.message(text).into();
        }
    };
    localise(error.get_mut("message"));
    if let Some(fields) = error.get_mut("fields").and_then(|f| f.as_array_mut()) {
        for f in fields {
            localise(f.get_mut("message"));
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    axum::response::Response::from_parts(parts, serde_json::Value::Object(error).to_string().into())
}

/// A method an API route does not take: the router's 405 with the API's error body. The router
/// adds its `Allow` header after this layer has run.
pub async fn wrong_method(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let answer = next.run(req).await;
    if answer.status() == axum::http::StatusCode::METHOD_NOT_ALLOWED {
        AppError::MethodNotAllowed.into_response()
    } else {
        answer
    }
}

/// Reads an optional query value where an empty one (`?region_id=`, what an unchosen select
/// sends) means absent, as for a missing one. A blank one is not empty: the document
/// (`empty_or`) allows the value or nothing, so spaces are refused, not read as absent.
pub fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let raw: Option<String> = Option::deserialize(d)?;
    match raw.as_deref() {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// The document's schema of a query value read as `T`, or as absent when sent empty (what an
/// unchosen select sends).
pub fn empty_or<T: utoipa::PartialSchema>() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    utoipa::openapi::schema::AnyOfBuilder::new()
        .item(T::schema())
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .build()
        .into()
}

/// An RFC 3339 time, for `empty_or`.
pub struct Instant;

impl utoipa::PartialSchema for Instant {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .into()
    }
}

/// Runs `SELECT columns FROM from filter ORDER BY order LIMIT/OFFSET` and its count: the one way
/// every list endpoint pages.
pub async fn fetch_page<T>(
    db: &crate::db::Db,
    columns: &str,
    from: &str,
    filter: &crate::db::Sql,
    order: &str,
    paging: &Paging,
    map: impl Fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
) -> Result<ListPage<T>, AppError> {
    let mut rows = crate::db::Sql::new(&format!("SELECT {columns} FROM {from}"));
    rows.push(filter.text());
    let (limit, offset) = (paging.limit(), paging.offset());
    let (total, total_capped) = BoundedCount::new(from, filter, COUNT_CAP).run(db).await?;
    let mut q = filter.with_text(rows.text());
    q.push(&format!(" ORDER BY {order} LIMIT "))
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let items = q
        .query()
        .persistent(crate::db::prepared(db.backend))
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(map)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ListPage {
        items,
        total,
        total_capped,
        limit,
        offset,
    })
}

/// Reads a request type from a page form's fields, given as JSON values: the same parsing, naming
/// the same fields, as the API's JSON body, so a page and the API accept exactly the same input.
pub fn from_fields<T: serde::de::DeserializeOwned>(
    fields: serde_json::Map<String, serde_json::Value>,
) -> Result<T, AppError> {
    serde_path_to_error::deserialize(serde_json::Value::Object(fields)).map_err(|e| {
        // At the root (a type that reads its fields itself, like a workflow step) the error
        // names its own field.
        let text = match e.path().to_string().as_str() {
            "." => e.inner().to_string(),
            path => format!("{path}: {}", e.inner()),
        };
        AppError::Invalid(vec![crate::error::serde_field_error(&text)])
    })
}

/// The `Idempotency-Key` header: one key, one case, however often a phone resends. Absent, it is
/// None; present, it must be 1–200 visible ASCII characters, or the request is refused naming the
/// header — a key that cannot be honoured is never silently dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

/// Longest key kept.
pub const IDEMPOTENCY_KEY_MAX: usize = 200;

impl IdempotencyKey {
    /// Parses the header's value.
    pub fn parse(value: Option<&[u8]>) -> Result<Self, AppError> {
        let Some(raw) = value else {
            return Ok(Self(None));
        };
        let bad = |why: &str| AppError::invalid("Idempotency-Key", why);
        let key = std::str::from_utf8(raw)
            .map_err(|_| bad("use visible ASCII characters"))?
            .trim();
        if key.is_empty() {
            return Err(bad("must not be empty; leave the header out instead"));
        }
        if key.len() > IDEMPOTENCY_KEY_MAX {
            return Err(bad("at most 200 characters"));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad("use visible ASCII characters"));
        }
        Ok(Self(Some(key.to_string())))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Self::parse(parts.headers.get("idempotency-key").map(|v| v.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_kept_whole_or_refused_by_name() {
        assert_eq!(IdempotencyKey::parse(None).unwrap(), IdempotencyKey(None));
        let k = IdempotencyKey::parse(Some(b" draft-7f3a ")).unwrap();
        assert_eq!(k.0.as_deref(), Some("draft-7f3a"));
        let long = "k".repeat(201);
        for bad in [long.as_bytes(), b"", b"two words", "钥匙".as_bytes()] {
            let e = IdempotencyKey::parse(Some(bad)).unwrap_err();
            assert_eq!(e.fields()[0].field, "Idempotency-Key");
        }
        assert!(IdempotencyKey::parse(Some("k".repeat(200).as_bytes())).is_ok());
    }

    #[derive(Debug, serde::Deserialize)]
    struct Filter {
        #[serde(default, deserialize_with = "empty_as_none")]
        overdue: Option<bool>,
    }

    /// The document allows the value or an empty string: a blank one (schemathesis sent
    /// `?overdue=+`, a space) is neither, and is refused rather than read as absent.
    #[test]
    fn an_empty_query_value_is_absent_and_a_blank_one_is_refused() {
        let read = |q: &str| serde_urlencoded::from_str::<Filter>(q).map(|f| f.overdue);
        assert_eq!(read("overdue=").unwrap(), None);
        assert_eq!(read("").unwrap(), None);
        assert_eq!(read("overdue=true").unwrap(), Some(true));
        for bad in ["overdue=+", "overdue=%20", "overdue=+true", "overdue=yes"] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
