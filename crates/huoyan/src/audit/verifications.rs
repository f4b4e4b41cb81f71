//! The trail's verification run from a page: the same walk as `huoyan audit verify` (the head's
//! seal, every event, the rows the trail vouches for), started by the administrator, run in the
//! background and shown as it goes. A city's trail holds millions of events: walking it takes
//! minutes, longer than a request may wait, so the page starts the run and shows its progress
//! (refreshing itself) until the outcome is in. One run at a time per server, whoever asks: a
//! second request while one runs shows the running one instead of starting another, so the cost
//! stays one read-only snapshot read in pages, whatever the number of clicks. The last outcome
//! is kept (only the last) until the next run.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use huoyan_core::audit::Finding;

use super::verify::{Progress, Verdict, verify_watched};
use crate::db::Db;
use crate::time::now_ms;
use crate::web::{PageCtx, render};

/// The server's verification runs: the one running or, once it ends, the last one.
#[derive(Clone, Default)]
pub struct Verifications(Arc<Mutex<Option<Run>>>);

struct Run {
    by: String,
    started_ms: i64,
    progress: Arc<Progress>,
    ended: Option<(i64, Ended)>,
}

enum Ended {
    Intact {
        events: i64,
        head: String,
    },
    Broken(Finding),
    /// The walk could not be made (no key, a database error): not a finding about the trail.
    Failed(String),
}

impl Verifications {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Run>> {
        // A poisoned lock only means a reader panicked mid-copy; the slot itself stays whole.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a verification of `db` on behalf of `by`, unless one is running; whether it
    /// started one.
    pub fn start(&self, db: Db, by: &str) -> bool {
        let progress = Arc::new(Progress::default());
        {
            let mut slot = self.slot();
            if slot.as_ref().is_some_and(|r| r.ended.is_none()) {
                return false;
            }
            *slot = Some(Run {
                by: by.to_string(),
                started_ms: now_ms(),
                progress: progress.clone(),
                ended: None,
            });
        }
        let walk = tokio::spawn(async move { verify_watched(&db, &[], &progress).await });
        let runs = self.clone();
        // Waiting on the walk's task, so that even a panic in it ends the run instead of
        // leaving it shown as running for ever.
        tokio::spawn(async move {
            let ended = match walk.await {
                Ok(Ok(Verdict::Intact { events, head })) => Ended::Intact { events, head },
                Ok(Ok(Verdict::Broken(f))) => Ended::Broken(f),
                Ok(Err(e)) => Ended::Failed(format!("{e:#}")),
                Err(e) => Ended::Failed(format!("the verification stopped: {e}")),
            };
            if let Ended::Failed(why) = &ended {
                tracing::error!(
                    error = why.as_str(),
                    "audit verification from the page failed"
                );
            }
            if let Some(run) = runs.slot().as_mut() {
                run.ended = Some((now_ms(), ended));
            }
        });
        true
    }

    /// The verification page: the run going on or the last one's outcome, and the button to
    /// start one; `error` says why the last request could not start one.
    pub fn page(&self, ctx: PageCtx, key_id: Option<String>, error: Option<String>) -> Response {
        let run = self.slot().as_ref().map(|r| view(r, &ctx));
        let status = if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        let page = VerifyPage {
            ctx,
            run,
            key_id,
            error,
            tables: Progress::TABLES,
        };
        (status, render(&page)).into_response()
    }
}

/// A run as the page shows it.
struct RunView {
    by: String,
    started: String,
    /// Seconds since it started, or that it took.
    seconds: i64,
    head: i64,
    events: i64,
    scans: i64,
    tables: usize,
    outcome: Outcome,
}

enum Outcome {
    Running,
    Intact {
        events: i64,
        head: String,
    },
    /// The first thing found that does not hold, in the page's language.
    Broken(String),
    Failed(String),
}

fn view(r: &Run, ctx: &PageCtx) -> RunView {
    let (head, events, scans, tables) = r.progress.now();
    let (outcome, until) = match &r.ended {
        None => (Outcome::Running, now_ms()),
        Some((at, Ended::Intact { events, head })) => (
            Outcome::Intact {
                events: *events,
                head: head.clone(),
            },
            *at,
        ),
        Some((at, Ended::Broken(f))) => (Outcome::Broken(ctx.message(&f.to_string())), *at),
        Some((at, Ended::Failed(why))) => (Outcome::Failed(why.clone()), *at),
    };
    RunView {
        by: r.by.clone(),
        started: ctx.time(r.started_ms),
        seconds: (until - r.started_ms) / 1000,
        head,
        events,
        scans,
        tables,
        outcome,
    }
}

#[derive(askama::Template)]
#[template(path = "audit/verify.html")]
struct VerifyPage {
    ctx: PageCtx,
    run: Option<RunView>,
    /// The id of the key the server seals with (never the key).
    key_id: Option<String>,
    error: Option<String>,
    /// The tables whose rows are checked against their events.
    tables: usize,
}

impl VerifyPage {
    fn running(&self) -> bool {
        self.run
            .as_ref()
            .is_some_and(|r| matches!(r.outcome, Outcome::Running))
    }
}
