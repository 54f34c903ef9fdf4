"""Operational plane benchmark: doltplane beside an equally optimised raw doltlite baseline.

    python benchmarks/bench_ops.py [--scale 1.0] [--rounds 5] [--json out.json]

Both sides run the same workload on their own file. The raw side keeps its
connections (a read-only one for reads, a ``file@hash`` one for AS OF) and
decodes the same JSON and times into dicts. Each workload runs ``--rounds``
times, alternating which side goes first; the ratio is the median doltplane
time over the median raw time (1.00 = no overhead). Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import doltplane  # first: loads doltlite before sqlite3

UPSERT = (
    "INSERT INTO operational_state (id, rig, agent, status, state, version, updated_at) "
    "VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT(id) DO UPDATE SET rig=excluded.rig, "
    "agent=excluded.agent, status=excluded.status, state=excluded.state, "
    "version=operational_state.version+1, updated_at=excluded.updated_at"
)
COLUMNS = ("id", "rig", "agent", "status", "state", "version", "updated_at")
SELECT = f"SELECT {', '.join(COLUMNS)} FROM operational_state"
STATE = {"task": "gt-42", "notes": "n" * 150, "load": [1, 2, 3]}


def fresh(base: Path, name: str) -> doltplane.DataPlane:
    # the L1 cache off: ratios compare the same work (bench_cache.py measures the cache)
    dp = doltplane.connect(
        base / name, checkpoint_every_writes=0, checkpoint_every_seconds=0, cache_max_entries=0
    )
    dp.migrate()
    return dp


def connect(dp: doltplane.DataPlane, target: str = "", read_only: bool = False) -> Any:
    path = dp.settings.data_dir.resolve() / "ops.db"
    uri = f"file:{path}{'@' + target if target else ''}{'?mode=ro' if read_only else ''}"
    return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5)


def decode(row: tuple[Any, ...]) -> dict[str, Any]:
    """What doltplane hands back, built by hand: JSON parsed, time made aware UTC."""
    record = dict(zip(COLUMNS, row, strict=True))
    record["state"] = json.loads(record["state"])
    record["updated_at"] = dt.datetime.fromisoformat(record["updated_at"]).replace(tzinfo=dt.UTC)
    return record


def row(i: int) -> tuple[object, ...]:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return (f"agent-{i}", f"rig{i % 10}", f"a{i % 50}", "busy", json.dumps(STATE), now)


def alternate(
    ours: Callable[[], object], raw: Callable[[], object], rounds: int
) -> tuple[float, float]:
    """Median seconds of each side over ``rounds`` runs, the first side alternating."""
    mine: list[float] = []
    theirs: list[float] = []
    for r in range(rounds):
        pairs = [(ours, mine), (raw, theirs)]
        for fn, into in pairs if r % 2 == 0 else pairs[::-1]:
            start = time.perf_counter()
            fn()
            into.append(time.perf_counter() - start)
    return statistics.median(mine), statistics.median(theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    scale, rounds = args.scale, args.rounds
    singles, rows_total, reads, many = (
        max(20, int(300 * scale)),
        max(2000, int(20_000 * scale)),
        max(200, int(3000 * scale)),
        max(10, int(100 * scale)),
    )
    base = Path(tempfile.mkdtemp(prefix="doltplane-bench-"))
    dp, raw_dp = fresh(base, "dp"), fresh(base, "raw")
    conn = connect(raw_dp)
    results: list[tuple[str, int, float, float]] = []

    def add(name: str, n: int, ours: Callable[[], object], raw: Callable[[], object]) -> None:
        mine, theirs = alternate(ours, raw, rounds)
        results.append((name, n, mine, theirs))

    # 1. batched upserts, 1,000 per transaction (the load for everything after)
    def ours_batches() -> None:
        for start in range(0, rows_total, 1000):
            dp.ops.set_many(
                {"id": f"agent-{i}", "rig": f"rig{i % 10}", "agent": f"a{i % 50}",
                 "status": "busy", "state": STATE}
                for i in range(start, start + 1000)
            )  # fmt: skip

    def raw_batches() -> None:
        for start in range(0, rows_total, 1000):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(UPSERT, [row(i) for i in range(start, start + 1000)])
            conn.execute("COMMIT")

    add("set_many, 1,000 per batch (rows)", rows_total, ours_batches, raw_batches)

    # 2. single durable writes: one transaction per write
    counter = iter(range(10**9))

    def ours_singles() -> None:
        for _ in range(singles):
            i = next(counter) % rows_total
            dp.ops.set_state(f"agent-{i}", rig="r", agent="a", status="busy", state=STATE)

    def raw_singles() -> None:
        for _ in range(singles):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(UPSERT, row(next(counter) % rows_total))
            conn.execute("COMMIT")

    add("set_state, 1 durable write", singles, ours_singles, raw_singles)
    dp.ops.checkpoint()
    conn.execute("SELECT dolt_commit('-A', '-m', 'raw snapshot')")

    # 3. point reads, get_many of 100
    ids = [f"agent-{(i * 7919) % rows_total}" for i in range(reads)]
    reader = connect(raw_dp, read_only=True)
    by_id = SELECT + " WHERE id = ?"
    add(
        "get by id",
        reads,
        lambda: [dp.ops.get(i) for i in ids],
        lambda: [decode(reader.execute(by_id, (i,)).fetchone()) for i in ids],
    )
    groups = [ids[k : k + 100] for k in range(0, many * 100, 100) if len(ids[k : k + 100]) == 100]
    in_list = SELECT + f" WHERE id IN ({', '.join('?' * 100)})"
    add(
        "get_many of 100 ids (calls)",
        len(groups),
        lambda: [dp.ops.get_many(g) for g in groups],
        lambda: [
            {r["id"]: r for r in map(decode, reader.execute(in_list, g).fetchall())} for g in groups
        ],
    )

    # 4. AS OF point reads at an earlier commit, on a kept file@hash connection raw
    dp.ops.set_many(
        {"id": i, "rig": "r", "agent": "a", "status": "idle", "state": {}} for i in ids[:100]
    )
    dp.ops.checkpoint()
    earlier = dp.engine("ops").resolve_revision("HEAD~1")
    conn.executemany(UPSERT, [row(i) for i in range(100)])
    conn.execute("SELECT dolt_commit('-A', '-m', 'raw change')")
    raw_earlier = conn.execute("SELECT dolt_hashof('HEAD~1')").fetchone()[0]
    at = connect(raw_dp, raw_earlier, read_only=True)
    view = dp.ops.as_of(earlier)
    add(
        "as_of view, get by id",
        reads,
        lambda: [view.get(i) for i in ids],
        lambda: [decode(at.execute(by_id, (i,)).fetchone()) for i in ids],
    )

    # 5. history of one record changed in 10 snapshots
    for n in range(10):
        dp.ops.set_state("agent-1", rig="r", agent="a", status=f"s{n}", state=STATE)
        dp.ops.checkpoint()
        conn.execute(UPSERT, row(1))
        conn.execute("SELECT dolt_commit('-A', '-m', ?)", (f"change {n}",))
    history_sql = (
        f"SELECT {', '.join(COLUMNS)}, commit_hash, committer, commit_date "
        "FROM dolt_history_operational_state WHERE id = ? ORDER BY commit_date DESC"
    )
    hist_n = max(5, int(50 * scale))
    add(
        "history of one record (calls)",
        hist_n,
        lambda: [dp.ops.history("agent-1") for _ in range(hist_n)],
        lambda: [
            [decode(r[:7]) for r in reader.execute(history_sql, ("agent-1",)).fetchall()]
            for _ in range(hist_n)
        ],
    )
    dp.close()
    raw_dp.close()

    load = os.getloadavg()
    print(f"ops benchmark, scale {scale}, median of {rounds} alternating rounds, "
          f"load {load[0]:.2f}, files in {base}")  # fmt: skip
    print(f"{'workload':<36}{'n':>8}{'doltplane/s':>14}{'raw/s':>12}{'ratio':>8}")
    for name, n, ours_s, raw_s in results:
        print(f"{name:<36}{n:>8}{n / ours_s:>14,.0f}{n / raw_s:>12,.0f}{ours_s / raw_s:>8.2f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "bench": "ops",
                    "load": load[0],
                    "rows": [
                        {"workload": name, "n": n, "doltplane_s": o, "raw_s": r, "ratio": o / r}
                        for name, n, o, r in results
                    ],
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
