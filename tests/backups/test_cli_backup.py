"""The backup and remote commands through click's CliRunner (and serve as a real process)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from doltplane import connect
from doltplane.cli.main import cli


def _run(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])


def _ok(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_backup_add_push_list_verify_restore(tmp_path: Path) -> None:
    a, url = tmp_path / "a", f"file://{tmp_path}/backup"
    assert _run(a, "init").exit_code == 0
    assert _run(a, "ledger", "create", "keep me").exit_code == 0
    assert _ok(_run(a, "backup", "add", "disk", url, "--json"))["url"] == url  # type: ignore[index]
    [pushed] = _ok(_run(a, "backup", "push", "--json"))  # type: ignore[misc]
    assert pushed["ok"] and {r["outcome"] for r in pushed["refs"]} == {"pushed"}
    [listed] = _ok(_run(a, "backup", "list", "--json"))  # type: ignore[misc]
    assert listed["last_push"] and set(listed["holds"]["ledger"]["branches"]) == {"main"}
    assert "disk" in _run(a, "backup", "list").stdout
    assert _ok(_run(a, "backup", "verify", "disk", "--json"))["ok"] is True  # type: ignore[index]

    result = _run(a, "backup", "restore", "disk", "--into", str(tmp_path / "b"))
    assert result.exit_code == 0, result.output
    assert "restored" in result.stdout
    listed_b = _ok(_run(tmp_path / "b", "ledger", "list", "--json"))
    assert [i["title"] for i in listed_b] == ["keep me"]  # type: ignore[union-attr,index]
    again = _run(a, "backup", "restore", url, "--into", str(tmp_path / "b"))
    assert again.exit_code == 3 and "not empty" in again.stderr


def test_remote_pull_conflict_exits_6_then_resolve_and_push(tmp_path: Path) -> None:
    a, b, url = tmp_path / "a", tmp_path / "b", f"file://{tmp_path}/hub"
    assert _run(a, "init").exit_code == 0
    made = _ok(_run(a, "ledger", "create", "shared", "--json"))
    issue = str(made["id"])  # type: ignore[index]
    assert _run(a, "backup", "add", "hub", url).exit_code == 0
    assert _run(a, "remote", "push", "hub").exit_code == 0
    restored = _run(a, "backup", "restore", url, "--into", str(b), "--name", "hub", "--json")
    assert _ok(restored)["remote"] == "hub"  # type: ignore[index]
    assert _run(b, "ledger", "update", issue, "--owner", "bob").exit_code == 0
    assert _run(b, "remote", "push", "hub").exit_code == 0
    assert _run(a, "ledger", "update", issue, "--owner", "alice").exit_code == 0

    refused = _run(a, "remote", "push", "hub")
    assert refused.exit_code == 11 and "remote pull hub" in refused.stderr
    pulled = _run(a, "remote", "pull", "hub")
    assert pulled.exit_code == 6 and "conflicts" in pulled.stdout
    assert "remote resolve hub" in pulled.stderr
    resolved = _ok(_run(a, "remote", "resolve", "hub", "--strategy", "theirs", "--json"))
    assert resolved["status"] == "merged"  # type: ignore[index]
    shown = _ok(_run(a, "ledger", "show", issue, "--json"))
    assert shown["owner"] == "bob"  # type: ignore[index]
    assert _run(a, "remote", "push", "hub").exit_code == 0
    assert _run(a, "backup", "remove", "hub").exit_code == 0
    assert _run(a, "remote", "push", "hub").exit_code == 4


def test_backup_serve_runs_until_terminated(tmp_path: Path) -> None:
    a = tmp_path / "a"
    with connect(a) as dp:
        dp.ledger.create_issue("served")
    command = [sys.executable, "-m", "doltplane.cli.main", "--data-dir", str(a), "backup", "serve"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            assert line.startswith("serving "), line
            url = line.split(" at ")[1].split()[0]
            assert url.startswith("http://127.0.0.1:")
            result = _run(tmp_path / "x", "backup", "restore", url, "--into", str(tmp_path / "b"))
            assert result.exit_code == 0, result.output
        finally:
            server.send_signal(signal.SIGTERM)
            assert server.wait(30) == 0
    with connect(tmp_path / "b") as b:
        assert [i.title for i in b.ledger.issues()] == ["served"]
