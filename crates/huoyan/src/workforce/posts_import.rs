//! Posts from a spreadsheet (xlsx or csv), all or nothing: one row a post, naming its site (and
//! the site's community where names repeat), its job, the skills it needs and its shifts
//! (`04:30-12:30×3；12:30-20:30×2`). Every bad row is named at once and nothing is written.

use axum::body::Bytes;
use axum::extract::State;
use huoyan_core::workforce::posts::Job;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WorkforceState;
use super::posts::{NewPost, NewShift, create};
use crate::audit::Change;
use crate::auth::{Can, Principal, perm};
use crate::check::Text;
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::http::{ApiJson, ApiQuery};
use crate::tabular::{self, Format, Imported, SheetQuery, Table};

/// Most rows one file holds.
const MAX_ROWS: usize = 5_000;

/// A job as a sheet names it: its code, or its Chinese or English label.
fn job(s: &str) -> Option<Job> {
    let s = s.trim();
    Job::ALL
        .iter()
        .copied()
        .find(|j| j.code() == s || j.zh() == s || j.en().eq_ignore_ascii_case(s))
}

/// `04:30-12:30×3；12:30-20:30×2` as shifts: each `hours` with its headcount after `×`, `x`,
/// `*` or a space (1 when left out).
pub(super) fn shifts(s: &str) -> Result<Vec<NewShift>, String> {
    let mut out = Vec::new();
    for part in s
        .split([';', '；', '\n', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let split = part
            .split_once(['×', 'x', 'X', '*'])
            .or_else(|| part.split_once(char::is_whitespace));
        let (hours, count) = match split {
            Some((h, c)) => (
                h.trim(),
                c.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("{part:?}: a headcount after ×"))?,
            ),
            None => (part, 1),
        };
        huoyan_core::workforce::posts::ShiftTime::parse(hours)
            .map_err(|e| format!("{part:?}: {e}"))?;
        out.push(NewShift {
            hours: Text::parse(hours.to_string()).map_err(|why| format!("{part:?}: {why}"))?,
            headcount: count,
        });
    }
    if out.is_empty() {
        return Err("the shifts, as 04:30-12:30×3；12:30-20:30×2".into());
    }
    Ok(out)
}

/// Writes every row of `t` inside `change`, or none: the errors of every row come back at once.
pub async fn import(change: &mut Change, p: &Principal, t: &Table) -> AppResult<usize> {
    let cols = t.require(&[
        &["site", "点位", "站点"],
        &["job", "岗位"],
        &["shifts", "班次"],
    ])?;
    let region = t.column(&["community", "社区", "区域"]);
    let skills = t.column(&["skills", "技能"]);
    let note = t.column(&["note", "备注"]);
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
        let mut bad = |field: &str, why: String| {
            errors.push(FieldError::new(format!("{prefix}{field}"), why));
        };
        let (site_name, community) = (cell(row, Some(cols[0])), cell(row, region));
        let sites: Vec<i64> = sqlx::query_scalar(
            "SELECT s.id FROM sites s JOIN regions g ON g.id = s.region_id \
             WHERE s.name = $1 AND ($2 = '' OR g.name = $2) ORDER BY s.id LIMIT 2",
        )
        .bind(&site_name)
        .bind(&community)
        .fetch_all(&mut *change.tx)
        .await?;
        let site = match sites[..] {
            [one] => Some(one),
            [] => {
                bad("site", format!("no site {site_name:?}"));
                None
            }
            _ => {
                bad(
                    "site",
                    "several sites of this name: name the community".into(),
                );
                None
            }
        };
        let job = job(&cell(row, Some(cols[1])));
        if job.is_none() {
            bad(
                "job",
                "one of 扫码, 秩序维护, 消杀, 引导, 配送, 宣传, 卡口值守, 巡逻".into(),
            );
        }
        let shifts = shifts(&cell(row, Some(cols[2])))
            .map_err(|why| bad("shifts", why))
            .ok();
        let mut words = Vec::new();
        for w in cell(row, skills)
            .split([',', '，', '、', ';', '；'])
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            match Text::parse(w.to_string()) {
                Ok(t) => words.push(t),
                Err(why) => bad("skills", why),
            }
        }
        let note = Text::parse(cell(row, note))
            .map_err(|why| bad("note", why))
            .ok();
        let (Some(site_id), Some(job), Some(shifts), Some(note)) = (site, job, shifts, note) else {
            continue;
        };
        let new = NewPost {
            site_id,
            job,
            skills: words,
            note,
            shifts,
        };
        match create(change, p, &new).await {
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

/// Reads `bytes` as `format` and imports it as `p`, all or nothing.
pub async fn run(db: &Db, p: &Principal, format: Format, bytes: &[u8]) -> AppResult<usize> {
    if format == Format::GeoJson {
        return Err(AppError::invalid("format", "posts come as xlsx or csv"));
    }
    let table = tabular::read(format, bytes)?;
    Change::run(db, &p.actor(), async |c| import(c, p, &table).await).await
}

/// Import posts from a spreadsheet sent as the raw body: columns 点位 (site), 社区 (its
/// community, where site names repeat), 岗位 (job), 技能 (skills), 班次 (`04:30-12:30×3；…`),
/// 备注 (note). Nothing is written unless every row is good; a 422 names every bad row.
#[utoipa::path(post, path = "/api/v1/workforce/posts/import", tag = "workforce", operation_id = "import_posts",
    params(SheetQuery), request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Imported), (status = 422, body = crate::error::ErrorBody)))]
async fn import_route(
    State(state): State<WorkforceState>,
    Can(p, _): Can<perm::WorkforceManage>,
    ApiQuery(q): ApiQuery<SheetQuery>,
    body: Bytes,
) -> AppResult<ApiJson<Imported>> {
    let format = q.sheet()?;
    Ok(ApiJson(Imported {
        imported: run(&state.db, &p, format, &body).await?,
    }))
}

pub fn api() -> OpenApiRouter<WorkforceState> {
    OpenApiRouter::new().routes(routes!(import_route))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_read_as_communities_write_them() {
        let s = shifts("04:30-12:30×3；12:30-20:30 x2; 22:00-06:00").unwrap();
        let got: Vec<(&str, i64)> = s.iter().map(|x| (x.hours.as_str(), x.headcount)).collect();
        assert_eq!(
            got,
            [("04:30-12:30", 3), ("12:30-20:30", 2), ("22:00-06:00", 1)]
        );
        assert!(shifts("").is_err());
        assert!(shifts("04:30-12:30×三").is_err());
    }

    #[test]
    fn jobs_are_named_by_code_or_label() {
        assert_eq!(job("扫码"), Some(Job::Scanning));
        assert_eq!(job("gate_duty"), Some(Job::GateDuty));
        assert_eq!(job("Patrol"), Some(Job::Patrol));
        assert_eq!(job("做饭"), None);
    }
}
