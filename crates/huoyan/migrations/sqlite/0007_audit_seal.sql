-- The audit chain's head is sealed with a key kept outside the database (SQLite). Keep in step with
-- ../postgres/0007_audit_seal.sql.

-- HMAC-SHA256 of the head's (seq, hash) with the audit key, and which key made it. NULL only in a
-- database no change was written to yet.
ALTER TABLE audit_head ADD COLUMN mac TEXT;
ALTER TABLE audit_head ADD COLUMN key_id TEXT;

-- backend-specific (SQLite: triggers stop mistakes; whoever can write the file can drop them, the seal stops the rest.)
-- Events are appended, never changed; the head moves only forward, to an event that was written.
-- Whoever can write the file can drop these triggers: they stop mistakes, the seal stops the rest.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_head_moves_forward BEFORE UPDATE ON audit_head
WHEN NEW.id <> OLD.id OR NEW.seq < OLD.seq OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash)
    OR (NEW.seq > OLD.seq AND NOT EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq AND hash = NEW.hash))
BEGIN
    SELECT RAISE(ABORT, 'the audit chain head only moves forward, to the last event written');
END;
CREATE TRIGGER audit_head_kept BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit_head keeps its one row');
END;
