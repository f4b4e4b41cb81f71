-- The audit chain's head is sealed with a key kept outside the database (PostgreSQL), and the
-- application's role may only append to the trail. Keep in step with ../sqlite/0007_audit_seal.sql.

-- HMAC-SHA256 of the head's (seq, hash) with the audit key, and which key made it. NULL only in a
-- database no change was written to yet.
ALTER TABLE audit_head ADD COLUMN mac TEXT;
ALTER TABLE audit_head ADD COLUMN key_id TEXT;

-- backend-specific (PostgreSQL: triggers, and a role of its own for the application.)
-- Events are appended, never changed; the head moves only forward, to an event that was written.
-- They bind every role, the owner too until the owner disables them: the seal stops the owner.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_not_truncated BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

CREATE FUNCTION audit_head_moves_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'audit_head keeps its one row';
    END IF;
    IF NEW.id <> OLD.id OR NEW.seq < OLD.seq OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash)
        OR (NEW.seq > OLD.seq AND NOT EXISTS (SELECT 1 FROM audit_events WHERE seq = NEW.seq AND hash = NEW.hash)) THEN
        RAISE EXCEPTION 'the audit chain head only moves forward, to the last event written';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_head_moves_forward BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_moves_forward();
CREATE TRIGGER audit_head_not_truncated BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_head_moves_forward();

-- The application's role, `huoyan_app` (NOLOGIN; the login role `serve` connects as is made a
-- member of it, see the README). The owner who runs the migrations keeps the schema; the
-- application reads and writes rows, appends to the trail and moves its head, nothing more.
-- Created here when the database administrator has not made it (that needs CREATEROLE); two
-- databases of one server migrating at once may both try.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'huoyan_app') THEN
        CREATE ROLE huoyan_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO huoyan_app', current_schema());
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO huoyan_app', current_schema());
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO huoyan_app', current_schema());
    -- Tables and sequences later migrations create (as this same owner) get the same grants.
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO huoyan_app', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO huoyan_app', current_schema());
END
$$;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM huoyan_app;
REVOKE INSERT, DELETE, TRUNCATE ON audit_head FROM huoyan_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON _sqlx_migrations FROM huoyan_app;
