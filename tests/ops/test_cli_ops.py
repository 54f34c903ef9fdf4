"""The ops and admin commands through click's CliRunner, --json parsed back."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from doltplane.cli.main import cli


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOLTPLANE_CHECKPOINT_EVERY_WRITES", "0")
    monkeypatch.setenv("DOLTPLANE_CHECKPOINT_EVERY_SECONDS", "0")
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, ["--data-dir", str(tmp_path / "dp"), *args])

    assert invoke("init").exit_code == 0  # commands refuse a data directory init never made
    return invoke


def as_json(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_set_get_list_round_trip(run) -> None:  # type: ignore[no-untyped-def]
    record = as_json(
        run(
            "ops",
            "set",
            "a1",
            "--rig",
            "r",
            "--agent",
            "toast",
            "--status",
            "busy",
            "--state",
            '{"task": "gt-1"}',
            "--json",
        )
    )
    assert record["version"] == 1 and record["state"] == {"task": "gt-1"}
    got = as_json(run("ops", "get", "a1", "--json"))
    assert got["status"] == "busy"
    listed = as_json(run("ops", "list", "--agent", "toast", "--json"))
    assert [r["id"] for r in listed] == ["a1"]
    table = run("ops", "list")
    assert table.exit_code == 0 and "toast" in table.output


def test_history_as_of_checkpoint(run) -> None:  # type: ignore[no-untyped-def]
    run("ops", "set", "a1", "--rig", "r", "--agent", "t", "--status", "idle")
    first = as_json(run("ops", "checkpoint", "--json"))["commit"]
    time.sleep(0.01)
    run(
        "ops",
        "set",
        "a1",
        "--rig",
        "r",
        "--agent",
        "t",
        "--status",
        "busy",
        "--expected-version",
        "1",
    )
    assert as_json(run("ops", "checkpoint", "--json"))["commit"] != first
    history = as_json(run("ops", "history", "a1", "--json"))
    assert [h["record"]["status"] for h in history] == ["busy", "idle"]
    assert as_json(run("ops", "as-of", first, "a1", "--json"))["status"] == "idle"
    assert as_json(run("ops", "as-of", "HEAD~1", "--json"))[0]["status"] == "idle"


def test_heartbeat_agents_cleanup_status(run) -> None:  # type: ignore[no-untyped-def]
    run("ops", "heartbeat", "toast", "--status", '{"ok": true}', "--cycle", "3")
    agents = as_json(run("ops", "agents", "--json"))
    assert agents[0]["agent"] == "toast" and agents[0]["stale"] is False
    dry = as_json(run("ops", "cleanup", "--dry-run", "--json"))
    assert dry["dry_run"] is True and dry["state_rows_deleted"] == 0
    done = as_json(run("ops", "cleanup", "--retention-days", "30", "--json"))
    if "DOLTPLANE_URL" not in os.environ:  # a server doesn't show its files' size over SQL
        assert done["bytes_after"] > 0
    planes = {p["plane"]: p for p in as_json(run("status", "--json"))["planes"]}
    assert planes["ops"]["commits"] >= 2 and planes["ops"]["schema_version"] == "ops_0003"
    assert "ops" in run("status").output


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["ops", "get", "ghost"], 4, "not found"),
        (
            ["ops", "set", "a", "--rig", "r", "--agent", "a", "--status", "s", "--state", "{"],
            3,
            "not valid JSON",
        ),
        (["ops", "as-of", "nope"], 3, "invalid revision"),
        (["ops", "cleanup", "--retention-days", "-1"], 3, "retention_days"),
        (
            [
                "ops",
                "set",
                "a",
                "--rig",
                "r",
                "--agent",
                "a",
                "--status",
                "s",
                "--expected-version",
                "4",
            ],
            5,
            "version conflict",
        ),
    ],
)
def test_errors_are_one_line_with_stable_exit_codes(  # type: ignore[no-untyped-def]
    run, args: list[str], code: int, text: str
) -> None:
    result = run(*args)
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and text in lines[0]


def test_traceback_flag_shows_the_exception(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path), "--traceback", "ops", "get", "ghost"]
    )
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "NotFound"
