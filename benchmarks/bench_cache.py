"""The L1 read cache: reads/s with the cache off, cold (every read a miss) and hot.

    python benchmarks/bench_cache.py [--ids 500] [--rounds 5] [--json out.json]

Workloads: ``ops.as_of(commit).get`` (reads at a commit: always cacheable),
live ``ops.get`` with ``cache_live`` on, and ledger ``as_of(commit).get_issue``.
"off" runs with ``cache_max_entries=0``; "cold" clears the cache before each pass
(every read misses and fills); "hot" reads ids already cached. Median of
``--rounds`` passes over ``--ids`` ids. Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import doltplane  # first: loads doltlite before sqlite3
from doltplane.cache import ReadCache

STATE = {"task": "gt-42", "notes": "n" * 150, "load": [1, 2, 3]}


def rate(read: Callable[[str], object], ids: list[str], before: Callable[[], None]) -> float:
    before()
    started = time.perf_counter()
    for id in ids:
        read(id)
    return len(ids) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="doltplane-bench-cache-"))
    manual = {"checkpoint_every_writes": 0, "checkpoint_every_seconds": 0}
    dp = doltplane.connect(base / "dp", cache_live=True, **manual)
    off = doltplane.connect(base / "dp", cache_max_entries=0, **manual)
    ids = [f"agent-{i}" for i in range(args.ids)]
    dp.ops.set_many(
        {"id": i, "rig": "r", "agent": i, "status": "busy", "state": STATE} for i in ids
    )
    commit = dp.ops.checkpoint()
    assert commit is not None
    issues = [dp.ledger.create_issue(f"issue {n}").id for n in range(min(args.ids, 200))]
    at = dp.engine("ledger").resolve_revision("main")

    def nothing() -> None:
        pass

    Read = Callable[[str], object]
    workloads: dict[str, tuple[Read, Read, list[str], ReadCache]] = {
        "ops as_of(commit).get": (
            dp.ops.as_of(commit).get, off.ops.as_of(commit).get, ids, dp.ops.cache),
        "ops live get (cache_live)": (dp.ops.get, off.ops.get, ids, dp.ops.cache),
        "ledger as_of(commit).get_issue": (
            dp.ledger.as_of(at).get_issue, off.ledger.as_of(at).get_issue, issues,
            dp.ledger.cache),
    }  # fmt: skip
    rows: list[dict[str, Any]] = []
    for name, (cached, uncached, keys, cache) in workloads.items():
        samples: dict[str, list[float]] = {"off": [], "cold": [], "hot": []}
        for r in range(args.rounds):
            sides = [
                ("off", uncached, nothing),
                ("cold", cached, cache.clear),
                ("hot", cached, nothing),  # right after cold: every id is cached
            ]
            # off first or last by turns; hot always follows cold (it reads what cold filled)
            for side, read, before in sides if r % 2 == 0 else [*sides[1:], sides[0]]:
                samples[side].append(rate(read, keys, before))
        rows.append({"workload": name, **{k: statistics.median(v) for k, v in samples.items()}})
    stats = {"ops": dp.ops.cache.stats(), "ledger": dp.ledger.cache.stats()}
    dp.close()
    off.close()
    print(f"L1 cache, {args.ids} ids, median of {args.rounds}, load {os.getloadavg()[0]:.2f}")
    print(f"{'workload':34} {'off/s':>10} {'cold/s':>10} {'hot/s':>10} {'hot/off':>8}")
    for row in rows:
        print(
            f"{row['workload']:34} {row['off']:10,.0f} {row['cold']:10,.0f} "
            f"{row['hot']:10,.0f} {row['hot'] / row['off']:8.1f}"
        )
    print("counters:", json.dumps(stats))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "stats": stats}), "utf-8")


if __name__ == "__main__":
    main()
