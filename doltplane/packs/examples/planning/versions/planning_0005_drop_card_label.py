"""planning: card_label is removed; its rows move to event_log as 'label' events

Revision ID: planning_0005
Revises: planning_0004
"""

import json

import sqlalchemy as sa
from alembic import op

from doltplane.packs.sql import JSON, TIME, key

revision = "planning_0005"
down_revision = "planning_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    labels = sa.table("card_label", sa.column("card_id"), sa.column("label"))
    cards = sa.table("card", sa.column("id"), sa.column("project_id"))
    events = sa.table(
        "event_log",
        sa.column("id", key()),
        sa.column("project_id", key()),
        sa.column("kind", key()),
        sa.column("subject", key()),
        sa.column("payload", JSON),
        sa.column("created_at", TIME),
    )
    moved = bind.execute(
        sa.select(labels.c.card_id, labels.c.label, cards.c.project_id).join(
            cards, cards.c.id == labels.c.card_id
        )
    ).all()
    import datetime as dt

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for n, (card_id, label, project_id) in enumerate(moved):
        bind.execute(
            events.insert().values(
                id=f"label-{card_id}-{n}"[:64],
                project_id=project_id,
                kind="label",
                subject=card_id,
                payload=json.loads(json.dumps({"label": label})),
                created_at=now,
            )
        )
    op.drop_table("card_label")


def downgrade() -> None:
    op.create_table(
        "card_label",
        sa.Column("card_id", key(), sa.ForeignKey("card.id"), primary_key=True),
        sa.Column("label", key(), primary_key=True),
    )
