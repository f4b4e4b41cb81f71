//! The scans the trail vouches for, a batch at a time. The scan ingest writes up to 1,000 scans in
//! one transaction with ONE audit event (`scans`/`write`, its entity id the first scan's id): an
//! event per scan would double what a city round of 2.8 million scans writes. The event seals the
//! batch instead: its summary holds the first and last scan ids, how many rows were written and
//! the SHA-256 of their lines (`ScanRow::line`) in id order. Verification reads the rows back in
//! id order, beside the events in seq order, and recomputes each batch's count and hash.
//!
//! Why the rows with ids `first..=last` are exactly the batch's, no more and no fewer: only the
//! ingest writes scans, and a batch takes its ids (`Change::new_ids`) inside a change, which
//! holds the chain head's lock until it commits. SQLite's ids are the next past the largest id
//! written, which is at least the previous batch's `last`; PostgreSQL's come from the identity
//! sequence, which only moves forward. So each batch's ids exceed those of every batch whose
//! event precedes it: in seq order, the events' ranges are disjoint and rise. An id a batch
//! reserved but wrote no row for (a scan refused for an unknown tube) stays empty inside its
//! range, as no later batch goes back to it. A batch refused as a whole and written again scan
//! by scan records one event per scan, ranges of one. The walk checks this order as it goes
//! (`Batches::open`), so a trail that broke it is named rather than misread.

use sha2::{Digest, Sha256};

use super::facts::DataBreak;

/// The entity and action of a batch's event, as `testing::ingest` records them.
pub const ENTITY: &str = "scans";
pub const ACTION: &str = "write";
/// The table the batches are written to.
pub const TABLE: &str = "scans";
/// How a scan row without any batch is named in a finding.
const ROW: &str = "scan";

/// A scan row as written, in the columns a batch's hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRow<'a> {
    pub id: i64,
    pub tube_id: i64,
    pub round_id: i64,
    pub resident_id: Option<i64>,
    pub code: &'a str,
    pub outcome: &'a str,
    pub account_id: i64,
    pub idempotency_key: &'a str,
    pub at: i64,
}

impl ScanRow<'_> {
    /// The row's line in its batch's hash: the ONE definition, used by the writer and by the
    /// verifier. Every stored batch was hashed over this exact text, so changing it makes every
    /// earlier batch fail verification.
    pub fn line(&self) -> String {
        let resident = self.resident_id.map(|r| r.to_string()).unwrap_or_default();
        format!(
            "{}|{}|{}|{resident}|{}|{}|{}|{}|{}\n",
            self.id,
            self.tube_id,
            self.round_id,
            self.code,
            self.outcome,
            self.account_id,
            self.idempotency_key,
            self.at
        )
    }
}

/// What a batch's event seals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The event.
    pub seq: i64,
    pub first: i64,
    pub last: i64,
    pub count: i64,
    pub sha256: String,
}

impl Sealed {
    /// What event `seq` (entity id `entity_id`) seals, read from its summary; a summary the
    /// writer could not have written is named.
    pub fn parse(seq: i64, entity_id: &str, summary: &str) -> Result<Sealed, DataBreak> {
        let bad = |reason: String| DataBreak::BadEvent {
            seq,
            entity: ENTITY,
            id: entity_id.to_string(),
            reason,
        };
        let s: serde_json::Value =
            serde_json::from_str(summary).map_err(|_| bad("its summary is not JSON".into()))?;
        let int = |field: &str| {
            s.get(field)
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| bad(format!("its summary's `{field}` is not a number")))
        };
        let (first, last, count) = (int("first")?, int("last")?, int("count")?);
        let sha256 = s
            .get("sha256")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| bad("its summary's `sha256` is not text".into()))?
            .to_string();
        if entity_id != first.to_string() {
            return Err(bad(format!(
                "it names the first scan {first} but is recorded under {entity_id:?}"
            )));
        }
        if first > last || count < 1 || count > last - first + 1 {
            return Err(bad(format!(
                "{count} scans cannot lie between {first} and {last}"
            )));
        }
        Ok(Sealed {
            seq,
            first,
            last,
            count,
            sha256,
        })
    }
}

/// The batches in their events' order: each must start past the one before.
#[derive(Debug, Default)]
pub struct Batches {
    /// The previous batch's event and last id.
    before: Option<(i64, i64)>,
}

impl Batches {
    /// Starts reading the rows of `sealed`, the next batch in seq order.
    pub fn open(&mut self, sealed: Sealed) -> Result<Batch, DataBreak> {
        if let Some((seq, last)) = self.before
            && sealed.first <= last
        {
            return Err(DataBreak::BadEvent {
                seq: sealed.seq,
                entity: ENTITY,
                id: sealed.first.to_string(),
                reason: format!(
                    "its scans {}..{} do not come after those of event {seq}, which end at {last}",
                    sealed.first, sealed.last
                ),
            });
        }
        self.before = Some((sealed.seq, sealed.last));
        Ok(Batch {
            sealed,
            digest: Sha256::new(),
            rows: 0,
            lowest: None,
            highest: None,
        })
    }
}

/// A batch whose rows are being read.
#[derive(Debug)]
pub struct Batch {
    sealed: Sealed,
    digest: Sha256,
    rows: i64,
    lowest: Option<i64>,
    highest: Option<i64>,
}

impl Batch {
    /// Rows up to this id are this batch's to read.
    pub fn last(&self) -> i64 {
        self.sealed.last
    }

    /// The next row in id order, its id at most `last()`. One below `first` lies between this
    /// batch and the one before: no event covers it.
    pub fn row(&mut self, row: &ScanRow) -> Result<(), DataBreak> {
        if row.id < self.sealed.first {
            return Err(uncovered(row.id));
        }
        self.lowest.get_or_insert(row.id);
        self.highest = Some(row.id);
        self.rows += 1;
        self.digest.update(row.line().as_bytes());
        Ok(())
    }

    /// After its last row: whether the rows are those the event sealed. The writer's first and
    /// last ids are rows it wrote, so one of them missing is named; otherwise a missing or added
    /// row shows in the count, and a changed one only in the hash, which cannot say which.
    pub fn close(self) -> Result<(), DataBreak> {
        let Sealed {
            seq,
            first,
            last,
            count,
            sha256,
        } = self.sealed;
        let gone = |id| DataBreak::BatchRowGone {
            table: TABLE,
            seq,
            first,
            last,
            id,
        };
        if self.lowest != Some(first) {
            return Err(gone(first));
        }
        if self.highest != Some(last) {
            return Err(gone(last));
        }
        if self.rows != count {
            return Err(DataBreak::BatchCount {
                table: TABLE,
                seq,
                first,
                last,
                rows: self.rows,
                count,
            });
        }
        if hex::encode(self.digest.finalize()) != sha256 {
            return Err(DataBreak::BatchHash {
                table: TABLE,
                seq,
                first,
                last,
            });
        }
        Ok(())
    }
}

/// A scan row that no batch's range holds: written outside Huoyan.
pub fn uncovered(id: i64) -> DataBreak {
    DataBreak::NoEvent { entity: ROW, id }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, outcome: &'static str) -> ScanRow<'static> {
        ScanRow {
            id,
            tube_id: 3,
            round_id: 2,
            resident_id: Some(40 + id),
            code: "HY23456789AB",
            outcome,
            account_id: 5,
            idempotency_key: "k",
            at: 1_660_280_000_000 + id,
        }
    }

    /// The summary the writer records for `rows`.
    fn summary(rows: &[ScanRow]) -> String {
        let mut d = Sha256::new();
        for r in rows {
            d.update(r.line().as_bytes());
        }
        serde_json::json!({"first": rows[0].id, "last": rows[rows.len() - 1].id,
            "count": rows.len(), "sha256": hex::encode(d.finalize())})
        .to_string()
    }

    fn sealed(seq: i64, rows: &[ScanRow]) -> Sealed {
        Sealed::parse(seq, &rows[0].id.to_string(), &summary(rows)).unwrap()
    }

    /// Reads `stored` against the batches sealed over `written`, as the verifier does.
    fn walk(written: &[&[ScanRow]], stored: &[ScanRow]) -> Result<(), DataBreak> {
        let mut batches = Batches::default();
        let mut rows = stored.iter().peekable();
        for (i, w) in written.iter().enumerate() {
            let mut b = batches.open(sealed(i as i64 + 1, w))?;
            while let Some(r) = rows.next_if(|r| r.id <= b.last()) {
                b.row(r)?;
            }
            b.close()?;
        }
        rows.next().map_or(Ok(()), |r| Err(uncovered(r.id)))
    }

    #[test]
    fn a_line_is_the_row_in_column_order_with_an_empty_resident_when_none() {
        let mut r = row(7, "added");
        r.idempotency_key = "0b5c-1";
        assert_eq!(
            r.line(),
            "7|3|2|47|HY23456789AB|added|5|0b5c-1|1660280000007\n"
        );
        r.resident_id = None;
        r.outcome = "unknown_code";
        assert_eq!(
            r.line(),
            "7|3|2||HY23456789AB|unknown_code|5|0b5c-1|1660280000007\n"
        );
        // Batches already stored were sealed over this text: its hash must not move.
        let mut d = Sha256::new();
        d.update(row(1, "added").line().as_bytes());
        d.update(row(2, "tube_full").line().as_bytes());
        assert_eq!(
            hex::encode(d.finalize()),
            "8ccb6251a72d5afeb7f267cd3eb8eef7616fa10f7fb4546cc1ced386dc3a5226"
        );
    }

    #[test]
    fn batches_read_back_as_written_hold() {
        let (a, b) = ([row(1, "added"), row(2, "added")], [row(5, "tube_full")]);
        // Id 3 and 4 were reserved by the first batch and left empty.
        assert_eq!(
            walk(&[&a, &b], &[a[0].clone(), a[1].clone(), b[0].clone()]),
            Ok(())
        );
    }

    #[test]
    fn a_changed_row_fails_its_batchs_hash() {
        let a = [row(1, "added"), row(2, "added"), row(3, "added")];
        let mut changed = a.clone();
        changed[1].outcome = "scanned_twice";
        assert_eq!(
            walk(&[&a], &changed),
            Err(DataBreak::BatchHash {
                table: "scans",
                seq: 1,
                first: 1,
                last: 3
            })
        );
        changed[1] = a[1].clone();
        changed[2].resident_id = Some(99);
        assert!(matches!(
            walk(&[&a], &changed),
            Err(DataBreak::BatchHash { .. })
        ));
    }

    #[test]
    fn a_deleted_or_added_row_is_counted_and_a_missing_end_named() {
        let a = [row(1, "added"), row(2, "added"), row(4, "added")];
        assert_eq!(
            walk(&[&a], &[a[0].clone(), a[2].clone()]),
            Err(DataBreak::BatchCount {
                table: "scans",
                seq: 1,
                first: 1,
                last: 4,
                rows: 2,
                count: 3
            })
        );
        let added = [a[0].clone(), a[1].clone(), row(3, "added"), a[2].clone()];
        assert!(matches!(
            walk(&[&a], &added),
            Err(DataBreak::BatchCount {
                rows: 4,
                count: 3,
                ..
            })
        ));
        let gone = |id| {
            Err(DataBreak::BatchRowGone {
                table: "scans",
                seq: 1,
                first: 1,
                last: 4,
                id,
            })
        };
        assert_eq!(walk(&[&a], &a[1..]), gone(1));
        assert_eq!(walk(&[&a], &a[..2]), gone(4));
        assert_eq!(walk(&[&a], &[]), gone(1));
    }

    #[test]
    fn a_row_outside_every_batch_has_no_event() {
        let (a, b) = ([row(2, "added")], [row(6, "added")]);
        let all = [a[0].clone(), b[0].clone()];
        let with = |extra: ScanRow<'static>| {
            let mut rows = all.to_vec();
            rows.push(extra);
            rows.sort_by_key(|r| r.id);
            walk(&[&a, &b], &rows)
        };
        for id in [1, 4, 7] {
            assert_eq!(
                with(row(id, "added")),
                Err(DataBreak::NoEvent { entity: "scan", id }),
                "{id}"
            );
        }
    }

    #[test]
    fn batches_out_of_order_or_summaries_the_writer_never_writes_are_named() {
        let (a, b) = ([row(1, "added"), row(3, "added")], [row(2, "added")]);
        let found = walk(&[&a, &b], &[a[0].clone(), a[1].clone()]);
        assert!(
            matches!(&found, Err(DataBreak::BadEvent { seq: 2, reason, .. }) if reason.contains("event 1")),
            "{found:?}"
        );
        let bad = |entity_id: &str, summary: &str| {
            Sealed::parse(9, entity_id, summary).map_err(|e| e.to_string())
        };
        assert!(bad("1", "{").unwrap_err().contains("not JSON"));
        assert!(
            bad("1", r#"{"first":1,"last":2,"count":2}"#)
                .unwrap_err()
                .contains("sha256")
        );
        assert!(
            bad("2", r#"{"first":1,"last":2,"count":2,"sha256":""}"#)
                .unwrap_err()
                .contains("recorded under")
        );
        assert!(
            bad("1", r#"{"first":1,"last":2,"count":3,"sha256":""}"#)
                .unwrap_err()
                .contains("cannot lie")
        );
    }
}
