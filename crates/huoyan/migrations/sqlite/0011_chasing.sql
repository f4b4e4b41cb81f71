-- Chasing a unit: how often the group urged it on a task (counted per unit in the figures), and
-- the unread notices an account's badge counts (sqlite). Keep in step with ../postgres/0011_chasing.sql.
ALTER TABLE case_tasks ADD COLUMN urges BIGINT NOT NULL DEFAULT 0;
CREATE INDEX notifications_unread ON notifications(account_id) WHERE read_at IS NULL;
