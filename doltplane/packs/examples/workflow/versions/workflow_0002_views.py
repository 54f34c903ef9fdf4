"""workflow views: long-running instances, failing definitions over 24 hours

Revision ID: workflow_0002
Revises: workflow_0001
"""

import sqlalchemy as sa
from alembic import op

from doltplane.packs.sql import HoursAgo, SecondsBetween, create_view, drop_view

revision = "workflow_0002"
down_revision = "workflow_0001"
branch_labels = None
depends_on = None

LONG_RUNNING_HOURS = 1
FAILURE_RATE = 0.2

_instances = sa.table(
    "workflow_instances",
    sa.column("id"),
    sa.column("definition_id"),
    sa.column("status"),
    sa.column("correlation_id"),
    sa.column("priority"),
    sa.column("started_at"),
    sa.column("completed_at"),
)
_definitions = sa.table(
    "workflow_definitions", sa.column("id"), sa.column("name"), sa.column("version")
)


def _long_running() -> sa.Select:  # type: ignore[type-arg]
    i = _instances
    return sa.select(
        i.c.id,
        i.c.definition_id,
        i.c.correlation_id,
        i.c.priority,
        i.c.started_at,
        SecondsBetween(i.c.started_at, HoursAgo(0)).label("running_seconds"),
    ).where(i.c.status == "running", i.c.started_at < HoursAgo(LONG_RUNNING_HOURS))


def _failing() -> sa.Select:  # type: ignore[type-arg]
    i, d = _instances, _definitions
    finished = i.c.status.in_(("completed", "failed", "cancelled"))
    total = sa.func.count()
    successes = sa.func.sum(sa.case((i.c.status == "completed", 1), else_=0))
    failures = sa.func.sum(sa.case((i.c.status == "failed", 1), else_=0))
    return (
        sa.select(
            d.c.id.label("definition_id"),
            d.c.name,
            d.c.version,
            total.label("total"),
            successes.label("successes"),
            failures.label("failures"),
            sa.func.avg(SecondsBetween(i.c.started_at, i.c.completed_at)).label(
                "avg_duration_seconds"
            ),
        )
        .select_from(i.join(d, d.c.id == i.c.definition_id))
        .where(finished, i.c.completed_at >= HoursAgo(24))
        .group_by(d.c.id, d.c.name, d.c.version)
        .having(failures > total * FAILURE_RATE)
    )


def upgrade() -> None:
    bind = op.get_bind()
    create_view(bind, "long_running_workflows", _long_running())
    create_view(bind, "failing_workflow_definitions", _failing())


def downgrade() -> None:
    bind = op.get_bind()
    drop_view(bind, "failing_workflow_definitions")
    drop_view(bind, "long_running_workflows")
