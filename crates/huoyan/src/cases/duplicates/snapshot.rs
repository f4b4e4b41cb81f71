//! What the proposer weighs with, kept between requests: the weights of rare words over the
//! city's recent reports and the compounds that share named places. Both are costly to derive and
//! change slowly; a snapshot is rebuilt when it is older than `FRESH_FOR` or the places moved.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use huoyan_core::cases::Idf;
use sqlx::Row;

use crate::db::{Db, Sql};
use crate::error::AppResult;
use crate::org::shared_places::{self, Neighbours};

/// How long a snapshot is used before the recent reports are read again.
const FRESH_FOR: Duration = Duration::from_secs(600);
/// The reports the weights are counted over: those of the four weeks up to the newest report, at
/// most this many of the newest (which bounds the weights' memory).
const CORPUS_DAYS: i64 = 28;
const CORPUS_MAX: i64 = 20_000;

pub struct Snapshot {
    pub idf: Idf,
    pub neighbours: Neighbours,
    built: Instant,
    mark: (i64, f64, i64),
}

/// The cached snapshot, shared by every request of a server.
#[derive(Default)]
pub struct Proposer {
    cached: Mutex<Option<Arc<Snapshot>>>,
}

impl Proposer {
    pub async fn snapshot(&self, db: &Db) -> AppResult<Arc<Snapshot>> {
        let mark = shared_places::mark(db).await?;
        let cached = self
            .cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(s) = cached.filter(|s| s.built.elapsed() < FRESH_FOR && s.mark == mark) {
            return Ok(s);
        }
        let mut sql = Sql::new(
            "SELECT category, description FROM cases WHERE reported_at >= (SELECT MAX(reported_at) FROM cases) - ",
        );
        sql.bind(CORPUS_DAYS * 86_400_000)
            .push(" ORDER BY reported_at DESC LIMIT ")
            .bind(CORPUS_MAX);
        let reports: Vec<(String, String)> = sql
            .query()
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let fresh = Arc::new(Snapshot {
            idf: Idf::new(reports.iter().map(|(c, t)| (c.as_str(), t.as_str()))),
            neighbours: shared_places::neighbours(db).await?,
            built: Instant::now(),
            mark,
        });
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(fresh.clone());
        Ok(fresh)
    }
}
