"""Bad input: a one-line typed error, and nothing written (no row, no commit)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from doltplane import DataPlane, InvalidInput, connect
from doltplane.errors import (
    InvalidDocument,
    InvalidId,
    InvalidRevision,
    NotADoltDatabase,
    NotFound,
)


def snapshot(dp: DataPlane) -> tuple[int, int, list[object]]:
    engine = dp.engine("ops")
    return engine.commit_count(), len(dp.ops.list()), [s.state for s in dp.ops.list()]


def ok(dp: DataPlane, id: str = "a", **kw: object) -> None:
    fields: dict[str, object] = {"rig": "r", "agent": "x", "status": "idle", "state": {}} | kw
    dp.ops.set_state(id, **fields)  # type: ignore[arg-type]


BAD_WRITES: list[tuple[str, type[Exception], Callable[[DataPlane], object]]] = [
    ("malformed JSON", InvalidDocument, lambda dp: ok(dp, state='{"a": ')),
    ("JSON array", InvalidDocument, lambda dp: ok(dp, state="[1, 2]")),
    ("JSON scalar", InvalidDocument, lambda dp: ok(dp, state=3)),
    ("NaN in state", InvalidDocument, lambda dp: ok(dp, state={"x": float("nan")})),
    ("id too long", InvalidId, lambda dp: ok(dp, id="x" * 256)),
    ("empty id", InvalidId, lambda dp: ok(dp, id="")),
    ("control chars", InvalidId, lambda dp: ok(dp, id="a\x00b")),
    ("newline in agent", InvalidId, lambda dp: ok(dp, agent="a\nb")),
    ("bad version", InvalidInput, lambda dp: ok(dp, expected_version=-1)),
    (
        "batch with bad record",
        InvalidDocument,
        lambda dp: dp.ops.set_many(
            [
                {"id": "good", "rig": "r", "agent": "a", "status": "s", "state": {}},
                {"id": "bad", "rig": "r", "agent": "a", "status": "s", "state": "nope"},
            ]
        ),
    ),
    (
        "batch duplicate ids",
        InvalidInput,
        lambda dp: dp.ops.set_many(
            [{"id": "d", "rig": "r", "agent": "a", "status": "s", "state": {}}] * 2
        ),
    ),
    (
        "batch unknown field",
        InvalidInput,
        lambda dp: dp.ops.set_many(
            [{"id": "d", "rig": "r", "agent": "a", "status": "s", "state": {}, "x": 1}]
        ),
    ),
    ("heartbeat status", InvalidDocument, lambda dp: dp.ops.heartbeat("a", status="[]")),
    ("negative retention", InvalidInput, lambda dp: dp.ops.cleanup(-1)),
    ("zero batch", InvalidInput, lambda dp: dp.ops.cleanup(batch_size=0)),
]


@pytest.mark.parametrize(("case", "error", "call"), BAD_WRITES, ids=[c[0] for c in BAD_WRITES])
def test_bad_writes_raise_typed_errors_and_write_nothing(
    dp: DataPlane, case: str, error: type[Exception], call: Callable[[DataPlane], object]
) -> None:
    ok(dp, "existing", state={"v": 1})
    dp.ops.checkpoint()
    before = snapshot(dp)
    with pytest.raises(error) as info:
        call(dp)
    assert "\n" not in str(info.value)
    assert snapshot(dp) == before


@pytest.mark.parametrize(
    "revision",
    [
        "nope",
        "HEAD~999",
        "main'; DROP TABLE operational_state; --",
        "main) UNION SELECT 1 --",
        "-D",
        "../x",
        "a" * 40,
        "2026-13-45T99:99:99",
    ],
)
def test_unknown_or_hostile_revisions(dp: DataPlane, revision: str) -> None:
    ok(dp)
    dp.ops.checkpoint()
    before = snapshot(dp)
    with pytest.raises(InvalidRevision):
        dp.ops.as_of(revision)
    assert snapshot(dp) == before


def test_unknown_id_is_not_found(dp: DataPlane) -> None:
    with pytest.raises(NotFound):
        dp.ops.get("ghost")
    with pytest.raises(NotFound):
        dp.ops.history("ghost")


@pytest.mark.embedded_only("an ops.db file written by stock SQLite")
def test_data_dir_made_by_plain_sqlite_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "plain"
    data_dir.mkdir()
    stock = data_dir / "ops.db"
    # a separate interpreter that never loads doltlite makes a real stock SQLite file
    code = f"import sqlite3; c = sqlite3.connect({str(stock)!r}); c.execute('CREATE TABLE x (a)')"
    subprocess.run([sys.executable, "-c", code + "; c.commit()"], check=True)
    content = stock.read_bytes()
    with pytest.raises(NotADoltDatabase, match="plain SQLite"), connect(data_dir) as dp:
        dp.ops.list()
    assert stock.read_bytes() == content
    assert sorted(p.name for p in data_dir.iterdir()) == ["ops.db"]


@pytest.mark.embedded_only("an ops.db file that is not a database")
def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "junk"
    data_dir.mkdir()
    (data_dir / "ops.db").write_text("hello, I am not a database" * 50)
    with pytest.raises(NotADoltDatabase), connect(data_dir) as dp:
        dp.ops.list()
