"""Two data directories and a remote between them, all real doltlite files in tmp dirs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from doltplane import DataPlane, connect

Site = Callable[[str], DataPlane]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """Open (or create) the data directory ``tmp_path/<name>``; closed at the end."""
    for name in list(os.environ):
        if name.startswith("DOLTPLANE_"):
            monkeypatch.delenv(name)
    opened: list[DataPlane] = []

    def open_site(name: str) -> DataPlane:
        dp = connect(tmp_path / name, checkpoint_every_writes=0, checkpoint_every_seconds=0)
        dp.migrate()
        opened.append(dp)
        return dp

    yield open_site
    for dp in opened:
        dp.close()
