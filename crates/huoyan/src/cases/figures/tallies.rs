//! The running tallies of the figures (`huoyan_core::cases::figures::tally`) in the table
//! `case_figure_tallies`, one row per Beijing day of report, category and unit (0: every unit):
//! kept by the write path — `store` moves a case's contribution whenever a step or a report
//! changes it, inside the same change — and read for the figures in time that grows with the
//! days asked for, not with the cases.
//!
//! A database that held cases before the tallies existed has them built once, when the server
//! starts (`build`); until then the figures are read from the history.

use std::collections::{BTreeMap, HashMap};

use huoyan_core::cases::CaseState;
use huoyan_core::cases::figures::tally::{ALL_UNITS, OpenOverdue, Tally, contribution};
use huoyan_core::cases::figures::{CaseRecord, Figures, RankRule, TaskRecord};
use huoyan_core::cases::step::{CaseNow, Entry, TaskNow};
use sqlx::Row;

use super::{CaseFilter, case_record, cases_sql, records, task_record, tasks_sql};
use crate::audit::Change;
use crate::auth::Principal;
use crate::db::{Backend, Db, Sql};
use crate::error::AppResult;

const DAY: i64 = 86_400_000;
const BEIJING: i64 = 8 * 3_600_000;

/// The Beijing day (days since 1970-01-01) of an instant: the day a report counts under.
fn day_of(ms: i64) -> i64 {
    (ms + BEIJING).div_euclid(DAY)
}

/// A tally's key: (day, category, unit).
type Key = (i64, String, i64);

/// A case as the figures see it, with its tasks.
pub type Record = (CaseRecord, Vec<TaskRecord>);

/// A case's time of report and the times its timeline gives (`cases_sql`'s definitions).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    reported_at: i64,
    first_dispatched_at: Option<i64>,
    last_rectified_at: Option<i64>,
    verified_at: Option<i64>,
}

impl Clock {
    /// Case `id`'s clock as this change sees it (read before a step writes).
    pub async fn of(change: &mut Change, id: i64) -> AppResult<Clock> {
        let mut filter = Sql::new(" WHERE cases.id = ");
        filter.bind(id);
        let row = cases_sql(&filter)
            .query()
            .fetch_one(&mut *change.tx)
            .await?;
        let c = case_record(&row)?;
        Ok(Clock {
            reported_at: c.reported_at,
            first_dispatched_at: c.first_dispatched_at,
            last_rectified_at: c.last_rectified_at,
            verified_at: c.verified_at,
        })
    }

    /// When the case was reported.
    pub fn reported_at(&self) -> i64 {
        self.reported_at
    }

    /// The clock of a case reported at `at`, before any other step.
    pub fn reported(at: i64) -> Clock {
        Clock {
            reported_at: at,
            first_dispatched_at: None,
            last_rectified_at: None,
            verified_at: None,
        }
    }

    /// The clock of case `id` once the timeline `entries` (all at `at`) are written.
    pub fn after(self, entries: &[Entry], id: i64, at: i64) -> Clock {
        let mut c = self;
        for e in entries.iter().filter(|e| e.case_id == id) {
            if e.action == "dispatch" && c.first_dispatched_at.is_none() {
                c.first_dispatched_at = Some(at);
            }
            if e.to == CaseState::Rectified && e.from.is_some_and(|f| f != CaseState::Rectified) {
                c.last_rectified_at = Some(at);
            }
            if e.to == CaseState::Verified
                && e.from == Some(CaseState::Rectified)
                && c.verified_at.is_none()
            {
                c.verified_at = Some(at);
            }
        }
        c
    }
}

/// A case and its tasks as a step sees them, with its clock, as the figures count them.
pub fn record_of(case: &CaseNow, tasks: &[TaskNow], clock: Clock) -> Record {
    let c = CaseRecord {
        id: case.id,
        category: case.category.code().to_string(),
        state: case.state,
        reported_at: clock.reported_at,
        first_dispatched_at: clock.first_dispatched_at,
        last_rectified_at: clock.last_rectified_at,
        verified_at: clock.verified_at,
    };
    let tasks = tasks
        .iter()
        .map(|t| TaskRecord {
            case_id: case.id,
            department_id: t.task.department_id,
            department: String::new(),
            state: t.task.state,
            dispatched_at: t.dispatched_at,
            due_at: t.due_at,
            done_at: t.done_at,
            extensions: t.extensions,
            reworks: t.reworks,
            urges: t.urges,
        })
        .collect();
    (c, tasks)
}

/// Adds `sign` times what each record contributes to `into`.
fn add(into: &mut BTreeMap<Key, Tally>, records: &[Record], sign: i64) {
    for (c, tasks) in records {
        for (unit, t) in contribution(c, tasks) {
            into.entry((day_of(c.reported_at), c.category.clone(), unit))
                .or_default()
                .merge(&t, sign);
        }
    }
}

/// Moves the contribution of a case from what it was (`before`; none for a new report) to what
/// it is (`after`).
pub async fn shift(change: &mut Change, before: &[Record], after: &[Record]) -> AppResult<()> {
    let mut delta = BTreeMap::new();
    add(&mut delta, before, -1);
    add(&mut delta, after, 1);
    write(change, delta).await
}

/// Adds each delta to its row. On PostgreSQL the row is made sure to exist and then locked
/// (`FOR UPDATE`), so that two changes never both insert it or lose each other's counts; SQLite
/// has one writer.
async fn write(change: &mut Change, delta: BTreeMap<Key, Tally>) -> AppResult<()> {
    let postgres = change.backend() == Backend::Postgres;
    for ((day, category, unit), d) in delta {
        if d.is_empty() {
            continue;
        }
        if postgres {
            sqlx::query(
                "INSERT INTO case_figure_tallies (day, category, department_id, tally) VALUES ($1, $2, $3, '{}') \
                 ON CONFLICT (day, category, department_id) DO NOTHING",
            )
            .bind(day)
            .bind(&category)
            .bind(unit)
            .execute(&mut *change.tx)
            .await?;
        }
        let stored: Option<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT tally FROM case_figure_tallies WHERE day = $1 AND category = $2 AND department_id = $3{}",
            if postgres { " FOR UPDATE" } else { "" }
        )))
        .bind(day)
        .bind(&category)
        .bind(unit)
        .fetch_optional(&mut *change.tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
        let mut t = stored
            .as_deref()
            .map(parse)
            .transpose()?
            .unwrap_or_default();
        t.merge(&d, 1);
        if t.is_empty() {
            sqlx::query(
                "DELETE FROM case_figure_tallies WHERE day = $1 AND category = $2 AND department_id = $3",
            )
            .bind(day)
            .bind(&category)
            .bind(unit)
            .execute(&mut *change.tx)
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO case_figure_tallies (day, category, department_id, tally) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (day, category, department_id) DO UPDATE SET tally = excluded.tally",
            )
            .bind(day)
            .bind(&category)
            .bind(unit)
            .bind(serde_json::to_string(&t).map_err(anyhow::Error::from)?)
            .execute(&mut *change.tx)
            .await?;
        }
    }
    Ok(())
}

fn parse(stored: &str) -> AppResult<Tally> {
    if stored == "{}" {
        return Ok(Tally::default());
    }
    Ok(serde_json::from_str(stored).map_err(anyhow::Error::from)?)
}

/// Whether the tallies hold every case.
async fn built(db: &Db) -> AppResult<bool> {
    Ok(sqlx::query("SELECT 1 FROM case_figure_tallies_built")
        .fetch_optional(&db.pool)
        .await?
        .is_some())
}

/// Cases read at a time while building.
const BUILD_BATCH: i64 = 20_000;

/// Builds the tallies from the history once, for a database that held cases before they existed;
/// returns how many cases were counted (none when they were built already).
pub async fn build(db: &Db) -> AppResult<Option<i64>> {
    if built(db).await? {
        return Ok(None);
    }
    let mut change = Change::begin(db, &crate::audit::Actor::system("figures")).await?;
    sqlx::query("DELETE FROM case_figure_tallies")
        .execute(&mut *change.tx)
        .await?;
    let last: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM cases")
        .fetch_one(&mut *change.tx)
        .await?
        .try_get(0)?;
    let (mut from, mut counted) = (0i64, 0i64);
    let mut all = BTreeMap::new();
    while from < last {
        let mut filter = Sql::new(" WHERE cases.id > ");
        filter
            .bind(from)
            .push(" AND cases.id <= ")
            .bind(from + BUILD_BATCH);
        let cases = records(
            &cases_sql(&filter)
                .query()
                .fetch_all(&mut *change.tx)
                .await?,
            case_record,
        )?;
        let tasks = records(
            &tasks_sql(&filter, &[])
                .query()
                .fetch_all(&mut *change.tx)
                .await?,
            task_record,
        )?;
        let mut of: HashMap<i64, Vec<TaskRecord>> = HashMap::new();
        for t in tasks {
            of.entry(t.case_id).or_default().push(t);
        }
        counted += cases.len() as i64;
        let batch: Vec<Record> = cases
            .into_iter()
            .map(|c| {
                let tasks = of.remove(&c.id).unwrap_or_default();
                (c, tasks)
            })
            .collect();
        add(&mut all, &batch, 1);
        from += BUILD_BATCH;
    }
    write(&mut change, all).await?;
    sqlx::query("INSERT INTO case_figure_tallies_built (built_at) VALUES ($1)")
        .bind(crate::time::now_ms())
        .execute(&mut *change.tx)
        .await?;
    change.commit().await?;
    Ok(Some(counted))
}

/// The open tasks past their deadline at `now_ms` by category and unit, of the cases reported
/// in the days from `from` to `to` (their starts), of `category` and of `unit`, where given:
/// read from the open tasks' index alone, as many as are open whatever the history holds (a task
/// carries its case's category and time of report). Public for the plans test.
pub fn open_overdue_sql(
    now_ms: i64,
    from: Option<i64>,
    to: Option<i64>,
    category: Option<&str>,
    unit: Option<i64>,
) -> Sql {
    let mut q = Sql::new(
        "SELECT t.category, t.department_id, COUNT(*) FROM case_tasks t \
         WHERE t.state IN ('dispatched', 'rectifying') AND t.due_at < ",
    );
    q.bind(now_ms);
    if let Some(start) = from {
        q.push(" AND t.reported_at >= ").bind(start);
    }
    if let Some(start) = to {
        q.push(" AND t.reported_at < ").bind(start + DAY);
    }
    if let Some(c) = category {
        q.push(" AND t.category = ").bind(c);
    }
    if let Some(d) = unit {
        q.push(" AND t.department_id = ").bind(d);
    }
    q.push(" GROUP BY t.category, t.department_id");
    q
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The figures of `f` as `p` may see them, from the tallies; `None` when the filter or the scope
/// asks for more than they keep (then the caller reads the history): only a period, a category
/// and one unit (the filter's or the caller's own), in a scope that holds every compound.
pub async fn read(
    db: &Db,
    p: &Principal,
    f: &CaseFilter,
    now_ms: i64,
    rule: RankRule,
) -> AppResult<Option<Figures>> {
    let other_filters = given(&f.state).is_some()
        || given(&f.source).is_some()
        || f.region_id.is_some()
        || f.compound_id.is_some()
        || f.overdue.is_some()
        || f.mine.is_some()
        || f.q.as_deref().is_some_and(|q| !q.trim().is_empty());
    let unit = match (p.scope.department_id, f.department_id) {
        (Some(a), Some(b)) if a != b => return Ok(None),
        (a, b) => a.or(b),
    };
    if other_filters || p.scope.team_id.is_some() || !built(db).await? {
        return Ok(None);
    }
    if let Some(path) = &p.scope_path
        && !crate::cases::views::holds_every_compound(db, path).await?
    {
        return Ok(None);
    }
    let from = given(&f.from)
        .map(|d| crate::time::beijing_day_start("from", d))
        .transpose()?;
    let to = given(&f.to)
        .map(|d| crate::time::beijing_day_start("to", d))
        .transpose()?;
    let category = given(&f.category);

    let mut q =
        Sql::new("SELECT category, department_id, tally FROM case_figure_tallies WHERE 1 = 1");
    if let Some(start) = from {
        q.push(" AND day >= ").bind(day_of(start));
    }
    if let Some(start) = to {
        q.push(" AND day <= ").bind(day_of(start));
    }
    if let Some(c) = category {
        q.push(" AND category = ").bind(c);
    }
    if let Some(d) = unit {
        q.push(" AND department_id = ").bind(d);
    }
    let (mut categories, mut units) = (BTreeMap::<String, Tally>::new(), BTreeMap::new());
    for r in q.query().fetch_all(&db.pool).await? {
        let (c, d): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
        let t = parse(&r.try_get::<String, _>(2)?)?;
        if d == unit.unwrap_or(ALL_UNITS) {
            categories.entry(c).or_default().merge(&t, 1);
        }
        if d != ALL_UNITS {
            units.entry(d).or_insert_with(Tally::default).merge(&t, 1);
        }
    }

    let q = open_overdue_sql(now_ms, from, to, category, unit);
    let open = q
        .query()
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(OpenOverdue {
                category: r.try_get(0)?,
                department_id: r.try_get(1)?,
                tasks: r.try_get(2)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;

    let names: HashMap<i64, String> = sqlx::query_as("SELECT id, name FROM departments")
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .collect();
    Ok(Some(huoyan_core::cases::figures::tally::figures_of(
        &categories,
        &units,
        &open,
        &names,
        rule,
    )))
}
