"""Supervised servers on short test intervals, and a real MariaDB for the not-Dolt test."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from doltplane.config import Settings
from doltplane.server.control import stop_server
from tests.servers import RunningMariaDB, require_dolt, running_mariadb

FAST = {
    "server_probe_interval_seconds": 0.3,
    "server_probe_timeout_seconds": 5.0,
    "server_probe_failures": 1,
    "server_restart_delay_seconds": 0.2,
    "server_restart_delay_max_seconds": 1.0,
    "server_start_timeout_seconds": 30.0,
}


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMariaDB]:
    with running_mariadb(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Any]:
    """``make(**settings)`` -> Settings for a data directory whose supervisor is stopped
    after the test, whatever happened."""
    require_dolt()
    made: list[Settings] = []

    def make(**overrides: Any) -> Settings:
        settings = Settings(data_dir=tmp_path / f"dp{len(made)}", **{**FAST, **overrides})
        made.append(settings)
        return settings

    yield make
    for settings in made:
        stop_server(settings)


def dolt_wrapper(path: Path, version: str = "1.86.4", marker: Path | None = None) -> Path:
    """A dolt that reports ``version`` and, while ``marker`` exists, starts one read-only
    server (deleting the marker), so its restart comes up writable."""
    real = require_dolt()
    read_only = ""
    if marker is not None:
        read_only = (
            f'if [ "$1" = sql-server ] && [ -e "{marker}" ]; then\n'
            f'    rm -f "{marker}"\n'
            # dolt ignores --readonly next to --config: turn it on in a copy of the config.
            '    sed "s/read_only: false/read_only: true/" "$3" > "$3.ro"\n'
            f'    exec "{real}" sql-server --config "$3.ro"\n'
            "fi\n"
        )
    text = (
        "#!/bin/sh\n"
        f'if [ "$1" = version ]; then echo "dolt version {version}"; exit 0; fi\n'
        f'{read_only}exec "{real}" "$@"\n'
    )
    # A new file replaces the old one, as `go install` replaces a binary.
    tmp = path.with_suffix(".new")
    tmp.write_text(text)
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR)
    os.replace(tmp, path)
    return path
