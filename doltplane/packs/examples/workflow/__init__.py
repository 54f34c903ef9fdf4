"""The workflow pack: definitions, instances, tasks, execution history, schedules, metrics.

It lives in the operational plane: instances and history churn, and old
ones are deleted by retention (history 90 days, finished instances 30 days,
metrics a year).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from doltplane.packs import Pack, Retention, StateMachine
from doltplane.packs.examples.workflow.versions import workflow_0001_tables as v1

metadata = sa.MetaData()
v1.define(metadata)  # no later revision changed a table

pack = Pack(
    name="workflow",
    plane="ops",
    metadata=metadata,
    versions=Path(__file__).parent / "versions",
    description="workflow engine: definitions, instances, tasks, history, schedules, metrics",
    retention=(
        Retention("execution_history", "created_at", 90),
        Retention(
            "workflow_instances", "completed_at", 30, states=("completed", "failed", "cancelled")
        ),
        Retention("performance_metrics", "period_start", 365),
    ),
    views=("long_running_workflows", "failing_workflow_definitions"),
    state_machines=(
        StateMachine(
            "workflow_instances",
            "status",
            {
                "pending": ("running", "cancelled"),
                "running": ("completed", "failed", "cancelled", "paused"),
                "paused": ("running", "cancelled"),
            },
            initial=("pending",),
        ),
        StateMachine(
            "task_instances",
            "status",
            {
                "pending": ("running", "skipped", "cancelled"),
                "running": ("completed", "failed", "cancelled"),
            },
            initial=("pending",),
        ),
    ),
    idempotency={"workflow_instances": ("definition_id",)},
    version_is_data=("workflow_definitions", "workflow_definition_history"),
)
