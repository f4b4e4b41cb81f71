-- Each file belongs to the step of the case's timeline it came with: the report, a fix, a
-- verification (postgres). Keep in step with ../sqlite/0013_case_file_steps.sql.
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

-- backend-specific (PostgreSQL makes the added column NOT NULL.)
ALTER TABLE case_files ALTER COLUMN entry_id SET NOT NULL;
