"""The CLI tells the truth about its data directory: a mistyped ``--data-dir`` is refused
(nothing created), and a failure while closing the client is one line, not a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from doltplane import connect
from doltplane.cli.common import get_dp
from doltplane.cli.main import CREATING_COMMANDS, DoltplaneGroup, cli
from doltplane.cli.reference import command_paths
from doltplane.errors import NotFound

READS_AND_WRITES = [
    ["ops", "list"],
    ["ops", "get", "a1"],
    ["ops", "set", "a1", "--rig", "r", "--agent", "t", "--status", "s"],
    ["ops", "checkpoint"],
    ["ledger", "list"],
    ["ledger", "create", "a title"],
    ["export"],
    ["query", "SELECT 1 AS one"],
    ["status"],
    ["migrate"],
    ["migrate", "--list"],
    ["federation", "list"],
]


@pytest.fixture(autouse=True)
def _no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOLTPLANE_DATA_DIR", raising=False)
    monkeypatch.delenv("DOLTPLANE_URL", raising=False)


def invoke(root: click.Command, data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(root, ["--data-dir", str(data_dir), *args])


def one_error_line(result: Result) -> str:
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("args", READS_AND_WRITES, ids=" ".join)
def test_a_missing_data_dir_is_refused_and_not_created(tmp_path: Path, args: list[str]) -> None:
    typo = tmp_path / "dp-typo"
    result = invoke(cli, typo, *args)
    assert result.exit_code == 4
    line = one_error_line(result)
    assert str(typo) in line and "doltplane init" in line and "--data-dir" in line
    assert not typo.exists()


@pytest.mark.parametrize("args", READS_AND_WRITES[:6], ids=" ".join)
def test_an_empty_data_dir_is_refused_and_left_empty(tmp_path: Path, args: list[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke(cli, empty, *args)
    assert result.exit_code == 4
    assert "holds no doltplane data" in one_error_line(result)
    assert list(empty.iterdir()) == []


def test_init_creates_then_every_command_works(tmp_path: Path) -> None:
    data_dir = tmp_path / "dp"
    assert invoke(cli, data_dir, "init").exit_code == 0
    for args in READS_AND_WRITES[:-1]:
        result = invoke(cli, data_dir, *args)
        assert result.exit_code in (0, 4), (args, result.output)  # 4: `ops get a1` may miss
        assert "data directory" not in result.stderr


def test_errors_after_a_progress_bar_are_still_one_line(tmp_path: Path) -> None:
    data_dir, bad = tmp_path / "dp", tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "issue", "id": "gt-1"}\n', encoding="utf-8")
    assert invoke(cli, data_dir, "init").exit_code == 0
    for args in (["import", str(bad)], ["verify", "--compare", str(bad)]):
        result = invoke(cli, data_dir, *args)
        assert result.exit_code == 3
        assert "bad.jsonl:1" in one_error_line(result)  # no blank line left by the bar


def test_an_integer_beyond_64_bits_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "dp"
    assert invoke(cli, data_dir, "init").exit_code == 0
    result = invoke(cli, data_dir, "ops", "heartbeat", "toast", "--cycle", str(2**63))
    assert result.exit_code == 3
    assert "fits 64 bits" in one_error_line(result)


def test_creating_commands_are_real_commands() -> None:
    paths = set(command_paths(cli))
    assert {"doltplane " + " ".join(p) for p in CREATING_COMMANDS} <= paths


def test_python_connect_creates_on_first_use_unless_told_not_to(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="data directory not found"):
        connect(tmp_path / "strict", create=False)
    assert not (tmp_path / "strict").exists()
    with connect(tmp_path / "lenient") as dp:  # the documented default: create on first use
        dp.ops.set_state("a1", rig="r", agent="t", status="s", state={})
    with connect(tmp_path / "lenient", create=False) as dp:
        assert dp.ops.get("a1").status == "s"


# --- failures while closing -------------------------------------------------------------


class WithVanish(DoltplaneGroup):
    """The real root group plus one test command: it writes an operational state (left for
    the closing snapshot to commit) and then deletes the data directory under the client."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), "vanish"]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "vanish":
            return vanish
        return super().get_command(ctx, cmd_name)


@click.command()
@click.option("--then-fail", is_flag=True)
def vanish(then_fail: bool) -> None:
    dp = get_dp()
    dp.ops.set_state("a1", rig="r", agent="t", status="busy", state={})
    shutil.rmtree(dp.settings.data_dir)
    if then_fail:
        # the command's own error (a read would now fail on the vanished file: kept read
        # connections open per thread, so that it is an EngineError, not NotFound)
        raise NotFound("operational state", "ghost")


root = WithVanish(name="doltplane", params=cli.params, callback=cli.callback)


@pytest.fixture
def snapshotting_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # a snapshot cadence, so that closing the client commits the pending write
    monkeypatch.setenv("DOLTPLANE_CHECKPOINT_EVERY_WRITES", "1000")
    monkeypatch.setenv("DOLTPLANE_CHECKPOINT_EVERY_SECONDS", "3600")
    data_dir = tmp_path / "dp"
    assert invoke(cli, data_dir, "init").exit_code == 0
    return data_dir


def test_a_failure_while_closing_is_one_line(snapshotting_dir: Path) -> None:
    result = invoke(root, snapshotting_dir, "vanish")
    assert result.exit_code == 7  # EngineError: the closing snapshot could not be written
    assert "readonly" in one_error_line(result) or "dolt_commit" in result.stderr


def test_a_failure_while_closing_after_an_error_keeps_the_first(snapshotting_dir: Path) -> None:
    result = invoke(root, snapshotting_dir, "vanish", "--then-fail")
    assert result.exit_code == 4
    assert "ghost" in one_error_line(result)


def test_traceback_shows_a_failure_while_closing(snapshotting_dir: Path) -> None:
    result = invoke(root, snapshotting_dir, "--traceback", "vanish")
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "EngineError"
