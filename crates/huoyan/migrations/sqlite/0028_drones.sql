-- The police drone squad's fleet, the patrol missions planned for it over the sealed zones, and
-- each drone's track as its telemetry reported it (sqlite).
-- Keep in step with ../postgres/0028_drones.sql.
CREATE TABLE drones (
    id INTEGER PRIMARY KEY,
    callsign TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    -- The squad (a team of kind drone_squad) that flies it.
    team_id BIGINT NOT NULL REFERENCES teams(id),
    -- The MAVLink system id its telemetry carries.
    system_id BIGINT NOT NULL UNIQUE CHECK (system_id BETWEEN 1 AND 255),
    endurance_min BIGINT NOT NULL,
    cruise_mps DOUBLE PRECISION NOT NULL,
    hfov_deg DOUBLE PRECISION NOT NULL,
    home_lon DOUBLE PRECISION NOT NULL,
    home_lat DOUBLE PRECISION NOT NULL,
    -- JSON: [{"kind": "hls" | "whep", "url": "https://…"}], checked on the way in.
    streams TEXT NOT NULL DEFAULT '[]',
    -- The operator's mark: on the charger (0/1).
    charging BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE drone_missions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    team_id BIGINT NOT NULL REFERENCES teams(id),
    -- JSON array of objective codes (huoyan_core::drones::Objective).
    objectives TEXT NOT NULL,
    altitude_m DOUBLE PRECISION NOT NULL,
    side_overlap DOUBLE PRECISION NOT NULL,
    -- JSON: the zones as planned, [{"id", "region_id", "geometry"}].
    zones TEXT NOT NULL,
    -- JSON: huoyan_core::drones::coverage::Plan, each drone named by its id.
    plan TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES accounts(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX drone_missions_team ON drone_missions(team_id, id);

-- A sortie sent to its vehicle over MAVLink and acknowledged by it.
CREATE TABLE drone_uploads (
    id INTEGER PRIMARY KEY,
    mission_id BIGINT NOT NULL REFERENCES drone_missions(id),
    sortie BIGINT NOT NULL,
    drone_id BIGINT NOT NULL REFERENCES drones(id),
    items BIGINT NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES accounts(id),
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX drone_uploads_mission ON drone_uploads(mission_id, sortie);

-- The track: a position a second at most per drone (the link thins what the vehicle sends).
CREATE TABLE drone_fixes (
    drone_id BIGINT NOT NULL REFERENCES drones(id),
    at_ms BIGINT NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    alt_m DOUBLE PRECISION NOT NULL,
    heading_deg DOUBLE PRECISION,
    battery_pct BIGINT,
    PRIMARY KEY (drone_id, at_ms)
);
