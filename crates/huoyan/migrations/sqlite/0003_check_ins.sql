-- Zero reports (零报告), SQLite. Keep in step with ../postgres/0003_check_ins.sql.
-- One row per compound, supervisor and Beijing day: "problems reported" or "nothing to report".
CREATE TABLE check_ins (
    id INTEGER PRIMARY KEY,
    compound_id BIGINT NOT NULL REFERENCES regions(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    day TEXT NOT NULL,
    nothing_to_report BIGINT NOT NULL,
    at BIGINT NOT NULL,
    UNIQUE (compound_id, account_id, day)
);
CREATE INDEX check_ins_day ON check_ins(day);
