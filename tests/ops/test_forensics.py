"""AS OF reads and row history: exactly the earlier state."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from doltplane import DataPlane, InvalidRevision


def put(dp: DataPlane, id: str, status: str, n: int) -> None:
    dp.ops.set_state(id, rig="r", agent="a", status=status, state={"n": n})


def test_as_of_timestamp_commit_and_head_n(dp: DataPlane) -> None:
    put(dp, "a", "one", 1)
    put(dp, "b", "one", 1)
    first = dp.ops.checkpoint()
    assert first is not None
    moment = dt.datetime.now(dt.UTC)
    time.sleep(1.1)  # commit dates have one-second resolution
    put(dp, "a", "two", 2)
    put(dp, "c", "two", 2)
    second = dp.ops.checkpoint()

    expected = {"a": ("one", {"n": 1}), "b": ("one", {"n": 1})}
    for when in (moment, moment.isoformat(), first, "HEAD~1"):
        view = dp.ops.as_of(when)
        assert {s.id: (s.status, s.state) for s in view.list()} == expected, when
    assert view.revision == first
    assert dp.ops.as_of(second).get("a").state == {"n": 2}
    assert dp.ops.as_of("main").get_many(["a", "c"]).keys() == {"a", "c"}


def test_history_lists_each_version_newest_first(dp: DataPlane) -> None:
    for n in range(1, 4):
        put(dp, "h", f"s{n}", n)
        dp.ops.checkpoint()
        put(dp, "other", "x", n)  # unrelated changes between snapshots
        dp.ops.checkpoint()
    history = dp.ops.history("h")
    assert [v.record.version for v in history] == [3, 2, 1]
    assert [v.record.state for v in history] == [{"n": 3}, {"n": 2}, {"n": 1}]
    assert len({v.commit for v in history}) == 3


def test_as_of_before_first_commit_is_refused(dp: DataPlane) -> None:
    with pytest.raises(InvalidRevision, match="before the first commit"):
        dp.ops.as_of(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(InvalidRevision):
        dp.ops.as_of("no-such-branch")
