"""planning: cards carry a build_state

Revision ID: planning_0004
Revises: planning_0003
"""

import sqlalchemy as sa
from alembic import op

from doltplane.packs.sql import key

revision = "planning_0004"
down_revision = "planning_0003"
branch_labels = None
depends_on = None


def build_state() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("build_state", key(16), nullable=False, server_default="not_started")


def upgrade() -> None:
    op.add_column("card", build_state())


def downgrade() -> None:
    op.drop_column("card", "build_state")
