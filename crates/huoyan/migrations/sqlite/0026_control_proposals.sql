-- A positive tube's proposal to the commander to raise the control of each building its people
-- live in (huoyan_core::testing::recall::PROPOSED), opened with the recall; the commander accepts
-- it (and issues the order) or declines it, once, with a note (sqlite).
-- Keep in step with ../postgres/0026_control_proposals.sql.
CREATE TABLE control_proposals (
    id INTEGER PRIMARY KEY,
    recall_id BIGINT NOT NULL REFERENCES recalls(id),
    compound_id BIGINT NOT NULL REFERENCES regions(id),
    building TEXT NOT NULL,
    level TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('proposed', 'accepted', 'declined')),
    created_at BIGINT NOT NULL,
    decided_by BIGINT REFERENCES accounts(id),
    decided_at BIGINT,
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (recall_id, compound_id, building)
);
CREATE INDEX control_proposals_state ON control_proposals(state, id);
