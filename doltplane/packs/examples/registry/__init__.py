"""The registry pack: prefixed domains for plugins (``lao_``) and AI resources (``tai_``).

``lao_configs`` is last-write-wins, and every change to it writes an audit row
(who, what, before and after) in the same transaction. ``tai_tasks`` state
changes are compare-and-set on ``version`` and follow a state machine. It
lives in the ledger plane: every change is a commit.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from doltplane.packs import Pack, StateMachine
from doltplane.packs.examples.registry.versions import registry_0001_tables as v1
from doltplane.packs.model import WriteEvent
from doltplane.packs.rows import new_key, utc_now

metadata = sa.MetaData()
v1.define(metadata)


def audit_config_change(conn: sa.Connection, event: WriteEvent) -> None:
    """Record who changed which config and from what to what."""
    before = None if event.before is None else event.before.get("value")
    conn.execute(
        metadata.tables["lao_audit_logs"]
        .insert()
        .values(
            id=new_key(),
            actor=event.actor,
            action="config.set",
            target=f"{event.after['scope']}/{event.after['key']}",
            payload={"before": before, "after": event.after.get("value")},
            result="ok",
            created_at=utc_now(),
        )
    )


pack = Pack(
    name="registry",
    plane="ledger",
    metadata=metadata,
    versions=Path(__file__).parent / "versions",
    description="plugin and AI-resource registry: plugins, versions, configs, models, tasks",
    state_machines=(
        StateMachine(
            "tai_tasks",
            "status",
            {
                "queued": ("running", "cancelled"),
                "running": ("succeeded", "failed", "cancelled"),
                "failed": ("queued",),
            },
            initial=("queued",),
        ),
        StateMachine(
            "lao_plugins",
            "status",
            {"active": ("disabled", "deprecated"), "disabled": ("active", "deprecated")},
            initial=("active", "disabled"),
        ),
    ),
    after_write={"lao_configs": audit_config_change},
    version_is_data=("lao_plugin_versions", "tai_models"),
)
