//! The read side of cases: a case, its timeline and details as the API and pages show them, the
//! caller's scope, and the filtered list with search.

use huoyan_core::cases::{CaseState, Category, Kind, Priority, Source};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Row};
use utoipa::ToSchema;

use super::{files, tasks};
use crate::audit::Change;
use crate::auth::Principal;
use crate::check::Text;
use crate::db::{Backend, Db, LIKE_ESCAPE, Sql, like_pattern};
use crate::error::{AppError, AppResult};
use crate::http::{BoundedCount, COUNT_CAP, ListPage, Paging};
use crate::time::now_ms;
use crate::time::rfc3339;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Case {
    pub id: i64,
    pub kind: Kind,
    pub source: Source,
    pub category: Category,
    pub priority: Priority,
    pub state: CaseState,
    pub compound_id: i64,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub address: String,
    pub description: String,
    pub reporter_account_id: i64,
    /// The lead unit of the latest dispatch.
    pub department_id: Option<i64>,
    /// The earliest deadline among the units' open tasks.
    #[schema(format = DateTime)]
    pub due_at: Option<String>,
    /// An open task is past its deadline.
    pub overdue: bool,
    /// With `merged`: the case this report was merged into.
    pub merged_into: Option<i64>,
    #[schema(format = DateTime)]
    pub reported_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    /// What a file's `entry_id` names: the step the file belongs to.
    pub id: i64,
    #[schema(format = DateTime)]
    pub at: String,
    /// None for the system (the overdue job).
    pub actor_account_id: Option<i64>,
    /// A workflow action, or `report`, `escalate` (the overdue job), `absorb` (a report merged
    /// into this case), `attach` (files added).
    #[schema(schema_with = timeline_actions)]
    pub action: String,
    pub from_state: Option<CaseState>,
    pub to_state: CaseState,
    pub note: String,
    /// The unit a department step or an escalation concerns.
    pub department_id: Option<i64>,
    /// Where the step was taken, when the actor gave it.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
}

/// The document's schema of `TimelineEntry.action`: a workflow action, or one of the entries
/// the workflow writes itself.
fn timeline_actions() -> utoipa::openapi::schema::Schema {
    let mut codes: Vec<&str> = huoyan_core::cases::Action::ALL
        .iter()
        .map(|a| a.code())
        .collect();
    codes.extend(["report", "escalate", "absorb", "attach"]);
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(codes))
        .into()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: Case,
    /// One per responsible unit: the lead (主办) first, then co-responsible units (协办).
    pub tasks: Vec<tasks::CaseTask>,
    /// Each with the step of the timeline it belongs to.
    pub files: Vec<files::CaseFile>,
    pub timeline: Vec<TimelineEntry>,
}

pub(super) const COLUMNS: &str = "cases.id, cases.kind, cases.source, cases.category, cases.priority, cases.state, \
     cases.compound_id, cases.lon, cases.lat, cases.address, cases.description, cases.reporter_account_id, \
     cases.department_id, cases.due_at, cases.reported_at, cases.updated_at, cases.merged_into";

/// A `cases` row by its columns' names.
#[derive(FromRow)]
struct CaseRow {
    id: i64,
    #[sqlx(try_from = "String")]
    kind: Kind,
    #[sqlx(try_from = "String")]
    source: Source,
    #[sqlx(try_from = "String")]
    category: Category,
    #[sqlx(try_from = "String")]
    priority: Priority,
    #[sqlx(try_from = "String")]
    state: CaseState,
    compound_id: i64,
    lon: Option<f64>,
    lat: Option<f64>,
    address: String,
    description: String,
    reporter_account_id: i64,
    department_id: Option<i64>,
    due_at: Option<i64>,
    reported_at: i64,
    updated_at: i64,
    merged_into: Option<i64>,
}

pub(super) fn from_row(r: &sqlx::any::AnyRow) -> Result<Case, sqlx::Error> {
    let r = CaseRow::from_row(r)?;
    Ok(Case {
        id: r.id,
        kind: r.kind,
        source: r.source,
        category: r.category,
        priority: r.priority,
        state: r.state,
        compound_id: r.compound_id,
        lon: r.lon,
        lat: r.lat,
        address: r.address,
        description: r.description,
        reporter_account_id: r.reporter_account_id,
        department_id: r.department_id,
        due_at: r.due_at.map(rfc3339),
        overdue: r.due_at.is_some_and(|d| d < now_ms()),
        merged_into: r.merged_into,
        reported_at: rfc3339(r.reported_at),
        updated_at: rfc3339(r.updated_at),
    })
}

/// How a filter is written for the statement that uses it. The same conditions, in the form each
/// statement's plan needs: a page walks an index in its order and tests each row (`EXISTS`), so
/// that it stops at its end; a count starts from the index range that holds the rows (a unit's
/// tasks), so that it reads no row that does not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Page,
    Count,
    /// A bounded count of a unit's cases, read from the unit's tasks in case order (`TASKS_COUNTED`):
    /// it stops after as many cases as it counts, where `Count` first lists every case of the
    /// unit's history (126,037 at 990,188 cases: 20–35 ms a count on SQLite, and PostgreSQL hashed
    /// them all).
    Tasks,
}

/// What a count of `Shape::Tasks` reads: each case of the unit's tasks `ut` once.
pub const TASKS_COUNTED: &str =
    "SELECT DISTINCT ut.case_id FROM case_tasks ut JOIN cases ON cases.id = ut.case_id";

/// A unit's cases: those it had a task on.
fn unit_cases(sql: &mut Sql, shape: Shape, alias: &str, unit: i64) {
    match shape {
        Shape::Page => sql.push(&format!(
            " AND EXISTS (SELECT 1 FROM case_tasks {alias} WHERE {alias}.case_id = cases.id AND {alias}.department_id = "
        )),
        Shape::Count => sql.push(&format!(
            " AND cases.id IN (SELECT {alias}.case_id FROM case_tasks {alias} WHERE {alias}.department_id = "
        )),
        Shape::Tasks => sql.push(" AND ut.department_id = "),
    };
    // The fence (as the search's) keeps PostgreSQL probing each case in turn: it would rather
    // merge the unit's tasks of every day with the cases, 364 ms for a unit's overdue count at
    // 990,188 cases against 11.6 ms probing through the deadline index.
    sql.bind(unit).push(match shape {
        Shape::Page => " LIMIT 1 OFFSET 0)",
        Shape::Count => ")",
        Shape::Tasks => "",
    });
}

/// The cases of the compounds whose region path starts with the pattern `bind_path` binds,
/// tested row by row in either shape: a list of compounds would send the planner through the
/// compound index, which a region of most of the city does not narrow (a count of one period's
/// overdue cases read every case of the city that way, 7.6 s at 516,526 cases).
fn region_cases(sql: &mut Sql, alias: &str, bind_path: impl FnOnce(&mut Sql)) {
    sql.push(&format!(
        " AND EXISTS (SELECT 1 FROM regions {alias} WHERE {alias}.id = cases.compound_id AND {alias}.path LIKE "
    ));
    bind_path(sql);
    sql.push(")");
}

/// Confines a case query to the caller: a department sees what was ever dispatched to it (as lead
/// or co-responsible unit), team-scoped roles (inspectors, pilots) what they filed, region-scoped
/// roles their subtree.
pub(super) fn scope(p: &Principal, sql: &mut Sql, shape: Shape) {
    if let Some(d) = p.scope.department_id {
        unit_cases(sql, shape, "st", d);
    } else if p.scope.team_id.is_some() {
        sql.push(" AND cases.reporter_account_id = ")
            .bind(p.account_id);
    } else if let Some(path) = &p.scope_path {
        region_cases(sql, "sr", |sql| {
            sql.bind(format!("{path}%"));
        });
    }
}

/// Whether `p`'s scope is a region that holds every compound (the group's, a commander's): its
/// condition then tests nothing, and a list leaves it out, lest it read each row for it (the
/// group's board read 95,797 open cases' rows to test their compounds, 500 ms at 990,188 cases).
pub(super) async fn scope_holds_everything(db: &Db, p: &Principal) -> AppResult<bool> {
    let Some(path) = &p.scope_path else {
        return Ok(false);
    };
    if p.scope.department_id.is_some() || p.scope.team_id.is_some() {
        return Ok(false);
    }
    holds_every_compound(db, path).await
}

/// Whether the region of `path` holds every compound.
pub(super) async fn holds_every_compound(db: &Db, path: &str) -> AppResult<bool> {
    let outside =
        sqlx::query("SELECT 1 FROM regions WHERE level = 'compound' AND path NOT LIKE $1 LIMIT 1")
            .bind(format!("{path}%"))
            .fetch_optional(&db.pool)
            .await?;
    Ok(outside.is_none())
}

fn scoped_by_id(p: &Principal, id: i64) -> Sql {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM cases WHERE cases.id = "));
    sql.bind(id);
    scope(p, &mut sql, Shape::Page);
    sql
}

/// Case `id` if the caller may see it, else 404.
pub async fn get_scoped(db: &Db, p: &Principal, id: i64) -> AppResult<Case> {
    let row = scoped_by_id(p, id)
        .query()
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    Ok(from_row(&row)?)
}

/// The same inside a change, for a step that is to decide on what it reads.
pub async fn scoped_in(change: &mut Change, p: &Principal, id: i64) -> AppResult<Case> {
    let row = scoped_by_id(p, id)
        .query()
        .fetch_optional(&mut *change.tx)
        .await?
        .ok_or(AppError::NotFound("case"))?;
    Ok(from_row(&row)?)
}

#[derive(FromRow)]
struct EntryRow {
    id: i64,
    at: i64,
    actor_account_id: Option<i64>,
    action: String,
    from_state: Option<String>,
    #[sqlx(try_from = "String")]
    to_state: CaseState,
    note: String,
    department_id: Option<i64>,
    lon: Option<f64>,
    lat: Option<f64>,
}

async fn timeline(db: &Db, id: i64) -> AppResult<Vec<TimelineEntry>> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT id, at, actor_account_id, action, from_state, to_state, note, department_id, lon, lat \
         FROM case_events WHERE case_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let from_state = r
                .from_state
                .map(CaseState::try_from)
                .transpose()
                .map_err(anyhow::Error::from)?;
            Ok(TimelineEntry {
                id: r.id,
                at: rfc3339(r.at),
                actor_account_id: r.actor_account_id,
                action: r.action,
                from_state,
                to_state: r.to_state,
                note: r.note,
                department_id: r.department_id,
                lon: r.lon,
                lat: r.lat,
            })
        })
        .collect()
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    /// One state, or several separated by commas.
    pub state: Option<String>,
    pub category: Option<String>,
    pub source: Option<String>,
    /// A district (or any region): cases of compounds in its subtree.
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    #[param(schema_with = crate::http::empty_or::<i64>)]
    pub region_id: Option<i64>,
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    #[param(schema_with = crate::http::empty_or::<i64>)]
    pub compound_id: Option<i64>,
    /// Cases this department has (had) a task on.
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    #[param(schema_with = crate::http::empty_or::<i64>)]
    pub department_id: Option<i64>,
    /// Only cases with an open task past its deadline.
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    #[param(schema_with = crate::http::empty_or::<bool>)]
    pub overdue: Option<bool>,
    /// Reported on or after this day (YYYY-MM-DD, Beijing time).
    #[param(schema_with = crate::time::day_or_blank)]
    pub from: Option<String>,
    /// Reported on or before this day (YYYY-MM-DD, Beijing time).
    #[param(schema_with = crate::time::day_or_blank)]
    pub to: Option<String>,
    /// Words separated by spaces; each must appear in the description, the address or a note
    /// of the timeline (Latin letters in either case).
    #[param(inline)]
    pub q: Option<Text<200>>,
    /// Only the cases I reported.
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    #[param(schema_with = crate::http::empty_or::<bool>)]
    pub mine: Option<bool>,
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    #[param(schema_with = crate::http::empty_or::<i64>)]
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "crate::http::empty_as_none")]
    #[param(schema_with = crate::http::empty_or::<i64>)]
    pub offset: Option<i64>,
}

impl CaseFilter {
    /// Whether the state filter keeps to states that a case leaves (none terminal).
    fn only_work_in_hand(&self) -> bool {
        given(&self.state).is_some_and(|s| {
            s.split(',')
                .all(|one| CaseState::parse(one.trim()).is_some_and(|st| !st.is_terminal()))
        })
    }

    /// Whether the region is all that narrows the cases (beside the caller's scope).
    fn region_is_the_only_filter(&self) -> bool {
        given(&self.state).is_none()
            && given(&self.category).is_none()
            && given(&self.source).is_none()
            && given(&self.from).is_none()
            && given(&self.to).is_none()
            && search_words(self.q.as_deref().unwrap_or_default()).is_empty()
            && self.compound_id.is_none()
            && self.department_id.is_none()
            && self.overdue != Some(true)
            && self.mine != Some(true)
    }
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl CaseFilter {
    /// The WHERE clause for these filters within the caller's scope. Search is a substring match
    /// (Chinese has no spaces for a word index to split on), narrowed by the index of character
    /// pairs (`search`) where a word is rare.
    pub async fn to_sql(&self, db: &Db, p: &Principal) -> AppResult<Sql> {
        self.to_sql_as(db, p, Shape::Page).await
    }

    /// The same, written for a statement of `shape`.
    pub async fn to_sql_as(&self, db: &Db, p: &Principal, shape: Shape) -> AppResult<Sql> {
        self.write(p, shape, &self.resolve(db, p).await?)
    }

    /// The clause confined to the cases of the open tasks of the caller's unit (its inbox), or
    /// of `p`'s scope for a caller of no unit. The open tasks lead to their cases through
    /// `case_tasks_department`, which holds their ids: as many as the unit has open, where
    /// testing each case of the history would read them all. They stand for the unit's scope,
    /// whose test of each case (4,205 probes for one unit's inbox at 990,188 cases) would add
    /// nothing.
    pub async fn to_sql_in_own_open_tasks(&self, db: &Db, p: &Principal) -> AppResult<Sql> {
        let mut resolved = self.resolve(db, p).await?;
        let Some(unit) = p.scope.department_id else {
            return self.write(p, Shape::Page, &resolved);
        };
        resolved.scope_implied = true;
        let mut sql = self.write(p, Shape::Page, &resolved)?;
        sql.push(" AND cases.id IN (SELECT o.case_id FROM case_tasks o WHERE o.department_id = ")
            .bind(unit)
            .push(" AND o.state IN ('dispatched', 'rectifying'))");
        Ok(sql)
    }

    /// The clause as a page's statements and as a count's, what it reads first read once for
    /// both.
    pub async fn to_sql_shapes(&self, db: &Db, p: &Principal) -> AppResult<Clauses> {
        let resolved = self.resolve(db, p).await?;
        // A unit's cases are counted from its tasks, unless the open states bound them better
        // (`write`).
        let by_unit = !self.only_work_in_hand()
            && (p.scope.department_id.is_some() || self.department_id.is_some());
        let (count, counted) = if by_unit {
            let mut count = self.write(p, Shape::Tasks, &resolved)?;
            // In the order of the unit's index, so that each case is told from the one before
            // (no hash of every case first) and the count stops at its bound.
            count.push(" ORDER BY ut.case_id");
            (count, TASKS_COUNTED)
        } else {
            (
                self.write(p, Shape::Count, &resolved)?,
                "SELECT 1 FROM cases",
            )
        };
        Ok(Clauses {
            page: self.write(p, Shape::Page, &resolved)?,
            count,
            counted,
            scans_text: resolved
                .words
                .iter()
                .any(|(_, narrowing)| narrowing.is_none()),
        })
    }

    /// What the clause reads from the database before it is written.
    async fn resolve(&self, db: &Db, p: &Principal) -> AppResult<Resolved> {
        let words = search_words(self.q.as_deref().unwrap_or_default());
        let narrowing = super::search::narrowing(db, &words).await?;
        Ok(Resolved {
            backend: db.backend,
            scope_implied: scope_holds_everything(db, p).await?,
            region: self.region_pattern(db).await?,
            words: words.into_iter().zip(narrowing).collect(),
        })
    }

    async fn region_pattern(&self, db: &Db) -> AppResult<Option<String>> {
        // The region's path is read first and bound as a value, not left to a subquery, so that
        // PostgreSQL, planning with the values, sees the pattern and how much of the city it
        // holds (a district's list took 48 ms at 399,168 cases with the subquery). An unknown
        // region binds an empty pattern, which no path matches: no cases, as before.
        Ok(match self.region_id {
            Some(r) => Some(
                sqlx::query("SELECT path FROM regions WHERE id = $1")
                    .bind(r)
                    .fetch_optional(&db.pool)
                    .await?
                    .map(|row| row.try_get::<String, _>(0))
                    .transpose()?
                    .map(|path| format!("{path}%"))
                    .unwrap_or_default(),
            ),
            None => None,
        })
    }

    /// The clause for `shape`.
    fn write(&self, p: &Principal, shape: Shape, resolved: &Resolved) -> AppResult<Sql> {
        let region = resolved.region.as_deref();
        // The cases of states a case leaves are the work in hand, bounded whatever the history
        // holds: their state index drives a count better than a unit's tasks of every day (a
        // unit's inbox counted its 99,552 tasks' cases for 4,205 open ones, 330 ms at 990,188
        // cases), so a unit's cases are then tested row by row.
        let unit_shape = if self.only_work_in_hand() {
            Shape::Page
        } else {
            shape
        };
        let mut sql = Sql::new(" WHERE 1 = 1");
        if !resolved.scope_implied {
            scope(p, &mut sql, unit_shape);
        }
        if let Some(s) = given(&self.state) {
            sql.push(" AND cases.state IN (");
            for (i, one) in s.split(',').map(str::trim).enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(one);
            }
            sql.push(")");
        }
        if self.mine == Some(true) {
            sql.push(" AND cases.reporter_account_id = ")
                .bind(p.account_id);
        }
        if let Some(c) = given(&self.category) {
            sql.push(" AND cases.category = ").bind(c);
        }
        if let Some(c) = given(&self.source) {
            sql.push(" AND cases.source = ").bind(c);
        }
        if let Some(path) = region {
            if shape == Shape::Count && self.region_is_the_only_filter() {
                // Counted alone, a region starts from its compounds' entries in the compound
                // index: tested row by row, a district of 4 % of the cases had its count to
                // 1,000 walk the whole index (60–68 ms at 399,168 cases; 6 ms so). With another
                // filter the row-by-row test stays, lest the compound index be taken over that
                // filter's own.
                sql.push(
                    " AND cases.compound_id IN (SELECT rc.id FROM regions rc WHERE rc.path LIKE ",
                )
                .bind(path)
                .push(")");
            } else {
                region_cases(&mut sql, "fr", |sql| {
                    sql.bind(path);
                });
            }
        }
        if let Some(c) = self.compound_id {
            sql.push(" AND cases.compound_id = ").bind(c);
        }
        // A unit's own scope already holds its cases; another unit's are tested row by row, so
        // that one list of cases drives the statement, not two.
        match (self.department_id, p.scope.department_id) {
            (Some(d), Some(own)) if d == own => {}
            (Some(d), Some(_)) => unit_cases(&mut sql, Shape::Page, "ft", d),
            (Some(d), None) => unit_cases(&mut sql, unit_shape, "ft", d),
            (None, _) => {}
        }
        if self.overdue == Some(true) {
            sql.push(" AND cases.due_at < ").bind(now_ms());
        }
        for (field, day, end) in [("from", &self.from, false), ("to", &self.to, true)] {
            if let Some(d) = given(day) {
                let start = crate::time::beijing_day_start(field, d)?;
                if end {
                    sql.push(" AND cases.reported_at < ")
                        .bind(start + 86_400_000);
                } else {
                    sql.push(" AND cases.reported_at >= ").bind(start);
                }
            }
        }
        // Each word (split on spaces, full-width ones too) must appear in the description, the
        // address or a note of the timeline; Latin letters match in either case on both
        // backends. Substrings suit Chinese, which has no spaces between words to index.
        for (word, narrowing) in &resolved.words {
            if let Some(tokens) = narrowing {
                super::search::narrow(&mut sql, resolved.backend, tokens);
            }
            let like = like_pattern("%", word, "%");
            // LOWER on both sides, so that both backends fold the same letters (SQLite only
            // ASCII ones): full-width Ｂ栋 still finds Ｂ栋.
            sql.push(" AND (LOWER(cases.description) LIKE LOWER(")
                .bind(like.clone())
                .push(")")
                .push(LIKE_ESCAPE)
                .push(" OR LOWER(cases.address) LIKE LOWER(")
                .bind(like.clone())
                .push(")")
                .push(LIKE_ESCAPE)
                .push(" OR EXISTS (SELECT 1 FROM case_events se WHERE se.case_id = cases.id AND LOWER(se.note) LIKE LOWER(")
                .bind(like)
                .push(")")
                .push(LIKE_ESCAPE)
                // An OFFSET keeps PostgreSQL from turning the EXISTS into a hash of every
                // matching note, built by reading the whole timeline before the first case
                // (1.4 s a page at 399,168 cases); each case's notes are read in turn instead,
                // until the page is full (3.6 ms).
                .push(" LIMIT 1 OFFSET 0))");
        }
        Ok(sql)
    }
}

/// A filter's clause for a page's statements, and its bounded count.
pub struct Clauses {
    pub page: Sql,
    /// The clause of the count (it may end in an ORDER BY).
    count: Sql,
    /// What `count` is a clause of: `SELECT … FROM …`.
    counted: &'static str,
    /// A search word is matched by reading the texts of every case in turn (it is common, or one
    /// character), not narrowed through the index.
    pub scans_text: bool,
}

impl Clauses {
    /// How many cases the clause selects, counted up to `cap`.
    pub fn counted(&self, cap: i64) -> BoundedCount {
        BoundedCount::of(self.counted, &self.count, cap)
    }
}

/// What a filter's clause needs from the database: the region's subtree as its LIKE pattern,
/// and each search word with the index's tokens to narrow by where it is rare.
struct Resolved {
    backend: Backend,
    /// The caller's scope tests nothing here: it holds every compound, or the statement
    /// confines the cases more narrowly itself.
    scope_implied: bool,
    region: Option<String>,
    words: Vec<(String, Option<String>)>,
}

/// The words of a search; at most eight.
fn search_words(q: &str) -> Vec<String> {
    // Unicode whitespace takes in the full-width space of Chinese input methods.
    q.split(char::is_whitespace)
        .map(str::to_string)
        .filter(|w| !w.is_empty())
        .take(8)
        .collect()
}

/// The cases matching `f` in the caller's scope: overdue ones first (the earliest deadline
/// first), then the newest. Each part is read in its index's order and only as far as the page
/// reaches, and the total is counted up to `COUNT_CAP`, so a page costs what it shows whatever
/// the table holds.
pub async fn list(db: &Db, p: &Principal, f: &CaseFilter) -> AppResult<ListPage<Case>> {
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let (limit, offset) = (paging.limit(), paging.offset());
    // Saturating: an offset near i64::MAX is a request for an empty page, not an overflow.
    let sql = ListSql::new(db, p, f, now_ms(), offset.saturating_add(limit)).await?;
    let (total, total_capped) = sql.total.run(db).await?;
    // The overdue cases up to this page's end: all of them when fewer.
    let (late, _) = sql.overdue_total.run(db).await?;
    let [overdue, rest] = sql.parts;
    let mut items = Vec::new();
    for (part, skip, take) in [
        (overdue, offset.min(late), (late - offset).clamp(0, limit)),
        (
            rest,
            (offset - late).max(0),
            limit - (late - offset).clamp(0, limit),
        ),
    ] {
        if take == 0 {
            continue;
        }
        let mut q = part;
        q.push(" LIMIT ").bind(take).push(" OFFSET ").bind(skip);
        for r in q
            .query()
            .persistent(crate::db::prepared(db.backend))
            .fetch_all(&db.pool)
            .await?
        {
            items.push(from_row(&r)?);
        }
    }
    Ok(ListPage {
        items,
        total,
        total_capped,
        limit,
        offset,
    })
}

/// The statements of the case list, public so that tests can read their plans.
pub struct ListSql {
    /// How many cases match, up to `COUNT_CAP` (a search that scans: up to the page's end).
    pub total: BoundedCount,
    /// How many of them are overdue, up to the page's end.
    pub overdue_total: BoundedCount,
    /// The overdue cases by deadline, then the rest newest first (`ordered_parts`), without
    /// their LIMIT.
    pub parts: [Sql; 2],
}

impl ListSql {
    /// For `f` as `p` sees it at `now_ms` on `backend`, for a page ending `end` rows in.
    pub async fn new(
        db: &Db,
        p: &Principal,
        f: &CaseFilter,
        now_ms: i64,
        end: i64,
    ) -> AppResult<ListSql> {
        let backend = db.backend;
        let clauses = f.to_sql_shapes(db, p).await?;
        // A search that reads the texts case by case is counted only as far as the page reaches
        // ("50+", more pages follow): a common word's count to 1,000 read ten cases and their
        // notes for each match, ten times the page's own reading (141 ms on SQLite, 338 ms on
        // PostgreSQL for 蔬菜 at 990,188 cases).
        let cap = if clauses.scans_text {
            end.min(COUNT_CAP)
        } else {
            COUNT_CAP
        };
        let page = &clauses.page;
        Ok(ListSql {
            total: clauses.counted(cap),
            // The overdue cases are open ones, read through the deadline index and tested row by
            // row (the page's clause), not counted from a unit's tasks of every day.
            overdue_total: BoundedCount::new(
                overdue_from(backend),
                &page.with_text(&format!("{}{}", page.text(), overdue_clause(now_ms))),
                end,
            ),
            parts: ordered_parts(page, COLUMNS, "", now_ms, backend),
        })
    }
}

/// The condition of the list's first part: an open task past its deadline at `now_ms`.
fn overdue_clause(now_ms: i64) -> String {
    format!(" AND cases.due_at < {now_ms}")
}

/// `cases` for the statements of the overdue part. Only open cases have a deadline, so the
/// deadline index bounds them by the work in hand; SQLite's planner, without statistics, would
/// rather walk a filter's index through every case of a category or a compound looking for the
/// few overdue ones (210 ms at 516,526 cases), so it is told (`INDEXED BY`). PostgreSQL weighs
/// both with its statistics.
fn overdue_from(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "cases INDEXED BY cases_due",
        Backend::Postgres => "cases",
    }
}

/// `SELECT columns FROM cases joins` with `filter`, as the list's two parts in the list's order
/// as of `now_ms`: the overdue cases by deadline, then the others newest first. Each is ordered
/// by an index (`cases_due`, the primary key or a filter's own), where one ORDER BY over both
/// would sort every match. Shared with the xlsx export, which lists the same rows in the same
/// order.
pub(super) fn ordered_parts(
    filter: &Sql,
    columns: &str,
    joins: &str,
    now_ms: i64,
    backend: Backend,
) -> [Sql; 2] {
    [
        filter.with_text(&format!(
            "SELECT {columns} FROM {}{joins}{}{} ORDER BY cases.due_at, cases.id DESC",
            overdue_from(backend),
            filter.text(),
            overdue_clause(now_ms)
        )),
        filter.with_text(&format!(
            "SELECT {columns} FROM cases{joins}{} AND (cases.due_at IS NULL OR cases.due_at >= {now_ms}) ORDER BY cases.id DESC",
            filter.text()
        )),
    ]
}

/// One case with its units' tasks and its timeline, as the caller may see it.
pub async fn detail(db: &Db, p: &Principal, id: i64) -> AppResult<CaseDetail> {
    let case = get_scoped(db, p, id).await?;
    Ok(CaseDetail {
        case,
        tasks: tasks::for_case(db, id, now_ms()).await?,
        files: files::for_case(db, id).await?,
        timeline: timeline(db, id).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::search_words;

    #[test]
    fn a_search_is_split_into_words_that_keep_their_characters() {
        assert_eq!(
            search_words(" 3号楼\u{3000}蔬菜  KN95 50%_ \\ "),
            ["3号楼", "蔬菜", "KN95", "50%_", "\\"]
        );
        assert!(search_words(" \u{3000} ").is_empty());
        assert_eq!(search_words("a b c d e f g h i j").len(), 8);
    }
}
