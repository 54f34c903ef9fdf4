"""The ledger commands through click's CliRunner, with --data-dir and --json parsed back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from doltplane.cli.main import cli

Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, ["--data-dir", str(tmp_path / "dp"), *args])

    assert invoke("init").exit_code == 0  # commands refuse a data directory init never made
    return invoke


def ok(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_create_update_show_list_history_log(run: Run) -> None:
    made = ok(run("ledger", "create", "Fix it", "--type", "bug", "--owner", "toast",
                  "--metadata", '{"p": 1}', "--json"))  # fmt: skip
    assert isinstance(made, dict) and made["type"] == "bug" and made["metadata"] == {"p": 1}
    issue_id = made["id"]
    closed = ok(run("ledger", "update", issue_id, "--status", "closed", "--json"))
    assert isinstance(closed, dict) and closed["completed_at"] is not None
    assert ok(run("ledger", "show", issue_id, "--json"))["status"] == "closed"  # type: ignore[index]
    listed = ok(run("ledger", "list", "--owner", "toast", "--json"))
    assert [i["id"] for i in listed] == [issue_id]  # type: ignore[union-attr, index]
    history = ok(run("ledger", "history", issue_id, "--json"))
    assert [h["record"]["status"] for h in history] == ["closed", "open"]  # type: ignore[union-attr, index]
    log = ok(run("ledger", "log", "--limit", "2", "--json"))
    assert "update issue" in log[0]["message"]  # type: ignore[index]
    as_of = ok(run("ledger", "as-of", "HEAD~1", "--json"))
    assert as_of[0]["status"] == "open"  # type: ignore[index]
    tagged = ok(run("ledger", "tag", "before-close", "HEAD~1", "--json"))
    assert isinstance(tagged, dict) and tagged["tag"] == "before-close"
    assert ok(run("ledger", "as-of", "before-close", "--json"))[0]["status"] == "open"  # type: ignore[index]
    shown = ok(run("ledger", "show", issue_id, "--as-of", "HEAD~1", "--json"))
    assert shown["status"] == "open"  # type: ignore[index]
    diff = ok(run("ledger", "diff", "HEAD~1", "--json"))
    assert [(d["id"], d["change"]) for d in diff] == [(issue_id, "modified")]  # type: ignore[union-attr, index]
    table = run("ledger", "list")
    assert table.exit_code == 0 and "Fix it" in table.output


def test_agent_branches_conflict_resolve_prune(run: Run) -> None:
    shared = ok(run("ledger", "create", "shared", "--json"))["id"]  # type: ignore[index]
    for agent, owner in (("gt/toast", "toast"), ("gt/nux", "nux")):
        ok(run("ledger", "update", shared, "--owner", owner, "--agent", agent, "--json"))
    listed = ok(run("ledger", "list", "--include-unmerged", "--json"))
    assert {i["branch"] for i in listed} == {"main", "gt/toast", "gt/nux"}  # type: ignore[union-attr, index]
    branches = ok(run("ledger", "branches", "--json"))
    assert [b["name"] for b in branches] == ["gt/nux", "gt/toast"]  # type: ignore[union-attr, index]
    assert ok(run("ledger", "merge", "gt/toast", "--json"))["status"] == "merged"  # type: ignore[index]
    conflicts = ok(run("ledger", "conflicts", "gt/nux", "--json"))
    assert conflicts[0]["ours"]["owner"] == "nux"  # type: ignore[index]
    conflicting = run("ledger", "merge", "gt/nux", "--json")
    assert conflicting.exit_code == 6  # a conflict stops `merge && deploy`
    conflicted = json.loads(conflicting.stdout)
    assert conflicted["status"] == "conflict" and conflicted["conflicts"]
    human = run("ledger", "merge", "gt/nux")
    assert human.exit_code == 6 and "conflict" in human.output
    resolved = ok(run("ledger", "resolve", "gt/nux", "--strategy", "theirs", "--json"))
    assert resolved["status"] == "merged"  # type: ignore[index]
    assert ok(run("ledger", "show", shared, "--json"))["owner"] == "toast"  # type: ignore[index]
    assert ok(run("ledger", "prune", "--json"))["deleted"] == []  # type: ignore[index]
    assert run("ledger", "sync", "gt/nux").exit_code == 4  # merged and deleted


@pytest.mark.embedded_only("two data directories as two stores (on a server: the same databases)")
def test_export_import_verify_query(run: Run, tmp_path: Path) -> None:
    ok(run("ledger", "create", "exported", "--id", "gt-x1", "--json"))
    out = tmp_path / "ledger.jsonl"
    assert run("export", "--format", "jsonl", "-o", str(out)).exit_code == 0
    [line] = [json.loads(x) for x in out.read_text().splitlines()]
    assert line["kind"] == "issue" and line["id"] == "gt-x1"
    stdout = run("export")
    assert json.loads(stdout.stdout.splitlines()[0])["id"] == "gt-x1"

    other = CliRunner()
    fresh = ["--data-dir", str(tmp_path / "fresh")]
    assert other.invoke(cli, [*fresh, "init"]).exit_code == 0
    first = other.invoke(cli, [*fresh, "import", str(out), "--json"])
    assert json.loads(first.stdout)["created"] == 1
    second = other.invoke(cli, [*fresh, "import", str(out), "--json"])
    assert json.loads(second.stdout)["commit"] is None
    verified = other.invoke(cli, [*fresh, "verify", "--compare", str(out), "--json"])
    assert verified.exit_code == 0 and json.loads(verified.stdout)["ok"] is True

    ok(run("ledger", "create", "only here", "--json"))
    differs = run("verify", "--compare", str(out), "--json")
    assert differs.exit_code != 0 and json.loads(differs.stdout)["ok"] is False
    assert "1 extra" in differs.stderr

    rows = ok(run("query", "SELECT id FROM issues WHERE id = ?", "-p", "gt-x1", "--json"))
    assert rows == [{"id": "gt-x1"}]


def test_errors_are_one_line_with_exit_codes(run: Run, tmp_path: Path) -> None:
    assert run("ledger", "show", "gt-nope").exit_code == 4
    refused = run("query", "DELETE FROM issues")
    assert refused.exit_code == 3 and refused.stderr.count("\n") == 1
    assert run("ledger", "merge", "../x").exit_code == 3
    assert run("ledger", "as-of", "main'; DROP TABLE issues; --").exit_code == 3
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "issue"}\n')
    failed = run("import", str(bad))
    assert failed.exit_code == 3 and "bad.jsonl:1" in failed.stderr


@pytest.mark.embedded_only("breaks the export by replacing the ledger's .db file")
def test_failed_export_keeps_the_earlier_file_and_leaves_no_partial_one(
    run: Run, tmp_path: Path
) -> None:
    ok(run("ledger", "create", "kept", "--json"))
    out = tmp_path / "export.jsonl"
    assert run("export", "-o", str(out)).exit_code == 0
    good = out.read_text()
    assert "kept" in good
    (tmp_path / "dp" / "ledger.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 4080)
    failed = run("export", "-o", str(out))
    assert failed.exit_code != 0
    assert out.read_text() == good
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["export.jsonl"]
