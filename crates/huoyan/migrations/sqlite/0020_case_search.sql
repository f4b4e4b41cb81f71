-- The case list's search index (sqlite; cases::search): each timeline entry's text as the set of
-- its adjacent character pairs, keyed by the entry's id. Entries written before it are indexed by
-- the backfill job up to `upto`. Keep in step with ../postgres/0020_case_search.sql.
CREATE TABLE case_search_backfill (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    through BIGINT NOT NULL,
    upto BIGINT NOT NULL
);
INSERT INTO case_search_backfill (id, through, upto)
    SELECT 1, 0, COALESCE(MAX(id), 0) FROM case_events;
-- backend-specific (SQLite: the pairs as ASCII tokens in FTS5, without content or positions.)
CREATE VIRTUAL TABLE case_search USING fts5(grams, content = '', detail = 'none', tokenize = 'ascii');
