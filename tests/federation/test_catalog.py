"""Catalog lookups, version resolution, the HEAD-keyed index, and validation."""

from __future__ import annotations

import os
import time

import pytest

from doltplane.errors import InvalidInput, NotFound
from doltplane.federation import Federation, Formula, Role, Template

from .conftest import formula_text, git, publish, role_text, write


def _commit(fed: Federation, message: str = "test change") -> None:
    git(fed, "add", "-A")
    git(fed, "commit", "-qm", message)


def test_role_keeps_every_key(site_a: Federation) -> None:
    write(site_a, "roles/witness.toml", role_text("witness") + "\n[extra.deep]\nanswer = 42\n")
    _commit(site_a)
    role = site_a.get("role", "witness")
    assert isinstance(role, Role)
    assert role.scope == "rig" and role.table("session")["timeout_seconds"] == 60
    assert role.data["custom_key"] == "kept" and role.data["extra"]["deep"]["answer"] == 42
    assert role.path == "roles/witness.toml"


def test_formula_versions_latest_and_pinned(site_a: Federation) -> None:
    for version in (3, 2):
        write(
            site_a,
            f"formulas/mol-witness-patrol-v{version}.formula.toml",
            formula_text("mol-witness-patrol", version, f"Version {version}."),
        )
    _commit(site_a)
    assert site_a.versions("mol-witness-patrol") == [1, 2, 3]
    latest = site_a.get("formula", "mol-witness-patrol")
    assert isinstance(latest, Formula) and latest.version == 3
    assert site_a.get("formula", "mol-witness-patrol", version="latest") == latest
    pinned = site_a.get("formula", "mol-witness-patrol", version=2)
    assert isinstance(pinned, Formula) and pinned.description == "Version 2."
    with pytest.raises(NotFound, match="mol-witness-patrol@7"):
        site_a.get("formula", "mol-witness-patrol", version=7)
    with pytest.raises(InvalidInput):
        site_a.get("formula", "mol-witness-patrol", version="newest")
    with pytest.raises(InvalidInput, match="no versions"):
        site_a.get("role", "polecat", version=1)


def test_templates_by_path_or_unique_file_name(site_a: Federation) -> None:
    template = site_a.get("template", "agent-prompts/polecat.md.tmpl")
    assert isinstance(template, Template) and "polecat" in template.text
    assert site_a.get("template", "polecat.md.tmpl") == template
    with pytest.raises(NotFound):
        site_a.get("template", "agent-prompts/nope.md.tmpl")


def test_list_by_kind(site_a: Federation) -> None:
    assert [e.name for e in site_a.list("role")] == ["polecat"]
    assert [e.kind for e in site_a.list()] == ["role", "formula", "template"]
    with pytest.raises(InvalidInput, match="unknown kind"):
        site_a.list("widget")
    with pytest.raises(NotFound):
        site_a.get("role", "nobody")


def test_index_is_rebuilt_only_when_head_changes(site_a: Federation, site_b: Federation) -> None:
    site_b.get("role", "polecat")
    builds = site_b.catalog.builds
    for _ in range(50):
        site_b.get("role", "polecat")
        site_b.list("formula")
    assert site_b.catalog.builds == builds
    write(site_b, "roles/polecat.toml", role_text("polecat", mode="uncommitted"))
    role = site_b.get("role", "polecat")
    assert isinstance(role, Role) and role.data["env"] == {"POLECAT_MODE": "work"}  # HEAD only
    git(site_b, "checkout", "--", "roles/polecat.toml")
    publish(site_a, "roles/witness.toml", role_text("witness"))
    site_b.pull()
    assert site_b.get("role", "witness").name == "witness"
    assert site_b.catalog.builds == builds + 1


def test_starter_catalog_validates(site_a: Federation) -> None:
    report = site_a.validate()
    assert report.ok, report.problems
    assert report.entries == 3


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        (
            "roles/bad.toml",
            'role = "bad"\nscope = "rig"\nname = [1,\n',
            "roles/bad.toml:3: malformed TOML",
        ),
        (
            "roles/bad.toml",
            'role = "bad"\nscope = "galaxy"\n',
            "roles/bad.toml:2: scope = 'galaxy' is not one of",
        ),
        ("roles/bad.toml", 'scope = "rig"\n', "roles/bad.toml:1: missing required key 'role'"),
        (
            "roles/bad.toml",
            'role = "Bad_Name"\nscope = "rig"\n',
            "roles/bad.toml:1: role = 'Bad_Name' does not match",
        ),
        (
            "roles/bad.toml",
            'role = "bad"\nscope = "rig"\n\n[session]\ntimeout_seconds = "soon"\n',
            "roles/bad.toml:5: session.timeout_seconds: 'soon' is not of type 'integer'",
        ),
        (
            "formulas/bad.formula.toml",
            'version = 1\ndescription = "x"\n',
            "formulas/bad.formula.toml:1: missing required key 'formula'",
        ),
        (
            "formulas/bad.formula.toml",
            'formula = "bad"\ndescription = "x"\nversion = 1.5\n',
            "formulas/bad.formula.toml:3: version must be a non-negative integer, got 1.5",
        ),
        (
            "formulas/bad.formula.toml",
            'formula = "bad"\nversion = true\ndescription = "x"\n',
            "formulas/bad.formula.toml:2: version must be a non-negative integer, got True",
        ),
        (
            "formulas/bad.formula.toml",
            'formula = "bad"\nversion = 1\ndescription = "x"\n\n'
            '[[steps]]\nid = "a"\ntitle = "A"\n\n[[steps]]\nid = "b"\n',
            "formulas/bad.formula.toml:9: missing required key 'steps[].title'",
        ),
        (
            "formulas/bad.toml",
            'formula = "bad"\nversion = 1\n',
            "formulas/bad.toml:1: a formula is a file",
        ),
        ("roles/sub/x.toml", 'role = "x"\n', "roles/sub/x.toml:1: a role is a file"),
        (
            "templates/elsewhere/x.md",
            "hello\n",
            "templates/elsewhere/x.md:1: unknown template category",
        ),
        (
            "roles/evil.toml",
            'role = "../../etc/passwd"\nscope = "rig"\n',
            "roles/evil.toml:1: role must be a name",
        ),
    ],
)
def test_validation_reports_path_line_message(
    site_a: Federation, path: str, text: str, expected: str
) -> None:
    write(site_a, path, text)
    problems = site_a.validate().problems
    assert any(p.startswith(expected) for p in problems), problems


def test_duplicate_names_are_problems(site_a: Federation) -> None:
    write(site_a, "roles/polecat-copy.toml", role_text("polecat"))
    write(
        site_a,
        "formulas/again.formula.toml",
        formula_text("mol-witness-patrol", 1),
    )
    problems = site_a.validate().problems
    assert any("roles/polecat-copy.toml:1: duplicate role 'polecat'" in p for p in problems)
    assert any("duplicate formula 'mol-witness-patrol' version 1" in p for p in problems)


def test_symlink_out_of_the_tree_is_a_problem(
    site_a: Federation, tmp_path: os.PathLike[str]
) -> None:
    os.symlink("/etc/passwd", site_a.repo.path / "templates/agent-prompts/leak.md")
    problems = site_a.validate().problems
    assert any(
        p.startswith("templates/agent-prompts/leak.md:1: symlink") and "outside" in p
        for p in problems
    )


def test_broken_rules_and_schema_are_reported(site_a: Federation) -> None:
    write(site_a, "config/validation-rules.yaml", "kinds:\n  role:\n    required: [role\n")
    write(site_a, "config/rig-schema.json", '{"$defs": {"role": {"type": 12}}}')
    problems = site_a.validate().problems
    assert any(
        p.startswith("config/validation-rules.yaml:") and "malformed YAML" in p for p in problems
    )
    assert any(p.startswith("config/rig-schema.json:1: not a valid JSON Schema") for p in problems)
    write(site_a, "config/validation-rules.yaml", "kinds:\n  widget: {}\n")
    assert any("widget" in p for p in site_a.validate().problems)


def test_several_hundred_files_validate_and_answer_lookups(site_a: Federation) -> None:
    for i in range(250):
        write(site_a, f"roles/role-{i:03}.toml", role_text(f"role-{i:03}"))
        write(
            site_a,
            f"formulas/mol-f-{i:03}.formula.toml",
            formula_text(f"mol-f-{i % 125:03}", 1 + i // 125),
        )
    for i in range(100):
        write(site_a, f"templates/agent-prompts/p-{i:03}.md.tmpl", f"Prompt {i}\n")
    started = time.perf_counter()
    report = site_a.validate()
    assert report.ok, report.problems[:5]
    assert report.entries == 1 + 250 + 1 + 250 + 1 + 100
    _commit(site_a, "big catalog")
    assert site_a.get("role", "role-199").path == "roles/role-199.toml"
    formula = site_a.get("formula", "mol-f-007")
    assert isinstance(formula, Formula) and formula.version == 2
    assert len(site_a.list("template")) == 101
    assert time.perf_counter() - started < 30  # a sanity bound, not a benchmark
