//! Writing the walked history through the application's own functions, in time order, at the
//! historical instants.

use super::*;

/// An instant as RFC 3339 with its milliseconds, so a replayed deadline is the walked one.
fn exact(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("scenario times are valid")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A walked step as the API takes it, with the ids the replay has given the cases so far.
fn request(p: &Planned, ids: &[i64]) -> anyhow::Result<crate::cases::TransitionRequest> {
    let note = resolve(&p.note, ids);
    let mut body = serde_json::json!({"action": p.action.code(), "note": note});
    let fields = match &p.step {
        Step::Plain | Step::Unit(_) => serde_json::json!({}),
        Step::Dispatch { lead, due, co } => serde_json::json!({
            "department_id": lead,
            "due_at": exact(*due),
            "co": co.iter().map(|(d, instruction, due)| serde_json::json!({
                "department_id": d, "instruction": instruction, "due_at": exact(*due),
            })).collect::<Vec<_>>(),
        }),
        Step::Extension { until, .. } => serde_json::json!({"until": exact(*until)}),
        Step::Answer(unit) => serde_json::json!({"department_id": unit}),
        Step::Rework(units) => serde_json::json!({"department_ids": units}),
        Step::Merge(target, ..) => serde_json::json!({"into_case_id": ids[*target]}),
    };
    body.as_object_mut()
        .expect("an object")
        .extend(fields.as_object().expect("an object").clone());
    Ok(serde_json::from_value(body)?)
}

/// How the history is written: step by step through the application's functions, or many rows
/// to a statement by `cases::bulk`, which decides with the same functions and writes the same
/// rows (a test compares them) fast enough for a million cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    Steps,
    Batched,
}

/// Writes the history by replaying it, in time order: reports through the intake, steps
/// through `cases::take`, the overdue job at each minute it escalated something, each at its
/// time and by its actor, all in one change (or the same through `cases::bulk`). Then the
/// notices are read, as they were soon after.
pub(super) async fn replay(
    db: &Db,
    w: &mut World,
    sims: &[Sim],
    how: Replay,
) -> anyhow::Result<()> {
    use crate::cases::intake::{Filing, file_in};
    enum Item<'a> {
        Report(usize),
        Step(usize, &'a Planned),
        Tick(usize),
    }
    let mut items: Vec<(i64, Item)> = Vec::new();
    for (i, s) in sims.iter().enumerate() {
        items.push((s.reported_at, Item::Report(i)));
        items.extend(s.planned.iter().map(|p| (p.at, Item::Step(i, p))));
        items.extend(s.ticks.iter().map(|&t| (t, Item::Tick(i))));
    }
    // Stable: a case's report and steps keep their order when two fall in one millisecond.
    items.sort_by_key(|(at, _)| *at);

    let fail = |err: crate::error::AppError| anyhow::anyhow!("{err}: {:?}", err.fields());
    let policy = DeadlinePolicy::default();
    // Where a fix needs a photo, the report and each fix come with one.
    let evidence = EvidencePolicy::default();
    let photos = super::photos::Photos::new();
    let mut people: HashMap<i64, crate::auth::Principal> = HashMap::new();
    let mut ids = vec![0i64; sims.len()];
    let mut change = Change::begin(db, &Actor::system("demo"))
        .await
        .map_err(fail)?;
    let mut bulk = match how {
        Replay::Steps => None,
        Replay::Batched => Some(
            crate::cases::bulk::Bulk::begin(&mut change, policy.clone(), evidence.clone())
                .await
                .map_err(fail)?,
        ),
    };
    // Earlier batches' notices were read already.
    let before: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM notifications")
        .fetch_one(&mut *change.tx)
        .await?
        .try_get(0)?;
    let mut items = items.into_iter().peekable();
    while let Some((at, item)) = items.next() {
        let actor = match item {
            Item::Report(i) => Some(sims[i].reporter),
            Item::Step(_, p) => Some(p.actor),
            Item::Tick(_) => None,
        };
        let p = match actor {
            Some(a) => {
                let p = match people.entry(a) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(crate::auth::principal_of(db, a).await.map_err(fail)?)
                    }
                };
                change.act_as(&p.actor(), at);
                Some(&*p)
            }
            None => {
                change.act_as(&Actor::system("overdue"), at);
                None
            }
        };
        match (item, p) {
            (Item::Report(i), Some(p)) => {
                let s = &sims[i];
                let filing = Filing {
                    actor: p.actor(),
                    account_id: p.account_id,
                    key: None,
                    kind: s.kind,
                    source: s.source,
                    category: s.category,
                    priority: s.priority,
                    compound_id: w.compounds[s.compound].id,
                    lon: Some(s.lon),
                    lat: Some(s.lat),
                    address: s.address.clone(),
                    description: s.description.clone(),
                };
                let photo = evidence
                    .needs_fix_photo(s.category)
                    .then(|| photos.before(i));
                ids[i] = match &mut bulk {
                    Some(b) => b.report(&mut change, &filing, photo.as_slice()).await,
                    None => file_in(&mut change, &filing, photo.as_slice())
                        .await
                        .map(|(id, _)| id),
                }
                .map_err(fail)?;
            }
            (Item::Step(i, planned), Some(p)) => {
                let req = request(planned, &ids)?;
                let fix = matches!(planned.action, Action::ReportFix | Action::FixOnSite);
                let photo =
                    (fix && evidence.needs_fix_photo(sims[i].category)).then(|| photos.after(i));
                match &mut bulk {
                    Some(b) => b.step(&mut change, p, ids[i], &req, photo.as_slice()).await,
                    None => {
                        crate::cases::take(
                            &mut change,
                            &policy,
                            &evidence,
                            p,
                            ids[i],
                            &req,
                            photo.as_slice(),
                        )
                        .await
                    }
                }
                .map_err(|err| {
                    anyhow::anyhow!("case {}, {:?}: {}", ids[i], planned.action, fail(err))
                })?;
            }
            (Item::Tick(i), _) => {
                // The job's one sweep at this minute finds every case whose tick it is.
                let mut due = vec![ids[i]];
                while let Some((_, Item::Tick(j))) =
                    items.next_if(|(t, it)| *t == at && matches!(it, Item::Tick(_)))
                {
                    due.push(ids[j]);
                }
                match &mut bulk {
                    Some(b) => b.sweep(&mut change, &due, &w.dept_names).await,
                    None => crate::cases::overdue::sweep_in(&mut change, at, 0, i64::MAX)
                        .await
                        .map(|_| ()),
                }
                .map_err(fail)?;
            }
            (_, None) => unreachable!("only the overdue job acts as nobody"),
        }
    }
    if let Some(b) = bulk {
        b.finish(&mut change).await.map_err(fail)?;
    }
    let told: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, at FROM notifications WHERE id > $1 ORDER BY id")
            .bind(before)
            .fetch_all(&mut *change.tx)
            .await?;
    change.act_as(&Actor::system("demo"), w.snapshot);
    let read: Vec<(i64, i64)> = told
        .into_iter()
        .map(|(id, at)| (id, read_time(&mut w.rng, at).min(w.snapshot).max(at)))
        .collect();
    crate::notifications::mark_read(&mut change, &read)
        .await
        .map_err(fail)?;
    change.commit().await.map_err(fail)?;
    Ok(())
}
