"""Shared fixtures: every test runs on real doltlite files in its own temporary folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from doltplane import DataPlane, connect  # loads doltlite before anything imports sqlite3
from tests.servers import RunningServer, running_server


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "dp"


@pytest.fixture
def dp(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataPlane]:
    """A data plane with snapshots only when a test asks for one."""
    for name in list(os.environ):
        if name.startswith("DOLTPLANE_"):
            monkeypatch.delenv(name)
    with connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0) as plane:
        yield plane


@pytest.fixture(scope="session")
def dolt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One real ``dolt sql-server`` shared by a session's tests (each uses its own databases)."""
    with running_server(tmp_path_factory.mktemp("dolt-server")) as server:
        yield server
