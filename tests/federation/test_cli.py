"""``doltplane federation ...`` through click's CliRunner, reading ``--json`` output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from doltplane.cli.main import cli

from .conftest import formula_text, role_text

PATROL = "formulas/mol-witness-patrol.formula.toml"


class Site:
    def __init__(self, tmp_path: Path, name: str, remote: Path) -> None:
        self.data_dir = tmp_path / name
        self.env = {"DOLTPLANE_SITE": name, "DOLTPLANE_FEDERATION_REMOTE": str(remote)}
        self.clone = self.data_dir / "federation"

    def run(self, *args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(
            cli, ["--data-dir", str(self.data_dir), "federation", *args], env=self.env
        )
        assert result.exit_code == code, (result.output, result.exception)
        return result

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self.run(*args, "--json", code=code).stdout)

    def write(self, rel: str, text: str) -> None:
        path = self.clone / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def sites(tmp_path: Path) -> tuple[Site, Site]:
    shared = tmp_path / "shared.git"
    a = Site(tmp_path, "alpha", shared)
    b = Site(tmp_path, "beta", shared)
    assert a.json("init", "--bare", str(shared))["shared_repository"] == str(shared)
    info = a.json("init", "--remote", str(shared))
    assert info["remote"] == str(shared) and info["head"]
    assert b.json("clone")["head"] == info["head"]
    return a, b


def test_read_commands_speak_json(sites: tuple[Site, Site]) -> None:
    a, _ = sites
    listing = a.json("list")
    assert {(e["kind"], e["name"]) for e in listing} == {
        ("role", "polecat"),
        ("formula", "mol-witness-patrol"),
        ("template", "agent-prompts/polecat.md.tmpl"),
    }
    role = a.json("show", "role", "polecat")
    assert role["data"]["session"]["command"] == "claude"
    formula = a.json("show", "formula", "mol-witness-patrol", "--version", "1")
    assert formula["version"] == 1 and formula["data"]["steps"][1]["needs"] == ["survey"]
    status = a.json("status", "--fetch")
    assert status["ahead"] == 0 and status["behind"] == 0 and status["local_changes"] == []
    assert a.json("validate")["ok"] is True
    assert a.json("conflicts") == []
    assert "polecat" in a.run("show", "role", "polecat").stdout
    assert "ok:" in a.run("validate").stdout


def test_review_flow_and_pull_through_the_cli(sites: tuple[Site, Site]) -> None:
    a, b = sites
    a.write("formulas/mol-deacon-sweep.formula.toml", formula_text("mol-deacon-sweep", 3))
    pushed = a.json("push", "--topic", "sweep", "-m", "Add sweep")
    assert pushed["branch"] == "review/alpha/sweep"
    [review] = b.json("review", "list")
    assert review["name"] == "alpha/sweep" and review["approved"] is False
    shown = b.json("review", "show", "alpha/sweep")
    assert shown["files"] == [{"status": "A", "path": "formulas/mol-deacon-sweep.formula.toml"}]
    assert b.run("review", "merge", "alpha/sweep", code=10).stderr.startswith("error: review")
    assert b.json("review", "approve", "alpha/sweep", "--by", "bob")["approved_by"] == "bob"
    assert b.json("review", "merge", "alpha/sweep")["status"] == "fast_forward"
    assert b.json("pull")["status"] == "fast_forward"
    assert b.json("show", "formula", "mol-deacon-sweep")["version"] == 3


def test_conflict_through_the_cli(sites: tuple[Site, Site]) -> None:
    a, b = sites
    a.write(PATROL, formula_text("mol-witness-patrol", 1, "From alpha."))
    assert a.json("push", "--no-review")["branch"] == "main"
    b.write(PATROL, formula_text("mol-witness-patrol", 1, "From beta."))
    assert "local uncommitted changes" in b.run("pull", code=10).stderr
    rejected = b.run("push", "--no-review", code=10)
    assert "pull first" in rejected.stderr
    result = b.json("pull", code=6)
    assert result["status"] == "conflict" and result["conflicts"] == [PATROL]
    assert b.json("conflicts") == [PATROL]
    assert "CONFLICT" in b.run("pull", code=6).stdout
    done = b.json("resolve", PATROL, "--theirs")
    assert done["remaining"] == [] and done["merge_commit"]
    assert b.json("show", "formula", "mol-witness-patrol")["data"]["description"] == "From alpha."


def test_bad_input_is_one_line_with_its_exit_code(sites: tuple[Site, Site], tmp_path: Path) -> None:
    a, _ = sites
    unsafe = a.run("show", "role", "../../etc/passwd", code=3)
    assert unsafe.stderr.count("\n") == 1 and "unsafe path" in unsafe.stderr
    assert a.run("show", "role", "nobody", code=4).stderr.startswith("error: role not found")
    a.write("roles/bad.toml", 'role = "bad"\nscope = "galaxy"\n')
    report = a.json("validate", code=3)
    assert report["ok"] is False and report["problems"][0].startswith("roles/bad.toml:2:")
    assert "roles/bad.toml:2:" in a.run("push", "--topic", "bad", code=3).stderr
    a.write("roles/bad.toml", role_text("bad"))
    assert a.run("push", "--topic", "../x", code=3).stderr.startswith("error: invalid branch")
    lost = Site(tmp_path, "gamma", tmp_path / "missing.git")
    assert lost.run("clone", code=10).stderr.count("\n") == 1
    assert a.run("resolve", code=2).exit_code == 2


def test_scheduled_pull_records_a_conflict_and_does_not_resolve(sites: tuple[Site, Site]) -> None:
    a, b = sites
    a.write(PATROL, formula_text("mol-witness-patrol", 1, "From alpha."))
    a.json("push", "--no-review")
    b.write(PATROL, formula_text("mol-witness-patrol", 1, "From beta."))
    b.run("push", "--no-review", code=10)  # commits locally, then is rejected
    scheduled = b.json("pull", "--if-due", code=6)
    assert scheduled["ran"] is True and scheduled["result"]["status"] == "conflict"
    again = b.json("pull", "--if-due")
    assert again["ran"] is False  # not due for another hour
    status = b.json("status")
    assert status["last_pull"]["status"] == "conflict"
    assert status["last_pull"]["conflicts"] == [PATROL]
    assert status["merge_in_progress"] is False and status["conflicts"] == [PATROL]
