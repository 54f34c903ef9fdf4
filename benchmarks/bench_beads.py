"""Beads import/export throughput (a script, not a test).

Writes a Beads export of N records in today's shape (``_type`` lines, labels,
a dependency and a comment on most issues, a few memories), then times, on a
fresh ledger:

- the first import (every record created, one commit);
- ``export --format beads`` of everything;
- ``verify --compare`` of the file against the ledger;
- a second import of the same file (every record unchanged, no commit).

    python benchmarks/bench_beads.py [--records 100000]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from doltplane import connect  # first: doltlite must load before anything imports sqlite3


def record(i: int, rng: random.Random) -> dict[str, Any]:
    key = f"bd-{i:07d}"
    line: dict[str, Any] = {
        "_type": "issue",
        "id": key,
        "title": f"Issue {i}: " + "router convoy " * 3,
        "description": "Steps to reproduce. " * 5,
        "status": rng.choice(["open", "in_progress", "closed"]),
        "priority": rng.randint(0, 4),
        "issue_type": rng.choice(["bug", "task", "feature"]),
        "assignee": f"gastown/polecats/p{i % 50}",
        "owner": f"owner{i % 20}@example.com",
        "created_at": "2026-01-03T10:00:00.123456789Z",
        "created_by": "mayor",
        "updated_at": "2026-01-04T09:30:00Z",
        "labels": ["bench", f"area-{i % 7}"],
        "dependency_count": 1,
        "dependent_count": 0,
        "comment_count": 1,
    }
    if line["status"] == "closed":
        line["closed_at"] = "2026-01-05T00:00:00Z"
    if i > 0:
        line["dependencies"] = [
            {
                "issue_id": key,
                "depends_on_id": f"bd-{i - 1:07d}",
                "type": "blocks",
                "created_at": "2026-01-03T10:00:00Z",
                "created_by": "mayor",
            }
        ]
    line["comments"] = [
        {
            "id": f"c-{i}",
            "issue_id": key,
            "author": "toast",
            "text": "Looked at it.",
            "created_at": "2026-01-04T09:10:00Z",
        }
    ]
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="doltplane-bench-beads-"))
    rng = random.Random(7)
    memories = max(1, args.records // 1000)
    issues = args.records - memories
    source = base / "export.jsonl"
    with source.open("w", encoding="utf-8") as out:
        for i in range(issues):
            out.write(json.dumps(record(i, rng)) + "\n")
        for m in range(memories):
            out.write(json.dumps({"_type": "memory", "key": f"m{m}", "value": "x" * 40}) + "\n")
    size = source.stat().st_size / 1e6
    print(f"{args.records:,} Beads records ({issues:,} issues, {memories:,} memories), "
          f"{size:.0f} MB, under {base}")  # fmt: skip
    try:
        with connect(base / "dp", checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
            rows: list[tuple[str, float]] = []
            started = time.perf_counter()
            first = dp.ledger.import_jsonl(source)
            rows.append(("import (all new, 1 commit)", time.perf_counter() - started))
            assert first.created == args.records, first
            started = time.perf_counter()
            buffer = io.StringIO()
            dp.ledger.export_jsonl(buffer, format="beads")
            rows.append(("export --format beads", time.perf_counter() - started))
            started = time.perf_counter()
            report = dp.ledger.verify_jsonl(source)
            rows.append(("verify --compare", time.perf_counter() - started))
            assert report.ok, report.differences[:3]
            started = time.perf_counter()
            again = dp.ledger.import_jsonl(source)
            rows.append(("re-import (all unchanged, no commit)", time.perf_counter() - started))
            assert again.unchanged == args.records and again.commit is None
        for name, seconds in rows:
            print(f"{name:<40} {seconds:8.1f} s  {args.records / seconds:>10,.0f} records/s")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
