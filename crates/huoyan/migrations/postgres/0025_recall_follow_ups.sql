-- What a positive tube set going: for each building its people live in, a case for the
-- single-tube retests at their doors and one for the building's control (huoyan_core::testing::
-- recall), filed with the recall in one transaction. They supersede recalls.case_id, which
-- nothing writes (postgres).
-- Keep in step with ../sqlite/0025_recall_follow_ups.sql.
CREATE TABLE recall_follow_ups (
    recall_id BIGINT NOT NULL REFERENCES recalls(id),
    compound_id BIGINT NOT NULL REFERENCES regions(id),
    building TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('door_retest', 'building_control')),
    case_id BIGINT NOT NULL UNIQUE REFERENCES cases(id),
    PRIMARY KEY (recall_id, compound_id, building, kind)
);
