"""Shared fixtures, and the engine switch: every plane test runs on both engines.

A plane test (see ``BOTH_ENGINES``) runs twice in one ``pytest`` run: ``[embedded]`` on
real doltlite files in its own temporary folder, and ``[server]`` on one real
``dolt sql-server`` shared by the session, through ``DOLTPLANE_URL`` and a pair of
databases of its own (``DOLTPLANE_OPS_DATABASE`` / ``DOLTPLANE_LEDGER_DATABASE``), so that
``connect(data_dir)``, ``CliRunner`` and CLI subprocesses all land on the server. The
databases are dropped after the test by a background thread, which keeps the server small
without making each test wait for it.

A test about the embedded file by nature (file sizes, gc of the ``.db`` file, kill -9 of
an embedded writer, doltlite loading) is marked ``@pytest.mark.embedded_only("why")`` and
runs only as ``[embedded]``. Without a ``dolt`` binary the server variants skip with the
reason; with ``CI`` set they fail (``tests.servers.require_dolt``).
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from doltplane import DataPlane, connect  # loads doltlite before anything imports sqlite3
from tests.servers import RunningServer, running_server

BOTH_ENGINES = (
    "ops/",
    "ledger/",
    "packs/",
    "test_migrations.py",
    "test_properties.py",
    "test_untrusted_input.py",
)
"""Paths under tests/ whose tests run on both engines (everything else: embedded only)."""

RUN_ONCE = ("packs/test_server_dialect.py",)
"""...except these, which bring their own dolt sql-server and need no switch."""

ENGINE_VARIABLES = ("DOLTPLANE_URL", "DOLTPLANE_OPS_DATABASE", "DOLTPLANE_LEDGER_DATABASE")
"""What the engine switch sets; fixtures that clear DOLTPLANE_* keep these."""

TESTS = Path(__file__).parent


def runs_on_both(path: Path) -> bool:
    try:
        relative = path.relative_to(TESTS).as_posix()
    except ValueError:
        return False
    if relative in RUN_ONCE:
        return False
    return any(relative == p or relative.startswith(p) for p in BOTH_ENGINES)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "plane_engine" not in metafunc.fixturenames:
        return
    if not runs_on_both(Path(metafunc.definition.path)):
        return
    marker = metafunc.definition.get_closest_marker("embedded_only")
    if marker is not None and not (marker.args or marker.kwargs.get("reason")):
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: embedded_only needs a reason")
    engines = ["embedded"] if marker is not None else ["embedded", "server"]
    metafunc.parametrize("plane_engine", engines, indirect=True)


def clear_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every ``DOLTPLANE_*`` setting except the engine switch's own."""
    for name in list(os.environ):
        if name.startswith("DOLTPLANE_") and name not in ENGINE_VARIABLES:
            monkeypatch.delenv(name)


class Dropper:
    """Drops a finished test's databases on a background thread, one connection for all."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.names: queue.Queue[str | None] = queue.Queue()
        self.failed: list[str] = []
        self.thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import pymysql

        conn = None
        while (name := self.names.get()) is not None:
            try:
                if conn is None:
                    conn = pymysql.connect(
                        host=self.server.spec.host,
                        port=self.server.spec.port,
                        user="root",
                        autocommit=True,
                    )
                with conn.cursor() as cursor:
                    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            except pymysql.MySQLError as exc:
                self.failed.append(f"{name}: {exc}")
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def drop(self, *names: str) -> None:
        for name in names:
            self.names.put(name)

    def close(self) -> None:
        self.names.put(None)
        self.thread.join(timeout=120)


@pytest.fixture(scope="session")
def dolt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One real ``dolt sql-server`` shared by a session's tests (each uses its own databases)."""
    with running_server(tmp_path_factory.mktemp("dolt-server")) as server:
        yield server


@pytest.fixture(scope="session")
def _dropper(dolt_server: RunningServer) -> Iterator[Dropper]:
    dropper = Dropper(dolt_server)
    yield dropper
    dropper.close()


_database_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def plane_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``embedded`` or ``server``: which engine this test's data plane runs on."""
    kind: str = getattr(request, "param", "embedded")
    if kind != "server":
        for name in ENGINE_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        yield kind
        return
    server: RunningServer = request.getfixturevalue("dolt_server")
    dropper: Dropper = request.getfixturevalue("_dropper")
    stem = f"t{os.getpid()}_{next(_database_numbers)}"
    ops, ledger = f"{stem}_ops", f"{stem}_ledger"
    monkeypatch.setenv("DOLTPLANE_URL", server.url)
    monkeypatch.setenv("DOLTPLANE_OPS_DATABASE", ops)
    monkeypatch.setenv("DOLTPLANE_LEDGER_DATABASE", ledger)
    yield kind
    dropper.drop(ops, ledger)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "dp"


@pytest.fixture
def dp(data_dir: Path, plane_engine: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataPlane]:
    """A data plane on this test's engine, with snapshots only when a test asks for one."""
    clear_settings_env(monkeypatch)
    with connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0) as plane:
        yield plane
