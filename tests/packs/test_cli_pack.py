"""doltplane pack ... and doltplane table NAME ...: thin CLI over dp.packs and dp.table."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from doltplane import connect
from doltplane.cli.main import cli


def run(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])


def ok(data_dir: Path, *args: str) -> str:
    result = run(data_dir, *args)
    assert result.exit_code == 0, f"{args}: {result.stderr}"
    return result.output


def test_pack_list_install_status_and_table_reads(tmp_path: Path) -> None:
    data_dir = tmp_path / "dp"
    assert run(data_dir, "init").exit_code == 0
    listed = run(data_dir, "pack", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert {p["name"]: p["installed"] for p in json.loads(listed.output)} == {
        "accounts": False,
        "planning": False,
        "registry": False,
        "workflow": False,
    }
    first = run(data_dir, "pack", "install", "accounts")
    assert first.exit_code == 0, first.output
    assert "applied accounts_0001" in first.output and "seeded 6 row(s)" in first.output
    again = run(data_dir, "pack", "install", "accounts", "--json")
    assert json.loads(again.output)["newly_installed"] is False
    assert "already installed" in run(data_dir, "pack", "install", "accounts").output
    (status,) = json.loads(run(data_dir, "pack", "status", "accounts", "--json").output)
    assert (
        status["installed"] and status["applied"] == ["accounts_0001"] and status["pending"] == []
    )
    assert status["state_machines"][0]["table"] == "runs"
    assert "accounts" in run(data_dir, "pack", "status").output
    listed_migrations = json.loads(run(data_dir, "migrate", "--list", "--json").output)
    assert {"plane": "ledger", "revision": "accounts_0001"}.items() <= next(
        r for r in listed_migrations if r["revision"] == "accounts_0001"
    ).items()
    assert all(r["applied"] for r in listed_migrations)
    assert "already initialised" in run(data_dir, "init").output

    rows = json.loads(ok(data_dir, "table", "projects", "list", "--json"))
    assert [r["id"] for r in rows] == ["proj-demo"]
    filtered = run(data_dir, "table", "targets", "list", "--where", "kind=http", "--json")
    assert [r["name"] for r in json.loads(filtered.output)] == ["staging"]
    got = json.loads(
        run(data_dir, "table", "credit_wallets", "get", "wallet-demo", "--json").output
    )
    assert got["balance"] == 100 and got["version"] == 1
    with connect(data_dir) as dp:
        seeded = dp.engine("ledger").resolve_revision("main")
        dp.table("credit_wallets").put({"id": "wallet-demo", "balance": 90, "version": 1})
    history = json.loads(
        run(data_dir, "table", "credit_wallets", "history", "wallet-demo", "--json").output
    )
    assert [v["row"]["balance"] for v in history] == [90, 100]
    old = json.loads(run(data_dir, "table", "credit_wallets", "as-of", seeded, "--json").output)
    assert old[0]["balance"] == 100
    (change,) = json.loads(
        run(data_dir, "table", "credit_wallets", "diff", seeded, "--json").output
    )
    assert change["diff_type"] == "modified" and change["after"]["balance"] == 90
    assert "modified" in run(data_dir, "table", "credit_wallets", "diff", seeded).output
    assert "wallet-demo" in run(data_dir, "table", "credit_wallets", "list").output


def test_cli_errors_are_one_line_with_a_hint(tmp_path: Path) -> None:
    data_dir = tmp_path / "dp"
    assert run(data_dir, "init").exit_code == 0
    missing = run(data_dir, "table", "runs", "list")
    assert missing.exit_code == 4 and "doltplane pack install accounts" in missing.stderr
    assert run(data_dir, "pack", "install", "nope").exit_code == 4
    assert run(data_dir, "pack", "install", "accounts").exit_code == 0
    bad = run(data_dir, "table", "runs", "list", "--where", "nonsense")
    assert bad.exit_code == 3 and bad.stderr.startswith("error: --where")
    typed = run(data_dir, "table", "credit_wallets", "list", "--where", "balance=100", "--json")
    assert [r["id"] for r in json.loads(typed.output)] == ["wallet-demo"]
    untyped = run(data_dir, "table", "credit_wallets", "list", "--where", "balance=lots")
    assert untyped.exit_code == 3 and "balance" in untyped.stderr
    unknown = run(data_dir, "table", "runs", "get", '{"nope": 1}')
    assert unknown.exit_code == 3 and len(unknown.stderr.splitlines()) == 1


def test_pack_cleanup_from_the_cli(tmp_path: Path) -> None:
    data_dir = tmp_path / "dp"
    assert run(data_dir, "init").exit_code == 0
    assert run(data_dir, "pack", "install", "workflow").exit_code == 0
    out = run(data_dir, "pack", "cleanup", "--now", "2026-01-01T00:00:00", "--dry-run", "--json")
    assert out.exit_code == 0, out.output
    assert {r["table"] for r in json.loads(out.output)} == {
        "execution_history",
        "workflow_instances",
        "performance_metrics",
    }
