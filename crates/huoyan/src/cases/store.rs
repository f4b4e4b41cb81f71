//! The only code that writes the case tables (`cases`, `case_tasks`, `case_events`,
//! `case_files`, `file_blobs`): it loads a case and its tasks inside a change for the core to
//! decide on, and writes back exactly what the core decided — the changed columns of the case and
//! of each task, the new tasks, the timeline entries, the notices and the audit event — with the
//! files each step came with. New reports are inserted here too, one at a time or many to a
//! statement for the intake's group commit.

use huoyan_core::cases::figures::CaseRecord;
use huoyan_core::cases::step::{CaseNow, Entry, Outcome, TaskNow};
use huoyan_core::cases::{CaseState, Category, Priority, Share, Task, TaskState};
use sqlx::Row;

use super::figures::tallies;
use super::files::Upload;
use super::intake::Filing;
use crate::audit::{Change, Columns};
use crate::db::{Arg, Float8};
use crate::error::AppResult;

const CASE: &str = "SELECT id, state, category, priority, reporter_account_id, department_id, due_at, \
     merged_into, updated_at FROM cases WHERE id = $1";

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: i64,
    #[sqlx(try_from = "String")]
    state: CaseState,
    #[sqlx(try_from = "String")]
    category: Category,
    #[sqlx(try_from = "String")]
    priority: Priority,
    reporter_account_id: i64,
    department_id: Option<i64>,
    due_at: Option<i64>,
    merged_into: Option<i64>,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    department_id: i64,
    #[sqlx(try_from = "String")]
    share: Share,
    #[sqlx(try_from = "String")]
    state: TaskState,
    instruction: String,
    dispatched_at: i64,
    due_at: i64,
    accepted_at: Option<i64>,
    done_at: Option<i64>,
    extension_until: Option<i64>,
    extensions: i64,
    reworks: i64,
    urges: i64,
    escalated_at: Option<i64>,
}

impl From<CaseRow> for CaseNow {
    fn from(r: CaseRow) -> CaseNow {
        CaseNow {
            id: r.id,
            state: r.state,
            category: r.category,
            priority: r.priority,
            reporter: r.reporter_account_id,
            department_id: r.department_id,
            due_at: r.due_at,
            merged_into: r.merged_into,
            updated_at: r.updated_at,
        }
    }
}

impl From<TaskRow> for TaskNow {
    fn from(r: TaskRow) -> TaskNow {
        TaskNow {
            id: Some(r.id),
            task: Task {
                department_id: r.department_id,
                share: r.share,
                state: r.state,
            },
            instruction: r.instruction,
            dispatched_at: r.dispatched_at,
            due_at: r.due_at,
            accepted_at: r.accepted_at,
            done_at: r.done_at,
            extension_until: r.extension_until,
            extensions: r.extensions,
            reworks: r.reworks,
            urges: r.urges,
            escalated_at: r.escalated_at,
        }
    }
}

/// What a step may change on a case.
pub(super) struct CaseColumns<'a>(pub &'a CaseNow);

impl Columns for CaseColumns<'_> {
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        let c = self.0;
        vec![
            ("state", c.state.code().into()),
            ("category", c.category.code().into()),
            ("priority", c.priority.code().into()),
            ("department_id", c.department_id.into()),
            ("due_at", c.due_at.into()),
            ("merged_into", c.merged_into.into()),
            ("updated_at", c.updated_at.into()),
        ]
    }
}

/// What a step may change on a task.
pub(super) struct TaskColumns<'a>(pub &'a TaskNow);

impl Columns for TaskColumns<'_> {
    fn columns(&self) -> Vec<(&'static str, Arg)> {
        let t = self.0;
        vec![
            ("state", t.task.state.code().into()),
            ("due_at", t.due_at.into()),
            ("accepted_at", t.accepted_at.into()),
            ("done_at", t.done_at.into()),
            ("extension_until", t.extension_until.into()),
            ("extensions", t.extensions.into()),
            ("reworks", t.reworks.into()),
            ("urges", t.urges.into()),
            ("escalated_at", t.escalated_at.into()),
        ]
    }
}

/// Case `id` and its tasks in dispatch order, as this change sees them.
pub async fn load(change: &mut Change, id: i64) -> AppResult<Option<(CaseNow, Vec<TaskNow>)>> {
    let Some(row) = change.fetch::<CaseRow>(CASE, id).await? else {
        return Ok(None);
    };
    let tasks = sqlx::query_as::<_, TaskRow>(
        "SELECT id, department_id, share, state, instruction, dispatched_at, due_at, accepted_at, done_at, \
         extension_until, extensions, reworks, urges, escalated_at FROM case_tasks WHERE case_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *change.tx)
    .await?
    .into_iter()
    .map(TaskNow::from)
    .collect();
    Ok(Some((row.into(), tasks)))
}

/// Where a step was taken, when the actor gave it (the verifier's finding on the spot).
pub type Place = Option<(f64, f64)>;

/// Writes what the core decided for `before` and its `tasks`: changed columns, new tasks, the
/// timeline (the case's own entry at `place`), the reports following a merge, the notices and
/// one audit event `action` for the case. `summary` is the event's account of the step. Returns
/// the id of the case's own entry, which the step's files belong to.
pub async fn apply(
    change: &mut Change,
    before: &CaseNow,
    tasks: &[TaskNow],
    outcome: &Outcome,
    place: Place,
    summary: &serde_json::Value,
) -> AppResult<i64> {
    let clock = tallies::Clock::of(change, before.id).await?;
    let after = &outcome.case;
    write_changed(
        change,
        "cases",
        before.id,
        &CaseColumns(before),
        &CaseColumns(after),
    )
    .await?;
    for t in &outcome.tasks {
        match t.id {
            Some(id) => {
                let was = tasks.iter().find(|b| b.id == Some(id)).ok_or_else(|| {
                    anyhow::anyhow!(
                        "the step returned task {id}, which case {} lacks",
                        before.id
                    )
                })?;
                write_changed(change, "case_tasks", id, &TaskColumns(was), &TaskColumns(t)).await?;
            }
            None => insert_task(change, before.id, t).await?,
        }
    }
    if let Some(into) = after.merged_into.filter(|_| !outcome.redirected.is_empty()) {
        for id in &outcome.redirected {
            sqlx::query("UPDATE cases SET merged_into = $1 WHERE id = $2")
                .bind(into)
                .bind(id)
                .execute(&mut *change.tx)
                .await?;
        }
    }
    let mut own = None;
    for (i, e) in outcome.entries.iter().enumerate() {
        if e.case_id == before.id && i == 0 {
            own = Some(insert_entry(change, e, place, None).await?);
        } else {
            insert_entry(change, e, None, None).await?;
        }
    }
    let own =
        own.ok_or_else(|| anyhow::anyhow!("the step wrote no entry on case {}", before.id))?;
    for (notice, to) in &outcome.notices {
        crate::notifications::tell(change, notice, to).await?;
    }
    let was = tallies::record_of(before, tasks, clock);
    let is = tallies::record_of(
        after,
        &outcome.tasks,
        clock.after(&outcome.entries, before.id, change.at_ms()),
    );
    tallies::shift(change, &[was], &[is]).await?;
    let action = outcome.entries.first().map_or("update", |e| e.action);
    change.record("case", before.id, action, summary).await?;
    Ok(own)
}

/// Updates the columns of row `id` that differ (the audit event is the step's own, written once
/// by `apply`).
async fn write_changed(
    change: &mut Change,
    table: &str,
    id: i64,
    before: &impl Columns,
    after: &impl Columns,
) -> AppResult<()> {
    let changed = crate::audit::diff(before, after);
    if changed.is_empty() {
        return Ok(());
    }
    let mut sql = crate::db::Sql::new(&format!("UPDATE {table} SET "));
    for (i, (column, _, value)) in changed.into_iter().enumerate() {
        sql.push(if i == 0 { "" } else { ", " })
            .push(&format!("{column} = "))
            .bind(value);
    }
    sql.push(" WHERE id = ").bind(id);
    sql.query().execute(&mut *change.tx).await?;
    Ok(())
}

/// A new task of case `case_id`, with the case's category and time of report (which the
/// figures' count of open tasks reads from the task).
async fn insert_task(change: &mut Change, case_id: i64, t: &TaskNow) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO case_tasks (case_id, department_id, share, state, instruction, dispatched_at, due_at, category, reported_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, c.category, c.reported_at FROM cases c WHERE c.id = $1",
    )
    .bind(case_id)
    .bind(t.task.department_id)
    .bind(t.task.share.code())
    .bind(t.task.state.code())
    .bind(&t.instruction)
    .bind(t.dispatched_at)
    .bind(t.due_at)
    .execute(&mut *change.tx)
    .await?;
    Ok(())
}

/// A new task's case: its id, category and time of report.
pub(super) type TaskCase<'a> = (&'a CaseNow, i64);

/// Tasks of a case as they stand, whole rows under their ids (`cases::bulk`).
pub(super) async fn insert_tasks(
    change: &mut Change,
    tasks: &[(TaskCase<'_>, &TaskNow)],
) -> AppResult<()> {
    let Some((_, first)) = tasks.first() else {
        return Ok(());
    };
    let mut columns = vec![
        "id",
        "case_id",
        "department_id",
        "share",
        "instruction",
        "dispatched_at",
        "category",
        "reported_at",
    ];
    columns.extend(TaskColumns(first).columns().iter().map(|(c, _)| *c));
    let rows: Vec<Vec<Arg>> = tasks
        .iter()
        .map(|&((case, reported_at), t)| {
            let mut row = vec![
                Arg::from(t.id),
                Arg::from(case.id),
                Arg::from(t.task.department_id),
                Arg::from(t.task.share.code()),
                Arg::from(t.instruction.as_str()),
                Arg::from(t.dispatched_at),
                Arg::from(case.category.code()),
                Arg::from(reported_at),
            ];
            row.extend(TaskColumns(t).columns().into_iter().map(|(_, v)| v));
            row
        })
        .collect();
    change.insert_rows("case_tasks", &columns, &rows).await
}

/// Cases as they stand now, every column a step may change, set by id (`cases::bulk`).
pub(super) async fn update_cases(change: &mut Change, cases: &[&CaseNow]) -> AppResult<()> {
    let Some(first) = cases.first() else {
        return Ok(());
    };
    let mut columns = vec!["id"];
    columns.extend(CaseColumns(first).columns().iter().map(|(c, _)| *c));
    let rows: Vec<Vec<Arg>> = cases
        .iter()
        .map(|c| {
            let mut row = vec![Arg::from(c.id)];
            row.extend(CaseColumns(c).columns().into_iter().map(|(_, v)| v));
            row
        })
        .collect();
    change.update_rows("cases", &columns, &rows).await
}

/// Writes a timeline entry, indexed for search with the report's `address`; returns its id.
async fn insert_entry(
    change: &mut Change,
    e: &Entry,
    place: Place,
    address: Option<&str>,
) -> AppResult<i64> {
    let row = sqlx::query(
        "INSERT INTO case_events (case_id, at, actor_account_id, action, from_state, to_state, note, department_id, lon, lat) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(e.case_id)
    .bind(change.at_ms())
    .bind(change.actor().id)
    .bind(e.action)
    .bind(e.from.map(CaseState::code))
    .bind(e.to.code())
    .bind(&e.note)
    .bind(e.department_id)
    .bind(Float8(place.map(|p| p.0)))
    .bind(Float8(place.map(|p| p.1)))
    .fetch_one(&mut *change.tx)
    .await?;
    let id = row.try_get(0)?;
    let text = super::search::entry_text(Some(&e.note), address);
    super::search::index(change, &[(id, e.case_id, text)]).await?;
    Ok(id)
}

/// The columns of a timeline entry, in `entry_row`'s order (`insert_entry`'s, with the id).
pub(super) const TIMELINE_COLUMNS: [&str; 11] = [
    "id",
    "case_id",
    "at",
    "actor_account_id",
    "action",
    "from_state",
    "to_state",
    "note",
    "department_id",
    "lon",
    "lat",
];

/// Entry `e` as the row `id` of the timeline, written at `at` by `actor` at `place`.
pub(super) fn entry_row(id: i64, e: &Entry, at: i64, actor: Option<i64>, place: Place) -> Vec<Arg> {
    vec![
        Arg::from(id),
        Arg::from(e.case_id),
        Arg::from(at),
        Arg::from(actor),
        Arg::from(e.action),
        Arg::from(e.from.map(|s| s.code().to_string())),
        Arg::from(e.to.code()),
        Arg::from(e.note.as_str()),
        Arg::from(e.department_id),
        Arg::from(place.map(|p| p.0)),
        Arg::from(place.map(|p| p.1)),
    ]
}

/// The timeline of case `id` as the choice of a file's step reads it: (id, action, actor).
pub async fn entries(change: &mut Change, id: i64) -> AppResult<Vec<(i64, String, Option<i64>)>> {
    Ok(sqlx::query_as(
        "SELECT id, action, actor_account_id FROM case_events WHERE case_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *change.tx)
    .await?)
}

/// Stores checked uploads as files of case `case` that came with its timeline entry `entry`
/// (the report, a fix…): each content once, each file once per entry. Returns the files' ids.
pub async fn attach(
    change: &mut Change,
    case: i64,
    entry: i64,
    uploads: &[Upload],
) -> AppResult<Vec<i64>> {
    let mut ids = Vec::new();
    for u in uploads {
        let already = sqlx::query("SELECT id FROM case_files WHERE entry_id = $1 AND sha256 = $2")
            .bind(entry)
            .bind(&u.sha256)
            .fetch_optional(&mut *change.tx)
            .await?;
        ids.push(match already {
            Some(r) => r.try_get(0)?,
            None => store_file(change, case, entry, u).await?,
        });
    }
    Ok(ids)
}

/// Stores uploads added to case `case` in `state` on their own: one `attach` entry naming the new
/// files, which belong to entry `joins` (the step they join), or to that `attach` entry itself.
/// A content already on the case is not added again (a phone resending after a lost answer must
/// not list the same photo twice). Returns the files' ids, new or already there.
pub async fn attach_later(
    change: &mut Change,
    case: i64,
    state: CaseState,
    joins: Option<i64>,
    uploads: &[Upload],
) -> AppResult<Vec<i64>> {
    let mut ids: Vec<Option<i64>> = Vec::new();
    for u in uploads {
        let already = sqlx::query("SELECT id FROM case_files WHERE case_id = $1 AND sha256 = $2")
            .bind(case)
            .bind(&u.sha256)
            .fetch_optional(&mut *change.tx)
            .await?;
        ids.push(already.map(|r| r.try_get(0)).transpose()?);
    }
    let mut fresh: Vec<&Upload> = Vec::new();
    for (u, id) in uploads.iter().zip(&ids) {
        if id.is_none() && !fresh.iter().any(|f| f.sha256 == u.sha256) {
            fresh.push(u);
        }
    }
    if fresh.is_empty() {
        return Ok(ids.into_iter().flatten().collect());
    }
    let names: Vec<&str> = fresh.iter().map(|u| u.name.as_str()).collect();
    let entry = Entry {
        case_id: case,
        action: "attach",
        from: Some(state),
        to: state,
        note: names.join("、"),
        department_id: None,
    };
    let attached = insert_entry(change, &entry, None, None).await?;
    let mut stored = Vec::new();
    for u in fresh {
        stored.push((
            &u.sha256,
            store_file(change, case, joins.unwrap_or(attached), u).await?,
        ));
    }
    Ok(uploads
        .iter()
        .zip(ids)
        .map(|(u, id)| {
            id.or_else(|| {
                stored
                    .iter()
                    .find(|(h, _)| **h == u.sha256)
                    .map(|(_, id)| *id)
            })
            .expect("every upload is on the case or stored now")
        })
        .collect())
}

/// Stores one upload's content (once per content) and its file on `entry`, with its audit event;
/// returns the file's id.
async fn store_file(change: &mut Change, case: i64, entry: i64, u: &Upload) -> AppResult<i64> {
    let known = sqlx::query("SELECT 1 FROM file_blobs WHERE sha256 = $1")
        .bind(&u.sha256)
        .fetch_optional(&mut *change.tx)
        .await?
        .is_some();
    if !known {
        sqlx::query("INSERT INTO file_blobs (sha256, content) VALUES ($1, $2)")
            .bind(&u.sha256)
            .bind(u.read().await?)
            .execute(&mut *change.tx)
            .await?;
    }
    let id: i64 = sqlx::query(
        "INSERT INTO case_files (case_id, entry_id, name, media_type, size, sha256, uploaded_by, uploaded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(case)
    .bind(entry)
    .bind(&u.name)
    .bind(u.media_type)
    .bind(u.size as i64)
    .bind(&u.sha256)
    .bind(change.actor().id)
    .bind(change.at_ms())
    .fetch_one(&mut *change.tx)
    .await?
    .try_get(0)?;
    change
        .record("case", case, "attach", &file_summary(id, entry, u))
        .await?;
    Ok(id)
}

/// The columns of a file, in `file_row`'s order (`store_file`'s, with the id).
pub(super) const FILE_COLUMNS: [&str; 9] = [
    "id",
    "case_id",
    "entry_id",
    "name",
    "media_type",
    "size",
    "sha256",
    "uploaded_by",
    "uploaded_at",
];

/// Upload `u` as the file row `id` of case and entry `(case, entry)`, uploaded by `by` at `at`.
pub(super) fn file_row(
    id: i64,
    (case, entry): (i64, i64),
    u: &Upload,
    by: Option<i64>,
    at: i64,
) -> Vec<Arg> {
    vec![
        Arg::from(id),
        Arg::from(case),
        Arg::from(entry),
        Arg::from(u.name.as_str()),
        Arg::from(u.media_type),
        Arg::from(u.size as i64),
        Arg::from(u.sha256.as_str()),
        Arg::from(by),
        Arg::from(at),
    ]
}

/// The audit event's account of file `id` stored on `entry`.
pub(super) fn file_summary(id: i64, entry: i64, u: &Upload) -> serde_json::Value {
    serde_json::json!({"file": id, "entry": entry, "name": u.name, "sha256": u.sha256, "size": u.size})
}

/// The columns of a new report, in `insert_reports`' order.
const REPORT_COLUMNS: [&str; 15] = [
    "id",
    "kind",
    "source",
    "category",
    "priority",
    "state",
    "compound_id",
    "lon",
    "lat",
    "address",
    "description",
    "reporter_account_id",
    "reported_at",
    "updated_at",
    "idempotency_key",
];

/// A report to insert: its filing, its case's and report entry's ids, and its time.
pub struct NewReport<'a> {
    pub filing: &'a Filing,
    pub id: i64,
    pub entry: i64,
    pub at: i64,
}

/// One `cases` row and its first timeline entry for each report, in a few multi-row INSERTs (the
/// intake's group commit, the demo's batched replay; the audit events are the caller's).
pub async fn insert_reports(change: &mut Change, reports: &[NewReport<'_>]) -> AppResult<()> {
    let (mut cases, mut timeline, mut texts) = (Vec::new(), Vec::new(), Vec::new());
    for r in reports {
        let f = r.filing;
        cases.push(report_row(f, r.id, r.at));
        texts.push((
            r.entry,
            r.id,
            super::search::entry_text(Some(&f.description), Some(&f.address)),
        ));
        let entry = report_entry(r.id, f);
        timeline.push(entry_row(r.entry, &entry, r.at, Some(f.account_id), None));
    }
    change.insert_rows("cases", &REPORT_COLUMNS, &cases).await?;
    change
        .insert_rows("case_events", &TIMELINE_COLUMNS, &timeline)
        .await?;
    super::search::index(change, &texts).await?;
    let records: Vec<tallies::Record> = reports
        .iter()
        .map(|r| new_report(r.filing, r.id, r.at))
        .collect();
    tallies::shift(change, &[], &records).await
}

/// The first entry of the timeline of case `id`, filed as `f`.
fn report_entry(id: i64, f: &Filing) -> Entry {
    Entry {
        case_id: id,
        action: "report",
        from: None,
        to: CaseState::Reported,
        note: f.description.clone(),
        department_id: None,
    }
}

/// A new report as the figures count it.
pub(super) fn new_report(f: &Filing, id: i64, at: i64) -> tallies::Record {
    let case = CaseRecord {
        id,
        category: f.category.code().to_string(),
        state: CaseState::Reported,
        reported_at: at,
        first_dispatched_at: None,
        last_rectified_at: None,
        verified_at: None,
    };
    (case, Vec::new())
}

fn report_row(f: &Filing, id: i64, at: i64) -> Vec<Arg> {
    vec![
        Arg::from(id),
        Arg::from(f.kind.code()),
        Arg::from(f.source.code()),
        Arg::from(f.category.code()),
        Arg::from(f.priority.code()),
        Arg::from(CaseState::Reported.code()),
        Arg::from(f.compound_id),
        Arg::from(f.lon),
        Arg::from(f.lat),
        Arg::from(f.address.as_str()),
        Arg::from(f.description.as_str()),
        Arg::from(f.account_id),
        Arg::from(at),
        Arg::from(at),
        Arg::from(f.key.clone()),
    ]
}

/// One new report in this change with its first timeline entry; returns their ids.
pub async fn insert_report(change: &mut Change, f: &Filing) -> AppResult<(i64, i64)> {
    let at = change.at_ms();
    let id: i64 = sqlx::query(
        "INSERT INTO cases (kind, source, category, priority, state, compound_id, lon, lat, address, description, reporter_account_id, \
         reported_at, updated_at, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) RETURNING id",
    )
    .bind(f.kind.code())
    .bind(f.source.code())
    .bind(f.category.code())
    .bind(f.priority.code())
    .bind(CaseState::Reported.code())
    .bind(f.compound_id)
    .bind(Float8(f.lon))
    .bind(Float8(f.lat))
    .bind(&f.address)
    .bind(&f.description)
    .bind(f.account_id)
    .bind(at)
    .bind(f.key.as_deref())
    .fetch_one(&mut *change.tx)
    .await?
    .try_get(0)?;
    let entry = insert_entry(change, &report_entry(id, f), None, Some(&f.address)).await?;
    tallies::shift(change, &[], &[new_report(f, id, at)]).await?;
    Ok((id, entry))
}
