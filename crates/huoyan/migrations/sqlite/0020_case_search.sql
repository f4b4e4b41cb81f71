-- The case list's search index (sqlite; cases::search): each timeline entry's text as the set of
-- its adjacent character pairs, ASCII tokens in FTS5 without content or positions, keyed by the
-- entry's id. Entries written before it are indexed by the backfill job up to `upto`. Keep in
-- step with ../postgres/0020_case_search.sql.
CREATE VIRTUAL TABLE case_search USING fts5(grams, content = '', detail = 'none', tokenize = 'ascii');
CREATE TABLE case_search_backfill (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    through INTEGER NOT NULL,
    upto INTEGER NOT NULL
);
INSERT INTO case_search_backfill (id, through, upto)
    SELECT 1, 0, COALESCE(MAX(id), 0) FROM case_events;
