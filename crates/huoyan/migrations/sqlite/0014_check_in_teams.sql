-- A check-in speaks for a compound (its supervisor), a supervision team (an inspector) or the
-- account alone (a drone operator): the compound becomes optional and a team is added (SQLite).
-- Keep in step with ../postgres/0014_check_in_teams.sql. SQLite cannot drop NOT NULL in place:
-- the table is rebuilt (nothing refers to it).
CREATE TABLE check_ins_new (
    id INTEGER PRIMARY KEY,
    compound_id BIGINT REFERENCES regions(id),
    team_id BIGINT REFERENCES teams(id),
    account_id BIGINT NOT NULL REFERENCES accounts(id),
    day TEXT NOT NULL,
    nothing_to_report BIGINT NOT NULL,
    at BIGINT NOT NULL,
    CHECK (compound_id IS NULL OR team_id IS NULL)
);
INSERT INTO check_ins_new (compound_id, account_id, day, nothing_to_report, at)
    SELECT compound_id, account_id, day, nothing_to_report, at FROM check_ins;
DROP TABLE check_ins;
ALTER TABLE check_ins_new RENAME TO check_ins;

-- One answer per account, day and what it speaks for (an absent compound or team counts as 0).
CREATE UNIQUE INDEX check_ins_once ON check_ins(account_id, day, COALESCE(compound_id, 0), COALESCE(team_id, 0));
CREATE INDEX check_ins_day ON check_ins(day);
