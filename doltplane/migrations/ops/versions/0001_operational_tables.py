"""operational_state and heartbeats

Revision ID: ops_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "ops_0001"
down_revision = None
branch_labels = None
depends_on = None

_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
# Dolt's JSON type keeps numbers as doubles (integers past 2**53 come back rounded), so a
# server keeps the JSON text as written; SQLAlchemy's JSON type still encodes and decodes it
_JSON = sa.JSON().with_variant(mysql.LONGTEXT(), "mysql")


def upgrade() -> None:
    op.create_table(
        "operational_state",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("rig", sa.String(255), nullable=False),
        sa.Column("agent", sa.String(255), nullable=False),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("state", _JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
    )
    op.create_index("ix_operational_state_rig_updated", "operational_state", ["rig", "updated_at"])
    op.create_index("ix_operational_state_agent_status", "operational_state", ["agent", "status"])
    op.create_index("ix_operational_state_updated", "operational_state", ["updated_at"])
    op.create_table(
        "heartbeats",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("agent", sa.String(255), nullable=False),
        sa.Column("timestamp", _TIME, nullable=False),
        sa.Column("status", _JSON, nullable=False),
        sa.Column("cycle_number", sa.Integer(), nullable=True),
    )
    op.create_index("ix_heartbeats_agent_timestamp", "heartbeats", ["agent", "timestamp"])
    op.create_index("ix_heartbeats_agent_cycle", "heartbeats", ["agent", "cycle_number"])
    op.create_index("ix_heartbeats_timestamp", "heartbeats", ["timestamp"])


def downgrade() -> None:
    op.drop_table("heartbeats")
    op.drop_table("operational_state")
