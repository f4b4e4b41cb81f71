-- A task carries its case's category and time of report, which never change once reported, so
-- that the figures count the open tasks past their deadline from one index of the open tasks
-- alone: joined to their cases, the 32,481 open tasks of 990,188 cases took 100–200 ms, most of
-- the commander's figures (postgres). Keep in step with ../sqlite/0023_case_task_figures.sql.
ALTER TABLE case_tasks ADD COLUMN category TEXT;
ALTER TABLE case_tasks ADD COLUMN reported_at BIGINT;
UPDATE case_tasks SET
    category = (SELECT c.category FROM cases c WHERE c.id = case_tasks.case_id),
    reported_at = (SELECT c.reported_at FROM cases c WHERE c.id = case_tasks.case_id);
DROP INDEX case_tasks_due;
CREATE INDEX case_tasks_due ON case_tasks(state, due_at, department_id, category, reported_at);
