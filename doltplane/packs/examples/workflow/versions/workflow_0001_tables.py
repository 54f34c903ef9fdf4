"""workflow tables: definitions, instances, tasks, history, schedules, metrics

Revision ID: workflow_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from doltplane.packs.sql import JSON, TIME, key

revision = "workflow_0001"
down_revision = None
branch_labels = ("workflow",)
depends_on = None

INSTANCE_STATES = ("pending", "running", "paused", "completed", "failed", "cancelled")
TASK_STATES = ("pending", "running", "completed", "failed", "skipped", "cancelled")
TASK_TYPES = ("executor", "condition", "parallel", "sequential", "sub_workflow")
EVENTS = (
    "workflow_started",
    "workflow_paused",
    "workflow_resumed",
    "workflow_completed",
    "workflow_failed",
    "workflow_cancelled",
    "task_started",
    "task_completed",
    "task_failed",
    "task_skipped",
)
SCHEDULES = ("cron", "interval", "event", "manual")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def define(metadata: sa.MetaData) -> None:
    """The tables as this revision creates them (the pack's MetaData starts from here)."""
    sa.Table(
        "workflow_definitions",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("name", key(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition_json", JSON, nullable=False),
        sa.Column("category", key(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_workflow_definitions_name_version"),
        sa.CheckConstraint("version >= 1", name="ck_workflow_definitions_version"),
    )
    sa.Table(
        "workflow_definition_history",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("definition_id", key(), sa.ForeignKey("workflow_definitions.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition_json", JSON, nullable=False),
        sa.Column("change_note", sa.Text(), nullable=True),
        sa.Column("changed_by", key(128), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Index("ix_workflow_definition_history_definition", "definition_id", "version"),
    )
    sa.Table(
        "workflow_instances",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("definition_id", key(), sa.ForeignKey("workflow_definitions.id"), nullable=False),
        sa.Column("status", key(16), nullable=False),
        sa.Column("input_data", JSON, nullable=True),
        sa.Column("output_data", JSON, nullable=True),
        sa.Column("context_data", JSON, nullable=True),
        sa.Column("correlation_id", key(128), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("completed_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(_one_of("status", INSTANCE_STATES), name="ck_workflow_instances_status"),
        sa.Index("ix_workflow_instances_status_created", "status", "created_at"),
        sa.Index(
            "ix_workflow_instances_definition_status_created",
            "definition_id",
            "status",
            "created_at",
        ),
        sa.Index("ix_workflow_instances_correlation", "correlation_id"),
    )
    sa.Table(
        "task_instances",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("workflow_instance_id", key(), nullable=False),
        sa.Column("name", key(128), nullable=False),
        sa.Column("task_type", key(16), nullable=False),
        sa.Column("status", key(16), nullable=False),
        sa.Column("dependencies", JSON, nullable=True),
        sa.Column("execution_order", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("input_data", JSON, nullable=True),
        sa.Column("output_data", JSON, nullable=True),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("completed_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(_one_of("task_type", TASK_TYPES), name="ck_task_instances_type"),
        sa.CheckConstraint(_one_of("status", TASK_STATES), name="ck_task_instances_status"),
        sa.Index("ix_task_instances_instance_order", "workflow_instance_id", "execution_order"),
    )
    sa.Table(
        "execution_history",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("workflow_instance_id", key(), nullable=False),
        sa.Column("task_instance_id", key(), nullable=True),
        sa.Column("event_type", key(32), nullable=False),
        sa.Column("details", JSON, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint(_one_of("event_type", EVENTS), name="ck_execution_history_event"),
        sa.CheckConstraint(
            "SUBSTR(event_type, 1, 9) = 'workflow_' OR task_instance_id IS NOT NULL",
            name="ck_execution_history_task_event",
        ),
        sa.Index("ix_execution_history_instance_created", "workflow_instance_id", "created_at"),
        sa.Index("ix_execution_history_created", "created_at"),
    )
    sa.Table(
        "workflow_schedules",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("definition_id", key(), sa.ForeignKey("workflow_definitions.id"), nullable=False),
        sa.Column("schedule_type", key(16), nullable=False),
        sa.Column("cron_expression", key(128), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=True),
        sa.Column("event_name", key(128), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("next_run_at", TIME, nullable=True),
        sa.Column("last_run_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(_one_of("schedule_type", SCHEDULES), name="ck_workflow_schedules_type"),
        sa.CheckConstraint(
            "(schedule_type <> 'cron' OR cron_expression IS NOT NULL)"
            " AND (schedule_type <> 'interval' OR interval_seconds > 0)"
            " AND (schedule_type <> 'event' OR event_name IS NOT NULL)",
            name="ck_workflow_schedules_fields",
        ),
        sa.Index("ix_workflow_schedules_active_next", "is_active", "next_run_at"),
    )
    sa.Table(
        "performance_metrics",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("definition_id", key(), nullable=False),
        sa.Column("period", key(8), nullable=False),
        sa.Column("period_start", TIME, nullable=False),
        sa.Column("total_runs", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("successful_runs", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed_runs", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("avg_duration_seconds", sa.Float(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint("period IN ('hourly', 'daily')", name="ck_performance_metrics_period"),
        sa.UniqueConstraint(
            "definition_id", "period", "period_start", name="uq_performance_metrics_period"
        ),
        sa.Index("ix_performance_metrics_period_start", "period_start"),
    )


def upgrade() -> None:
    metadata = sa.MetaData()
    define(metadata)
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata = sa.MetaData()
    define(metadata)
    metadata.drop_all(op.get_bind())
