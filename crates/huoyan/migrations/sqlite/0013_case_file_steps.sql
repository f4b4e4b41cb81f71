-- Each file belongs to the step of the case's timeline it came with: the report, a fix, a
-- verification (sqlite). Keep in step with ../postgres/0013_case_file_steps.sql.
ALTER TABLE case_files ADD COLUMN entry_id BIGINT REFERENCES case_events(id);
-- Files stored so far: a step and its files were written by one change, the step's entry first,
-- at the same instant by the same account, then an `attach` entry; files added on their own
-- (or with a report, which was filed before its photos) join the report.
UPDATE case_files SET entry_id = COALESCE(
    (SELECT MAX(e.id) FROM case_events e
      WHERE e.case_id = case_files.case_id AND e.at = case_files.uploaded_at
        AND e.actor_account_id = case_files.uploaded_by AND e.action <> 'attach'),
    (SELECT MIN(e.id) FROM case_events e
      WHERE e.case_id = case_files.case_id AND e.action = 'report'));
CREATE INDEX case_files_entry ON case_files(entry_id);

-- backend-specific (SQLite cannot make an added column NOT NULL without rebuilding the table:
-- a trigger refuses a file without its step instead.)
CREATE TRIGGER case_files_entry_required BEFORE INSERT ON case_files
    WHEN NEW.entry_id IS NULL
BEGIN
    SELECT RAISE(ABORT, 'case_files.entry_id: a file belongs to a step');
END;
CREATE TRIGGER case_files_entry_kept BEFORE UPDATE OF entry_id ON case_files
    WHEN NEW.entry_id IS NULL
BEGIN
    SELECT RAISE(ABORT, 'case_files.entry_id: a file belongs to a step');
END;
