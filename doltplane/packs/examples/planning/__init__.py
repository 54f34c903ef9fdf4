"""The planning pack: projects, workflows, cards, actions, artifacts, runs, approvals.

Its schema has a history of five migrations (one adds ``card.build_state``,
one removes ``card_label``); the MetaData below replays that history in code,
so a fresh database and an upgraded one reach the same schema (a test checks).
It lives in the ledger plane: every change is a commit.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from doltplane.packs import Pack, StateMachine
from doltplane.packs.examples.planning.versions import (
    planning_0001_projects as v1,
)
from doltplane.packs.examples.planning.versions import (
    planning_0002_actions as v2,
)
from doltplane.packs.examples.planning.versions import (
    planning_0003_runs as v3,
)
from doltplane.packs.examples.planning.versions import (
    planning_0004_build_state as v4,
)

metadata = sa.MetaData()
v1.define(metadata)
v2.define(metadata)
v3.define(metadata)
metadata.tables["card"].append_column(v4.build_state())
metadata.remove(metadata.tables["card_label"])  # planning_0005

pack = Pack(
    name="planning",
    plane="ledger",
    metadata=metadata,
    versions=Path(__file__).parent / "versions",
    description="planning: projects, workflows, cards, actions, artifacts, runs, approvals",
    state_machines=(
        StateMachine(
            "card",
            "status",
            {
                "backlog": ("ready", "cancelled"),
                "ready": ("in_progress", "backlog", "cancelled"),
                "in_progress": ("review", "ready", "cancelled"),
                "review": ("done", "in_progress"),
            },
            initial=("backlog", "ready"),
        ),
        StateMachine(
            "approval_request",
            "status",
            {"pending": ("approved", "rejected", "withdrawn")},
            initial=("pending",),
        ),
        StateMachine(
            "orchestration_run",
            "status",
            {"queued": ("running", "cancelled"), "running": ("succeeded", "failed", "cancelled")},
            initial=("queued",),
        ),
    ),
    idempotency={"planning_action": ("project_id",)},
)
