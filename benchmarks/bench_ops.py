"""Operational plane benchmark: doltplane beside raw doltlite SQL on the same workload.

    python benchmarks/bench_ops.py [--scale 1.0]

Each workload runs on its own fresh database file; the ratio is doltplane's
time over raw doltlite's (1.00 = no overhead). Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import doltplane  # first: loads doltlite before sqlite3

UPSERT = (
    "INSERT INTO operational_state (id, rig, agent, status, state, version, updated_at) "
    "VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT(id) DO UPDATE SET rig=excluded.rig, "
    "agent=excluded.agent, status=excluded.status, state=excluded.state, "
    "version=operational_state.version+1, updated_at=excluded.updated_at"
)
STATE = {"task": "gt-42", "notes": "n" * 150, "load": [1, 2, 3]}


def fresh(base: Path, name: str) -> doltplane.DataPlane:
    dp = doltplane.connect(base / name, checkpoint_every_writes=0, checkpoint_every_seconds=0)
    dp.migrate()
    return dp


def raw_connection(dp: doltplane.DataPlane, target: str = "") -> sqlite3.Connection:
    path = dp.settings.data_dir.resolve() / "ops.db"
    uri = f"file:{path}{'@' + target if target else ''}"
    return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5)


def timed(fn: Callable[[], object]) -> tuple[float, int]:
    """Seconds for one run of ``fn``, and the Python heap peak of a second, traced run
    (tracing slows Python down, so the two are never the same run)."""
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak


def row(i: int) -> tuple[object, ...]:
    return (f"agent-{i}", f"rig{i % 10}", f"a{i % 50}", "busy", json.dumps(STATE), "2026-11-26")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    scale = parser.parse_args().scale
    singles, batch_total, reads, as_of_reads = (
        int(2000 * scale),
        int(50_000 * scale),
        int(5000 * scale),
        int(500 * scale),
    )
    base = Path(tempfile.mkdtemp(prefix="doltplane-bench-"))
    results = []

    # 1. single durable writes: one transaction per write
    dp = fresh(base, "single")
    ours = timed(
        lambda: [
            dp.ops.set_state(f"agent-{i}", rig="r", agent="a", status="busy", state=STATE)
            for i in range(singles)
        ]
    )
    raw_dp = fresh(base, "single-raw")
    conn = raw_connection(raw_dp)

    def raw_singles() -> None:
        for i in range(singles):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(UPSERT, row(i))
            conn.execute("COMMIT")

    raw = timed(raw_singles)
    results.append(("set_state, 1 durable write", singles, ours, raw))

    # 2. batched upserts, 1,000 per transaction
    def ours_batches() -> None:
        for start in range(0, batch_total, 1000):
            dp.ops.set_many(
                {
                    "id": f"agent-{i}",
                    "rig": f"rig{i % 10}",
                    "agent": f"a{i % 50}",
                    "status": "busy",
                    "state": STATE,
                }
                for i in range(start, start + 1000)
            )

    def raw_batches() -> None:
        for start in range(0, batch_total, 1000):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(UPSERT, [row(i) for i in range(start, start + 1000)])
            conn.execute("COMMIT")

    results.append(
        ("set_many, 1,000 per batch", batch_total, timed(ours_batches), timed(raw_batches))
    )
    dp.ops.checkpoint()
    conn.execute("SELECT dolt_commit('-A', '-m', 'raw snapshot')")

    # 3. primary-key reads
    ids = [f"agent-{(i * 7919) % batch_total}" for i in range(reads)]
    results.append(
        (
            "get by id",
            reads,
            timed(lambda: [dp.ops.get(i) for i in ids]),
            timed(
                lambda: [
                    conn.execute("SELECT * FROM operational_state WHERE id = ?", (i,)).fetchone()
                    for i in ids
                ]
            ),
        )
    )

    # 4. AS OF point reads at an earlier commit
    dp.ops.set_many(
        {"id": i, "rig": "r", "agent": "a", "status": "idle", "state": {}} for i in ids[:100]
    )
    dp.ops.checkpoint()
    earlier = dp.engine("ops").resolve_revision("HEAD~1")
    conn.executemany(UPSERT, [row(i) for i in range(100)])
    conn.execute("SELECT dolt_commit('-A', '-m', 'raw change')")
    raw_earlier = conn.execute("SELECT dolt_hashof('HEAD~1')").fetchone()[0]
    sub = ids[:as_of_reads]
    results.append(
        (
            "as_of(commit).get by id",
            as_of_reads,
            timed(lambda: [dp.ops.as_of(earlier).get(i) for i in sub]),
            timed(
                lambda: [
                    conn.execute(
                        "SELECT * FROM dolt_at_operational_state(?) WHERE id = ?", (raw_earlier, i)
                    ).fetchone()
                    for i in sub
                ]
            ),
        )
    )
    view = dp.ops.as_of(earlier)
    results.append(
        (
            "as_of view reused, get by id",
            as_of_reads,
            timed(lambda: [view.get(i) for i in sub]),
            timed(
                lambda: [
                    conn.execute(
                        "SELECT * FROM dolt_at_operational_state(?) WHERE id = ?", (raw_earlier, i)
                    ).fetchone()
                    for i in sub
                ]
            ),
        )
    )
    dp.close()
    raw_dp.close()

    print(f"doltplane {doltplane.__name__} ops benchmark, scale {scale}, files in {base}")
    print(
        f"{'workload':<32}{'n':>8}{'doltplane/s':>14}{'raw/s':>12}{'ratio':>8}"
        f"{'peak KB':>10}{'raw KB':>9}"
    )
    for name, n, (ours_s, ours_mem), (raw_s, raw_mem) in results:
        print(
            f"{name:<32}{n:>8}{n / ours_s:>14,.0f}{n / raw_s:>12,.0f}"
            f"{ours_s / raw_s:>8.2f}{ours_mem / 1024:>10,.0f}{raw_mem / 1024:>9,.0f}"
        )


if __name__ == "__main__":
    main()
