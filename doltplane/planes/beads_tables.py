"""Tables for what a Beads import brings besides the issue rows themselves.

The ``issues`` table holds the fields that mean the same in both (id, title,
issue_type -> type, status, created_by, created_at, closed_at -> completed_at,
owner). Everything else a Beads issue carries lives here, queryable:

- ``issue_fields``: one row per imported issue with its other top-level
  fields as JSON, plus columns copied out of them for queries (assignee,
  priority, updated_at, ephemeral (``wisp`` in old exports), deleted_at);
- ``issue_labels``, ``issue_dependencies``, ``issue_comments``,
  ``issue_events``: one row per nested item, in the order the record lists
  them (``position``);
- ``memories`` (``bd remember``) and ``beads_config`` (a backup folder's
  ``config.jsonl``).

Every row keeps ``spelling``: the original JSON of a mapped field whenever the
column alone would not give it back (an integer comment id, a timestamp with
nanoseconds, a key that was absent), paired with the column value it belongs
to, so that a later live change of the column wins over the old spelling.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()


def _fields() -> list[sa.Column[object]]:
    return [
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("spelling", sa.JSON(), nullable=False),
    ]


issue_fields = sa.Table(
    "issue_fields",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("assignee", sa.String(255), nullable=True),
    sa.Column("priority", sa.Integer(), nullable=True),
    sa.Column("updated_at", sa.DateTime(), nullable=True),
    sa.Column("ephemeral", sa.Boolean(), nullable=True),
    sa.Column("deleted_at", sa.DateTime(), nullable=True),
    *_fields(),
)

issue_labels = sa.Table(
    "issue_labels",
    metadata,
    sa.Column("issue_id", sa.String(255), primary_key=True),
    sa.Column("position", sa.Integer(), primary_key=True),
    sa.Column("label", sa.Text(), nullable=False),
)

issue_dependencies = sa.Table(
    "issue_dependencies",
    metadata,
    sa.Column("issue_id", sa.String(255), primary_key=True),
    sa.Column("position", sa.Integer(), primary_key=True),
    sa.Column("depends_on_id", sa.String(255), nullable=True),
    sa.Column("type", sa.String(64), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=True),
    sa.Column("created_by", sa.String(255), nullable=True),
    *_fields(),
)

issue_comments = sa.Table(
    "issue_comments",
    metadata,
    sa.Column("issue_id", sa.String(255), primary_key=True),
    sa.Column("position", sa.Integer(), primary_key=True),
    sa.Column("comment_id", sa.String(255), nullable=True),
    sa.Column("author", sa.String(255), nullable=True),
    sa.Column("text", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=True),
    *_fields(),
)

issue_events = sa.Table(
    "issue_events",
    metadata,
    sa.Column("issue_id", sa.String(255), primary_key=True),
    sa.Column("position", sa.Integer(), primary_key=True),
    sa.Column("event_id", sa.String(255), nullable=True),
    sa.Column("event_type", sa.String(64), nullable=True),
    sa.Column("actor", sa.String(255), nullable=True),
    sa.Column("old_value", sa.Text(), nullable=True),
    sa.Column("new_value", sa.Text(), nullable=True),
    sa.Column("comment", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=True),
    *_fields(),
)

memories = sa.Table(
    "memories",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text(), nullable=True),
    *_fields(),
)

beads_config = sa.Table(
    "beads_config",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text(), nullable=True),
    *_fields(),
)
