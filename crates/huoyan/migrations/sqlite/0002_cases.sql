-- Cases (SQLite). Keep in step with ../postgres/0002_cases.sql.

CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    category TEXT NOT NULL,
    priority TEXT NOT NULL,
    state TEXT NOT NULL,
    compound_id BIGINT NOT NULL REFERENCES regions(id),
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    address TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL,
    reporter_account_id BIGINT NOT NULL REFERENCES accounts(id),
    department_id BIGINT REFERENCES departments(id),
    due_at BIGINT,
    reported_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    idempotency_key TEXT,
    UNIQUE (reporter_account_id, idempotency_key)
);
CREATE INDEX cases_state ON cases(state);
CREATE INDEX cases_compound ON cases(compound_id);
CREATE INDEX cases_department ON cases(department_id);

-- The timeline: every transition with who, when and what they wrote.
CREATE TABLE case_events (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    at BIGINT NOT NULL,
    actor_account_id BIGINT REFERENCES accounts(id),
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_events_case ON case_events(case_id);
