-- Mass testing (sqlite): sampling points and rounds, the residents' registry, tubes and the scans
-- that fill them, transfer boxes (the chain of custody to the lab), results, recalls, and the
-- tubes and kits handed out to points.
-- Keep in step with ../postgres/0022_testing.sql.

-- A site where residents are sampled: its daily hours (minutes after midnight in the city's
-- zone) and how many desks sample at once.
CREATE TABLE testing_points (
    id INTEGER PRIMARY KEY,
    site_id BIGINT NOT NULL UNIQUE REFERENCES sites(id),
    opens_minute BIGINT NOT NULL,
    closes_minute BIGINT NOT NULL,
    desks BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A round of testing on one day over some regions; each point samples it in one mode.
CREATE TABLE testing_rounds (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    day TEXT NOT NULL,
    state TEXT NOT NULL,
    created_by BIGINT REFERENCES accounts(id),
    created_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE TABLE testing_round_regions (
    round_id BIGINT NOT NULL REFERENCES testing_rounds(id),
    region_id BIGINT NOT NULL REFERENCES regions(id),
    PRIMARY KEY (round_id, region_id)
);
CREATE TABLE testing_round_points (
    round_id BIGINT NOT NULL REFERENCES testing_rounds(id),
    point_id BIGINT NOT NULL REFERENCES testing_points(id),
    mode TEXT NOT NULL,
    PRIMARY KEY (round_id, point_id)
);

-- Residents by compound, building and unit. The ID-card number is never stored in clear: a keyed
-- hash finds a resident by it, a masked form shows it. `code` is what their health code (or,
-- without a smartphone, their printed card) scans as.
CREATE TABLE residents (
    id INTEGER PRIMARY KEY,
    compound_id BIGINT NOT NULL REFERENCES regions(id),
    building TEXT NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    room TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    phone TEXT NOT NULL DEFAULT '',
    id_hash TEXT UNIQUE,
    id_masked TEXT NOT NULL DEFAULT '',
    code TEXT NOT NULL UNIQUE,
    colour TEXT NOT NULL,
    carded BIGINT NOT NULL DEFAULT 0,
    registered_by BIGINT REFERENCES accounts(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX residents_place ON residents(compound_id, building, unit);

-- A transfer box of sealed tubes on its way from a point to a lab: who packed it, the courier
-- who took it, the lab account that received it.
CREATE TABLE transfer_boxes (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    point_id BIGINT NOT NULL REFERENCES testing_points(id),
    state TEXT NOT NULL,
    packed_by BIGINT NOT NULL REFERENCES accounts(id),
    packed_at BIGINT NOT NULL,
    courier TEXT NOT NULL DEFAULT '',
    sent_by BIGINT REFERENCES accounts(id),
    sent_at BIGINT,
    received_by BIGINT REFERENCES accounts(id),
    received_at BIGINT
);

-- A tube (or antigen kit) opened at a point for a round; `count` people are in it, never more
-- than its capacity.
CREATE TABLE tubes (
    id INTEGER PRIMARY KEY,
    barcode TEXT NOT NULL UNIQUE,
    round_id BIGINT NOT NULL REFERENCES testing_rounds(id),
    point_id BIGINT NOT NULL REFERENCES testing_points(id),
    mode TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    count BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    opened_by BIGINT NOT NULL REFERENCES accounts(id),
    opened_at BIGINT NOT NULL,
    sealed_by BIGINT REFERENCES accounts(id),
    sealed_at BIGINT,
    box_id BIGINT REFERENCES transfer_boxes(id),
    result TEXT,
    resulted_at BIGINT,
    result_by BIGINT REFERENCES accounts(id),
    CHECK (count >= 0 AND count <= capacity)
);
CREATE INDEX tubes_round ON tubes(round_id, point_id);
CREATE INDEX tubes_box ON tubes(box_id);

-- Every scan a sampler sent, with what it did: `added` to the tube, or why not (a refusal's
-- code). Keyed by the scanner's idempotency key, so a scan sent again is answered as the first
-- time and never written twice; a resident is added to one round's tubes once.
CREATE TABLE scans (
    id INTEGER PRIMARY KEY,
    tube_id BIGINT NOT NULL REFERENCES tubes(id),
    round_id BIGINT NOT NULL REFERENCES testing_rounds(id),
    resident_id BIGINT REFERENCES residents(id),
    code TEXT NOT NULL,
    outcome TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    idempotency_key TEXT NOT NULL,
    at BIGINT NOT NULL,
    UNIQUE (account_id, idempotency_key)
);
CREATE UNIQUE INDEX scans_once ON scans(round_id, resident_id) WHERE outcome = 'added';
CREATE INDEX scans_tube ON scans(tube_id);

-- A positive pooled tube's recall: its people to retest at their door.
CREATE TABLE recalls (
    id INTEGER PRIMARY KEY,
    tube_id BIGINT NOT NULL UNIQUE REFERENCES tubes(id),
    created_at BIGINT NOT NULL,
    case_id BIGINT REFERENCES cases(id)
);

-- Tubes and antigen kits handed out to a point, apart from those used.
CREATE TABLE kit_handouts (
    id INTEGER PRIMARY KEY,
    point_id BIGINT NOT NULL REFERENCES testing_points(id),
    mode TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    handed_by BIGINT NOT NULL REFERENCES accounts(id),
    handed_at BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX kit_handouts_point ON kit_handouts(point_id);
