"""ours is always the agent's branch and theirs is main, even when main moves between the
sync and the merge; `ledger merge` and `ledger sync` exit 6 on a conflict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from doltplane import DataPlane, MergeConflict, MergeResult, MergeStatus
from doltplane.cli.main import cli
from doltplane.planes.ledger_agents import AgentSession
from doltplane.planes.ledger_records import Issue

from .conftest import ledger_state

NUX = "gastown/polecats/nux"


def _main_moves_after_sync(
    dp: DataPlane, monkeypatch: pytest.MonkeyPatch
) -> tuple[AgentSession, Issue]:
    """nux changed ``shared``; another writer changes it on main right after nux's sync."""
    shared = dp.ledger.create_issue("shared", owner="mayor")
    nux = dp.agent(NUX)
    nux.update_issue(shared.id, owner="nux")
    real_sync = nux.sync

    def sync_then_main_moves() -> MergeResult:
        result = real_sync()
        monkeypatch.setattr(nux, "sync", real_sync)  # once
        dp.ledger.update_issue(shared.id, owner="mayor-again")  # lands between sync and merge
        return result

    monkeypatch.setattr(nux, "sync", sync_then_main_moves)
    return nux, shared


def test_sides_stay_labelled_when_main_moves_between_sync_and_merge(
    dp: DataPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    nux, shared = _main_moves_after_sync(dp, monkeypatch)
    result = nux.merge()
    assert result.status is MergeStatus.CONFLICT
    assert (result.source, result.target) == ("main", NUX)
    [row] = result.conflicts
    assert row.key == {"id": shared.id}
    assert row.base is not None and row.base["owner"] == "mayor"
    assert row.ours is not None and row.ours["owner"] == "nux"  # the agent's side
    assert row.theirs is not None and row.theirs["owner"] == "mayor-again"  # main's side
    # the same rows as a plain preview and as a plain second merge
    assert nux.conflicts() == list(result.conflicts)
    assert nux.merge().conflicts == result.conflicts

    before = ledger_state(dp)
    assert nux.resolve("ours").status is MergeStatus.MERGED  # ours = the agent's rows
    assert ledger_state(dp) != before
    assert dp.ledger.get_issue(shared.id).owner == "nux"


def test_resolve_theirs_keeps_main_after_the_race(
    dp: DataPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    nux, shared = _main_moves_after_sync(dp, monkeypatch)
    assert nux.merge().status is MergeStatus.CONFLICT
    assert nux.resolve("theirs").ok
    assert dp.ledger.get_issue(shared.id).owner == "mayor-again"


def _conflict_on_disk(data_dir: Path) -> None:
    from doltplane import connect

    with connect(data_dir, checkpoint_every_writes=0, checkpoint_every_seconds=0) as dp:
        shared = dp.ledger.create_issue("shared")
        nux = dp.agent(NUX)
        nux.update_issue(shared.id, title="nux's title")
        dp.ledger.update_issue(shared.id, title="main's title")


@pytest.mark.parametrize("command", ["merge", "sync"])
def test_cli_merge_and_sync_exit_6_on_conflict_and_still_print(
    tmp_path: Path, command: str
) -> None:
    data_dir = tmp_path / "dp"
    _conflict_on_disk(data_dir)
    runner = CliRunner()
    as_json = runner.invoke(cli, ["--data-dir", str(data_dir), "ledger", command, NUX, "--json"])
    assert as_json.exit_code == MergeConflict.exit_code == 6, as_json.output
    printed = json.loads(as_json.stdout)
    assert printed["status"] == "conflict" and printed["conflicts"]
    assert printed["conflicts"][0]["ours"]["title"] == "nux's title"
    human = runner.invoke(cli, ["--data-dir", str(data_dir), "ledger", command, NUX])
    assert human.exit_code == 6 and "conflict: main -> " in human.stdout
    clean = runner.invoke(cli, ["--data-dir", str(data_dir), "ledger", "resolve", NUX,
                                "--strategy", "theirs"])  # fmt: skip
    assert clean.exit_code == 0, clean.output
