"""``doltplane doctor`` on real data directories: a healthy one passes, and each problem
made for real is reported with its fix."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from doltplane import connect
from doltplane.alerts import AlertState, lock_path, state_path
from doltplane.cli.main import cli
from doltplane.config import Settings
from doltplane.doctor import Check, doctor
from doltplane.errors import DoctorFoundProblems
from doltplane.store.doltlite import DoltliteEngine
from doltplane.store.scratch import PREVIEW_PREFIX, this_host


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An initialised data directory, as `doltplane init` leaves it."""
    for name in list(os.environ):
        if name.startswith("DOLTPLANE_"):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "dp"
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "init"])
    assert result.exit_code == 0, result.output
    return data_dir


def run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "doctor", *args])
    return result.exit_code, result.stdout, result.stderr


def checks(data_dir: Path, **settings: object) -> dict[str, Check]:
    report = doctor({"data_dir": data_dir, **settings})
    return {c.name: c for c in report.checks}


def problems(data_dir: Path, **settings: object) -> dict[str, Check]:
    return {
        n: c for n, c in checks(data_dir, **settings).items() if c.status in ("warning", "error")
    }


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_healthy_data_dir_passes(home: Path) -> None:
    code, out, err = run(home)
    assert code == 0, out + err
    assert "healthy" in out
    code, out, _ = run(home, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True and report["problems"] == 0
    names = {c["name"] for c in report["checks"]}
    for expected in (
        "python",
        "libraries",
        "engine",
        "git",
        "data_dir",
        "ops scratch branches",
        "ledger scratch branches",
        "agent branches",
        "storage",
        "service",
    ):
        assert expected in names
    assert all(c["status"] in ("ok", "info") for c in report["checks"])


def test_the_doctor_writes_nothing(home: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in home.rglob("*")}
    run(home)
    assert {p: p.stat().st_mtime_ns for p in home.rglob("*")} == before


def test_a_missing_data_dir_is_an_error_with_the_fix(tmp_path: Path) -> None:
    code, out, err = run(tmp_path / "nowhere", "--json")
    assert code == DoctorFoundProblems.exit_code == 13
    found = {c["name"]: c for c in json.loads(out)["checks"]}
    assert found["data_dir"]["status"] == "error"
    assert "doltplane init" in found["data_dir"]["hint"]
    assert err.startswith("error: 2 problem(s): data_dir, planes")
    assert not (tmp_path / "nowhere").exists()


def test_a_stale_service_lock_is_reported(home: Path) -> None:
    path = lock_path(home)
    path.parent.mkdir()
    pid = dead_pid()
    path.write_text(
        json.dumps({"pid": pid, "host": socket.gethostname(), "started_at": time.time()})
    )
    found = problems(home)
    assert set(found) == {"service"}
    assert f"pid {pid}" in found["service"].detail
    assert "doltplane serve" in (found["service"].hint or "")
    assert str(path) in (found["service"].hint or "")
    code, out, err = run(home)
    assert code == 13 and "WARN" in out and "service" in err


def test_a_live_service_lock_is_fine(home: Path) -> None:
    path = lock_path(home)
    path.parent.mkdir()
    path.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    assert checks(home)["service"].status == "ok"


def test_a_firing_alert_is_reported(home: Path) -> None:
    path = state_path(home)
    path.parent.mkdir()
    firing = AlertState("server_down", "firing", "critical", 0.0, 100.0, "server down")
    calm = AlertState("query_latency_high", "ok", "warning", 0.01, 100.0, "slow")
    growth = AlertState(
        "storage_growth_high", "ok", "warning", 12e6, 1.0, "big", observe="storage_growth_bytes_24h"
    )
    path.write_text(
        json.dumps(
            {
                "pid": 1,
                "updated_at": "2026-11-28T00:00:00Z",
                "jobs": {},
                "alerts": {a.name: a.to_json() for a in (firing, calm, growth)},
            }
        )
    )
    found = problems(home)
    assert set(found) == {"alert server_down"}
    check = found["alert server_down"]
    assert check.status == "error" and "firing (critical)" in check.detail
    assert "stopped service" in check.detail  # no lock held: the state may be old
    assert "docs/alerts.md" in (check.hint or "")
    assert "grew 12.0 MB in 24 h" in checks(home)["storage"].detail


def test_a_scratch_branch_leftover_is_reported(home: Path) -> None:
    name = f"{PREVIEW_PREFIX}{this_host()}-{dead_pid()}-{int(time.time())}-0badcafe"
    engine = DoltliteEngine(home / "ledger.db", Settings(data_dir=home))
    try:
        engine.create_branch(name)
    finally:
        engine.close()
    found = problems(home)
    assert set(found) == {"ledger scratch branches"}
    assert name in found["ledger scratch branches"].detail
    assert "doltplane ledger prune" in (found["ledger scratch branches"].hint or "")
    # the doctor only looked: the fix it names removes it
    result = CliRunner().invoke(cli, ["--data-dir", str(home), "ledger", "prune"])
    assert result.exit_code == 0, result.output
    assert problems(home) == {}


def test_a_stale_agent_branch_is_reported(home: Path) -> None:
    with connect(home, create=False) as dp:
        dp.agent("gastown/polecats/toast").create_issue("left behind")
    assert problems(home) == {}  # fresh: not stale at 7 days
    time.sleep(1.1)  # commit dates have one-second resolution
    found = problems(home, branch_stale_days=1 / 86400)
    assert set(found) == {"agent branches"}
    assert "gastown/polecats/toast" in found["agent branches"].detail
    assert "doltplane ledger merge" in (found["agent branches"].hint or "")


def test_rows_past_retention_are_reported_until_cleanup(home: Path) -> None:
    with connect(home, create=False) as dp:
        dp.ops.set_state("gt-1", rig="r", agent="a", status="ready", state={"n": 1})
        dp.ops.checkpoint("one")
    time.sleep(1.1)
    found = problems(home, retention_days=1 / 86400)
    assert set(found) == {"storage"}
    assert "1 rows" in found["storage"].detail
    assert "doltplane ops cleanup" in (found["storage"].hint or "")
    with connect(home, create=False, retention_days=1 / 86400) as dp:
        dp.ops.cleanup()
    assert problems(home, retention_days=1 / 86400) == {}


def test_an_unwritable_data_dir_is_reported(home: Path) -> None:
    with unwritable(home):
        found = problems(home)
    assert "data_dir" in found
    assert found["data_dir"].status == "error"
    assert "read and write access" in (found["data_dir"].hint or "")


def test_a_broken_settings_file_is_a_finding(home: Path) -> None:
    (home / "doltplane.toml").write_text("retention_days = 'forever'\n")
    found = problems(home)
    assert set(found) == {"settings"}
    assert "retention_days" in found["settings"].detail


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable for real: chmod for a normal user; root ignores modes, so
    for root the directory is made immutable (chattr +i)."""
    path.chmod(0o500)
    immutable = False
    try:
        if os.access(path, os.W_OK) and os.geteuid() == 0:
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
            if done.returncode != 0:
                pytest.skip(f"root here cannot make a folder unwritable: {done.stderr!r}")
            immutable = True
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o755)


def test_a_plane_file_that_is_not_dolt_is_reported(home: Path) -> None:
    (home / "ops.db").write_bytes(b"SQLite format 3\x00" + bytes(4080))
    found = problems(home)
    assert set(found) == {"ops plane"}
    assert "not a Dolt database" in found["ops plane"].detail
    assert found["ops plane"].hint
    assert checks(home)["agent branches"].status == "ok"  # the other plane is still checked
