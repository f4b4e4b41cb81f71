-- Workforce (sqlite): posts and their daily shifts, the people on duty with their wishes, blockers,
-- roster plans with their rows, the published roster, and sign-ins.
-- Keep in step with ../postgres/0021_workforce.sql.
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    site_id BIGINT NOT NULL REFERENCES sites(id),
    job TEXT NOT NULL,
    -- Skills everyone on the post needs, as a JSON array of names (people.skills' words).
    skills TEXT NOT NULL DEFAULT '[]',
    note TEXT NOT NULL DEFAULT '',
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (site_id, job)
);

-- A post's shifts, the same every day: minutes after midnight in the city's zone; an end at or
-- before the start crosses midnight.
CREATE TABLE post_shifts (
    id INTEGER PRIMARY KEY,
    post_id BIGINT NOT NULL REFERENCES posts(id),
    start_minute BIGINT NOT NULL,
    end_minute BIGINT NOT NULL,
    headcount BIGINT NOT NULL,
    UNIQUE (post_id, start_minute)
);

-- The people the dispatcher rosters: sinking cadres and double-registered volunteers, each
-- serving one community, with the wishes the roster engine weighs.
CREATE TABLE duty_people (
    person_id BIGINT PRIMARY KEY REFERENCES people(id),
    community_id BIGINT NOT NULL REFERENCES regions(id),
    kind TEXT NOT NULL,
    max_minutes_per_week BIGINT NOT NULL,
    avoid_early BIGINT NOT NULL DEFAULT 0,
    -- Days asked off, as a JSON array of YYYY-MM-DD.
    days_off TEXT NOT NULL DEFAULT '[]',
    joined_at BIGINT NOT NULL
);
CREATE INDEX duty_people_community ON duty_people(community_id);

-- Why a person cannot go on duty from first_day to last_day (YYYY-MM-DD, inclusive), and who
-- decides: a community office (department_id) grants or refuses what is its to decide.
CREATE TABLE blockers (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people(id),
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    reason TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    department_id BIGINT REFERENCES departments(id),
    set_by BIGINT REFERENCES accounts(id),
    set_at BIGINT NOT NULL,
    closed_by BIGINT REFERENCES accounts(id),
    closed_at BIGINT,
    closing_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX blockers_person ON blockers(person_id, last_day);
CREATE INDEX blockers_state ON blockers(state, last_day);

-- A plan of one to fourteen days over the posts and people of a region: drafts, what was
-- published, and plans cancelled or stopped.
CREATE TABLE roster_plans (
    id INTEGER PRIMARY KEY,
    region_id BIGINT NOT NULL REFERENCES regions(id),
    first_day TEXT NOT NULL,
    days BIGINT NOT NULL,
    state TEXT NOT NULL,
    -- The plan it re-planned, whose published rows were its baseline.
    based_on BIGINT REFERENCES roster_plans(id),
    -- The engine's objective by term, and the places left short with why, as JSON.
    breakdown TEXT NOT NULL DEFAULT 'null',
    shortfalls TEXT NOT NULL DEFAULT '[]',
    -- Why a plan failed.
    message TEXT NOT NULL DEFAULT '',
    planned_by BIGINT REFERENCES accounts(id),
    planned_at BIGINT NOT NULL,
    finished_at BIGINT,
    published_at BIGINT
);

CREATE TABLE roster_plan_rows (
    plan_id BIGINT NOT NULL REFERENCES roster_plans(id),
    person_id BIGINT NOT NULL REFERENCES people(id),
    day TEXT NOT NULL,
    shift_id BIGINT NOT NULL REFERENCES post_shifts(id),
    pinned BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (plan_id, person_id, day)
);

-- The published roster: who is on which shift each day, from the plan that put them there.
CREATE TABLE roster (
    person_id BIGINT NOT NULL REFERENCES people(id),
    day TEXT NOT NULL,
    shift_id BIGINT NOT NULL REFERENCES post_shifts(id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    plan_id BIGINT NOT NULL REFERENCES roster_plans(id),
    PRIMARY KEY (person_id, day)
);
CREATE INDEX roster_shift ON roster(shift_id, day);
CREATE INDEX roster_day ON roster(day);

-- Who signed in for their shift and how (a post's daily code, or a tap), where, whether late or
-- far from the site; signed out by hand or, at the shift's end, automatically.
CREATE TABLE sign_ins (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people(id),
    day TEXT NOT NULL,
    shift_id BIGINT NOT NULL REFERENCES post_shifts(id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    in_at BIGINT NOT NULL,
    method TEXT NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    distance_m DOUBLE PRECISION,
    far BIGINT NOT NULL DEFAULT 0,
    late BIGINT NOT NULL DEFAULT 0,
    out_at BIGINT,
    out_auto BIGINT NOT NULL DEFAULT 0,
    UNIQUE (person_id, day, shift_id)
);
CREATE INDEX sign_ins_open ON sign_ins(out_at, ends_at);
CREATE INDEX sign_ins_shift ON sign_ins(shift_id, day);
