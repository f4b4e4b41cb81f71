-- Sub-tasks, merging, files and notifications for cases (SQLite). Keep in step with
-- ../postgres/0005_case_tasks.sql.

-- One task per responsible unit (主办 lead, 协办 co-responsible), each with its own clock.
CREATE TABLE case_tasks (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    department_id BIGINT NOT NULL REFERENCES departments(id),
    share TEXT NOT NULL,
    state TEXT NOT NULL,
    instruction TEXT NOT NULL DEFAULT '',
    dispatched_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    accepted_at BIGINT,
    done_at BIGINT,
    -- A deadline the unit asked for that the group has not answered yet (延期).
    extension_until BIGINT,
    extensions BIGINT NOT NULL DEFAULT 0,
    reworks BIGINT NOT NULL DEFAULT 0,
    -- When the overdue job escalated this task (once per task).
    escalated_at BIGINT
);
CREATE INDEX case_tasks_case ON case_tasks(case_id);
CREATE INDEX case_tasks_department ON case_tasks(department_id, state);
CREATE INDEX case_tasks_due ON case_tasks(state, due_at);

-- Extensions now live on each unit's task.
ALTER TABLE cases DROP COLUMN extension_until;
ALTER TABLE cases ADD COLUMN merged_into BIGINT REFERENCES cases(id);
CREATE INDEX cases_due ON cases(due_at);
ALTER TABLE case_events ADD COLUMN department_id BIGINT REFERENCES departments(id);
-- Where a step was taken (the verifier's finding on the spot).
ALTER TABLE case_events ADD COLUMN lon DOUBLE PRECISION;
ALTER TABLE case_events ADD COLUMN lat DOUBLE PRECISION;

-- Photos and files, stored once per content hash.
CREATE TABLE file_blobs (
    sha256 TEXT PRIMARY KEY,
    content BLOB NOT NULL
);
CREATE TABLE case_files (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES file_blobs(sha256),
    uploaded_by BIGINT REFERENCES accounts(id),
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX case_files_case ON case_files(case_id);

-- What an account should know about: escalations, merges of its reports.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    case_id BIGINT REFERENCES cases(id),
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_account ON notifications(account_id, id);
