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
