"""planning: workflow activities, idempotent planning actions, context artifacts

Revision ID: planning_0002
Revises: planning_0001
"""

import sqlalchemy as sa
from alembic import op

from doltplane.packs.sql import JSON, TIME, key

revision = "planning_0002"
down_revision = "planning_0001"
branch_labels = None
depends_on = None


def define(metadata: sa.MetaData) -> None:
    """Needs the 0001 tables in ``metadata`` (foreign keys)."""
    sa.Table(
        "workflow_activity",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("workflow_id", key(), sa.ForeignKey("workflow.id"), nullable=False),
        sa.Column("name", key(128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Index("ix_workflow_activity_workflow_position", "workflow_id", "position"),
    )
    sa.Table(
        "planning_action",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("project_id", key(), sa.ForeignKey("project.id"), nullable=False),
        sa.Column("idempotency_key", key(128), nullable=False),
        sa.Column("action", key(32), nullable=False),
        sa.Column("payload", JSON, nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.UniqueConstraint("project_id", "idempotency_key", name="uq_planning_action_key"),
    )
    sa.Table(
        "context_artifact",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("project_id", key(), sa.ForeignKey("project.id"), nullable=False),
        sa.Column("card_id", key(), sa.ForeignKey("card.id"), nullable=True),
        sa.Column("kind", key(32), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("uri", sa.String(1024), nullable=True),
        sa.Column("integration_ref", sa.String(255), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint(
            "content IS NOT NULL OR uri IS NOT NULL OR integration_ref IS NOT NULL",
            name="ck_context_artifact_has_body",
        ),
    )


def upgrade() -> None:
    metadata = sa.MetaData()
    metadata.reflect(op.get_bind(), only=["project", "workflow", "card"])
    define(metadata)
    for name in ("workflow_activity", "planning_action", "context_artifact"):
        metadata.tables[name].create(op.get_bind())


def downgrade() -> None:
    for name in ("context_artifact", "planning_action", "workflow_activity"):
        op.drop_table(name)
