//! Many cases' histories written in one change, many rows to a statement: the demo's generator
//! (`huoyan demo --cases N`) makes a city's worth of cases with it. Every case it steps was
//! reported through it in the same change, so it holds them in memory and decides each step with
//! the functions the live path decides with (`workflow::decide`, `overdue::escalation`, the
//! core's rules), then writes the rows and audit events `intake::file_in`, `workflow::take` and
//! `overdue::sweep_in` would have written: the same ids, columns, notices and chain (a test
//! compares both writers' databases table by table). What it skips is what only a live request
//! needs: reading the case back, the caller's scope, the units' existence.
//!
//! Rows that are only ever added (reports, entries, files, notices, audit events) are written
//! whenever enough are waiting; the cases' last state and their tasks when the change finishes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use huoyan_core::audit::AuditEvent;
use huoyan_core::auth::Role;
use huoyan_core::cases::step::{Audience, CaseNow, MergeInto, Outcome, TaskNow};
use huoyan_core::cases::{Action, CaseState, DeadlinePolicy, EvidencePolicy};
use sqlx::Row;

use super::figures::tallies::{self, Clock};
use super::files::Upload;
use super::intake::Filing;
use super::steps::TransitionRequest;
use super::store::{self, NewReport, Place};
use crate::audit::{Change, Counted};
use crate::auth::Principal;
use crate::db::Arg;
use crate::error::AppResult;

/// Rows waiting before they are written: enough for statements of many rows, few enough that a
/// million cases never wait in memory at once.
const WAITING: usize = 20_000;

/// A case reported through this writer, as its steps so far left it.
struct Live {
    case: CaseNow,
    tasks: Vec<TaskNow>,
    clock: Clock,
    compound: i64,
    /// What the figures counted when it was reported.
    reported: tallies::Record,
}

/// The ids this writer gives.
struct Ids {
    cases: Counted,
    entries: Counted,
    tasks: Counted,
    files: Counted,
}

/// An account as the notices' audiences choose it (`notifications::audience_accounts`).
struct Account {
    id: i64,
    role: Option<Role>,
    active: bool,
    department: Option<i64>,
    /// Its scope region's path; `Some(None)` for a scope region that does not exist.
    region: Option<Option<String>>,
}

#[derive(Default)]
struct Waiting {
    reports: Vec<(Filing, i64, i64, i64)>,
    entries: Vec<Vec<Arg>>,
    texts: Vec<(i64, i64, String)>,
    blobs: Vec<(String, Vec<u8>)>,
    files: Vec<Vec<Arg>>,
    notices: Vec<Vec<Arg>>,
    events: Vec<AuditEvent>,
}

impl Waiting {
    fn len(&self) -> usize {
        self.reports.len() + self.entries.len() + self.files.len() + self.notices.len()
    }
}

pub struct Bulk {
    deadlines: DeadlinePolicy,
    photos_for: EvidencePolicy,
    next: Ids,
    live: BTreeMap<i64, Live>,
    /// The reports merged into each case (`workflow::merge_target`'s `absorbed`).
    absorbed: HashMap<i64, BTreeSet<i64>>,
    accounts: Vec<Account>,
    paths: HashMap<i64, String>,
    blobs: HashSet<String>,
    waiting: Waiting,
}

impl Bulk {
    /// Starts counting ids after those `change` sees, with the accounts and regions it holds
    /// (the notices' audiences are chosen from them: no account may change meanwhile), deciding
    /// with `deadlines` and `photos_for`.
    pub async fn begin(
        change: &mut Change,
        deadlines: DeadlinePolicy,
        photos_for: EvidencePolicy,
    ) -> AppResult<Bulk> {
        let next = Ids {
            cases: change.count_ids("cases").await?,
            entries: change.count_ids("case_events").await?,
            tasks: change.count_ids("case_tasks").await?,
            files: change.count_ids("case_files").await?,
        };
        let accounts = sqlx::query(
            "SELECT a.id, a.role, a.disabled, a.scope_department_id, a.scope_region_id, r.path \
             FROM accounts a LEFT JOIN regions r ON r.id = a.scope_region_id ORDER BY a.id",
        )
        .fetch_all(&mut *change.tx)
        .await?
        .iter()
        .map(|r| -> Result<Account, sqlx::Error> {
            let region: Option<i64> = r.try_get("scope_region_id")?;
            Ok(Account {
                id: r.try_get("id")?,
                role: Role::parse(&r.try_get::<String, _>("role")?),
                active: r.try_get::<i64, _>("disabled")? == 0,
                department: r.try_get("scope_department_id")?,
                region: region.map(|_| r.try_get("path")).transpose()?,
            })
        })
        .collect::<Result<_, _>>()?;
        let paths = sqlx::query_as::<_, (i64, String)>("SELECT id, path FROM regions")
            .fetch_all(&mut *change.tx)
            .await?
            .into_iter()
            .collect();
        Ok(Bulk {
            deadlines,
            photos_for,
            next,
            live: BTreeMap::new(),
            absorbed: HashMap::new(),
            accounts,
            paths,
            blobs: HashSet::new(),
            waiting: Waiting::default(),
        })
    }

    /// Files `f` at the change's time by its actor, with `photos` (`intake::file_in`); returns
    /// the case's id.
    pub async fn report(
        &mut self,
        change: &mut Change,
        f: &Filing,
        photos: &[Upload],
    ) -> AppResult<i64> {
        let at = change.at_ms();
        let id = self.next.cases.take();
        let entry = self.next.entries.take();
        let case = CaseNow {
            id,
            state: CaseState::Reported,
            category: f.category,
            priority: f.priority,
            reporter: f.account_id,
            department_id: None,
            due_at: None,
            merged_into: None,
            updated_at: at,
        };
        self.live.insert(
            id,
            Live {
                case,
                tasks: Vec::new(),
                clock: Clock::reported(at),
                compound: f.compound_id,
                reported: store::new_report(f, id, at),
            },
        );
        self.waiting.reports.push((f.clone(), id, entry, at));
        // `notifications::tell_new_reports`: the office in scope, not the reporter.
        let office = self.audience(id, Audience::Role(Role::Office))?;
        let args = serde_json::json!({ "case": id }).to_string();
        for account in office.into_iter().filter(|a| *a != f.account_id) {
            self.waiting.notices.push(vec![
                Arg::from(account),
                Arg::from(id),
                Arg::from("reported"),
                Arg::from(args.as_str()),
                Arg::from(at),
            ]);
        }
        let summary = super::intake::summary(f);
        let event = change.seal(&f.actor, "case", id, "report", &summary)?;
        self.waiting.events.push(event);
        self.attach(change, id, entry, photos).await?;
        self.write_if_due(change).await?;
        Ok(id)
    }

    /// Takes `req` on case `id` by `p` at the change's time, with its evidence
    /// (`workflow::take`).
    pub async fn step(
        &mut self,
        change: &mut Change,
        p: &Principal,
        id: i64,
        req: &TransitionRequest,
        evidence: &[Upload],
    ) -> AppResult<()> {
        let into = match req {
            TransitionRequest::Merge(m) => Some(self.merge_target(id, m.into_case_id)?),
            _ => None,
        };
        let step = super::workflow::step_of(req, into);
        let live = self.live(id)?;
        let (outcome, summary) = super::workflow::decide(
            &self.deadlines,
            &self.photos_for,
            p,
            (&live.case, &live.tasks),
            &step,
            change.at_ms(),
            evidence,
        )?;
        let entry = self.apply(change, id, outcome, None, &summary)?;
        self.attach(change, id, entry, evidence).await?;
        self.write_if_due(change).await
    }

    /// What the overdue job, ticking at the change's time, does to cases `ids`, in id order
    /// (`overdue::sweep_in`).
    pub async fn sweep(
        &mut self,
        change: &mut Change,
        ids: &[i64],
        names: &HashMap<i64, String>,
    ) -> AppResult<()> {
        let ids: BTreeSet<i64> = ids.iter().copied().collect();
        for id in ids {
            let live = self.live(id)?;
            if let Some((outcome, summary)) =
                super::overdue::escalation(&live.case, &live.tasks, change.at_ms(), names)
            {
                self.apply(change, id, outcome, None, &summary)?;
            }
        }
        self.write_if_due(change).await
    }

    /// Writes what waits, the cases' last state, their tasks and the figures' tallies; the
    /// change may then be committed.
    pub async fn finish(mut self, change: &mut Change) -> AppResult<()> {
        self.write(change).await?;
        let cases: Vec<&CaseNow> = self.live.values().map(|l| &l.case).collect();
        store::update_cases(change, &cases).await?;
        let tasks: Vec<(store::TaskCase, &TaskNow)> = self
            .live
            .values()
            .flat_map(|l| {
                l.tasks
                    .iter()
                    .map(|t| ((&l.case, l.clock.reported_at()), t))
            })
            .collect();
        store::insert_tasks(change, &tasks).await?;
        let (was, is): (Vec<_>, Vec<_>) = self
            .live
            .values()
            .map(|l| {
                let is = tallies::record_of(&l.case, &l.tasks, l.clock);
                (l.reported.clone(), is)
            })
            .unzip();
        tallies::shift(change, &was, &is).await?;
        for counted in [
            &self.next.cases,
            &self.next.entries,
            &self.next.tasks,
            &self.next.files,
        ] {
            change.ids_given(counted).await?;
        }
        Ok(())
    }

    fn live(&self, id: i64) -> AppResult<&Live> {
        self.live
            .get(&id)
            .ok_or_else(|| anyhow::anyhow!("case {id} was not reported through this writer").into())
    }

    /// `workflow::merge_target` from memory.
    fn merge_target(&self, id: i64, target: i64) -> AppResult<MergeInto> {
        let into = &self.live(target)?.case;
        let absorbed = self
            .absorbed
            .get(&id)
            .into_iter()
            .flatten()
            .map(|a| Ok((*a, self.live(*a)?.case.reporter)))
            .collect::<AppResult<_>>()?;
        Ok(MergeInto {
            id: into.id,
            state: into.state,
            reporter: into.reporter,
            absorbed,
        })
    }

    /// `store::apply` in memory: the case's and tasks' new state kept, the rest waiting to be
    /// written. Returns the id of the case's own entry.
    fn apply(
        &mut self,
        change: &mut Change,
        id: i64,
        outcome: Outcome,
        place: Place,
        summary: &serde_json::Value,
    ) -> AppResult<i64> {
        let (at, actor) = (change.at_ms(), change.actor().clone());
        let Outcome {
            case,
            mut tasks,
            entries,
            notices,
            redirected,
        } = outcome;
        for t in tasks.iter_mut().filter(|t| t.id.is_none()) {
            t.id = Some(self.next.tasks.take());
        }
        let mut moved = vec![(id, self.live(id)?.case.merged_into, case.merged_into)];
        if let Some(into) = case.merged_into.filter(|_| !redirected.is_empty()) {
            for r in &redirected {
                let live = self
                    .live
                    .get_mut(r)
                    .ok_or_else(|| anyhow::anyhow!("case {r} was not reported here"))?;
                moved.push((*r, live.case.merged_into, Some(into)));
                live.case.merged_into = Some(into);
            }
        }
        for (case_id, from, to) in moved.into_iter().filter(|(_, f, t)| f != t) {
            if let Some(f) = from {
                self.absorbed.entry(f).or_default().remove(&case_id);
            }
            if let Some(t) = to {
                self.absorbed.entry(t).or_default().insert(case_id);
            }
        }
        let mut own = None;
        for (i, e) in entries.iter().enumerate() {
            let entry = self.next.entries.take();
            let here = e.case_id == id && i == 0;
            if here {
                own = Some(entry);
            }
            let row = store::entry_row(entry, e, at, actor.id, if here { place } else { None });
            self.waiting.entries.push(row);
            let text = super::search::entry_text(Some(&e.note), None);
            self.waiting.texts.push((entry, e.case_id, text));
        }
        let own = own.ok_or_else(|| anyhow::anyhow!("the step wrote no entry on case {id}"))?;
        for (notice, to) in &notices {
            let mut accounts = BTreeSet::new();
            for audience in to {
                accounts.extend(self.audience(notice.case(), *audience)?);
            }
            accounts.remove(&actor.id.unwrap_or_default());
            let args = notice.args().to_string();
            for account in accounts {
                self.waiting.notices.push(vec![
                    Arg::from(account),
                    Arg::from(notice.case()),
                    Arg::from(notice.kind()),
                    Arg::from(args.as_str()),
                    Arg::from(at),
                ]);
            }
        }
        let live = self
            .live
            .get_mut(&id)
            .ok_or_else(|| anyhow::anyhow!("case {id} was not reported here"))?;
        live.clock = live.clock.after(&entries, id, at);
        live.case = case;
        live.tasks = tasks;
        let action = entries.first().map_or("update", |e| e.action);
        let event = change.seal(&actor, "case", id, action, summary)?;
        self.waiting.events.push(event);
        Ok(own)
    }

    /// `store::attach` of uploads that come with a new entry.
    async fn attach(
        &mut self,
        change: &mut Change,
        case: i64,
        entry: i64,
        uploads: &[Upload],
    ) -> AppResult<()> {
        let (at, actor) = (change.at_ms(), change.actor().clone());
        for u in uploads {
            if self.blobs.insert(u.sha256.clone()) {
                let known = sqlx::query("SELECT 1 FROM file_blobs WHERE sha256 = $1")
                    .bind(&u.sha256)
                    .fetch_optional(&mut *change.tx)
                    .await?
                    .is_some();
                if !known {
                    self.waiting.blobs.push((u.sha256.clone(), u.read().await?));
                }
            }
            let id = self.next.files.take();
            let row = store::file_row(id, (case, entry), u, actor.id, at);
            self.waiting.files.push(row);
            let event = change.seal(
                &actor,
                "case",
                case,
                "attach",
                &store::file_summary(id, entry, u),
            )?;
            self.waiting.events.push(event);
        }
        Ok(())
    }

    /// The active accounts `audience` names for case `case` (`notifications::audience_accounts`
    /// from memory), in id order.
    fn audience(&self, case: i64, audience: Audience) -> AppResult<Vec<i64>> {
        let role = match audience {
            Audience::Account(a) => return Ok(vec![a]),
            Audience::Unit(d) => {
                return Ok(self
                    .accounts
                    .iter()
                    .filter(|a| a.active && a.role == Some(Role::Department))
                    .filter(|a| a.department == Some(d))
                    .map(|a| a.id)
                    .collect());
            }
            Audience::Verifier { reporter } => {
                let role = self
                    .accounts
                    .iter()
                    .find(|a| a.id == reporter)
                    .and_then(|a| a.role);
                if role.is_some_and(|r| Action::Verify.allowed_roles().contains(&r)) {
                    return Ok(vec![reporter]);
                }
                Role::Group
            }
            Audience::Role(r) => r,
        };
        let compound = self.live(case)?.compound;
        let path = self.paths.get(&compound);
        Ok(self
            .accounts
            .iter()
            .filter(|a| a.active && a.role == Some(role))
            .filter(|a| match &a.region {
                None => true,
                Some(scope) => match (path, scope) {
                    (Some(p), Some(s)) => p.starts_with(s.as_str()),
                    _ => false,
                },
            })
            .map(|a| a.id)
            .collect())
    }

    async fn write_if_due(&mut self, change: &mut Change) -> AppResult<()> {
        if self.waiting.len() >= WAITING {
            self.write(change).await?;
        }
        Ok(())
    }

    /// Writes the rows that wait, each table's in the order they were made.
    async fn write(&mut self, change: &mut Change) -> AppResult<()> {
        let w = std::mem::take(&mut self.waiting);
        let reports: Vec<NewReport> = w
            .reports
            .iter()
            .map(|(f, id, entry, at)| NewReport {
                filing: f,
                id: *id,
                entry: *entry,
                at: *at,
            })
            .collect();
        store::insert_reports(change, &reports).await?;
        change
            .insert_rows("case_events", &store::TIMELINE_COLUMNS, &w.entries)
            .await?;
        super::search::index(change, &w.texts).await?;
        for (sha256, content) in &w.blobs {
            sqlx::query("INSERT INTO file_blobs (sha256, content) VALUES ($1, $2)")
                .bind(sha256)
                .bind(content.as_slice())
                .execute(&mut *change.tx)
                .await?;
        }
        change
            .insert_rows("case_files", &store::FILE_COLUMNS, &w.files)
            .await?;
        change
            .insert_rows(
                "notifications",
                &["account_id", "case_id", "kind", "args", "at"],
                &w.notices,
            )
            .await?;
        change.write_events(&w.events).await
    }
}
