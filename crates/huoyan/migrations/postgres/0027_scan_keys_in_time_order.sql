-- A scan's idempotency key is unique per account, indexed key first (postgres). The scanner's keys
-- are UUIDv7, time first: indexed key first, every scanner's new keys land at the end of the
-- index, a page for many scans; indexed account first, each account's keys land at its own place,
-- a page per scanner per batch.
-- Keep in step with ../sqlite/0027_scan_keys_in_time_order.sql.
-- backend-specific: SQLite cannot drop a table's UNIQUE constraint and makes the table anew;
-- PostgreSQL swaps the constraint.
ALTER TABLE scans DROP CONSTRAINT scans_account_id_idempotency_key_key;
ALTER TABLE scans ADD CONSTRAINT scans_key UNIQUE (idempotency_key, account_id);
