-- A scan's idempotency key is unique per account, indexed key first (sqlite). The scanner's keys
-- are UUIDv7, time first: indexed key first, every scanner's new keys land at the end of the
-- index, a page for many scans; indexed account first, each account's keys land at its own place,
-- a page per scanner per batch. SQLite cannot drop a table's UNIQUE constraint, so the table is
-- made anew.
-- Keep in step with ../postgres/0027_scan_keys_in_time_order.sql.
-- backend-specific: SQLite cannot drop a table's UNIQUE constraint and makes the table anew;
-- PostgreSQL swaps the constraint.
CREATE TABLE scans_keyed (
    id INTEGER PRIMARY KEY,
    tube_id BIGINT NOT NULL REFERENCES tubes(id),
    round_id BIGINT NOT NULL REFERENCES testing_rounds(id),
    resident_id BIGINT REFERENCES residents(id),
    code TEXT NOT NULL,
    outcome TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    idempotency_key TEXT NOT NULL,
    at BIGINT NOT NULL,
    UNIQUE (idempotency_key, account_id)
);
INSERT INTO scans_keyed (id, tube_id, round_id, resident_id, code, outcome, account_id, idempotency_key, at)
    SELECT id, tube_id, round_id, resident_id, code, outcome, account_id, idempotency_key, at FROM scans;
DROP TABLE scans;
ALTER TABLE scans_keyed RENAME TO scans;
CREATE UNIQUE INDEX scans_once ON scans(round_id, resident_id) WHERE outcome = 'added';
CREATE INDEX scans_tube ON scans(tube_id);
