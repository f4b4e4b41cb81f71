//! The scans the trail vouches for, a batch at a time. The scan ingest writes up to 1,000 scans in
//! one transaction with ONE audit event (`scans`/`write`, its entity id the first scan's id): an
//! event per scan would double what a city round of 2.8 million scans writes. The event seals the
//! batch instead: its summary holds the first and last scan ids, how many rows were written and
//! the SHA-256 of their lines (`ScanRow::line`) in id order.

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

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

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
}
