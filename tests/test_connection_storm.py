"""A connection storm against one real ``dolt sql-server`` (issue 9, section 2).

Gas Town went down when agents leaked connections until the server hit its limit. Here
16 agent processes make 1,000 writes each through doltplane against one server while a
sampler reads the server's own connection count (``information_schema.processlist`` and
the ``dss_concurrent_connections`` metric) every 20 ms. The count must stay within
16 x ``pool_max_open``, fall back to where it started once the agents exit (nothing
leaked), and every write must be there afterwards, committed. Takes about a minute or
two on 2 cores.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from doltplane import connect
from doltplane.server.launch import free_port
from tests.servers import RunningServer, running_server

AGENTS = 16
WRITES = 1_000
POOL_MAX_OPEN = 25  # the design's pool, the default setting
DATABASE = "storm_ops"
LEDGER = "storm_ledger"


@dataclasses.dataclass
class Counts:
    processlist: list[int] = dataclasses.field(default_factory=list)
    metric: list[int] = dataclasses.field(default_factory=list)


class Sampler:
    """Reads the server's connection count on its own connection until stopped."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.counts = Counts()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _metric(self) -> int | None:
        port = self.server.spec.metrics_port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("dss_concurrent_connections "):
                    return int(float(line.split()[1]))
        return None

    def _run(self) -> None:
        conn = pymysql.connect(
            host=self.server.spec.host, port=self.server.spec.port, user="root", autocommit=True
        )
        try:
            with conn.cursor() as cursor:
                while not self._stop.is_set():
                    cursor.execute("SELECT COUNT(*) FROM information_schema.processlist")
                    (count,) = cursor.fetchone()
                    self.counts.processlist.append(int(count) - 1)  # not the sampler's own
                    try:
                        metric = self._metric()
                    except OSError as exc:
                        self.errors.append(str(exc))
                    else:
                        if metric is not None:
                            self.counts.metric.append(metric - 1)
                    self._stop.wait(0.02)
        finally:
            conn.close()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def agent_process(url: str, data_dir: str, number: int) -> int:
    """One agent: its own interpreter, its own pool, 1,000 durable state writes."""
    with connect(
        url,
        data_dir=data_dir,
        ops_database=DATABASE,
        ledger_database=LEDGER,
        pool_max_open=POOL_MAX_OPEN,
        checkpoint_every_writes=250,
        checkpoint_every_seconds=0,
    ) as dp:
        for i in range(WRITES):
            dp.ops.set_state(
                f"p{number}-{i}",
                rig=f"rig{number % 4}",
                agent=f"agent{number}",
                status="busy",
                state={"i": i, "process": number},
            )
    return number


def server_connections(server: RunningServer) -> int:
    conn = pymysql.connect(host=server.spec.host, port=server.spec.port, user="root")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM information_schema.processlist")
            (count,) = cursor.fetchone()
            return int(count) - 1
    finally:
        conn.close()


@pytest.fixture
def storm_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server of its own, so that other tests' connections don't count."""
    with running_server(tmp_path / "server", metrics_port=free_port()) as server:
        yield server


def test_sixteen_agents_times_1000_writes_keep_connections_bounded(
    storm_server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = storm_server.url
    with connect(
        url, data_dir=tmp_path / "dp", ops_database=DATABASE, ledger_database=LEDGER
    ) as dp:
        dp.migrate()
        commits_before = dp.engine("ops").commit_count()
    baseline = server_connections(storm_server)

    started = time.monotonic()
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as separate agents are
    with Sampler(storm_server) as sampler, context.Pool(AGENTS) as pool:
        done = pool.starmap(agent_process, [(url, str(tmp_path / "dp"), n) for n in range(AGENTS)])
    elapsed = time.monotonic() - started
    assert sorted(done) == list(range(AGENTS))

    counts = sampler.counts
    assert counts.processlist, "the sampler never read the server"
    most = max(counts.processlist)
    most_metric = max(counts.metric, default=0)
    with capsys.disabled():
        print(
            f"\nconnection storm: {AGENTS}x{WRITES} writes in {elapsed:.1f} s "
            f"({AGENTS * WRITES / elapsed:.0f}/s); server connections max {most} "
            f"(metric {most_metric}), baseline {baseline}, {len(counts.processlist)} samples"
        )
    assert most <= AGENTS * POOL_MAX_OPEN, counts.processlist
    assert most_metric <= AGENTS * POOL_MAX_OPEN, counts.metric
    assert most >= 1, "the agents never showed up on the server"

    deadline = time.monotonic() + 15  # closed pools hang up; nothing lingers after exit
    while (now := server_connections(storm_server)) > baseline and time.monotonic() < deadline:
        time.sleep(0.2)
    assert now <= baseline, f"{now} connections left open after every agent exited"

    with connect(
        url, data_dir=tmp_path / "dp", ops_database=DATABASE, ledger_database=LEDGER
    ) as fresh:
        rows = fresh.ops.list()
        assert len(rows) == AGENTS * WRITES
        assert {r.id for r in rows} == {f"p{n}-{i}" for n in range(AGENTS) for i in range(WRITES)}
        assert all(r.version == 1 and r.state["i"] == int(r.id.split("-")[1]) for r in rows)
        engine = fresh.engine("ops")
        assert not engine.is_dirty()  # every agent's close committed its last writes
        assert engine.commit_count() > commits_before
    raw = pymysql.connect(host=storm_server.spec.host, port=storm_server.spec.port, user="root")
    try:
        with raw.cursor() as cursor:  # the committed head, as another client reads it
            cursor.execute(f"SELECT COUNT(*) FROM `{DATABASE}`.operational_state AS OF 'main'")
            assert cursor.fetchone() == (AGENTS * WRITES,)
    finally:
        raw.close()
