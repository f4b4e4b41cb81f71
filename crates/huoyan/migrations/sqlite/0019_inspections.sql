-- Supervision teams' inspections (sqlite): checklists per site kind, kept in every version a round
-- used; each team's area of responsibility; rounds with their stops in the order proposed, each
-- stop's visit and answers (a failed answer names the case it became); and the discipline
-- track, in tables of its own that no other context's statement reads.
-- Keep in step with ../postgres/0019_inspections.sql.
CREATE TABLE checklists (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    version BIGINT NOT NULL,
    -- The items as JSON: [{code, zh, en, category}].
    items TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by BIGINT REFERENCES accounts(id),
    UNIQUE (kind, version)
);

CREATE TABLE inspection_areas (
    team_id BIGINT NOT NULL REFERENCES teams(id),
    region_id BIGINT NOT NULL REFERENCES regions(id),
    PRIMARY KEY (team_id, region_id)
);
CREATE INDEX inspection_areas_region ON inspection_areas(region_id);

CREATE TABLE inspection_rounds (
    id INTEGER PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams(id),
    -- The round's day in the city's zone, YYYY-MM-DD.
    day TEXT NOT NULL,
    -- Metres of travel in the proposed order and in the order the team gave.
    length_m DOUBLE PRECISION NOT NULL,
    given_length_m DOUBLE PRECISION NOT NULL,
    planned_by BIGINT NOT NULL REFERENCES accounts(id),
    planned_at BIGINT NOT NULL
);
CREATE INDEX inspection_rounds_team_day ON inspection_rounds(team_id, day);
CREATE INDEX inspection_rounds_day ON inspection_rounds(day);

CREATE TABLE inspection_round_members (
    round_id BIGINT NOT NULL REFERENCES inspection_rounds(id),
    person_id BIGINT NOT NULL REFERENCES people(id),
    PRIMARY KEY (round_id, person_id)
);

CREATE TABLE inspection_stops (
    id INTEGER PRIMARY KEY,
    round_id BIGINT NOT NULL REFERENCES inspection_rounds(id),
    -- Place in the proposed order (from 1) and in the order the team gave.
    seq BIGINT NOT NULL,
    given_seq BIGINT NOT NULL,
    site_id BIGINT NOT NULL REFERENCES sites(id),
    -- The checklist version the round was planned with.
    checklist_id BIGINT NOT NULL REFERENCES checklists(id),
    visited_at BIGINT,
    visited_by BIGINT REFERENCES accounts(id),
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    -- Metres between where the visit was recorded and the site; far: over the threshold.
    distance_m DOUBLE PRECISION,
    far BIGINT NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (round_id, seq),
    UNIQUE (round_id, site_id)
);
CREATE INDEX inspection_stops_site ON inspection_stops(site_id, visited_at);
CREATE INDEX inspection_stops_visited ON inspection_stops(visited_at);

CREATE TABLE inspection_answers (
    stop_id BIGINT NOT NULL REFERENCES inspection_stops(id),
    item TEXT NOT NULL,
    answer TEXT NOT NULL CHECK (answer IN ('pass', 'fail', 'not_applicable')),
    note TEXT NOT NULL DEFAULT '',
    -- The case a failure became.
    case_id BIGINT REFERENCES cases(id),
    PRIMARY KEY (stop_id, item)
);
CREATE INDEX inspection_answers_case ON inspection_answers(case_id);

CREATE TABLE discipline_flags (
    id INTEGER PRIMARY KEY,
    -- The visit where it was seen, if on a round.
    stop_id BIGINT REFERENCES inspection_stops(id),
    -- The unit or person concerned, and what was seen.
    subject TEXT NOT NULL,
    seen TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('flagged', 'verified', 'transferred', 'dismissed')),
    flagged_by BIGINT NOT NULL REFERENCES accounts(id),
    flagged_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX discipline_flags_state ON discipline_flags(state, flagged_at);

CREATE TABLE discipline_steps (
    id INTEGER PRIMARY KEY,
    flag_id BIGINT NOT NULL REFERENCES discipline_flags(id),
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    note TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    at BIGINT NOT NULL
);
CREATE INDEX discipline_steps_flag ON discipline_steps(flag_id);
