"""Operational plane storage under the design's load, on an accelerated clock.

    python benchmarks/bench_retention.py [--agents 200] [--days 14] [--window-days 7]

Every simulated minute each agent writes its state (one ``set_many``), every
30 simulated seconds each agent beats, a snapshot is committed on the default
cadence (60 s) dated with the simulated time, and cleanup runs every
simulated hour with ``now=`` the simulated time. Beats are written straight
into the heartbeat log with their simulated timestamps (``heartbeat()``
stamps the real clock). After each simulated day it reports the file size,
the live data (the JSON of every live row), the size of a fresh file holding
only the live rows (written, committed once and collected), and the number
of commits; and the longest stall of a writer thread that keeps calling
``set_state`` while cleanup runs. It prints a table and writes a PNG into
docs/ (needs the ``bench`` extra: matplotlib). Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import doltplane  # first: loads doltlite before sqlite3
from doltplane.config import Settings
from doltplane.planes.ops_records import (
    heartbeats,
    metadata,
    operational_state,
    to_db_time,
)

STATE = {"task": "gt-42", "notes": "n" * 150, "load": [1, 2, 3]}
MB = 1_000_000


def _insert(conn: sa.Connection, *, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    conn.execute(table.insert(), rows)


def live_rows(dp: doltplane.DataPlane) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with dp.engine("ops").read() as conn:
        states = [dict(r) for r in conn.execute(sa.select(operational_state)).mappings()]
        beats = [dict(r) for r in conn.execute(sa.select(heartbeats)).mappings()]
    return states, beats


def live_bytes(states: list[dict[str, Any]], beats: list[dict[str, Any]]) -> int:
    return sum(len(json.dumps(r, default=str)) for r in states + beats)


def compacted_bytes(base: Path, states: list[dict[str, Any]], beats: list[dict[str, Any]]) -> int:
    """The size of a fresh doltplane file holding only these rows, committed and collected."""
    folder = Path(tempfile.mkdtemp(dir=base, prefix="compact-"))
    with doltplane.connect(folder, checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        engine = dp.engine("ops")
        for table, rows in ((operational_state, states), (heartbeats, beats)):
            for start in range(0, len(rows), 5000):
                chunk = rows[start : start + 5000]
                engine.write(functools.partial(_insert, table=table, rows=chunk))
        engine.commit("compacted copy")
        engine.gc()
        return engine.size_bytes()


class StallProbe:
    """A writer thread doing set_state in a loop; the longest single write while armed."""

    def __init__(self, dp: doltplane.DataPlane) -> None:
        self.dp = dp
        self.armed = threading.Event()
        self.stop = threading.Event()
        self.longest = 0.0
        self.writes = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            if not self.armed.wait(0.05):
                continue
            began = time.perf_counter()
            self.dp.ops.set_state(
                "stall-probe", rig="bench", agent="probe", status="up", state={"n": n}
            )
            took = time.perf_counter() - began
            n += 1
            self.writes += 1
            self.longest = max(self.longest, took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--days", type=float, default=14)
    parser.add_argument("--window-days", type=float, default=7)
    parser.add_argument("--state-every", type=int, default=60, help="simulated seconds")
    parser.add_argument("--beat-every", type=int, default=30, help="simulated seconds")
    parser.add_argument(
        "--snapshot-every",
        type=int,
        default=int(Settings().checkpoint_every_seconds),
        help="simulated seconds (default: the setting's default)",
    )
    parser.add_argument("--cleanup-every", type=int, default=3600, help="simulated seconds")
    parser.add_argument(
        "--squash-every-hours", type=float, default=None, help="default: the setting (24)"
    )
    parser.add_argument("--plot", type=Path, default=Path("docs/retention.png"))
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench-retention-"))
    dp = doltplane.connect(
        base / "dp",
        checkpoint_every_writes=0,
        checkpoint_every_seconds=0,
        squash_every_hours=args.squash_every_hours,
        # on a crowded machine a gc or squash step can hold the lock past the 5 s default
        busy_timeout_ms=60_000,
    )
    dp.migrate()
    ops, engine = dp.ops, dp.engine("ops")
    agents = [f"agent-{i:03d}" for i in range(args.agents)]
    # the simulated clock ends at the real now, so live state rows (stamped with the real
    # clock) count as fresh throughout, as live agents' rows are
    step = 30
    total = int(args.days * 86400)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=total)
    probe = StallProbe(dp)
    probe.thread.start()
    rows: list[dict[str, Any]] = []
    peak = 0  # the largest file seen since the last report
    cleanup_seconds = 0.0
    began = time.perf_counter()
    for second in range(step, total + 1, step):
        now = start + dt.timedelta(seconds=second)
        if second % args.state_every == 0:
            ops.set_many(
                {
                    "id": a,
                    "rig": "rig-1",
                    "agent": a,
                    "status": "busy",
                    "state": {**STATE, "t": second},
                }
                for a in agents
            )
        if second % args.beat_every == 0:
            stamp = to_db_time(now)
            beats = [
                {
                    "agent": a,
                    "timestamp": stamp,
                    "status": {"ok": True},
                    "cycle_number": second,
                }
                for a in agents
            ]
            engine.write(functools.partial(_insert, table=heartbeats, rows=beats))
        if second % args.snapshot_every == 0:
            engine.commit(f"ops snapshot at {now:%Y-%m-%d %H:%M:%S}", date=now)
            if ops._garbage_due():  # what checkpoint() does after its commit
                engine.gc()
        peak = max(peak, engine.size_bytes())
        if second % args.cleanup_every == 0:
            probe.armed.set()
            t0 = time.perf_counter()
            ops.cleanup(retention_days=args.window_days, now=now)
            cleanup_seconds += time.perf_counter() - t0
            probe.armed.clear()
        if second % 86400 == 0 or second == total:
            states, live_beats = live_rows(dp)
            row = {
                "day": round(second / 86400, 2),
                "file_mb": engine.size_bytes() / MB,
                "peak_mb": peak / MB,
                "live_mb": live_bytes(states, live_beats) / MB,
                "compact_mb": compacted_bytes(base, states, live_beats) / MB,
                "commits": engine.commit_count(),
                "beats": len(live_beats),
                "stall_ms": probe.longest * 1000,
                "elapsed_s": time.perf_counter() - began,
            }
            rows.append(row)
            peak = 0
            print(
                f"day {row['day']:>5}: file {row['file_mb']:8.1f} MB (peak {row['peak_mb']:.1f})  "
                f"live {row['live_mb']:6.1f} MB  "
                f"compact {row['compact_mb']:6.1f} MB  commits {row['commits']:6d}  "
                f"beats {row['beats']:8d}  longest stall {row['stall_ms']:7.1f} ms  "
                f"({row['elapsed_s']:.0f} s)",
                flush=True,
            )
    probe.stop.set()
    probe.armed.set()
    probe.thread.join()
    dp.close()
    print()
    print(f"{args.agents} agents, {args.days:g} days, {args.window_days:g}-day window")
    print(
        "| day | file MB | peak MB | live MB | compact MB | file/compact | peak/compact "
        "| growth MB/day | commits |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    previous = 0.0
    for row in rows:
        growth = row["file_mb"] - previous
        previous = row["file_mb"]
        compact = row["compact_mb"] or float("nan")
        print(
            f"| {row['day']:g} | {row['file_mb']:.1f} | {row['peak_mb']:.1f} | "
            f"{row['live_mb']:.1f} | {row['compact_mb']:.1f} | {row['file_mb'] / compact:.2f} | "
            f"{row['peak_mb'] / compact:.2f} | {growth:+.1f} | {row['commits']} |"
        )
    print(
        f"longest writer stall during cleanup: {probe.longest * 1000:.0f} ms over "
        f"{probe.writes} probe writes; cleanup total {cleanup_seconds:.0f} s"
    )
    plot(rows, args)
    _ = metadata  # the tables above are created by the migrations, not here


def plot(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing (pip install -e '.[bench]'): no plot written")
        return
    days = [r["day"] for r in rows]
    fig, left = plt.subplots(figsize=(8, 4.5))
    left.plot(days, [r["file_mb"] for r in rows], "o-", label="file MB (end of day)")
    left.plot(days, [r["peak_mb"] for r in rows], "v-", alpha=0.5, label="file MB (peak)")
    left.plot(days, [r["compact_mb"] for r in rows], "s--", label="compacted file MB")
    left.plot(days, [r["live_mb"] for r in rows], "^:", label="live data MB")
    left.set_xlabel("simulated day")
    left.set_ylabel("MB")
    right = left.twinx()
    right.bar(
        days, [r["commits"] for r in rows], width=0.3, alpha=0.2, color="grey", label="commits"
    )
    right.set_ylabel("commits")
    left.legend(loc="upper left")
    left.set_title(
        f"ops storage: {args.agents} agents, {args.window_days:g}-day window (bench_retention.py)"
    )
    fig.tight_layout()
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=100)
    print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
