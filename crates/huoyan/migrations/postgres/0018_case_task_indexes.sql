-- Indexes for a unit's cases and for the overdue job at city scale (postgres). A unit's list counts
-- its cases from its tasks (department, then case); the overdue job looks only at open tasks
-- not yet escalated, however many escalated ones stay open. Keep in step with
-- ../sqlite/0018_case_task_indexes.sql.
CREATE INDEX case_tasks_unit_cases ON case_tasks(department_id, case_id);
CREATE INDEX case_tasks_to_escalate ON case_tasks(due_at)
    WHERE escalated_at IS NULL AND state IN ('dispatched', 'rectifying');
