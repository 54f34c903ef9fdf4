"""Beads exports of each era, written for these tests in the shapes Beads' own code
produces (field names from its ``internal/types``; no file is copied)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The pre-Dolt `.beads/issues.jsonl`: no discriminator, integer comment ids, `wisp` for
# `ephemeral`, tombstones with `deleted_at`, timestamps with nanoseconds and offsets.
PRE_DOLT: list[dict[str, Any]] = [
    {
        "id": "bd-a1",
        "title": "Router drops convoys",
        "description": "Convoys vanish after the second hop.",
        "design": "Keep a ring buffer per hop.",
        "acceptance_criteria": "No drops in 1,000 runs",
        "notes": "",
        "status": "closed",
        "priority": 1,
        "issue_type": "bug",
        "assignee": "toast",
        "estimated_minutes": 90,
        "created_at": "2025-10-14T12:31:22.123456789-07:00",
        "updated_at": "2025-10-15T08:00:00.5Z",
        "closed_at": "2025-10-15T08:00:00Z",
        "close_reason": "fixed in the hop table",
        "external_ref": "gh-9",
        "labels": ["router", "p1"],
        "dependencies": [
            {
                "issue_id": "bd-a1",
                "depends_on_id": "bd-a2",
                "type": "blocks",
                "created_at": "2025-10-14T12:40:00Z",
                "created_by": "mayor",
            }
        ],
        "comments": [
            {
                "id": 7,
                "issue_id": "bd-a1",
                "author": "toast",
                "text": "Reproduced with 3 convoys.",
                "created_at": "2025-10-14T13:00:00Z",
            }
        ],
        "dependency_count": 1,
        "dependent_count": 0,
        "comment_count": 1,
    },
    {
        "id": "bd-a2",
        "title": "Profile the router",
        "status": "open",
        "priority": 0,
        "issue_type": "task",
        "created_at": "2025-10-14T12:40:00Z",
        "updated_at": "2025-10-14T12:40:00Z",
        "wisp": True,
        "compaction_level": 2,
        "future_field": {"nested": {"deeper": [1, 2.5, "x", None, True]}},
    },
    {
        "id": "bd-a3",
        "title": "Old duplicate",
        "status": "tombstone",
        "priority": 2,
        "issue_type": "task",
        "created_at": "2025-09-01T00:00:00Z",
        "updated_at": "2025-09-02T00:00:00Z",
        "deleted_at": "2025-09-02T00:00:00Z",
        "deleted_by": "mayor",
        "delete_reason": "duplicate of bd-a1",
        "original_type": "bug",
        "closed_at": None,
    },
]

# `bd export` today: a provenance header, `_type` on every line, memories, `owner` and
# `assignee` side by side, dependency metadata, string comment ids.
CURRENT_HEADER = {
    "_schema": "beads-jsonl/1",
    "_dolt_branch": "main",
    "_dolt_commit": "q9h2c3kl0d5ab7e0m3k4v9fj2s1n0a7t",
    "_sort": "stable-v1",
}
CURRENT: list[dict[str, Any]] = [
    {
        "_type": "issue",
        "id": "gt-k3x",
        "title": "Witness patrol misses stalled polecats",
        "description": "Seen twice this week.",
        "status": "in_progress",
        "priority": 1,
        "issue_type": "bug",
        "assignee": "gastown/polecats/toast",
        "owner": "mayor@example.com",
        "created_at": "2026-01-03T10:00:00Z",
        "created_by": "mayor",
        "updated_at": "2026-01-04T09:30:00.123456Z",
        "started_at": "2026-01-04T09:00:00Z",
        "metadata": {"source": "patrol", "runs": [1, 2]},
        "ephemeral": False,
        "mol_type": "patrol",
        "labels": ["patrol", "witness"],
        "dependencies": [
            {
                "issue_id": "gt-k3x",
                "depends_on_id": "gt-p1q",
                "type": "parent-child",
                "created_at": "2026-01-03T10:00:00Z",
                "created_by": "mayor",
                "metadata": '{"gate": "ci"}',
                "thread_id": "t-1",
            },
            {
                "issue_id": "gt-k3x",
                "depends_on_id": "gt-z9z",
                "type": "blocks",
                "created_at": "2026-01-03T10:05:00+01:00",
            },
        ],
        "comments": [
            {
                "id": "0b7c4a52-7e1f-4b8e-9a51-3a7d7c1f0e11",
                "issue_id": "gt-k3x",
                "author": "toast",
                "text": "Patrol loop skips idle agents.",
                "created_at": "2026-01-04T09:10:00Z",
            }
        ],
        "dependency_count": 2,
        "dependent_count": 0,
        "comment_count": 1,
    },
    {
        "_type": "issue",
        "id": "gt-p1q",
        "title": "Patrol epic",
        "status": "open",
        "priority": 2,
        "issue_type": "epic",
        "owner": "mayor@example.com",
        "created_at": "2026-01-02T08:00:00Z",
        "created_by": "mayor",
        "updated_at": "2026-01-02T08:00:00Z",
        "dependency_count": 0,
        "dependent_count": 1,
        "comment_count": 0,
    },
    {"_type": "memory", "key": "deploy-window", "value": "weekdays 09:00-17:00 UTC"},
    {"_type": "memory", "key": "owner-of-router", "value": "toast"},
]

# `.beads/backup/`: one file per table, rows as the database holds them (0/1 booleans,
# metadata as text), joined on `issue_id`.
BACKUP: dict[str, list[dict[str, Any]]] = {
    "issues": [
        {
            "id": "bk-1",
            "title": "Backfill CV entries",
            "description": "",
            "status": "open",
            "priority": 2,
            "issue_type": "task",
            "assignee": None,
            "owner": "ann@example.com",
            "created_at": "2026-02-01T12:00:00Z",
            "created_by": "ann",
            "updated_at": "2026-02-02T12:00:00Z",
            "closed_at": None,
            "ephemeral": 0,
            "pinned": 0,
            "metadata": "{}",
            "content_hash": "9f2c",
        },
        {
            "id": "bk-2",
            "title": "Close the loop",
            "status": "closed",
            "priority": 1,
            "issue_type": "feature",
            "created_at": "2026-02-01T13:00:00Z",
            "updated_at": "2026-02-03T13:00:00Z",
            "closed_at": "2026-02-03T13:00:00Z",
            "ephemeral": 1,
        },
    ],
    "labels": [
        {"issue_id": "bk-1", "label": "cv"},
        {"issue_id": "bk-1", "label": "backfill"},
        {"issue_id": "bk-2", "label": "loop"},
    ],
    "dependencies": [
        {
            "issue_id": "bk-2",
            "depends_on_id": "bk-1",
            "type": "blocks",
            "created_at": "2026-02-01T13:00:00Z",
            "created_by": "ann",
            "metadata": "{}",
            "thread_id": "",
        }
    ],
    "comments": [
        {
            "id": "c-11",
            "issue_id": "bk-1",
            "author": "ann",
            "text": "Start with January.",
            "created_at": "2026-02-01T12:30:00Z",
        },
        {
            "id": "c-12",
            "issue_id": "bk-1",
            "author": "bob",
            "text": "Done for January.",
            "created_at": "2026-02-02T12:00:00Z",
        },
    ],
    "events": [
        {
            "id": 1,
            "issue_id": "bk-2",
            "event_type": "status_changed",
            "actor": "ann",
            "old_value": "open",
            "new_value": "closed",
            "comment": None,
            "created_at": "2026-02-03T13:00:00Z",
        }
    ],
    "config": [
        {"key": "issue_prefix", "value": "bk"},
        {"key": "kv.memory.release-day", "value": "friday"},
    ],
}


def write_jsonl(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


def write_backup(folder: Path, tables: dict[str, list[dict[str, Any]]] = BACKUP) -> Path:
    for name, rows in tables.items():
        write_jsonl(folder / f"{name}.jsonl", rows)
    return folder


def joined_backup() -> list[dict[str, Any]]:
    """What the backup folder means as whole records: each issue with its labels,
    dependencies, comments and events listed, then the config rows."""
    records = [dict(row) for row in BACKUP["issues"]]
    by_id = {r["id"]: r for r in records}
    for name in ("labels", "dependencies", "comments", "events"):
        for row in BACKUP[name]:
            item = row["label"] if name == "labels" else row
            by_id[row["issue_id"]].setdefault(name, []).append(item)
    return records + [{"_type": "config", **row} for row in BACKUP["config"]]
