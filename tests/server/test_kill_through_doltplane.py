"""kill -9 of a supervised server while doltplane writes to it through its server engine."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

from doltplane import connect
from doltplane.config import Settings
from doltplane.errors import DoltplaneError
from doltplane.server.control import server_status
from doltplane.server.state import State

Make = Callable[..., Settings]


def test_kill_9_mid_write_loses_no_acknowledged_write(supervised: Make) -> None:
    settings = supervised()
    options = {k: v for k, v in vars(settings).items() if k.startswith("server_")}
    dp = connect(settings.data_dir, **{**options, "server_autostart": True})
    acknowledged: list[str] = []
    failed: list[tuple[str, DoltplaneError]] = []
    untyped: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            title = f"write {n}"
            try:
                dp.ledger.create_issue(title, owner="killer")
            except DoltplaneError as exc:
                failed.append((title, exc))
                time.sleep(0.05)
                continue
            except BaseException as exc:  # a driver error escaping is the defect
                untyped.append(exc)
                return
            acknowledged.append(title)

    try:
        dp.ledger.create_issue("before", owner="killer")  # migrations done before the clock
        thread = threading.Thread(target=writer)
        thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        before = server_status(settings)
        assert before.server_pid is not None
        os.kill(before.server_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        count_at_kill = len(acknowledged)
        while len(acknowledged) < count_at_kill + 10 and time.monotonic() < deadline:
            if untyped or not thread.is_alive():
                break
            time.sleep(0.01)
        back_after = time.monotonic() - killed_at
        stop.set()
        thread.join(30)
        assert not untyped, f"an untyped error escaped: {untyped[0]!r}"
        assert len(acknowledged) >= count_at_kill + 10, "writes never came back"
        print(
            f"kill -9 under doltplane writes: {len(failed)} failed with typed errors"
            f" ({sorted({type(e).__name__ for _, e in failed})}), writes back within"
            f" {back_after:.2f} s"
        )
        deadline = time.monotonic() + 30
        while not server_status(settings).running and time.monotonic() < deadline:
            time.sleep(0.05)  # the writes may answer before the supervisor's own probe
        after = server_status(settings)
        assert after.state == State.RUNNING and after.restarts == 1
        present = {issue.title for issue in dp.ledger.issues(limit=10_000)}
    finally:
        stop.set()
        dp.close()
    assert set(acknowledged) <= present
    failed_titles = {title for title, _ in failed}
    assert present - {"before"} <= set(acknowledged) | failed_titles
