"""kill -9 in the middle of writing: every acknowledged write survives, writing resumes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from doltplane import connect

WRITER = """
import sys, doltplane
dp = doltplane.connect(sys.argv[1], checkpoint_every_writes=7, checkpoint_every_seconds=0)
issue = dp.ledger.create_issue("crash test")
with open(sys.argv[2], "a", buffering=1) as acks:
    for i in range(100000):
        dp.ops.set_state(f"k{i}", rig="r", agent="a", status="s", state={"i": i})
        if i % 10 == 0:
            dp.ledger.update_issue(issue.id, title=f"step {i}")
        acks.write(f"{i}\\n")
"""


@pytest.mark.embedded_only("kill -9 of an embedded writer process holding the file")
def test_kill_minus_nine_loses_no_acknowledged_write(tmp_path: Path) -> None:
    data_dir, acks = tmp_path / "dp", tmp_path / "acks.txt"
    with connect(data_dir) as dp:
        dp.migrate()
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(data_dir), str(acks)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if acks.exists() and len(acks.read_text().split()) >= 300:
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    acknowledged = [int(x) for x in acks.read_text().split()]
    assert len(acknowledged) >= 300

    with connect(data_dir) as dp:
        found = dp.ops.get_many([f"k{i}" for i in acknowledged])
        assert len(found) == len(acknowledged)
        [issue] = dp.ledger.issues()
        last_ledger_step = max(i for i in acknowledged if i % 10 == 0)
        assert int(issue.title.split()[1]) >= last_ledger_step  # committed, so never lost
        dp.ops.set_state("after", rig="r", agent="a", status="s", state={})
        assert dp.ops.checkpoint() is not None
        with dp.engine("ops").read() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
