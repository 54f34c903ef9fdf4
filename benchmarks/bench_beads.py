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
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from doltplane import connect  # first: doltlite must load before anything imports sqlite3

T = TypeVar("T")


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


def timed(name: str, records: int, action: Callable[[], T]) -> T:
    """Run once; print wall and CPU seconds (the engine runs in this process, so CPU time
    is what the work costs when the machine is shared) and records per second of each."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{name:<38} wall {wall:7.1f} s {records / wall:>8,.0f}/s   "
          f"cpu {cpu:7.1f} s {records / cpu:>8,.0f}/s", flush=True)  # fmt: skip
    return result


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
          f"{size:.0f} MB, under {base}", flush=True)  # fmt: skip
    try:
        with connect(base / "dp", checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
            dp.ledger.count()  # open and migrate before the clock starts
            first = timed("import (all new, 1 commit)", args.records,
                          lambda: dp.ledger.import_jsonl(source))  # fmt: skip
            assert first.created == args.records, first
            timed("export --format beads", args.records,
                  lambda: dp.ledger.export_jsonl(io.StringIO(), format="beads"))  # fmt: skip
            report = timed("verify --compare", args.records, lambda: dp.ledger.verify_jsonl(source))
            assert report.ok, report.differences[:3]
            again = timed("re-import (all unchanged, no commit)", args.records,
                          lambda: dp.ledger.import_jsonl(source))  # fmt: skip
            assert again.unchanged == args.records and again.commit is None
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
