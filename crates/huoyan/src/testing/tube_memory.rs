//! The tubes the scan writer remembers between batches. A tube takes ten or twenty scans, so nine
//! in ten of a batch's tubes were in the batch before: reading them again by barcode (a join
//! through points, sites and regions for the scope) was an eighth of a batch's time.
//!
//! What a remembered tube says is safe to decide on because of how tubes change: their id, round,
//! mode, capacity and region never change once opened; their state only moves forward (open,
//! sealed, boxed, resulted), so a tube remembered as not open or full stays so; and their count
//! grows only by added scans. What may have changed behind the writer's back (another server on
//! the same database, a seal meanwhile) is checked where the batch writes: the counts are written
//! only where each touched tube is still open and holds the count the batch started from, inside
//! the batch's transaction (`write_counts`); where one is not, the batch is undone and the writer
//! forgets and decides it again from what is stored.

use std::collections::{HashMap, HashSet};

use huoyan_core::testing::codes::Barcode;
use huoyan_core::testing::tubes::{Tube, TubeMode, TubeState};
use sqlx::Row;

use crate::audit::Change;
use crate::db::{Arg, Sql};
use crate::error::AppResult;

/// Most tubes remembered: a city round's open tubes at once are a few thousand; 100,000 is a
/// few megabytes.
const MOST: usize = 100_000;

/// A tube as the batch holds it.
#[derive(Debug, Clone)]
pub struct TubeRow {
    pub id: i64,
    pub round: i64,
    pub tube: Tube,
    pub capacity: i64,
    pub path: String,
    /// The count stored when the batch began.
    pub stored: u32,
    /// Taken from the writer's memory, not read in the batch's transaction.
    remembered: bool,
}

impl TubeRow {
    /// Whether the batch must write the tube: its count changed, or what was decided on it came
    /// from memory and must be checked against what is stored.
    fn to_write(&self) -> bool {
        self.tube.count != self.stored || self.remembered
    }
}

/// The tubes the writer wrote to, as it left them.
#[derive(Default)]
pub struct TubeMemory {
    tubes: HashMap<Barcode, TubeRow>,
}

impl TubeMemory {
    /// The tubes `barcodes` name: those remembered, the rest read in `change`. Unknown barcodes
    /// are left out.
    pub async fn take<'a>(
        &mut self,
        change: &mut Change,
        barcodes: impl Iterator<Item = &'a Barcode>,
    ) -> AppResult<HashMap<Barcode, TubeRow>> {
        let mut out = HashMap::new();
        let mut missing = HashSet::new();
        for b in barcodes {
            match self.tubes.remove(b) {
                Some(t) => {
                    out.insert(
                        b.clone(),
                        TubeRow {
                            remembered: true,
                            ..t
                        },
                    );
                }
                None if !out.contains_key(b) => {
                    missing.insert(b.as_str().to_string());
                }
                None => {}
            }
        }
        if !missing.is_empty() {
            let missing: Vec<String> = missing.into_iter().collect();
            out.extend(read(change, &missing).await?);
        }
        Ok(out)
    }

    /// Keeps `tubes` as a committed batch left them.
    pub fn keep(&mut self, tubes: HashMap<Barcode, TubeRow>) {
        if self.tubes.len() + tubes.len() > MOST {
            self.tubes.clear();
        }
        self.tubes.extend(tubes.into_iter().map(|(b, t)| {
            let stored = t.tube.count;
            (b, TubeRow { stored, ..t })
        }));
    }

    /// Forgets every tube: what is stored may differ from what is remembered.
    pub fn forget(&mut self) {
        self.tubes.clear();
    }
}

/// `IN ($1, $2, …)` of `items`, padded to a power of two by repeating the last, so the statement
/// has few shapes.
pub fn push_in<T: Clone + Into<Arg>>(sql: &mut Sql, items: &[T]) {
    sql.push(" IN (");
    for i in 0..items.len().next_power_of_two() {
        sql.push(if i == 0 { "" } else { ", " })
            .bind(items[i.min(items.len() - 1)].clone().into());
    }
    sql.push(")");
}

async fn read(change: &mut Change, barcodes: &[String]) -> AppResult<HashMap<Barcode, TubeRow>> {
    let mut sql = Sql::new(
        "SELECT t.id, t.barcode, t.round_id, t.mode, t.state, t.count, t.capacity, g.path FROM tubes t \
         JOIN testing_points tp ON tp.id = t.point_id JOIN sites s ON s.id = tp.site_id \
         JOIN regions g ON g.id = s.region_id WHERE t.barcode",
    );
    push_in(&mut sql, barcodes);
    let mut out = HashMap::new();
    for r in sql.query().fetch_all(&mut *change.tx).await? {
        let (mode, state): (String, String) = (r.try_get("mode")?, r.try_get("state")?);
        let barcode: String = r.try_get("barcode")?;
        let count = u32::try_from(r.try_get::<i64, _>("count")?).map_err(anyhow::Error::from)?;
        out.insert(
            Barcode::parse(&barcode)
                .map_err(|e| anyhow::anyhow!("stored tube {barcode:?}: {e}"))?,
            TubeRow {
                id: r.try_get("id")?,
                round: r.try_get("round_id")?,
                tube: Tube {
                    mode: TubeMode::parse(&mode)
                        .ok_or_else(|| anyhow::anyhow!("tube mode {mode:?}"))?,
                    state: TubeState::parse(&state)
                        .ok_or_else(|| anyhow::anyhow!("tube state {state:?}"))?,
                    count,
                },
                capacity: r.try_get("capacity")?,
                path: r.try_get("path")?,
                stored: count,
                remembered: false,
            },
        );
    }
    Ok(out)
}

/// Writes the counts of the tubes the batch changed, only where each tube the batch changed or
/// decided on from memory is still in the state and holds the count the batch started from (a
/// refusal too: a tube remembered full may have been sealed since, and the scan is then told
/// so). A tube that is not (sealed meanwhile, or written by another server) makes it answer
/// false: the caller undoes the batch and decides again from what is stored. (The guard as CASE
/// chains cost a batch a tenth of its time: each row walked them; joined to a list of values,
/// each row is one look-up.)
pub async fn write_counts(
    change: &mut Change,
    tubes: &HashMap<Barcode, TubeRow>,
) -> AppResult<bool> {
    let rows: Vec<Vec<Arg>> = tubes
        .values()
        .filter(|t| t.to_write())
        .map(|t| {
            vec![
                Arg::from(t.id),
                Arg::from(i64::from(t.tube.count)),
                Arg::from(t.tube.state.code()),
                Arg::from(i64::from(t.stored)),
            ]
        })
        .collect();
    let mut held = 0;
    for sql in crate::db::update_rows_where(
        change.backend(),
        "tubes",
        &["id", "count"],
        &["state", "count"],
        &rows,
    ) {
        held += sql.query().execute(&mut *change.tx).await?.rows_affected();
    }
    Ok(held == rows.len() as u64)
}
