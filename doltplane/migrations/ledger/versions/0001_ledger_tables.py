"""issues and cv_entries

Revision ID: ledger_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "ledger_0001"
down_revision = None
branch_labels = None
depends_on = None

_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
# Dolt's JSON type keeps numbers as doubles (integers past 2**53 come back rounded), so a
# server keeps the JSON text as written; SQLAlchemy's JSON type still encodes and decodes it
_JSON = sa.JSON().with_variant(mysql.LONGTEXT(), "mysql")


def upgrade() -> None:
    # text ids (prefix plus random part): integer keys would collide across branches
    op.create_table(
        "issues",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("completed_at", _TIME, nullable=True),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("metadata", _JSON, nullable=False),
    )
    op.create_index("ix_issues_status", "issues", ["status"])
    op.create_index("ix_issues_created_by", "issues", ["created_by"])
    op.create_index("ix_issues_created_at", "issues", ["created_at"])
    op.create_index("ix_issues_owner_completed", "issues", ["owner", "completed_at"])
    op.create_table(
        "cv_entries",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("owner_email", sa.String(255), nullable=False),
        sa.Column("bead_id", sa.String(255), nullable=True),
        sa.Column("activity_type", sa.String(64), nullable=False),
        sa.Column("timestamp", _TIME, nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
    )
    op.create_index("ix_cv_entries_owner_timestamp", "cv_entries", ["owner_email", "timestamp"])
    op.create_index("ix_cv_entries_timestamp", "cv_entries", ["timestamp"])


def downgrade() -> None:
    op.drop_table("cv_entries")
    op.drop_table("issues")
