-- Notifications are stored as a kind with its arguments and worded in the reader's language when
-- read (postgres). Keep in step with ../sqlite/0010_notification_args.sql.
ALTER TABLE notifications ADD COLUMN args TEXT NOT NULL DEFAULT '{}';
ALTER TABLE notifications DROP COLUMN message;
