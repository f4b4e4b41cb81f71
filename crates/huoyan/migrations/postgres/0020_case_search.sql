-- The case list's search index (postgres; cases::search): each timeline entry's text as the set
-- of its adjacent character pairs, keyed by the entry's id. Entries written before it are indexed
-- by the backfill job up to `upto`. Keep in step with ../sqlite/0020_case_search.sql.
CREATE TABLE case_search_backfill (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    through BIGINT NOT NULL,
    upto BIGINT NOT NULL
);
INSERT INTO case_search_backfill (id, through, upto)
    SELECT 1, 0, COALESCE(MAX(id), 0) FROM case_events;
-- backend-specific (PostgreSQL: the pairs as ASCII tokens in a stripped tsvector under GIN. Derived
-- from case_events, the table is not copied by `huoyan copy`, as its comment says, but rebuilt.)
CREATE TABLE case_search (
    entry_id BIGINT PRIMARY KEY,
    case_id BIGINT NOT NULL,
    grams tsvector NOT NULL
);
CREATE INDEX case_search_grams ON case_search USING GIN (grams);
COMMENT ON TABLE case_search IS 'derived: rebuilt from case_events, never copied';
