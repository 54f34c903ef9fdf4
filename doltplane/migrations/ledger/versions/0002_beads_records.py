"""what Beads records carry besides issue rows: fields, labels, dependencies, comments, events,
memories, config

Revision ID: ledger_0002
Revises: ledger_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "ledger_0002"
down_revision = "ledger_0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
# Dolt's JSON type keeps numbers as doubles (integers past 2**53 come back rounded), so a
# server keeps the JSON text as written; SQLAlchemy's JSON type still encodes and decodes it
_JSON = sa.JSON().with_variant(mysql.LONGTEXT(), "mysql")


def _kept() -> list[sa.Column[object]]:
    # the fields with no column, and the original spelling of mapped ones (see planes/beads_tables)
    return [
        sa.Column("fields", _JSON, nullable=False),
        sa.Column("spelling", _JSON, nullable=False),
    ]


def _owned(name: str, *columns: sa.Column[object]) -> None:
    # keyed by (issue, position): nested items keep their order and need no ids of their own
    op.create_table(
        name,
        sa.Column("issue_id", sa.String(255), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        *columns,
    )


def upgrade() -> None:
    op.create_table(
        "issue_fields",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("assignee", sa.String(255), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("updated_at", _TIME, nullable=True),
        sa.Column("ephemeral", sa.Boolean(), nullable=True),
        sa.Column("deleted_at", _TIME, nullable=True),
        *_kept(),
    )
    op.create_index("ix_issue_fields_assignee", "issue_fields", ["assignee"])
    _owned("issue_labels", sa.Column("label", sa.Text(), nullable=False))
    op.create_index("ix_issue_labels_label", "issue_labels", ["label"], mysql_length=191)
    _owned(
        "issue_dependencies",
        sa.Column("depends_on_id", sa.String(255), nullable=True),
        sa.Column("type", sa.String(64), nullable=True),
        sa.Column("created_at", _TIME, nullable=True),
        sa.Column("created_by", sa.String(255), nullable=True),
        *_kept(),
    )
    op.create_index("ix_issue_dependencies_on", "issue_dependencies", ["depends_on_id"])
    _owned(
        "issue_comments",
        sa.Column("comment_id", sa.String(255), nullable=True),
        sa.Column("author", sa.String(255), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=True),
        *_kept(),
    )
    _owned(
        "issue_events",
        sa.Column("event_id", sa.String(255), nullable=True),
        sa.Column("event_type", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(255), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=True),
        *_kept(),
    )
    for name in ("memories", "beads_config"):
        op.create_table(
            name,
            sa.Column("key", sa.String(255), primary_key=True),
            sa.Column("value", sa.Text(), nullable=True),
            *_kept(),
        )


def downgrade() -> None:
    for name in ("beads_config", "memories", "issue_events", "issue_comments",
                 "issue_dependencies", "issue_labels", "issue_fields"):  # fmt: skip
        op.drop_table(name)
