-- Supplies and assistance (sqlite): goods planned per building and carried to every door by the
-- volunteer teams, and residents' requests for help. Keep in step with ../postgres/0029_supply.sql.

-- A supply batch: goods for the buildings of one region, due by a deadline.
CREATE TABLE supply_batches (
    id INTEGER PRIMARY KEY,
    goods TEXT NOT NULL,
    title TEXT NOT NULL,
    -- The region the batch serves; every building of it lies inside.
    region_id BIGINT NOT NULL REFERENCES regions(id),
    deadline BIGINT NOT NULL,
    planned_by BIGINT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX supply_batches_created ON supply_batches(created_at);

-- One building's share of a batch, given to one volunteer team. `delivered` is set by the mark;
-- `missed_at` when the deadline passed unmarked; `case_id` the case a shortfall or miss became.
CREATE TABLE supply_deliveries (
    id INTEGER PRIMARY KEY,
    batch_id BIGINT NOT NULL REFERENCES supply_batches(id),
    building_id BIGINT NOT NULL REFERENCES regions(id),
    compound_id BIGINT NOT NULL REFERENCES regions(id),
    team_id BIGINT NOT NULL REFERENCES teams(id),
    planned BIGINT NOT NULL CHECK (planned > 0),
    doors BIGINT NOT NULL CHECK (doors >= 0),
    delivered BIGINT CHECK (delivered >= 0 AND delivered <= planned),
    note TEXT NOT NULL DEFAULT '',
    marked_by BIGINT REFERENCES accounts(id),
    marked_at BIGINT,
    missed_at BIGINT,
    case_id BIGINT REFERENCES cases(id),
    UNIQUE (batch_id, building_id)
);
CREATE INDEX supply_deliveries_team ON supply_deliveries(team_id, batch_id);
CREATE INDEX supply_deliveries_unmarked ON supply_deliveries(marked_at, missed_at, batch_id);

-- A resident's request for help, passed on by a supervisor, the community, the hotline or a
-- volunteer. The phone is shown in clear only to the volunteer assigned and the community office.
CREATE TABLE assistance_requests (
    id INTEGER PRIMARY KEY,
    compound_id BIGINT NOT NULL REFERENCES regions(id),
    address TEXT NOT NULL,
    resident TEXT NOT NULL,
    phone TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    description TEXT NOT NULL,
    -- Why it is urgent (red), or NULL.
    urgent TEXT,
    state TEXT NOT NULL,
    deadline BIGINT NOT NULL,
    filed_by BIGINT NOT NULL REFERENCES accounts(id),
    assignee_id BIGINT REFERENCES people(id),
    assigned_at BIGINT,
    closed_at BIGINT,
    closed_by BIGINT REFERENCES accounts(id),
    close_note TEXT NOT NULL DEFAULT '',
    -- Medicines bought, counted at closing (for the figures).
    medicines BIGINT NOT NULL DEFAULT 0,
    -- When it was escalated past its deadline, once.
    escalated_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX assistance_requests_place ON assistance_requests(compound_id, state);
CREATE INDEX assistance_requests_assignee ON assistance_requests(assignee_id, state);
CREATE INDEX assistance_requests_due ON assistance_requests(state, escalated_at, deadline);

-- Households that need help, per building, unit and door: why (conditions) and what with (needs),
-- as codes separated by commas. ID-card numbers are kept only as a keyed hash and a masked form.
CREATE TABLE supply_households (
    id INTEGER PRIMARY KEY,
    building_id BIGINT NOT NULL REFERENCES regions(id),
    compound_id BIGINT NOT NULL REFERENCES regions(id),
    unit TEXT NOT NULL DEFAULT '',
    room TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    phone TEXT NOT NULL DEFAULT '',
    id_hash TEXT UNIQUE,
    id_masked TEXT NOT NULL DEFAULT '',
    conditions TEXT NOT NULL,
    needs TEXT NOT NULL DEFAULT '',
    medicines TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    registered_by BIGINT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    UNIQUE (building_id, unit, room, name)
);
CREATE INDEX supply_households_compound ON supply_households(compound_id, building_id);
