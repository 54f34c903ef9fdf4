"""heartbeats move to heartbeat_log, a dolt_ignore'd table keyed by time

Heartbeats are append-only and carry their own time: Dolt versions add
nothing but size (every snapshot kept its own copy of each leaf it
dirtied). The log is listed in ``dolt_ignore`` before it is created, so it
is never committed; AS OF reads answer it by timestamp. A tracked table
stays tracked even when re-created under its old name, hence the new name.
Existing beats move over re-keyed by time. The key column is 24 characters
(the old one 36): with identical schemas Dolt took the drop of ``heartbeats``
plus the new ignored table for a rename and never committed the drop.

Revision ID: ops_0002
Revises: ops_0001
"""

import secrets

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "ops_0002"
down_revision = "ops_0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
# Dolt's JSON type keeps numbers as doubles (integers past 2**53 come back rounded), so a
# server keeps the JSON text as written; SQLAlchemy's JSON type still encodes and decodes it
_JSON = sa.JSON().with_variant(mysql.LONGTEXT(), "mysql")
_LOG = "heartbeat_log"
_BATCH = 5000


def _columns(key_length: int) -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.String(key_length), primary_key=True),
        sa.Column("agent", sa.String(255), nullable=False),
        sa.Column("timestamp", _TIME, nullable=False),
        sa.Column("status", _JSON, nullable=False),
        sa.Column("cycle_number", sa.Integer(), nullable=True),
    ]


def _ordered_key(moment: object) -> str:
    # the same form as doltplane.planes.ops_records.heartbeat_id (a migration stays frozen)
    import datetime as dt

    value = dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    assert isinstance(value, dt.datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    micros = int(value.timestamp() * 1_000_000)
    return f"{max(micros, 0):014x}{secrets.token_hex(5)}"


def upgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql(f"INSERT INTO dolt_ignore (pattern, ignored) VALUES ('{_LOG}', 1)")
    log = op.create_table(_LOG, *_columns(24))
    assert log is not None
    op.create_index("ix_heartbeat_log_agent_timestamp", _LOG, ["agent", "timestamp"])
    op.create_index("ix_heartbeat_log_timestamp", _LOG, ["timestamp"])
    old = sa.Table("heartbeats", sa.MetaData(), *_columns(36))
    rows = bind.execute(sa.select(old).order_by(old.c.timestamp)).mappings().all()
    batch: list[dict[str, object]] = []
    for row in rows:
        batch.append({**row, "id": _ordered_key(row["timestamp"])})
        if len(batch) >= _BATCH:
            bind.execute(log.insert(), batch)
            batch = []
    if batch:
        bind.execute(log.insert(), batch)
    op.drop_table("heartbeats")


def downgrade() -> None:
    bind = op.get_bind()
    beats = op.create_table("heartbeats", *_columns(36))
    assert beats is not None
    op.create_index("ix_heartbeats_agent_timestamp", "heartbeats", ["agent", "timestamp"])
    op.create_index("ix_heartbeats_agent_cycle", "heartbeats", ["agent", "cycle_number"])
    op.create_index("ix_heartbeats_timestamp", "heartbeats", ["timestamp"])
    log = sa.Table(_LOG, sa.MetaData(), *_columns(24))
    rows = [dict(r) for r in bind.execute(sa.select(log)).mappings()]
    if rows:
        bind.execute(beats.insert(), rows)
    op.drop_table(_LOG)
    bind.exec_driver_sql(f"DELETE FROM dolt_ignore WHERE pattern = '{_LOG}'")
