-- Indexes that let the case list read a page in its own order (sqlite): each filter's column with
-- the id after it, so that "newest first" within a state, a category, a source, a compound or
-- one reporter's cases walks an index instead of sorting every match; and the day of report for
-- the period filters. Keep in step with ../postgres/0016_case_list_indexes.sql.
DROP INDEX cases_state;
DROP INDEX cases_compound;
CREATE INDEX cases_state ON cases(state, id);
CREATE INDEX cases_compound ON cases(compound_id, id);
CREATE INDEX cases_category ON cases(category, id);
CREATE INDEX cases_source ON cases(source, id);
CREATE INDEX cases_reporter ON cases(reporter_account_id, id);
CREATE INDEX cases_reported ON cases(reported_at);
