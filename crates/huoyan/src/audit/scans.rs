//! The scans' batches checked as the chain walk reaches their events: the rows of each batch read
//! back and hashed as its event sealed them (`huoyan_core::audit::scans` says what a batch seals
//! and why its id range holds exactly its rows). The events can only be read in seq order by
//! walking the whole trail (the index on (entity, entity_id) orders ids as text, and a filtered
//! walk in seq order would sort every batch event again for each page), and the chain walk does
//! that already: so the rows are read beside it, by one cursor in id order, a page at a time,
//! each row once, in the walk's snapshot. What is found is kept until the chain, the head and
//! the checkpoints have held, so that a rewritten trail is named as such before any row.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use huoyan_core::audit::AuditEvent;
use huoyan_core::audit::facts::DataBreak;
use huoyan_core::audit::scans::{self, Batches, ScanRow, Sealed};
use sqlx::{Any, Transaction};

use super::verify::Progress;

/// Scan rows read per page: ten batches of the ingest's largest.
const PAGE: i64 = 10_000;

/// A scan row as stored.
#[derive(sqlx::FromRow)]
struct Stored {
    id: i64,
    tube_id: i64,
    round_id: i64,
    resident_id: Option<i64>,
    code: String,
    outcome: String,
    account_id: i64,
    idempotency_key: String,
    at: i64,
}

impl Stored {
    fn row(&self) -> ScanRow<'_> {
        ScanRow {
            id: self.id,
            tube_id: self.tube_id,
            round_id: self.round_id,
            resident_id: self.resident_id,
            code: &self.code,
            outcome: &self.outcome,
            account_id: self.account_id,
            idempotency_key: &self.idempotency_key,
            at: self.at,
        }
    }
}

/// The scan rows in id order, read a page ahead.
#[derive(Default)]
struct Cursor {
    page: VecDeque<Stored>,
    after: Option<i64>,
    ended: bool,
}

impl Cursor {
    /// The next row, if its id is at most `upto`.
    async fn next(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        upto: i64,
        progress: &Progress,
    ) -> Result<Option<Stored>, sqlx::Error> {
        if self.page.is_empty() && !self.ended {
            let page: Vec<Stored> = sqlx::query_as(
                "SELECT id, tube_id, round_id, resident_id, code, outcome, account_id, \
                 idempotency_key, at FROM scans WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(self.after.unwrap_or(i64::MIN))
            .bind(PAGE)
            .fetch_all(&mut **tx)
            .await?;
            self.ended = (page.len() as i64) < PAGE;
            self.after = page.last().map(|r| r.id).or(self.after);
            progress
                .scans
                .fetch_add(page.len() as i64, Ordering::Relaxed);
            self.page = page.into();
        }
        Ok(match self.page.front() {
            Some(r) if r.id <= upto => self.page.pop_front(),
            _ => None,
        })
    }
}

/// The batches met so far and the rows read against them.
#[derive(Default)]
pub(super) struct ScanCheck {
    batches: Batches,
    rows: Cursor,
    /// The first thing found; once set, nothing more is read.
    found: Option<DataBreak>,
}

impl ScanCheck {
    /// Event `e`, whose link and hash hold: if it seals a batch, the batch's rows are read and
    /// checked against it.
    pub(super) async fn event(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        e: &AuditEvent,
        progress: &Progress,
    ) -> Result<(), sqlx::Error> {
        if self.found.is_some() || e.entity != scans::ENTITY || e.action != scans::ACTION {
            return Ok(());
        }
        let mut batch = match Sealed::parse(e.seq, &e.entity_id, &e.summary)
            .and_then(|sealed| self.batches.open(sealed))
        {
            Ok(b) => b,
            Err(found) => {
                self.found = Some(found);
                return Ok(());
            }
        };
        while let Some(r) = self.rows.next(tx, batch.last(), progress).await? {
            if let Err(found) = batch.row(&r.row()) {
                self.found = Some(found);
                return Ok(());
            }
        }
        self.found = batch.close().err();
        Ok(())
    }

    /// After the last event: the first thing found, or a row past every batch, which none
    /// covers.
    pub(super) async fn finish(
        mut self,
        tx: &mut Transaction<'static, Any>,
        progress: &Progress,
    ) -> Result<Option<DataBreak>, sqlx::Error> {
        if self.found.is_none()
            && let Some(r) = self.rows.next(tx, i64::MAX, progress).await?
        {
            self.found = Some(scans::uncovered(r.id));
        }
        Ok(self.found)
    }
}
