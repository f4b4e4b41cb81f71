//! The case list as a workbook: every case a filter of `GET /api/v1/cases` selects in the
//! caller's scope, in the list's order. Rows go from the database to a temporary file one at a
//! time and the file to the client in chunks, so an export of a million cases takes no more
//! memory than one of ten.

use std::io::{Seek, SeekFrom};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::IntoResponse;
use futures_util::TryStreamExt;
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::CaseFilter;
use super::views::{COLUMNS, from_row, ordered_parts};
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::cases::CasesState;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::http::ApiQuery;
use crate::i18n::Locale;
use crate::tabular::{Cell, StreamedSheet};

/// More rows than this in one export is refused: a sheet holds 1,048,576 at most.
pub const EXPORT_MAX_ROWS: i64 = 1_000_000;

/// The list export's columns (catalogue keys), in order.
pub const LIST_COLUMNS: [&str; 14] = [
    "figures.col.id",
    "figures.col.kind",
    "figures.col.source",
    "figures.category",
    "figures.col.priority",
    "figures.state",
    "figures.compound",
    "figures.col.address",
    "figures.col.lead",
    "figures.col.reported_at",
    "figures.col.due_at",
    "figures.overdue",
    "figures.col.merged_into",
    "figures.col.description",
];

/// Rows in flight between the database and the file.
const IN_FLIGHT: usize = 256;

/// One exported row of a list row (the case's columns and the names the list leaves as ids).
fn cells(r: &sqlx::any::AnyRow, l: Locale) -> Result<Vec<Cell>, sqlx::Error> {
    let en = l.is_en();
    let c = from_row(r)?;
    let compound: String = r.try_get("compound_name")?;
    let lead: Option<String> = r.try_get("lead_name")?;
    Ok(vec![
        c.id.into(),
        c.kind.label(en).into(),
        c.source.label(en).into(),
        c.category.label(en).into(),
        c.priority.label(en).into(),
        c.state.label(en).into(),
        compound.into(),
        c.address.into(),
        lead.into(),
        Cell::time(&c.reported_at),
        c.due_at.as_deref().map(Cell::time).unwrap_or(Cell::Empty),
        l.t(if c.overdue {
            "figures.yes"
        } else {
            "figures.no"
        })
        .into(),
        c.merged_into.into(),
        c.description.into(),
    ])
}

/// The filtered case list as a workbook in a temporary file (at its start), and how many rows it
/// holds. Refused past `EXPORT_MAX_ROWS`. No reporter and no phone number is written: the
/// reporter's identity is not needed to chase a case.
pub async fn list_xlsx(
    db: &Db,
    p: &Principal,
    f: &CaseFilter,
    l: Locale,
) -> AppResult<(std::fs::File, u32)> {
    let clauses = f.to_sql_shapes(db, p).await?;
    let mut conn = db.scan_connection().await?;
    if clauses
        .counted(EXPORT_MAX_ROWS)
        .run_on(&mut conn, db.backend)
        .await?
        .1
    {
        return Err(AppError::invalid(
            "filter",
            format!(
                "more than {EXPORT_MAX_ROWS} cases match; narrow the filters (from, to, region_id…)"
            ),
        ));
    }
    let headers: Vec<&'static str> = LIST_COLUMNS.iter().map(|k| l.t(k)).collect();
    let sheet_name = l.t("figures.sheet.cases");
    let (rows_in, mut rows_out) = tokio::sync::mpsc::channel::<Vec<Cell>>(IN_FLIGHT);
    let writer = tokio::task::spawn_blocking(move || -> anyhow::Result<(std::fs::File, u32)> {
        let mut sheet = StreamedSheet::new(sheet_name, &headers)?;
        while let Some(row) = rows_out.blocking_recv() {
            sheet.push(&row)?;
        }
        let rows = sheet.rows();
        let mut file = tempfile::tempfile()?;
        sheet.finish(&mut file)?;
        file.seek(SeekFrom::Start(0))?;
        Ok((file, rows))
    });
    let columns =
        format!("{COLUMNS}, compound_region.name AS compound_name, lead_unit.name AS lead_name");
    let joins = " JOIN regions compound_region ON compound_region.id = cases.compound_id \
         LEFT JOIN departments lead_unit ON lead_unit.id = cases.department_id";
    let now = crate::time::now_ms();
    'parts: for part in ordered_parts(&clauses.page, &columns, joins, now, db.backend) {
        let mut rows = part.query().fetch(&mut conn);
        while let Some(r) = rows.try_next().await? {
            // A closed channel is a writer that failed; its error is the one to report.
            if rows_in.send(cells(&r, l)?).await.is_err() {
                break 'parts;
            }
        }
    }
    drop(rows_in);
    Ok(writer.await.map_err(anyhow::Error::from)??)
}

/// `file` from where it stands, in chunks, as a response body.
fn file_body(file: std::fs::File) -> Body {
    use tokio::io::AsyncReadExt;
    const CHUNK: usize = 64 * 1024;
    let stream =
        futures_util::stream::unfold(Some(tokio::fs::File::from_std(file)), |file| async move {
            let mut file = file?;
            let mut buf = vec![0; CHUNK];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
    Body::from_stream(stream)
}

/// Every case matching the filters of `GET /api/v1/cases` (all rows, not one page; `limit` and
/// `offset` are ignored) as xlsx, in the list's order; at most a million. The export is an
/// audited event.
#[utoipa::path(get, path = "/api/v1/cases/export.xlsx", tag = "cases", operation_id = "export_cases_xlsx", params(CaseFilter, ("lang" = Option<String>, Query, description = "zh (default) or en")),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 422, body = crate::error::ErrorBody)))]
async fn export_route(
    State(state): State<CasesState>,
    Can(p, _): Can<perm::CaseFigures>,
    locale: Locale,
    ApiQuery(f): ApiQuery<CaseFilter>,
) -> AppResult<impl IntoResponse> {
    let (file, rows) = list_xlsx(&state.db, &p, &f, locale).await?;
    let mut change = Change::begin(&state.db, &p.actor()).await?;
    let filter = CaseFilter {
        limit: None,
        offset: None,
        ..f
    };
    change
        .record(
            "export",
            "cases",
            "export",
            &serde_json::json!({"kind": "cases", "rows": rows, "filter": filter}),
        )
        .await?;
    change.commit().await?;
    Ok((
        crate::tabular::xlsx_headers("huoyan-cases.xlsx"),
        file_body(file),
    ))
}

pub fn api() -> OpenApiRouter<CasesState> {
    OpenApiRouter::new().routes(routes!(export_route))
}
