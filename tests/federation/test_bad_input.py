"""Bad input: a one-line typed error, and nothing changed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from doltplane.config import Settings
from doltplane.errors import (
    CatalogInvalid,
    FederationError,
    GitCommandError,
    GitUnavailable,
    InvalidInput,
    NotFound,
    UnsafePath,
)
from doltplane.federation import Federation
from doltplane.federation.git import git_version
from doltplane.federation.repo import safe_relpath

from .conftest import formula_text, git, publish, snapshot, write

PATROL = "formulas/mol-witness-patrol.formula.toml"


@pytest.mark.parametrize(
    "path", ["../../etc/passwd", "/etc/passwd", "roles/../../x", "..", ".git/config", "", "C:\\x"]
)
def test_paths_escaping_the_repository_are_refused(path: str) -> None:
    with pytest.raises(UnsafePath) as caught:
        safe_relpath(path)
    assert "\n" not in caught.value.one_line()


@pytest.mark.parametrize(
    ("kind", "name"),
    [("role", "../../etc/passwd"), ("formula", "/etc/passwd"), ("template", "../../etc/passwd")],
)
def test_lookup_names_escaping_the_repository_are_refused(
    site_a: Federation, kind: str, name: str
) -> None:
    with pytest.raises(UnsafePath):
        site_a.get(kind, name)


def test_resolve_through_a_symlink_out_of_the_tree_is_refused(
    site_a: Federation, site_b: Federation, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.toml").write_text("secret = 1\n")
    os.symlink(outside, site_b.repo.path / "linked")
    with pytest.raises(UnsafePath, match="symlink"):
        site_b.resolve("linked/x.toml", "ours")
    with pytest.raises(UnsafePath):
        site_b.resolve("../../etc/passwd", "theirs")
    with pytest.raises(UnsafePath):
        site_b.mark_resolved("/etc/passwd")


def test_symlinked_file_out_of_the_tree_is_refused_by_push(site_a: Federation) -> None:
    os.symlink("/etc/hostname", site_a.repo.path / "roles/host.toml")
    before = snapshot(site_a)
    with pytest.raises(InvalidInput, match="outside the repository"):
        site_a.push(topic="leak")
    assert snapshot(site_a) == before


def test_malformed_toml_is_refused_by_push(site_a: Federation) -> None:
    write(site_a, "roles/broken.toml", 'role = "broken\n')
    with pytest.raises(InvalidInput, match=r"roles/broken.toml:1: malformed TOML"):
        site_a.push(topic="broken")
    assert git(site_a, "status", "--porcelain") == "?? roles/broken.toml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('version = 2\ndescription = "x"\n', "missing required key 'formula'"),
        (formula_text("mol-x", '"2"'), "version must be a non-negative integer"),
    ],
)
def test_bad_formula_is_refused(site_a: Federation, text: str, message: str) -> None:
    write(site_a, "formulas/mol-x.formula.toml", text)
    with pytest.raises(CatalogInvalid) as caught:
        site_a.push(review=False)
    assert any(message in p for p in caught.value.problems), caught.value.problems
    assert site_a.status().ahead == 0


def test_duplicates_are_refused_by_push(site_a: Federation) -> None:
    write(site_a, "formulas/copy.formula.toml", formula_text("mol-witness-patrol", 1))
    with pytest.raises(InvalidInput, match="duplicate formula"):
        site_a.push(review=False)


def test_clone_of_a_remote_that_does_not_exist(tmp_path: Path) -> None:
    federation = Federation(Settings(data_dir=tmp_path / "site"))
    with pytest.raises(GitCommandError) as caught:
        federation.clone(str(tmp_path / "no-such.git"))
    assert "does not" in caught.value.one_line() and "\n" not in caught.value.one_line()
    assert not (tmp_path / "site" / "federation").exists()
    assert [p.name for p in (tmp_path / "site").iterdir()] == []


def test_init_publishing_to_a_missing_remote_changes_nothing(tmp_path: Path) -> None:
    federation = Federation(Settings(data_dir=tmp_path / "site"))
    with pytest.raises(GitCommandError):
        federation.init(str(tmp_path / "no-such.git"))
    assert not (tmp_path / "site" / "federation").exists()


def test_init_into_a_remote_with_a_catalog_is_refused(tmp_path: Path, remote: Path) -> None:
    federation = Federation(Settings(data_dir=tmp_path / "site"))
    with pytest.raises(FederationError, match="already holds a catalog"):
        federation.init(str(remote))
    assert not (tmp_path / "site" / "federation").exists()


def test_clone_needs_a_url_and_an_empty_place(tmp_path: Path, site_a: Federation) -> None:
    with pytest.raises(InvalidInput, match="no federation remote"):
        Federation(Settings(data_dir=tmp_path / "other")).clone()
    with pytest.raises(FederationError, match="already exists"):
        site_a.clone()


def test_operations_without_a_clone_say_how_to_make_one(tmp_path: Path) -> None:
    federation = Federation(Settings(data_dir=tmp_path / "empty"))
    with pytest.raises(NotFound, match="federation clone") as caught:
        federation.pull()
    assert "federation init" in caught.value.one_line()


def test_pull_from_a_remote_that_vanished_changes_nothing(site_a: Federation, remote: Path) -> None:
    before = snapshot(site_a)
    shutil.rmtree(remote)
    with pytest.raises(GitCommandError):
        site_a.pull()
    assert snapshot(site_a) == before


def test_conflicting_pull_then_push_to_main_is_rejected_not_forced(
    site_a: Federation, site_b: Federation
) -> None:
    publish(site_a, PATROL, formula_text("mol-witness-patrol", 1, "Theirs."))
    write(site_b, PATROL, formula_text("mol-witness-patrol", 1, "Ours."))
    with pytest.raises(FederationError, match="pull first"):
        site_b.push(review=False)
    assert site_a.pull().status.value == "up_to_date"


def test_unknown_resolution_side_is_invalid(site_b: Federation) -> None:
    with pytest.raises(InvalidInput):
        site_b.resolve(PATROL, "mine")  # type: ignore[arg-type]


def _fake_git(tmp_path: Path, version: str) -> str:
    script = tmp_path / "fake-git"
    script.write_text(f"#!/bin/sh\necho 'git version {version}'\n")
    script.chmod(0o755)
    return str(script)


def test_old_git_is_refused_naming_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(GitUnavailable, match=r"2\.30\.1 is too old.*merge-tree --write-tree"):
        git_version(_fake_git(tmp_path, "2.30.1"))
    assert git_version(_fake_git(tmp_path / "..", "2.45.0")) >= (2, 38)


def test_missing_git_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GitUnavailable, match="not installed"):
        git_version(str(tmp_path / "no-git-here"))


def test_clone_into_a_relative_data_dir(  # type: ignore[no-untyped-def]
    tmp_path, remote, monkeypatch
) -> None:
    from doltplane import connect

    monkeypatch.chdir(tmp_path)
    with connect("relative-site") as dp:
        dp.federation.clone(str(remote))
        assert (tmp_path / "relative-site" / "federation" / ".git").is_dir()
        assert dp.federation.list("role")
