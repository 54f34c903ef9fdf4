"""Server-engine benchmark: doltplane on a real dolt sql-server, beside raw pymysql and embedded.

    python benchmarks/bench_server.py [--scale 1.0] [--rounds 5] [--url mysql://root@host:port]
                                      [--json out.json] [--markdown docs/benchmarks-server.md]

Three sides run the same workloads of ``benchmarks/`` (ops get / get_many / as_of / history /
set_state / set_many; ledger point read / AS OF read / history / agent write + commit):

- ``embedded``: doltplane on doltlite files in a temporary folder;
- ``server``: doltplane on the server, through ``connect(url, ops_database=...)``;
- ``raw``: the same server through plain pymysql with the same SQL, on databases of its own
  that doltplane's migrations created (same tables, same indexes), one kept connection,
  decoding the same JSON and times into dicts.

Each workload runs ``--rounds`` times, rotating which side goes first; a side's time is
its median. ``server/raw`` is what doltplane costs over the driver on the same server;
``server/embedded`` is what moving to the server costs. Then 16 processes write to the
server at once (doltplane and raw). Without ``--url`` a server is started in a temporary
folder (``doltplane.server.launch``). Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import doltplane  # first: loads doltlite before sqlite3

OPS_COLUMNS = ("id", "rig", "agent", "status", "state", "version", "updated_at")
OPS_SELECT = f"SELECT {', '.join(OPS_COLUMNS)} FROM operational_state"
OPS_UPSERT = (
    "INSERT INTO operational_state (id, rig, agent, status, state, version, updated_at) "
    "VALUES (%s, %s, %s, %s, %s, 1, %s) ON DUPLICATE KEY UPDATE rig = VALUES(rig), "
    "agent = VALUES(agent), status = VALUES(status), state = VALUES(state), "
    "version = version + 1, updated_at = VALUES(updated_at)"
)
ISSUE_COLUMNS = ("id", "type", "title", "status", "created_by", "created_at", "completed_at",
                 "owner", "metadata")  # fmt: skip
ISSUE_SELECT = f"SELECT {', '.join(ISSUE_COLUMNS)} FROM issues"
ISSUE_INSERT = f"INSERT INTO issues ({', '.join(ISSUE_COLUMNS)}) VALUES ({', '.join(['%s'] * 9)})"
STATE = {"task": "gt-42", "notes": "n" * 150, "load": [1, 2, 3]}
AGENT = "gastown/polecats/bench"
AUTHOR = f"{AGENT} <{AGENT}@doltplane>"
SIDES = ("embedded", "server", "raw")


# --- the raw side -------------------------------------------------------------------------


def raw_connect(url: str, database: str, autocommit: bool = True) -> Any:
    import pymysql

    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=database,
        autocommit=autocommit,
    )


def utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.replace(tzinfo=dt.UTC)


def decode_state(row: tuple[Any, ...]) -> dict[str, Any]:
    """What doltplane hands back, built by hand: JSON parsed, time made aware UTC."""
    record = dict(zip(OPS_COLUMNS, row, strict=True))
    record["state"] = json.loads(record["state"])
    record["updated_at"] = utc(record["updated_at"])
    return record


def decode_issue(row: tuple[Any, ...]) -> dict[str, Any]:
    record = dict(zip(ISSUE_COLUMNS, row, strict=True))
    record["metadata"] = json.loads(record["metadata"])
    record["created_at"] = utc(record["created_at"])
    record["completed_at"] = utc(record["completed_at"])
    return record


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def state_row(i: int) -> tuple[object, ...]:
    return (f"agent-{i}", f"rig{i % 10}", f"a{i % 50}", "busy", json.dumps(STATE), now())


def issue_values(key: str, i: int) -> tuple[object, ...]:
    meta = json.dumps({"n": i, "labels": ["a", "b"], "note": "y" * 80})
    return (key, "task", f"issue {i} " + "x" * 60, "open", "bench", now(), None, "bench", meta)


def issue_row(i: int) -> dict[str, Any]:
    return {
        "title": f"issue {i} " + "x" * 60,
        "owner": "bench",
        "metadata": {"n": i, "labels": ["a", "b"], "note": "y" * 80},
    }


def raw_commit(conn: Any, message: str, author: str | None = None) -> None:
    args = ["-Am", message] + (["--author", author] if author else [])
    with conn.cursor() as cursor:
        cursor.execute(f"CALL DOLT_COMMIT({', '.join(['%s'] * len(args))})", args)


def raw_hashof(conn: Any, revision: str) -> str:
    with conn.cursor() as cursor:
        cursor.execute("SELECT HASHOF(%s)", (revision,))
        return str(cursor.fetchone()[0])


# --- timing -------------------------------------------------------------------------------


def rotate(sides: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds of each side over ``rounds`` runs, the first side rotating."""
    names = list(sides)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            started = time.perf_counter()
            sides[name]()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(samples) for name, samples in times.items()}


# --- the 16-process throughput ------------------------------------------------------------


def dp_writer(url: str, data_dir: str, ops: str, ledger: str, number: int, writes: int) -> float:
    with doltplane.connect(
        url,
        data_dir=data_dir,
        ops_database=ops,
        ledger_database=ledger,
        checkpoint_every_writes=500,
        checkpoint_every_seconds=0,
    ) as dp:
        dp.ops.get_many([])  # connect and migrate-check before the clock starts
        started = time.perf_counter()
        for i in range(writes):
            dp.ops.set_state(
                f"w{number}-{i}", rig="r", agent=f"a{number}", status="busy", state=STATE
            )
        return time.perf_counter() - started


def raw_writer(url: str, database: str, number: int, writes: int) -> float:
    conn = raw_connect(url, database, autocommit=False)
    started = time.perf_counter()
    with conn.cursor() as cursor:
        for i in range(writes):
            values = (f"w{number}-{i}", "r", f"a{number}", "busy", json.dumps(STATE), now())
            cursor.execute(OPS_UPSERT, values)
            conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def throughput(
    target: Callable[..., float], argsets: list[tuple[Any, ...]], writes: int
) -> tuple[float, float]:
    """Writes/s of all processes together (wall time), and the slowest process's seconds."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(argsets)) as pool:
        started = time.perf_counter()
        seconds = pool.starmap(target, argsets)
        wall = time.perf_counter() - started
    return len(argsets) * writes / wall, max(seconds)


# --- the server ---------------------------------------------------------------------------


@contextmanager
def server(url: str | None, root: Path) -> Iterator[str]:
    if url:
        yield url
        return
    from doltplane.server.launch import ServerSpec, free_port, start, stop, wait_ready

    spec = ServerSpec(root=root / "server", port=free_port())
    process = start(spec)
    try:
        wait_ready(spec, process)
        yield f"mysql://root@{spec.host}:{spec.port}"
    finally:
        stop(process)


def dolt_version() -> str:
    from doltplane.server.launch import dolt_binary

    dolt = dolt_binary()
    if dolt is None:
        return "?"
    done = subprocess.run([dolt, "version"], capture_output=True, text=True, check=False)
    return done.stdout.split("\n")[0].strip().removeprefix("dolt version ")


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--url", default=None, help="a running server (default: start one)")
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--markdown", type=Path, default=None, help="write the note here")
    args = parser.parse_args()
    scale, rounds = args.scale, args.rounds
    rows_total = max(2000, int(20_000 * scale))
    singles = max(20, int(200 * scale))
    reads = max(100, int(1000 * scale))
    groups_n = max(5, int(50 * scale))
    hist_n = max(3, int(20 * scale))
    issues, commits = max(500, int(10_000 * scale)), max(20, int(100 * scale))
    per_process = max(100, int(1000 * scale))
    base = Path(tempfile.mkdtemp(prefix="doltplane-bench-server-"))
    results: list[tuple[str, int, dict[str, float]]] = []

    with server(args.url, base) as url:
        emb = doltplane.connect(
            base / "embedded", checkpoint_every_writes=0, checkpoint_every_seconds=0
        )
        srv = doltplane.connect(
            url,
            data_dir=base / "server",
            ops_database="bench_ops",
            ledger_database="bench_ledger",
            checkpoint_every_writes=0,
            checkpoint_every_seconds=0,
        )
        with doltplane.connect(  # the raw side's tables: the same migrations, no doltplane after
            url, data_dir=base / "raw", ops_database="raw_ops", ledger_database="raw_ledger"
        ) as schema:
            schema.migrate()
        for plane in (emb, srv):
            plane.migrate()
        ops = raw_connect(url, "raw_ops")
        writer = raw_connect(url, "raw_ops", autocommit=False)

        def add(name: str, n: int, **sides: Callable[[], object]) -> None:
            results.append((name, n, rotate(sides, rounds)))
            row = results[-1][2]
            print(f"  {name}: " + ", ".join(f"{k} {n / v:,.0f}/s" for k, v in row.items()))

        print(f"server {url}, files in {base}; ops ...")

        # 1. batched upserts, 1,000 per transaction (the load for everything after)
        def dp_batches(dp: doltplane.DataPlane) -> Callable[[], None]:
            def run() -> None:
                for start in range(0, rows_total, 1000):
                    dp.ops.set_many(
                        {"id": f"agent-{i}", "rig": f"rig{i % 10}", "agent": f"a{i % 50}",
                         "status": "busy", "state": STATE}
                        for i in range(start, start + 1000)
                    )  # fmt: skip

            return run

        def raw_batches() -> None:
            with writer.cursor() as cursor:
                for start in range(0, rows_total, 1000):
                    cursor.executemany(
                        OPS_UPSERT, [state_row(i) for i in range(start, start + 1000)]
                    )
                    writer.commit()

        add("ops set_many, 1,000 per batch (rows)", rows_total,
            embedded=dp_batches(emb), server=dp_batches(srv), raw=raw_batches)  # fmt: skip

        # 2. single durable writes, one transaction each
        counter = iter(range(10**9))

        def dp_singles(dp: doltplane.DataPlane) -> Callable[[], None]:
            def run() -> None:
                for _ in range(singles):
                    i = next(counter) % rows_total
                    dp.ops.set_state(f"agent-{i}", rig="r", agent="a", status="busy", state=STATE)

            return run

        def raw_singles() -> None:
            with writer.cursor() as cursor:
                for _ in range(singles):
                    cursor.execute(OPS_UPSERT, state_row(next(counter) % rows_total))
                    writer.commit()

        add("ops set_state, 1 durable write", singles,
            embedded=dp_singles(emb), server=dp_singles(srv), raw=raw_singles)  # fmt: skip
        for dp in (emb, srv):
            dp.ops.checkpoint()
        raw_commit(writer, "raw snapshot")
        writer.commit()

        # 3. point reads and get_many of 100
        ids = [f"agent-{(i * 7919) % rows_total}" for i in range(reads)]
        by_id = OPS_SELECT + " WHERE id = %s"

        def raw_gets() -> None:
            with ops.cursor() as cursor:
                for i in ids:
                    cursor.execute(by_id, (i,))
                    decode_state(cursor.fetchone())

        add("ops get by id", reads, embedded=lambda: [emb.ops.get(i) for i in ids],
            server=lambda: [srv.ops.get(i) for i in ids], raw=raw_gets)  # fmt: skip
        spread = [f"agent-{(i * 7919) % rows_total}" for i in range(groups_n * 100)]
        groups = [spread[k : k + 100] for k in range(0, len(spread), 100)]
        in_list = OPS_SELECT + f" WHERE id IN ({', '.join(['%s'] * 100)})"

        def raw_many() -> None:
            with ops.cursor() as cursor:
                for g in groups:
                    cursor.execute(in_list, g)
                    {r["id"]: r for r in map(decode_state, cursor.fetchall())}

        add("ops get_many of 100 ids (calls)", len(groups),
            embedded=lambda: [emb.ops.get_many(g) for g in groups],
            server=lambda: [srv.ops.get_many(g) for g in groups], raw=raw_many)  # fmt: skip

        # 4. AS OF point reads at the snapshot before a change
        for dp in (emb, srv):
            dp.ops.set_many(
                {"id": i, "rig": "r", "agent": "a", "status": "idle", "state": {}}
                for i in ids[:100]
            )
            dp.ops.checkpoint()
        with writer.cursor() as cursor:
            cursor.executemany(OPS_UPSERT, [state_row(i) for i in range(100)])
        writer.commit()
        raw_commit(writer, "raw change")
        writer.commit()
        views = {
            name: dp.ops.as_of(dp.engine("ops").resolve_revision("HEAD~1"))
            for name, dp in (("embedded", emb), ("server", srv))
        }
        raw_earlier = raw_hashof(ops, "HEAD~1")
        as_of_sql = OPS_SELECT + f" AS OF '{raw_earlier}' WHERE id = %s"

        def raw_as_of() -> None:
            with ops.cursor() as cursor:
                for i in ids:
                    cursor.execute(as_of_sql, (i,))
                    decode_state(cursor.fetchone())

        add("ops as_of(commit).get", reads,
            embedded=lambda: [views["embedded"].get(i) for i in ids],
            server=lambda: [views["server"].get(i) for i in ids], raw=raw_as_of)  # fmt: skip

        # 5. history of one record changed in 10 snapshots
        for n in range(10):
            for dp in (emb, srv):
                dp.ops.set_state("agent-1", rig="r", agent="a", status=f"s{n}", state=STATE)
                dp.ops.checkpoint()
            with writer.cursor() as cursor:
                cursor.execute(OPS_UPSERT, state_row(1))
            writer.commit()
            raw_commit(writer, f"change {n}")
            writer.commit()
        history_sql = (
            f"SELECT {', '.join(OPS_COLUMNS)}, commit_hash, committer, commit_date "
            "FROM dolt_history_operational_state WHERE id = %s ORDER BY commit_date DESC"
        )

        def raw_history() -> None:
            with ops.cursor() as cursor:
                for _ in range(hist_n):
                    cursor.execute(history_sql, ("agent-1",))
                    [decode_state(r[:7]) for r in cursor.fetchall()]

        add("ops history of one record (calls)", hist_n,
            embedded=lambda: [emb.ops.history("agent-1") for _ in range(hist_n)],
            server=lambda: [srv.ops.history("agent-1") for _ in range(hist_n)],
            raw=raw_history)  # fmt: skip

        # 6. the ledger: bulk load in commits, one issue changed 10 times along the way
        print(f"ledger: {issues:,} issues in {commits} commits per side ...")
        per_commit = max(1, issues // commits)
        tracked: dict[str, str] = {}
        for name, dp in (("embedded", emb), ("server", srv)):
            for c in range(commits):
                made = dp.ledger.create_issues(
                    issue_row(c * per_commit + j) for j in range(per_commit)
                )
                if c == 0:
                    tracked[name] = made[0].id
                if c % max(1, commits // 10) == 0:
                    dp.ledger.update_issue(tracked[name], title=f"changed at commit {c}")
        led = raw_connect(url, "raw_ledger", autocommit=False)
        with led.cursor() as cursor:
            for c in range(commits):
                cursor.executemany(
                    ISSUE_INSERT,
                    [issue_values(f"r-{c}-{j}", c * per_commit + j) for j in range(per_commit)],
                )
                led.commit()
                raw_commit(led, f"batch {c}", AUTHOR)
                led.commit()
                if c % max(1, commits // 10) == 0:
                    cursor.execute(
                        "UPDATE issues SET title = %s WHERE id = 'r-0-0'", (f"changed at {c}",)
                    )
                    raw_commit(led, "update r-0-0")
                    led.commit()
        led.autocommit(True)
        point = ISSUE_SELECT + " WHERE id = %s"

        def raw_point() -> None:
            with led.cursor() as cursor:
                cursor.execute(point, ("r-0-0",))
                decode_issue(cursor.fetchone())

        reads_l = max(50, reads // 4)
        add("ledger point read get_issue", reads_l,
            embedded=lambda: [emb.ledger.get_issue(tracked["embedded"]) for _ in range(reads_l)],
            server=lambda: [srv.ledger.get_issue(tracked["server"]) for _ in range(reads_l)],
            raw=lambda: [raw_point() for _ in range(reads_l)])  # fmt: skip
        back = f"HEAD~{commits // 2}"
        ledger_views = {"embedded": emb.ledger.as_of(back), "server": srv.ledger.as_of(back)}
        old = raw_hashof(led, back)
        point_at = ISSUE_SELECT + f" AS OF '{old}' WHERE id = %s"

        def raw_point_at() -> None:
            with led.cursor() as cursor:
                cursor.execute(point_at, ("r-0-0",))
                decode_issue(cursor.fetchone())

        add(f"ledger AS OF point read ({back})", reads_l,
            embedded=lambda: [ledger_views["embedded"].get_issue(tracked["embedded"])
                              for _ in range(reads_l)],
            server=lambda: [ledger_views["server"].get_issue(tracked["server"])
                            for _ in range(reads_l)],
            raw=lambda: [raw_point_at() for _ in range(reads_l)])  # fmt: skip
        issue_history = (
            f"SELECT {', '.join(ISSUE_COLUMNS)}, commit_hash, committer, commit_date "
            "FROM dolt_history_issues WHERE id = %s ORDER BY commit_date DESC"
        )

        def raw_issue_history() -> None:
            with led.cursor() as cursor:
                cursor.execute(issue_history, ("r-0-0",))
                [decode_issue(r[:9]) for r in cursor.fetchall()]

        add("ledger history of one issue (10 changes)", hist_n,
            embedded=lambda: [emb.ledger.history(tracked["embedded"]) for _ in range(hist_n)],
            server=lambda: [srv.ledger.history(tracked["server"]) for _ in range(hist_n)],
            raw=lambda: [raw_issue_history() for _ in range(hist_n)])  # fmt: skip

        # 7. one write + its commit on an agent branch
        agents = {"embedded": emb.agent(AGENT), "server": srv.agent(AGENT)}
        for session in agents.values():
            session.create_issue("warm-up")
        with led.cursor() as cursor:
            cursor.execute("CALL DOLT_BRANCH(%s)", (AGENT,))
        branch = raw_connect(url, f"raw_ledger/{AGENT}", autocommit=False)
        writes_n = max(10, int(50 * scale))

        def dp_writes(name: str) -> Callable[[], None]:
            def run() -> None:
                for _ in range(writes_n):
                    agents[name].create_issue(f"bench {next(counter)}")

            return run

        def raw_writes() -> None:
            with branch.cursor() as cursor:
                for _ in range(writes_n):
                    i = next(counter)
                    cursor.execute("BEGIN")
                    cursor.execute(ISSUE_INSERT, issue_values(f"w-{i}", i))
                    raw_commit(branch, f"create w-{i}", AUTHOR)
                    branch.commit()

        add("ledger agent write + commit", writes_n, embedded=dp_writes("embedded"),
            server=dp_writes("server"), raw=raw_writes)  # fmt: skip
        branch.close()
        for conn in (ops, writer, led):
            conn.close()
        emb.close()
        srv.close()

        # 8. many agent processes writing to the server at once
        print(f"{args.processes} processes x {per_process} writes ...")
        with doltplane.connect(
            url, data_dir=base / "storm", ops_database="storm_ops", ledger_database="storm_ledger"
        ) as storm:
            storm.migrate()
        with doltplane.connect(
            url, data_dir=base / "stormraw", ops_database="stormraw_ops",
            ledger_database="stormraw_ledger",
        ) as storm:  # fmt: skip
            storm.migrate()
        dp_rate, dp_slowest = throughput(
            dp_writer,
            [(url, str(base / "storm"), "storm_ops", "storm_ledger", n, per_process)
             for n in range(args.processes)],
            per_process,
        )  # fmt: skip
        raw_rate, raw_slowest = throughput(
            raw_writer,
            [(url, "stormraw_ops", n, per_process) for n in range(args.processes)],
            per_process,
        )

    load = os.getloadavg()
    lines = [
        f"Dolt {dolt_version()}, Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load {load[0]:.2f} at the end; scale {scale}, median of {rounds} rotating rounds.",
        "",
        "| workload | n | embedded /s | server /s | raw pymysql /s | server/raw "
        "| server/embedded |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, n, t in results:
        lines.append(
            f"| {name} | {n} | {n / t['embedded']:,.0f} | {n / t['server']:,.0f} | "
            f"{n / t['raw']:,.0f} | {t['server'] / t['raw']:.2f} | "
            f"{t['server'] / t['embedded']:.2f} |"
        )
    lines += [
        "",
        f"{args.processes} processes x {per_process} durable state writes on one server:",
        "",
        "| side | writes/s (all processes) | slowest process, s |",
        "|---|---:|---:|",
        f"| doltplane `ops.set_state` | {dp_rate:,.0f} | {dp_slowest:.1f} |",
        f"| raw pymysql upsert + COMMIT | {raw_rate:,.0f} | {raw_slowest:.1f} |",
    ]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "bench": "server",
                    "load": load[0],
                    "rows": [
                        {"workload": name, "n": n, **{f"{k}_s": v for k, v in t.items()}}
                        for name, n, t in results
                    ],
                    "processes": args.processes,
                    "per_process": per_process,
                    "doltplane_writes_per_s": dp_rate,
                    "raw_writes_per_s": raw_rate,
                },
                indent=2,
            )
        )
    if args.markdown:
        write_note(args.markdown, lines)


def write_note(path: Path, table: list[str]) -> None:
    """Replace the generated section of the note, keeping the text around it."""
    begin, end = "<!-- bench_server:begin -->", "<!-- bench_server:end -->"
    generated = "\n".join([begin, *table, end])
    text = path.read_text() if path.exists() else f"# Server-engine benchmarks\n\n{begin}\n{end}\n"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    path.write_text(head + generated + tail)


if __name__ == "__main__":
    main()
