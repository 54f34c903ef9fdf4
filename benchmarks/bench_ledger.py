"""Ledger plane benchmark (a script, not a test), side by side with raw doltlite SQL.

Builds a ledger of 100k issues in 1,000 commits twice: through doltplane, and
in a second file with plain ``sqlite3`` after ``import doltlite`` (same
schema, same indexes). Then times, on each:

- a write with its commit on an agent branch (one issue, one Dolt commit);
- merging an agent branch that holds 100 new records into main;
- an AS OF point read (by primary key, at a commit 500 back);
- the history of one issue that was changed 10 times.

    python benchmarks/bench_ledger.py [--scale 0.1]

``--scale`` shrinks the issue and commit counts (1.0: 100k issues, 1,000 commits).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import doltplane  # first: doltlite must load before anything imports sqlite3
from doltplane.store.loader import sqlite_module

SCHEMA = """
CREATE TABLE issues (id VARCHAR(255) PRIMARY KEY, type VARCHAR(64) NOT NULL, title TEXT NOT NULL,
  status VARCHAR(64) NOT NULL, created_by VARCHAR(255) NOT NULL, created_at DATETIME NOT NULL,
  completed_at DATETIME, owner VARCHAR(255), metadata JSON NOT NULL);
CREATE INDEX ix_issues_status ON issues (status);
CREATE INDEX ix_issues_created_by ON issues (created_by);
CREATE INDEX ix_issues_created_at ON issues (created_at);
CREATE INDEX ix_issues_owner_completed ON issues (owner, completed_at);
"""
AUTHOR = "gastown/polecats/bench <gastown/polecats/bench@doltplane>"


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of ``repeat`` runs."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def alternate(
    ours: Callable[[], object], raw: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median milliseconds of each side over ``repeat`` runs, the first side alternating."""
    mine: list[float] = []
    theirs: list[float] = []
    for r in range(repeat):
        pairs = [(ours, mine), (raw, theirs)]
        for fn, into in pairs if r % 2 == 0 else pairs[::-1]:
            started = time.perf_counter()
            fn()
            into.append(time.perf_counter() - started)
    return statistics.median(mine) * 1000, statistics.median(theirs) * 1000


COLUMNS = ("id", "type", "title", "status", "created_by", "created_at", "completed_at", "owner",
           "metadata")  # fmt: skip


def decode(row: tuple[Any, ...]) -> dict[str, Any]:
    """What doltplane hands back, built by hand: JSON parsed, times made aware UTC."""
    record = dict(zip(COLUMNS, row, strict=True))
    record["metadata"] = json.loads(record["metadata"])
    for key in ("created_at", "completed_at"):
        if record[key] is not None:
            record[key] = dt.datetime.fromisoformat(record[key]).replace(tzinfo=dt.UTC)
    return record


def issue_row(i: int, owner: str = "bench") -> dict[str, Any]:
    return {
        "title": f"issue {i} " + "x" * 60,
        "owner": owner,
        "metadata": {"n": i, "labels": ["a", "b"], "note": "y" * 80},
    }


def raw_values(key: str, i: int) -> tuple[Any, ...]:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    meta = json.dumps({"n": i, "labels": ["a", "b"], "note": "y" * 80})
    return (key, "task", f"issue {i} " + "x" * 60, "open", "bench", now, None, "bench", meta)


INSERT = "INSERT INTO issues VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def build_doltplane(path: Path, issues: int, commits: int) -> tuple[Any, str, str]:
    dp = doltplane.connect(path, cache_max_entries=0)  # ratios: the same work as raw
    per_commit = max(1, issues // commits)
    tracked = ""
    for c in range(commits):
        made = dp.ledger.create_issues(issue_row(c * per_commit + j) for j in range(per_commit))
        if c == 0:
            tracked = made[0].id
        if c % max(1, commits // 10) == 0:  # ten changes to one issue, spread over history
            dp.ledger.update_issue(tracked, title=f"changed at commit {c}")
    return dp, tracked, made[-1].id


def build_raw(path: Path, issues: int, commits: int) -> Any:
    sqlite3 = sqlite_module()
    conn = sqlite3.connect(f"file:{path}", uri=True, isolation_level=None)
    conn.executescript(SCHEMA)
    conn.execute("SELECT dolt_commit('-A', '-m', 'schema')")
    per_commit = max(1, issues // commits)
    for c in range(commits):
        conn.execute("BEGIN")
        conn.executemany(
            INSERT, [raw_values(f"r-{c}-{j}", c * per_commit + j) for j in range(per_commit)]
        )
        conn.execute("COMMIT")
        conn.execute("SELECT dolt_commit('-A', '-m', ?, '--author', ?)", (f"batch {c}", AUTHOR))
        if c % max(1, commits // 10) == 0:
            conn.execute("UPDATE issues SET title = ? WHERE id = 'r-0-0'", (f"changed at {c}",))
            conn.execute("SELECT dolt_commit('-A', '-m', 'update r-0-0')")
    return conn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    issues, commits = int(100_000 * args.scale), max(20, int(1000 * args.scale))
    sqlite3 = sqlite_module()
    base = Path(tempfile.mkdtemp(prefix="doltplane-bench-ledger-"))
    print(f"building {issues:,} issues in {commits:,} commits twice under {base} ...")
    started = time.perf_counter()
    dp, tracked, _last_id = build_doltplane(base / "dp", issues, commits)
    built_dp = time.perf_counter() - started
    started = time.perf_counter()
    raw = build_raw(base / "raw.db", issues, commits)
    built_raw = time.perf_counter() - started
    print(f"built in {built_dp:.1f} s (doltplane) and {built_raw:.1f} s (raw)")
    results: list[tuple[str, float, float]] = [
        ("build (per commit of the bulk load)", built_dp / commits * 1000,
         built_raw / commits * 1000),
    ]  # fmt: skip

    # 1. one write + its commit on an agent branch
    agent = dp.agent("gastown/polecats/bench")
    agent.create_issue("warm-up")
    counter = iter(range(10**9))
    dp_write = timed(lambda: agent.create_issue(f"bench {next(counter)}"), args.repeat)
    raw.execute("SELECT dolt_branch('gastown/polecats/bench')")
    branch = sqlite3.connect(
        f"file:{base / 'raw.db'}@gastown/polecats/bench", uri=True, isolation_level=None
    )

    def raw_write() -> None:
        i = next(counter)
        branch.execute("BEGIN IMMEDIATE")
        branch.execute(INSERT, raw_values(f"w-{i}", i))
        branch.execute("COMMIT")
        branch.execute(
            "SELECT dolt_commit('-A', '-m', ?, '--author', ?)", (f"create w-{i}", AUTHOR)
        )

    results.append(("write + commit on an agent branch", dp_write, timed(raw_write, args.repeat)))
    agent.merge()
    branch.close()
    raw.execute("SELECT dolt_merge('--no-ff', '-m', 'merge', 'gastown/polecats/bench')")
    raw.execute("SELECT dolt_branch('-d', 'gastown/polecats/bench')")

    # 2. merging an agent branch holding 100 new records
    merge_repeat = max(3, args.repeat // 10)
    dp_merges, raw_merges = [], []
    for n in range(merge_repeat):
        session = dp.agent(f"gastown/polecats/m{n}")
        session.create_issues(issue_row(i, f"m{n}") for i in range(100))
        started = time.perf_counter()
        session.merge()
        dp_merges.append(time.perf_counter() - started)
        name = f"gastown/polecats/m{n}"
        raw.execute("SELECT dolt_branch(?)", (name,))
        other = sqlite3.connect(f"file:{base / 'raw.db'}@{name}", uri=True, isolation_level=None)
        other.execute("BEGIN")
        other.executemany(INSERT, [raw_values(f"m{n}-{i}", i) for i in range(100)])
        other.execute("COMMIT")
        other.execute("SELECT dolt_commit('-A', '-m', 'work')")
        other.close()
        started = time.perf_counter()
        raw.execute("SELECT dolt_merge('--no-ff', '-m', ?, ?)", (f"merge {name}", name))
        raw.execute("SELECT dolt_branch('-d', ?)", (name,))
        raw_merges.append(time.perf_counter() - started)
    results.append(
        (
            "merge an agent branch with 100 records",
            statistics.median(dp_merges) * 1000,
            statistics.median(raw_merges) * 1000,
        )
    )

    # 3. AS OF point read, 500 commits back (half the history at scale 1)
    back = f"HEAD~{min(500, commits // 2)}"
    view = dp.ledger.as_of(back)
    old_hash = raw.execute("SELECT dolt_hashof(?)", (back,)).fetchone()[0]
    at = sqlite3.connect(f"file:{base / 'raw.db'}@{old_hash}?mode=ro", uri=True)
    point = f"SELECT {', '.join(COLUMNS)} FROM issues WHERE id = ?"
    live = sqlite3.connect(f"file:{base / 'raw.db'}?mode=ro", uri=True, isolation_level=None)
    results.append(
        ("point read get_issue (kept read-only connection)",
         *alternate(lambda: dp.ledger.get_issue(tracked),
                    lambda: decode(live.execute(point, ("r-0-0",)).fetchone()), args.repeat))
    )  # fmt: skip
    results.append(
        ("AS OF point read (view reused / kept file@hash)",
         *alternate(lambda: view.get_issue(tracked),
                    lambda: decode(at.execute(point, ("r-0-0",)).fetchone()), args.repeat))
    )  # fmt: skip

    # 4. history of one issue changed 10 times
    history_sql = (
        f"SELECT {', '.join(COLUMNS)}, commit_hash, committer, commit_date "
        "FROM dolt_history_issues WHERE id = ? ORDER BY commit_date DESC"
    )
    results.append(
        ("history of one issue (10 changes)",
         *alternate(lambda: dp.ledger.history(tracked),
                    lambda: [decode(r[:9]) for r in live.execute(history_sql, ("r-0-0",))],
                    args.repeat))
    )  # fmt: skip
    versions = len(dp.ledger.history(tracked))

    print(f"\n{issues:,} issues, {dp.ledger.commit_count():,} commits on main; "
          f"history holds {versions} versions; median of {args.repeat} runs\n")  # fmt: skip
    print(f"{'workload':<52} {'doltplane ms':>13} {'raw ms':>10} {'ratio':>7}")
    print("-" * 85)
    for name, mine, theirs in results:
        print(f"{name:<52} {mine:>13.3f} {theirs:>10.3f} {mine / theirs:>7.2f}")
    if args.json:
        rows = [{"workload": n, "doltplane_ms": m, "raw_ms": t, "ratio": m / t}
                for n, m, t in results]  # fmt: skip
        args.json.write_text(json.dumps({"bench": "ledger", "rows": rows}, indent=2))
    dp.close()
    raw.close()
    at.close()
    live.close()


if __name__ == "__main__":
    main()
