"""Backup benchmark (a script, not a test): push and restore a ledger of a given size.

Builds a ledger of about ``--mb`` megabytes (issues with ~1 KB of metadata, 2,000
per commit, plus a few agent branches and a tag), then times:

- ``backup push`` to a fresh ``file://`` remote (every plane, branch and tag), and
  the same push done raw (``dolt_remote`` + ``dolt_push`` of the file, nothing else);
- a second push with nothing new (what a periodic backup costs when idle);
- ``backup verify``;
- ``backup restore`` into a new data directory;
- push and restore over HTTP through ``backup serve`` on a loopback port.

    python benchmarks/bench_backup.py [--mb 100] [--dir /tmp/somewhere]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import doltplane  # first: doltlite must load before anything imports sqlite3
from doltplane import backups
from doltplane.store.loader import sqlite_module
from doltplane.store.remote_server import RemoteServer

BATCH = 2000


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def build(data_dir: Path, megabytes: float) -> tuple[int, int]:
    """A ledger of at least ``megabytes`` MB; returns (issues, commits)."""
    with doltplane.connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        dp.migrate()
        made = commits = 0
        path = data_dir / "ledger.db"
        while path.stat().st_size < megabytes * 1e6:
            dp.ledger.create_issues(
                {
                    "title": f"issue {made + i} " + "x" * 60,
                    "owner": "bench",
                    "metadata": {"n": made + i, "note": "y" * 900},
                }
                for i in range(BATCH)
            )
            made += BATCH
            commits += 1
        for agent in ("toast", "nux", "furiosa"):
            dp.agent(f"gastown/polecats/{agent}").create_issue(f"{agent} work")
        dp.ledger.tag("bench-v1")
        dp.ops.set_state("bench-1", rig="bench", agent="a", status="busy", state={})
        dp.ops.checkpoint()
        return made, commits


def raw_push(source: Path, target: Path) -> float:
    sqlite3 = sqlite_module()
    target.mkdir(parents=True)
    conn = sqlite3.connect(str(source), isolation_level=None)
    try:
        conn.execute("SELECT dolt_remote('add', 'rawbench', ?)", (f"file://{target}/ledger.db",))
        seconds, _ = timed(lambda: conn.execute("SELECT dolt_push('rawbench', 'main')").fetchall())
        conn.execute("SELECT dolt_remote('remove', 'rawbench')")
    finally:
        conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="ledger size in MB (default 100)")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp one)")
    args = parser.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="doltplane-bench-backup-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    site = work / "site"

    build_s, (issues, commits) = timed(lambda: build(site, args.mb))
    size = (site / "ledger.db").stat().st_size
    report: dict[str, Any] = {
        "ledger_mb": round(size / 1e6, 1),
        "issues": issues,
        "commits": commits,
        "build_s": round(build_s, 1),
    }
    with doltplane.connect(site, checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        backups.add_remote(dp, "disk", f"file://{work}/remote-disk")
        report["push_file_s"], _ = timed(lambda: backups.push_backup(dp, "disk"))
        report["push_file_again_s"], _ = timed(lambda: backups.push_backup(dp, "disk"))
        report["verify_file_s"], check = timed(lambda: backups.verify_backup(dp, "disk"))
        assert check.ok
    report["raw_dolt_push_file_s"] = raw_push(site / "ledger.db", work / "remote-raw")
    report["restore_file_s"], _ = timed(
        lambda: backups.restore(f"file://{work}/remote-disk", work / "restored-disk")
    )

    (work / "remote-http").mkdir()
    with RemoteServer(work / "remote-http") as server:
        with doltplane.connect(site) as dp:
            backups.add_remote(dp, "web", server.url)
            report["push_http_s"], _ = timed(lambda: backups.push_backup(dp, "web"))
        report["restore_http_s"], _ = timed(
            lambda: backups.restore(server.url, work / "restored-http")
        )
    for key, value in report.items():
        if key.endswith("_s"):
            report[key] = round(value, 2)
    for key in ("push_file_s", "restore_file_s", "push_http_s", "restore_http_s"):
        report[key.replace("_s", "_mb_per_s")] = round(report["ledger_mb"] / report[key], 1)
    print(json.dumps(report, indent=2))
    print(f"work folder: {work}")


if __name__ == "__main__":
    main()
