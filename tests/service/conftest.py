"""The real service as a subprocess on loopback ports, with short test intervals."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from doltplane import connect
from doltplane.config import ENVIRONMENT_VARIABLES

FAST = {
    "DOLTPLANE_CHECKPOINT_EVERY_SECONDS": "0.5",
    "DOLTPLANE_CHECKPOINT_EVERY_WRITES": "0",
    "DOLTPLANE_CLEANUP_INTERVAL_SECONDS": "1",
    "DOLTPLANE_LEDGER_PRUNE_INTERVAL_SECONDS": "1",
    "DOLTPLANE_FEDERATION_PULL_INTERVAL_SECONDS": "1",
    "DOLTPLANE_BACKUP_INTERVAL_SECONDS": "1",
    "DOLTPLANE_METRICS_SAMPLE_SECONDS": "0.5",
    "DOLTPLANE_ALERTS_INTERVAL_SECONDS": "0.5",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ENVIRONMENT_VARIABLES.values() and k != "_DOLTLITE_BOOTSTRAPPED"
    }
    home.mkdir(parents=True, exist_ok=True)
    config = home / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n", encoding="utf-8")
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(config),
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="t@example.test",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="t@example.test",
    )
    env.update(FAST)
    env.update(extra)
    return env


class ServiceProcess:
    """``doltplane serve --log-json`` in a child process; its log lines, parsed."""

    def __init__(self, data_dir: Path, env: dict[str, str], *args: str) -> None:
        self.data_dir = data_dir
        self.metrics_port = free_port()
        command = [sys.executable, "-m", "doltplane.cli.main", "--data-dir", str(data_dir)]
        command += ["serve", "--log-json", "--metrics-port", str(self.metrics_port), *args]
        self.proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.raw.append(line)
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if predicate(event):
                    return event
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no such event; log so far:\n{''.join(self.raw)}")

    def job_runs(self, job: str, result: str | None = None) -> list[dict[str, Any]]:
        wanted = ("job ok", "job failed") if result is None else (f"job {result}",)
        return [e for e in list(self.events) if e.get("event") in wanted and e.get("job") == job]

    def wait_runs(self, job: str, count: int, result: str | None = None) -> None:
        self.wait_for(lambda e: len(self.job_runs(job, result)) >= count)

    def scrape(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())

    def terminate(self, timeout: float = 60.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def initialised(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("DOLTPLANE_"):
            monkeypatch.delenv(name)
    with connect(data_dir) as dp:
        dp.migrate()
    return data_dir


@pytest.fixture
def start_service(initialised: Path, home: Path) -> Iterator[Callable[..., ServiceProcess]]:
    started: list[ServiceProcess] = []

    def start(*args: str, data_dir: Path | None = None, **env: str) -> ServiceProcess:
        service = ServiceProcess(data_dir or initialised, child_env(home, **env), *args)
        started.append(service)
        return service

    yield start
    for service in started:
        service.kill()
