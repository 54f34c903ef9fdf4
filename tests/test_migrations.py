from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from doltplane import connect
from doltplane.cli.main import cli
from doltplane.migrations import HEADS
from doltplane.migrations.runner import script_directory
from doltplane.store import PLANES


def test_each_plane_has_a_single_head_named_in_heads() -> None:
    for plane in PLANES:
        heads = script_directory(plane).get_heads()
        assert len(heads) == 1
        assert HEADS[plane] == heads[0], "update doltplane.migrations.HEADS"


def test_init_and_migrate_twice_are_no_ops(tmp_path: Path) -> None:
    data_dir = tmp_path / "dp"
    runner = CliRunner()
    first = runner.invoke(cli, ["--data-dir", str(data_dir), "init"])
    assert first.exit_code == 0, first.output
    with connect(data_dir) as dp:
        commits = {p: dp.engine(p).commit_count() for p in PLANES}
        messages = [c.message for c in dp.engine("ops").log()]
    assert any(m.startswith("migration ops ops_0001") for m in messages)
    for args in (["init"], ["migrate"], ["init"]):
        again = runner.invoke(cli, ["--data-dir", str(data_dir), *args])
        assert again.exit_code == 0, again.output
        assert "already" in again.output or "nothing to migrate" in again.output
    with connect(data_dir) as dp:
        assert {p: dp.engine(p).commit_count() for p in PLANES} == commits


@pytest.mark.embedded_only("missing data directory refused, no ledger.db made: files are the store")
def test_migrate_list_is_read_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "dp"
    out = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "migrate", "--list", "--json"])
    assert out.exit_code == 4 and "doltplane init" in out.stderr  # a missing dir is refused
    assert not data_dir.exists()  # nothing created
    with connect(data_dir) as dp:  # one plane made from Python, the other still pending
        dp.engine("ops")
        before = dp.engine("ops").commit_count()
    out = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "migrate", "--list", "--json"])
    assert out.exit_code == 0, out.output
    assert not (data_dir / "ledger.db").exists()
    assert '"applied": false' in out.output and '"applied": true' in out.output
    with connect(data_dir) as dp:
        assert dp.engine("ops").commit_count() == before
