"""Reads answer exactly the retention window, however long ago cleanup last squashed.

Cleanup squashes the history past the window only once it is ``squash_every_hours``
deep (a squash replays every kept snapshot); AS OF and history must still refuse
every moment past the window, and answer every moment inside it as before."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from doltplane import DataPlane, InvalidInput, InvalidRevision, connect

WINDOW_SECONDS = 6.0  # wide enough that a loaded CI machine reads inside it


@pytest.fixture
def short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataPlane]:
    for name in ("DOLTPLANE_SQUASH_EVERY_HOURS", "DOLTPLANE_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    with connect(
        tmp_path / "dp",
        checkpoint_every_writes=0,
        checkpoint_every_seconds=0,
        retention_days=WINDOW_SECONDS / 86400,
    ) as dp:
        yield dp


def _write(dp: DataPlane, n: int) -> str:
    dp.ops.set_state("x", rig="r", agent="a", status="s", state={"n": n})
    commit = dp.ops.checkpoint()
    assert commit is not None
    return commit


def test_reads_refuse_what_the_window_left_before_any_squash(short: DataPlane) -> None:
    dp = short
    old = _write(dp, 1)
    old_moment = dt.datetime.now(dt.UTC)
    opened = _write(dp, 2)  # still current when the window opens below
    time.sleep(WINDOW_SECONDS + 1.5)
    recent_moment = dt.datetime.now(dt.UTC)
    _write(dp, 3)
    newest = _write(dp, 4)

    result = dp.ops.cleanup(now=dt.datetime.now(dt.UTC))
    assert result.commits_after == result.commits_before  # nothing deleted; no squash yet
    assert dp.engine("ops").resolve_revision(old) == old  # the old snapshot is still stored

    with pytest.raises(InvalidRevision, match="retention window"):
        dp.ops.as_of(old_moment)
    with pytest.raises(InvalidRevision, match="retention window"):
        dp.ops.as_of(old)
    # the snapshot the window opened on answers (it is the state at the window's start)
    assert dp.ops.as_of(opened).get("x").state == {"n": 2}
    assert dp.ops.as_of(recent_moment).get("x").state == {"n": 2}
    assert dp.ops.as_of(newest).get("x").state == {"n": 4}
    # history: every version inside the window, and the one the window opened on; not n=1
    assert [v.record.state["n"] for v in dp.ops.history("x")] == [4, 3, 2]


def test_squash_waits_until_history_is_deep_enough(short: DataPlane) -> None:
    dp = short
    for n in range(3):
        _write(dp, n)
    time.sleep(WINDOW_SECONDS + 1.5)
    _write(dp, 9)
    engine = dp.engine("ops")
    before = engine.commit_count()
    later = dt.datetime.now(dt.UTC)
    dp.ops.cleanup(now=later)
    assert engine.commit_count() == before  # 24 h of slack by default: no squash
    # the old snapshots are over a second past the window: with half a second of slack, due
    dp.ops.settings = dataclasses.replace(dp.ops.settings, squash_every_hours=0.5 / 3600)
    dp.ops.cleanup(now=dt.datetime.now(dt.UTC))
    assert engine.commit_count() < before
    assert [v.record.state["n"] for v in dp.ops.history("x")] == [9, 2]


def test_squash_comes_due_by_date_not_by_position(tmp_path: Path) -> None:
    # snapshots dated in the past (an import, the accelerated benchmark) sit after the
    # migration commits made now: the oldest by date decides, not the oldest by position
    with connect(tmp_path / "dp", checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        engine = dp.engine("ops")
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=4)
        for hours in range(0, 96, 12):
            dp.ops.set_state("x", rig="r", agent="a", status="s", state={"h": hours})
            engine.commit(f"snapshot {hours}", date=start + dt.timedelta(hours=hours))
        before = engine.commit_count()
        dp.ops.cleanup(retention_days=2, now=start + dt.timedelta(hours=96))
        assert engine.commit_count() < before


def test_history_measures_the_window_from_the_moment_it_is_given(short: DataPlane) -> None:
    dp = short
    _write(dp, 1)
    _write(dp, 2)
    versions = dp.ops.history("x")
    newest = versions[0].committed_at
    assert [v.record.state["n"] for v in versions] == [2, 1]
    # a moment when the window still held both snapshots, whatever the clock says now
    inside = newest + dt.timedelta(seconds=WINDOW_SECONDS / 2)
    assert [v.record.state["n"] for v in dp.ops.history("x", now=inside)] == [2, 1]
    # a moment when the newest had long been the version the window opened on
    later = newest + dt.timedelta(seconds=WINDOW_SECONDS + 60)
    assert [v.record.state["n"] for v in dp.ops.history("x", now=later)] == [2]
    with pytest.raises(InvalidInput, match="now"):
        dp.ops.history("x", now="yesterday")  # type: ignore[arg-type]
