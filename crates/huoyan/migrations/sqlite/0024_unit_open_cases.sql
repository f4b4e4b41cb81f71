-- The index of a unit's tasks by state holds their cases' ids, so that a unit's inbox reads the
-- cases of its open tasks from the index alone (4,205 open tasks of one unit at 990,188 cases:
-- 11 ms through the deadline index on PostgreSQL, which read every unit's open tasks) (sqlite).
-- Keep in step with ../postgres/0024_unit_open_cases.sql.
DROP INDEX case_tasks_department;
CREATE INDEX case_tasks_department ON case_tasks(department_id, state, case_id);
