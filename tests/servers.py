"""Real ``dolt sql-server`` processes for tests, on free loopback ports in tmp folders."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from doltplane.server.launch import ServerSpec, dolt_binary, free_port, start, stop, wait_ready


@dataclasses.dataclass
class RunningServer:
    spec: ServerSpec
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"mysql://root@{self.spec.host}:{self.spec.port}"

    def stop(self) -> None:
        stop(self.process)


def require_dolt() -> str:
    """The dolt binary; skips the test without one, except in CI where that is a failure."""
    dolt = dolt_binary()
    if dolt is None:
        reason = "no dolt on PATH: run scripts/install-dolt to run the server-engine tests"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return dolt


@contextmanager
def running_server(root: Path, **options: object) -> Iterator[RunningServer]:
    """A server in ``root`` that is ready to answer, stopped on exit."""
    require_dolt()
    spec = ServerSpec(root=root, port=free_port(), **options)  # type: ignore[arg-type]
    process = start(spec)
    try:
        wait_ready(spec, process)
        yield RunningServer(spec, process)
    finally:
        stop(process)


@dataclasses.dataclass
class RunningMariaDB:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}"


def require_mariadb() -> str:
    """Debian's mariadbd; skips without it, except in CI (.ci/run installs it)."""
    import shutil

    found = shutil.which("mariadbd") or (
        "/usr/sbin/mariadbd" if Path("/usr/sbin/mariadbd").exists() else None
    )
    if found is None:
        reason = "no mariadbd: apt-get install mariadb-server to run the not-Dolt test"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@contextmanager
def running_mariadb(root: Path) -> Iterator[RunningMariaDB]:
    """A throwaway MariaDB (not Dolt) on a loopback port, as a plain child process."""
    import time

    import pymysql

    mariadbd = require_mariadb()
    datadir = root / "data"
    subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *(["--user=root"] if os.geteuid() == 0 else []),
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = (root / "mariadb.log").open("wb")
    process = subprocess.Popen(
        [
            mariadbd,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--socket={root / 'mariadb.sock'}",
            f"--pid-file={root / 'mariadb.pid'}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            "--skip-grant-tables",
            "--skip-log-bin",
            *(["--user=root"] if os.geteuid() == 0 else []),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                pymysql.connect(host="127.0.0.1", port=port, user="root", connect_timeout=1).close()
                break
            except pymysql.MySQLError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield RunningMariaDB(port, process)
    finally:
        stop(process)
