"""``doltplane alerts`` on a data directory with a service state file and lock."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from doltplane.alerts import AlertState, ensure_rules_file, lock_path, state_path
from doltplane.cli.main import cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("DOLTPLANE_"):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "dp"
    data_dir.mkdir()
    return data_dir


def run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.stdout, result.stderr


def write_state(data_dir: Path, *states: AlertState) -> None:
    path = state_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "pid": os.getpid(),
        "started_at": "2026-11-28T00:00:00+00:00",
        "updated_at": "2026-11-28T00:05:00+00:00",
        "jobs": {},
        "alerts": {s.name: s.to_json() for s in states},
    }
    path.write_text(json.dumps(state), encoding="utf-8")


@pytest.fixture
def held_lock(home: Path) -> Iterator[Path]:
    """The lock as a running service holds it (this test process plays the service)."""
    path = lock_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": 0.0}
        handle.write(json.dumps({**info, "url": None, "metrics_port": None}))
        handle.flush()
        yield path


FIRING = AlertState(
    "query_latency_high", "firing", "warning", 0.25, 1_764_288_000.0, "slow queries"
)


def test_no_service_says_so_and_shows_the_default_rules(home: Path) -> None:
    code, out, _ = run(home, "alerts")
    assert code == 0
    assert "no service is running" in out
    assert "query_latency_high" in out and "server_down" in out
    code, out, _ = run(home, "alerts", "--json")
    data = json.loads(out)
    assert data["service"]["running"] is False and data["defaults"] is True
    assert {r["state"] for r in data["rules"]} == {"unknown"}
    assert not (home / "alerts.yaml").exists()  # a read writes nothing


def test_a_running_service_state_is_shown(home: Path, held_lock: Path) -> None:
    ensure_rules_file(home)
    write_state(home, FIRING, AlertState("server_down", "ok", "critical", None, 5.0, "down"))
    code, out, _ = run(home, "alerts", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["service"] == {
        "running": True,
        "pid": os.getpid(),
        "updated_at": "2026-11-28T00:05:00+00:00",
    }
    rules = {r["name"]: r for r in data["rules"]}
    assert rules["query_latency_high"]["state"] == "firing"
    assert rules["query_latency_high"]["since"] == "2025-11-28T00:00:00+00:00"
    assert rules["query_latency_high"]["value"] == 0.25
    assert rules["server_down"]["state"] == "ok"
    assert rules["storage_growth_high"]["state"] == "unknown"
    code, out, _ = run(home, "alerts")
    assert code == 0
    assert "service running" in out
    assert "FIRING query_latency_high" in out
    assert "what to do: Look for a plane that grew" in out
    assert "250 ms" in out


def test_a_state_left_by_a_stopped_service_is_marked(home: Path) -> None:
    write_state(home, FIRING)
    lock_path(home).write_text(json.dumps({"pid": 999_999_999, "host": socket.gethostname()}))
    code, out, _ = run(home, "alerts")
    assert code == 0
    assert "no service is running: states are as it left them" in out


def test_check_and_export(home: Path, tmp_path: Path) -> None:
    path = ensure_rules_file(home)
    code, out, _ = run(home, "alerts", "check")
    assert code == 0 and "3 rule(s) valid" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "rules:\n  - name: x\n    observe: nope\n    above: 1\n    severity: info\n    summary: s\n"
    )
    code, _, err = run(home, "alerts", "check", str(bad))
    assert code == 3
    assert err.startswith(f"error: {bad}:3: ")
    assert "unknown observation" in err
    assert len(err.strip().splitlines()) == 1
    code, out, _ = run(home, "alerts", "export-rules")
    assert code == 0
    assert [r["alert"] for r in yaml.safe_load(out)["groups"][0]["rules"]] == [
        "query_latency_high",
        "storage_growth_high",
        "server_down",
    ]
    target = tmp_path / "doltplane-rules.yml"
    code, _, err = run(home, "alerts", "export-rules", "-o", str(target))
    assert code == 0 and "wrote 3 rule(s)" in err
    assert yaml.safe_load(target.read_text()) == yaml.safe_load(out)
    path.write_text("rules: [")
    code, _, err = run(home, "alerts")
    assert code == 3 and f"{path}:1: malformed YAML" in err


def test_a_missing_data_dir_is_refused(tmp_path: Path) -> None:
    code, _, err = run(tmp_path / "nowhere", "alerts")
    assert code == 4 and "data directory not found" in err
    assert not (tmp_path / "nowhere").exists()


def test_a_corrupt_state_file_is_one_line(home: Path) -> None:
    state_path(home).parent.mkdir()
    state_path(home).write_text("{not json")
    code, _, err = run(home, "alerts")
    assert code == 3 and "not readable service state" in err


def test_lock_files_a_stopped_or_remote_service_leaves(home: Path) -> None:
    from doltplane.alerts import read_lock

    path = lock_path(home)
    path.parent.mkdir()
    path.write_text("")  # a service that stopped cleanly empties it
    lock = read_lock(home)
    assert lock is not None and not lock.running and not lock.stale
    path.write_text(json.dumps({"pid": 1234, "host": "another-host.example"}))
    lock = read_lock(home)
    assert lock is not None and lock.running and not lock.stale  # cannot be checked: running
    path.write_text(json.dumps({"pid": 999_999_999, "host": socket.gethostname()}))
    lock = read_lock(home)
    assert lock is not None and not lock.running and lock.stale
