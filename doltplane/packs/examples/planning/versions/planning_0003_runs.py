"""planning: orchestration runs, card assignments, approval requests

Revision ID: planning_0003
Revises: planning_0002
"""

import sqlalchemy as sa
from alembic import op

from doltplane.packs.sql import TIME, key

revision = "planning_0003"
down_revision = "planning_0002"
branch_labels = None
depends_on = None


def define(metadata: sa.MetaData) -> None:
    """Needs the 0001 tables in ``metadata`` (foreign keys)."""
    sa.Table(
        "orchestration_run",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("project_id", key(), sa.ForeignKey("project.id"), nullable=False),
        sa.Column("scope", key(16), nullable=False),
        sa.Column("workflow_id", key(), sa.ForeignKey("workflow.id"), nullable=True),
        sa.Column("card_id", key(), sa.ForeignKey("card.id"), nullable=True),
        sa.Column("status", key(16), nullable=False),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(
            "scope IN ('project', 'workflow', 'card')", name="ck_orchestration_run_scope"
        ),
        sa.CheckConstraint(
            "(scope <> 'workflow' OR workflow_id IS NOT NULL)"
            " AND (scope <> 'card' OR card_id IS NOT NULL)",
            name="ck_orchestration_run_target",
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name="ck_orchestration_run_status",
        ),
    )
    sa.Table(
        "card_assignment",
        metadata,
        sa.Column("card_id", key(), sa.ForeignKey("card.id"), primary_key=True),
        sa.Column("assignee", key(128), primary_key=True),
        sa.Column("role", key(32), nullable=False, server_default="owner"),
        sa.Column("created_at", TIME, nullable=False),
    )
    sa.Table(
        "approval_request",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("card_id", key(), sa.ForeignKey("card.id"), nullable=False),
        sa.Column("requested_by", key(128), nullable=False),
        sa.Column("approver", key(128), nullable=True),
        sa.Column("status", key(16), nullable=False),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'withdrawn')",
            name="ck_approval_request_status",
        ),
    )


def upgrade() -> None:
    metadata = sa.MetaData()
    metadata.reflect(op.get_bind(), only=["project", "workflow", "card"])
    define(metadata)
    for name in ("orchestration_run", "card_assignment", "approval_request"):
        metadata.tables[name].create(op.get_bind())


def downgrade() -> None:
    for name in ("approval_request", "card_assignment", "orchestration_run"):
        op.drop_table(name)
