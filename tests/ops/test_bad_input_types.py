"""Wrongly typed or out-of-range arguments to the public ``dp.ops`` API: InvalidInput (never
TypeError, AttributeError, OverflowError or RecursionError), and nothing written."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from doltplane import DataPlane, InvalidInput, InvalidRevision, Settings, connect
from doltplane.errors import ConfigError, InvalidId
from doltplane.validation import MAX_JSON_DEPTH

Call = Callable[[DataPlane], object]


def deep_document(depth: int) -> dict[str, Any]:
    """An object nesting lists and objects ``depth`` levels deep."""
    node: Any = 1
    for level in range(depth - 1):
        node = [node] if level % 2 else {"k": node}
    return {"root": node}


def state(id: Any = "z", **kw: Any) -> Call:
    fields: dict[str, Any] = {"rig": "r", "agent": "a", "status": "s", "state": {}} | kw
    return lambda dp: dp.ops.set_state(id, **fields)


BAD_CALLS: list[tuple[str, Call]] = [
    ("set_state id int", state(123)),
    ("set_state id bytes", state(b"x")),
    ("set_state id surrogate", state("a\udcffb")),
    ("set_state rig None", state(rig=None)),
    ("set_state state int", state(state=5)),
    ("set_state state surrogate", state(state={"k": "\udcff"})),
    ("set_state state deep", state(state=deep_document(MAX_JSON_DEPTH + 1))),
    ("set_state expected_version float", state(expected_version=1.5)),
    ("set_state expected_version bool", state(expected_version=True)),
    ("set_state expected_version huge", state(expected_version=2**70)),
    ("set_many int", lambda dp: dp.ops.set_many(5)),  # type: ignore[arg-type]
    ("set_many str", lambda dp: dp.ops.set_many("abc")),  # type: ignore[arg-type]
    ("set_many mapping", lambda dp: dp.ops.set_many({"id": "z"})),  # type: ignore[list-item]
    ("set_many int key", lambda dp: dp.ops.set_many([{1: 2}])),
    ("set_many item str", lambda dp: dp.ops.set_many(["z"])),  # type: ignore[list-item]
    ("get None", lambda dp: dp.ops.get(None)),  # type: ignore[arg-type]
    ("get list", lambda dp: dp.ops.get(["a"])),  # type: ignore[arg-type]
    ("get_many int", lambda dp: dp.ops.get_many(5)),  # type: ignore[arg-type]
    ("get_many str", lambda dp: dp.ops.get_many("ab")),
    ("list rig int", lambda dp: dp.ops.list(rig=5)),  # type: ignore[arg-type]
    ("list limit str", lambda dp: dp.ops.list(limit="x")),  # type: ignore[arg-type]
    ("list limit negative", lambda dp: dp.ops.list(limit=-1)),
    ("list limit huge", lambda dp: dp.ops.list(limit=2**70)),
    ("list updated_since str", lambda dp: dp.ops.list(updated_since="x")),  # type: ignore[arg-type]
    ("list updated_since int", lambda dp: dp.ops.list(updated_since=5)),  # type: ignore[arg-type]
    ("heartbeat agent int", lambda dp: dp.ops.heartbeat(5)),  # type: ignore[arg-type]
    ("heartbeat cycle float", lambda dp: dp.ops.heartbeat("a", cycle=1.5)),  # type: ignore[arg-type]
    ("heartbeat cycle huge", lambda dp: dp.ops.heartbeat("a", cycle=2**70)),
    ("heartbeats limit str", lambda dp: dp.ops.heartbeats("a", limit="x")),  # type: ignore[arg-type]
    ("agents stale_after str", lambda dp: dp.ops.agents(stale_after="x")),  # type: ignore[arg-type]
    ("agents stale_after nan", lambda dp: dp.ops.agents(stale_after=math.nan)),
    ("agents now int", lambda dp: dp.ops.agents(now=5)),  # type: ignore[arg-type]
    ("checkpoint message int", lambda dp: dp.ops.checkpoint(5)),  # type: ignore[arg-type]
    ("history id list", lambda dp: dp.ops.history([1])),  # type: ignore[arg-type]
    ("as_of int", lambda dp: dp.ops.as_of(42)),  # type: ignore[arg-type]
    ("as_of None", lambda dp: dp.ops.as_of(None)),  # type: ignore[arg-type]
    ("as_of overflow text", lambda dp: dp.ops.as_of("9999-12-31T23:59:59-14:00")),
    (
        "as_of overflow datetime",
        lambda dp: dp.ops.as_of(
            dt.datetime.max.replace(tzinfo=dt.timezone(dt.timedelta(hours=-14)))
        ),
    ),
    ("cleanup nan", lambda dp: dp.ops.cleanup(math.nan)),
    ("cleanup inf", lambda dp: dp.ops.cleanup(math.inf)),
    ("cleanup 1e308", lambda dp: dp.ops.cleanup(1e308)),
    ("cleanup 1e308 dry", lambda dp: dp.ops.cleanup(1e308, dry_run=True)),
    ("cleanup str", lambda dp: dp.ops.cleanup("7")),  # type: ignore[arg-type]
    ("cleanup batch float", lambda dp: dp.ops.cleanup(batch_size=2.5)),  # type: ignore[arg-type]
    ("cleanup now int", lambda dp: dp.ops.cleanup(1, now=5)),  # type: ignore[arg-type]
    ("cleanup progress int", lambda dp: dp.ops.cleanup(1, progress=5)),  # type: ignore[arg-type]
    ("cleanup dry_run str", lambda dp: dp.ops.cleanup(1, dry_run="no")),  # type: ignore[arg-type]
]


def snapshot(dp: DataPlane) -> tuple[int, list[object], int]:
    engine = dp.engine("ops")
    rows = [(s.id, s.version, s.state) for s in dp.ops.list()]
    return engine.commit_count(), rows, len(dp.ops.heartbeats("a"))


@pytest.mark.parametrize(("case", "call"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_wrong_types_are_invalid_input_and_write_nothing(
    dp: DataPlane, case: str, call: Call
) -> None:
    dp.ops.set_state("existing", rig="r", agent="a", status="s", state={"v": 1})
    dp.ops.heartbeat("a")
    dp.ops.checkpoint()
    before = snapshot(dp)
    with pytest.raises(InvalidInput) as info:
        call(dp)
    assert "\n" not in info.value.one_line()
    assert snapshot(dp) == before


def test_as_of_overflow_is_an_invalid_revision(dp: DataPlane) -> None:
    with pytest.raises(InvalidRevision, match="the years 1 to 9999 in UTC"):
        dp.ops.as_of("9999-12-31T23:59:59-14:00")


def test_non_utf8_id_is_an_invalid_id(dp: DataPlane) -> None:
    with pytest.raises(InvalidId, match="not valid Unicode"):
        dp.ops.get("\udcff")


def test_non_finite_settings_are_refused(data_dir: Path) -> None:
    for name in ("retention_days", "query_timeout_seconds", "stale_after_seconds"):
        for value in (math.nan, math.inf, "nan", "-inf", "1e999"):
            with pytest.raises(ConfigError, match=f"setting {name} must"):
                connect(data_dir, **{name: value})
        with pytest.raises(ConfigError, match=f"setting {name} must be a finite number"):
            Settings.load({"data_dir": data_dir}, env={f"DOLTPLANE_{name.upper()}": "nan"})
    assert not data_dir.exists()
