-- Chasing a unit: how often the group urged it on a task (counted per unit in the figures), and
-- the unread notices an account's badge counts (postgres). Keep in step with ../sqlite/0011_chasing.sql.
ALTER TABLE case_tasks ADD COLUMN urges BIGINT NOT NULL DEFAULT 0;
CREATE INDEX notifications_unread ON notifications(account_id) WHERE read_at IS NULL;
