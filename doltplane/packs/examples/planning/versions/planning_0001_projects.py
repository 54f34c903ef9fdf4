"""planning: projects, position-ordered workflows, cards, card labels, event log

Revision ID: planning_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from doltplane.packs.sql import JSON, TIME, key

revision = "planning_0001"
down_revision = None
branch_labels = ("planning",)
depends_on = None

CARD_STATES = ("backlog", "ready", "in_progress", "review", "done", "cancelled")


def define(metadata: sa.MetaData) -> None:
    sa.Table(
        "project",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("name", key(128), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", key(16), nullable=False, server_default="active"),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("status IN ('active', 'archived')", name="ck_project_status"),
    )
    sa.Table(
        "workflow",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("project_id", key(), sa.ForeignKey("project.id"), nullable=False),
        sa.Column("name", key(128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Index("ix_workflow_project_position", "project_id", "position"),
    )
    sa.Table(
        "card",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("project_id", key(), sa.ForeignKey("project.id"), nullable=False),
        sa.Column("workflow_id", key(), sa.ForeignKey("workflow.id"), nullable=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", key(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="2"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in CARD_STATES) + ")", name="ck_card_status"
        ),
        sa.CheckConstraint("priority BETWEEN 0 AND 4", name="ck_card_priority"),
        sa.Index("ix_card_project_status", "project_id", "status"),
    )
    sa.Table(
        "card_label",
        metadata,
        sa.Column("card_id", key(), sa.ForeignKey("card.id"), primary_key=True),
        sa.Column("label", key(), primary_key=True),
    )
    sa.Table(
        "event_log",
        metadata,
        sa.Column("id", key(), primary_key=True),
        sa.Column("project_id", key(), nullable=False),
        sa.Column("kind", key(32), nullable=False),
        sa.Column("subject", key(), nullable=True),
        sa.Column("payload", JSON, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Index("ix_event_log_project_created", "project_id", "created_at"),
    )


def upgrade() -> None:
    metadata = sa.MetaData()
    define(metadata)
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata = sa.MetaData()
    define(metadata)
    metadata.drop_all(op.get_bind())
