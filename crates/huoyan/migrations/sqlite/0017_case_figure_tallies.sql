-- The figures' running tallies (sqlite): one row per Beijing day of report (days since 1970-01-01),
-- category and unit (0: the cases' own clock and every unit's tasks), kept by the write path so
-- that reading the figures does not rescan history (see src/cases/figures/tallies.rs; the tally
-- is JSON of huoyan_core::cases::figures::tally::Tally). Keep in step with
-- ../postgres/0017_case_figure_tallies.sql.
CREATE TABLE case_figure_tallies (
    day BIGINT NOT NULL,
    category TEXT NOT NULL,
    department_id BIGINT NOT NULL,
    tally TEXT NOT NULL,
    PRIMARY KEY (day, category, department_id)
);
-- A row once the tallies hold every case: at once on a database without cases; else the first
-- start of the server after this migration builds them from the history and writes it.
CREATE TABLE case_figure_tallies_built (built_at BIGINT NOT NULL);
INSERT INTO case_figure_tallies_built (built_at) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM cases);
