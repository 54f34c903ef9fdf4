"""The cold CLI read path: driver-only reads that answer exactly as the full client."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from doltplane import DataPlane, connect
from doltplane.config import Settings
from doltplane.errors import InvalidInput, NotFound
from doltplane.planes import ops_queries
from doltplane.planes.ops_fastread import FastOpsReader

HEAVY = ("sqlalchemy", "alembic", "jsonschema", "rich")


def _fill(dp: DataPlane) -> None:
    for n in range(6):
        dp.ops.set_state(
            f"a{n}", rig="r1" if n % 2 else "r2", agent=f"ag{n % 3}", status="busy",
            state={"n": n, "nested": {"x": [1, 2]}},
        )  # fmt: skip
        dp.ops.heartbeat(f"ag{n % 3}", status={"n": n}, cycle=n)
    dp.ops.set_state("a1", rig="r1", agent="ag1", status="idle", state={"n": 11})


def _reader(data_dir: Path) -> FastOpsReader:
    reader = FastOpsReader.open(Settings(data_dir=data_dir))
    assert reader is not None
    return reader


def test_generated_statements_match_sqlalchemy_core() -> None:
    # ops_sql.py is compiled from ops_records.fast_statements: edit those, then regenerate
    assert ops_queries.MODULE_PATH.read_text("utf-8") == ops_queries.render_module(), (
        "run `python -m doltplane.planes.ops_queries`"
    )


@pytest.mark.embedded_only(
    "the fast path reads the ops .db file; a server URL takes the full client"
)
def test_fast_reads_answer_as_the_full_client(dp: DataPlane, data_dir: Path) -> None:
    _fill(dp)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with _reader(data_dir) as fast:
        for id in ("a0", "a1", "a5"):
            assert fast.get(id) == dp.ops.get(id)
        filters: list[dict[str, object]] = [
            {},
            {"rig": "r1"},
            {"agent": "ag1", "status": "idle"},
            {"rig": "r2", "limit": 2},
            {"updated_since": since, "limit": 3},
            {"rig": "r1", "agent": "ag1", "status": "idle", "updated_since": since, "limit": 1},
        ]
        for chosen in filters:
            assert fast.list(**chosen) == dp.ops.list(**chosen), chosen  # type: ignore[arg-type]
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10)
        assert fast.agents(now=later) == dp.ops.agents(now=later)
        assert fast.agents(stale_after=1, now=later) == dp.ops.agents(stale_after=1, now=later)
        assert [a.stale for a in fast.agents(stale_after=1, now=later)] == [True] * 3
        with pytest.raises(NotFound) as fast_error:
            fast.get("missing")
        with pytest.raises(NotFound) as full_error:
            dp.ops.get("missing")
        assert fast_error.value.one_line() == full_error.value.one_line()
        with pytest.raises(InvalidInput):
            fast.get("")
        with pytest.raises(InvalidInput):
            fast.list(limit=-1)
        dp.ops.set_state("a0", rig="r2", agent="ag0", status="done", state={})
        assert fast.get("a0").status == "done"  # a kept connection sees later writes


def test_fast_reader_declines_what_the_full_client_must_do(tmp_path: Path) -> None:
    assert FastOpsReader.open(Settings(data_dir=tmp_path / "none")) is None
    assert FastOpsReader.open(Settings(data_dir=tmp_path, url="mysql+pymysql://h/db")) is None
    data_dir = tmp_path / "old"
    with connect(data_dir) as dp:
        dp.ops.set_state("a1", rig="r", agent="t", status="busy", state={})
        dp.engine("ops").write(
            lambda conn: conn.exec_driver_sql("UPDATE _migrations SET version_num = 'ops_0001'")
        )
    assert FastOpsReader.open(Settings(data_dir=data_dir)) is None  # a migration is due


def _cli_modules(data_dir: Path, *args: str) -> tuple[dict[str, object] | list[object], list[str]]:
    code = (
        "import sys, json\n"
        "from doltplane.cli.main import cli\n"
        "try:\n"
        "    cli.main(sys.argv[1:], prog_name='doltplane')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(json.dumps(heavy), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOLTPLANE_", "_DOLTLITE"))}
    done = subprocess.run(
        [sys.executable, "-c", code, "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    return json.loads(done.stdout), json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.embedded_only(
    "the fast path reads the ops .db file; a server URL takes the full client"
)
def test_cold_cli_reads_import_nothing_heavy(dp: DataPlane, data_dir: Path) -> None:
    _fill(dp)
    dp.ops.checkpoint()
    got, heavy = _cli_modules(data_dir, "ops", "get", "a1", "--json")
    assert heavy == [] and isinstance(got, dict) and got["state"] == {"n": 11}
    listed, heavy = _cli_modules(data_dir, "ops", "list", "--rig", "r1", "--json")
    assert heavy == [] and [r["id"] for r in listed] == [r.id for r in dp.ops.list(rig="r1")]  # type: ignore[index]
    agents, heavy = _cli_modules(data_dir, "ops", "agents", "--json")
    assert heavy == [] and len(agents) == 3
