"""kill -9 during a backup push or a restore leaves both sides usable."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from doltplane import backups, connect
from doltplane.errors import InvalidInput
from doltplane.remote_registry import RESTORE_MARKER, Registry
from doltplane.store.remote_server import RemoteServer

PUSH = """
import sys, doltplane
from doltplane import backups
with doltplane.connect(sys.argv[1]) as dp:
    backups.push_backup(dp, sys.argv[2])
print("done", flush=True)
"""

RESTORE = """
import sys
from doltplane import backups
backups.restore(sys.argv[1], __import__("pathlib").Path(sys.argv[2]))
print("done", flush=True)
"""


def _big_site(data_dir: Path) -> None:
    """A ledger of ~20 MB, so that pushing and cloning it take a while."""
    with connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        dp.migrate()
        for batch in range(7):
            dp.ledger.create_issues(
                {"title": f"issue {batch}-{i}", "metadata": {"note": "y" * 1000}}
                for i in range(2000)
            )
        dp.agent("gastown/polecats/toast").create_issue("agent work")
        dp.ops.set_state("s", rig="r", agent="a", status="busy", state={})
        dp.ops.checkpoint()


def _kill_when(child: subprocess.Popen[bytes], ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 120
    while not ready():
        assert child.poll() is None, "the child finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    assert child.wait(30) == -signal.SIGKILL


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _check_local_site(data_dir: Path) -> None:
    with connect(data_dir) as dp:
        dp.ledger.create_issue("written after the kill")
        for plane in ("ops", "ledger"):
            with dp.engine(plane).read() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


@pytest.fixture(scope="module")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "site"
    _big_site(path)
    return path


def _add_issues(data_dir: Path, batches: int) -> None:
    with connect(data_dir) as dp:
        for batch in range(batches):
            dp.ledger.create_issues(
                {"title": f"more {batch}-{i}", "metadata": {"note": "z" * 1000}}
                for i in range(2000)
            )


@pytest.mark.parametrize("first", [True, False], ids=["first-push", "incremental-push"])
def test_kill_during_push_then_the_next_push_completes(
    big_site: Path, tmp_path: Path, first: bool
) -> None:
    remote, name = tmp_path / "backup", "first" if first else "incremental"
    with connect(big_site) as dp:
        backups.add_remote(dp, name, f"file://{remote}")
        if not first:
            assert backups.push_backup(dp, name)[0].ok
    before = _size(remote / "ledger.db")
    if not first:
        _add_issues(big_site, 3)

    def pushing() -> bool:
        if first:  # a new remote database is filled under a temporary name
            return any(_size(p) > 1_000_000 for p in remote.glob(".ledger.db.pushing-*"))
        return _size(remote / "ledger.db") > before + 1_000_000

    child = subprocess.Popen([sys.executable, "-c", PUSH, str(big_site), name])
    try:
        _kill_when(child, pushing)
    finally:
        child.kill()

    _check_local_site(big_site)
    with connect(big_site) as dp:
        if not first:  # the remote still answers, at the last complete push
            heads = dp.engine("ledger").remote_heads(f"file://{remote}/ledger.db")
            assert heads is not None and "main" in heads.branches
        [result] = backups.push_backup(dp, name)
        assert result.ok
        assert backups.verify_backup(dp, name).ok
        issues = len(dp.ledger.issues())
    assert not list(remote.glob(".ledger.db.pushing-*"))
    backups.restore(f"file://{remote}", tmp_path / "copy")
    with connect(tmp_path / "copy") as copy:
        assert len(copy.ledger.issues()) == issues
        assert [b.name for b in copy.ledger.branches()] == ["gastown/polecats/toast"]


def test_kill_during_restore_leaves_no_half_directory(big_site: Path, tmp_path: Path) -> None:
    url = f"file://{tmp_path}/backup"
    with connect(big_site) as dp:
        backups.add_remote(dp, "kill", url)
        assert backups.push_backup(dp, "kill")[0].ok
    target = tmp_path / "restored"

    def cloning() -> bool:
        return any(_size(s / "ledger.db") > 1_000_000 for s in tmp_path.glob(".restored.restore-*"))

    child = subprocess.Popen([sys.executable, "-c", RESTORE, url, str(target)])
    try:
        _kill_when(child, cloning)
    finally:
        child.kill()
    assert not target.exists()  # never half there
    [staging] = tmp_path.glob(".restored.restore-*")
    assert (staging / RESTORE_MARKER).exists()
    with pytest.raises(InvalidInput, match="half-finished restore"):
        Registry(staging).all()
    with connect(staging) as half, pytest.raises(InvalidInput, match="half-finished restore"):
        half.ledger.issues()  # refused as a data directory

    with connect(big_site) as dp:  # the remote is untouched
        assert backups.verify_backup(dp, "kill").ok
    restored = backups.restore(url, target)  # removes the dead restore's folder first
    assert not list(tmp_path.glob(".restored.restore-*"))
    with connect(restored.into) as copy, connect(big_site) as dp:
        assert len(copy.ledger.issues()) == len(dp.ledger.issues())
        assert copy.ledger.log()[0].hash == dp.ledger.log()[0].hash


def test_kill_during_a_first_push_over_http(big_site: Path, tmp_path: Path) -> None:
    (tmp_path / "hub").mkdir()
    with RemoteServer(tmp_path / "hub") as server:
        with connect(big_site) as dp:
            backups.add_remote(dp, "web", server.url)
        child = subprocess.Popen([sys.executable, "-c", PUSH, str(big_site), "web"])
        try:
            _kill_when(child, lambda: _size(tmp_path / "hub" / "ledger.db") > 1_000_000)
        finally:
            child.kill()
        _check_local_site(big_site)
        with connect(big_site) as dp:
            assert backups.push_backup(dp, "web")[0].ok
            assert backups.verify_backup(dp, "web").ok
            issues = len(dp.ledger.issues())
        backups.restore(server.url, tmp_path / "copy")
    with connect(tmp_path / "copy") as copy:
        assert len(copy.ledger.issues()) == issues
