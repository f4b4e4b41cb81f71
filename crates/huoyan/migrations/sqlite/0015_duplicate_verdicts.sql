-- The office's verdicts on the duplicate proposer's proposals (sqlite): a case merged into another
-- (proposed or not) or a proposal refused, with the score and rank it was shown at, so the
-- proposer's precision in use is a figure and a refused proposal is not shown again.
-- Keep in step with ../postgres/0015_duplicate_verdicts.sql.
CREATE TABLE duplicate_verdicts (
    case_id BIGINT NOT NULL REFERENCES cases(id),
    other_id BIGINT NOT NULL REFERENCES cases(id),
    verdict TEXT NOT NULL CHECK (verdict IN ('merged', 'refused')),
    score DOUBLE PRECISION,
    rank BIGINT,
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    decided_at BIGINT NOT NULL,
    PRIMARY KEY (case_id, other_id)
);
CREATE INDEX duplicate_verdicts_decided ON duplicate_verdicts(decided_at);
