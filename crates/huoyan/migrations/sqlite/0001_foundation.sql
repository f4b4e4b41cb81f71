-- Foundation schema (SQLite). Keep in step with ../postgres/0001_foundation.sql: portable types only
-- (BIGINT, TEXT, DOUBLE PRECISION, BLOB), booleans as 0/1, times as UTC epoch milliseconds.

CREATE TABLE regions (
    id INTEGER PRIMARY KEY,
    parent_id BIGINT REFERENCES regions(id),
    level TEXT NOT NULL,
    code TEXT UNIQUE,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    geometry TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX regions_path ON regions(path);
CREATE INDEX regions_level ON regions(level);

CREATE TABLE control_orders (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    issued_at BIGINT NOT NULL,
    effective_from BIGINT NOT NULL,
    effective_until BIGINT,
    level TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE control_order_regions (
    order_id BIGINT NOT NULL REFERENCES control_orders(id),
    region_id BIGINT NOT NULL REFERENCES regions(id),
    PRIMARY KEY (order_id, region_id)
);

CREATE TABLE sites (
    id INTEGER PRIMARY KEY,
    region_id BIGINT NOT NULL REFERENCES regions(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    address TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (region_id, name)
);

CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    region_id BIGINT REFERENCES regions(id),
    phone TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL UNIQUE,
    gender TEXT NOT NULL,
    birth_year BIGINT NOT NULL,
    party_member BIGINT NOT NULL DEFAULT 0,
    employer TEXT NOT NULL DEFAULT '',
    home_region_id BIGINT REFERENCES regions(id),
    skills TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX people_home ON people(home_region_id);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    parent_id BIGINT REFERENCES teams(id),
    region_id BIGINT REFERENCES regions(id),
    created_at BIGINT NOT NULL
);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams(id),
    person_id BIGINT NOT NULL REFERENCES people(id),
    role TEXT NOT NULL,
    PRIMARY KEY (team_id, person_id)
);
CREATE INDEX team_members_person ON team_members(person_id);

CREATE TABLE registrations (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL UNIQUE REFERENCES people(id),
    community_id BIGINT NOT NULL REFERENCES regions(id),
    branch_id BIGINT NOT NULL REFERENCES teams(id),
    registered_at BIGINT NOT NULL
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    person_id BIGINT REFERENCES people(id),
    role TEXT NOT NULL,
    scope_region_id BIGINT REFERENCES regions(id),
    scope_department_id BIGINT REFERENCES departments(id),
    scope_team_id BIGINT REFERENCES teams(id),
    password_hash TEXT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor_id BIGINT,
    actor TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action TEXT NOT NULL,
    summary TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_entity ON audit_events(entity, entity_id);

-- The chain head: one row, updated by every writing transaction first, which serialises writers on
-- both databases and gives each event its predecessor's hash.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
