"""pull: up to date, fast-forward, three-way merge, conflicts (nothing changed), resolution."""

from __future__ import annotations

import pytest

from doltplane.errors import InvalidDocument, LocalChanges, MergeConflict, NotFound
from doltplane.federation import Federation, Formula, MergeStatus, Role

from .conftest import formula_text, git, publish, role_text, snapshot, write

PATROL = "formulas/mol-witness-patrol.formula.toml"


def test_pull_when_nothing_changed_is_up_to_date(site_a: Federation) -> None:
    before = snapshot(site_a)
    result = site_a.pull()
    assert result.status is MergeStatus.UP_TO_DATE
    assert result.conflicts == [] and result.changed_files == []
    assert snapshot(site_a) == before


def test_pull_fast_forwards_to_the_other_sites_commit(
    site_a: Federation, site_b: Federation
) -> None:
    commit = publish(site_a, "roles/witness.toml", role_text("witness"))
    result = site_b.pull()
    assert result.status is MergeStatus.FAST_FORWARD
    assert result.after == commit
    assert result.changed_files == ["roles/witness.toml"]
    role = site_b.get("role", "witness")
    assert isinstance(role, Role) and role.data["custom_key"] == "kept"


def test_pull_merges_unrelated_changes_three_way(site_a: Federation, site_b: Federation) -> None:
    publish(site_a, "roles/witness.toml", role_text("witness"))
    write(site_b, "roles/refinery.toml", role_text("refinery"))
    git(site_b, "add", "-A")
    git(site_b, "commit", "-qm", "local role")
    result = site_b.pull()
    assert result.status is MergeStatus.MERGED
    parents = git(site_b, "log", "-1", "--format=%P").split()
    assert len(parents) == 2
    assert {r.name for r in site_b.list("role")} >= {"witness", "refinery", "polecat"}
    assert site_b.push(review=False).status.value == "pushed"
    assert site_a.pull().status is MergeStatus.FAST_FORWARD


def _conflict(site_a: Federation, site_b: Federation) -> None:
    publish(site_a, PATROL, formula_text("mol-witness-patrol", 1, "Theirs."), "theirs")
    write(site_b, PATROL, formula_text("mol-witness-patrol", 1, "Ours."))
    git(site_b, "commit", "-qam", "ours")


def test_conflict_is_detected_and_nothing_changes(site_a: Federation, site_b: Federation) -> None:
    _conflict(site_a, site_b)
    before = snapshot(site_b)
    result = site_b.pull()
    assert result.status is MergeStatus.CONFLICT
    assert result.conflicts == [PATROL]
    assert result.after == result.before
    assert snapshot(site_b) == before
    assert site_b.conflicts() == [PATROL]
    status = site_b.status()
    assert status.conflicts == [PATROL] and status.ahead == 1 and status.behind == 1
    assert status.last_pull is not None and status.last_pull["status"] == "conflict"


@pytest.mark.parametrize(("side", "expected"), [("ours", "Ours."), ("theirs", "Theirs.")])
def test_conflict_resolved_with_one_side(
    site_a: Federation, site_b: Federation, side: str, expected: str
) -> None:
    _conflict(site_a, site_b)
    assert site_b.pull().status is MergeStatus.CONFLICT
    done = site_b.resolve(PATROL, side)  # type: ignore[arg-type]
    assert done.remaining == [] and done.merge_commit is not None
    formula = site_b.get("formula", "mol-witness-patrol")
    assert isinstance(formula, Formula) and formula.description == expected
    assert site_b.conflicts() == [] and site_b.repo.changed_paths() == []
    # both sides' commits are kept: the merge has the other site's commit as a parent
    assert site_b.pull().status is MergeStatus.UP_TO_DATE
    site_b.push(review=False)
    assert site_a.pull().status is MergeStatus.FAST_FORWARD


def test_conflict_resolved_by_editing(site_a: Federation, site_b: Federation) -> None:
    _conflict(site_a, site_b)
    site_b.pull()
    assert site_b.begin_resolve() == [PATROL]
    text = (site_b.repo.path / PATROL).read_text()
    assert "<<<<<<<" in text
    with pytest.raises(InvalidDocument, match="conflict marker"):
        site_b.mark_resolved(PATROL)
    write(site_b, PATROL, formula_text("mol-witness-patrol", 1, "Both, merged by hand."))
    done = site_b.mark_resolved(PATROL)
    assert done.merge_commit is not None and done.resolution == "edited"
    formula = site_b.get("formula", "mol-witness-patrol")
    assert isinstance(formula, Formula) and formula.description == "Both, merged by hand."


def test_abort_resolve_returns_to_before(site_a: Federation, site_b: Federation) -> None:
    _conflict(site_a, site_b)
    site_b.pull()
    before = snapshot(site_b)
    site_b.begin_resolve()
    with pytest.raises(MergeConflict):
        site_b.pull()
    site_b.abort_resolve()
    assert snapshot(site_b) == before


def test_resolve_of_a_path_without_conflict_is_not_found(site_b: Federation) -> None:
    with pytest.raises(NotFound):
        site_b.resolve("roles/polecat.toml", "ours")


def test_local_edits_are_never_overwritten(site_a: Federation, site_b: Federation) -> None:
    publish(site_a, "roles/polecat.toml", role_text("polecat", mode="remote"))
    write(site_b, "roles/polecat.toml", role_text("polecat", mode="local edit"))
    before = snapshot(site_b)
    with pytest.raises(LocalChanges, match=r"roles/polecat.toml"):
        site_b.pull()
    assert snapshot(site_b) == before


def test_untracked_file_the_pull_would_write_is_protected(
    site_a: Federation, site_b: Federation
) -> None:
    publish(site_a, "roles/witness.toml", role_text("witness"))
    write(site_b, "roles/witness.toml", role_text("witness", mode="mine"))
    with pytest.raises(LocalChanges):
        site_b.pull()
    assert 'MODE = "mine"' in (site_b.repo.path / "roles/witness.toml").read_text()


def test_unrelated_untracked_files_do_not_block_a_pull(
    site_a: Federation, site_b: Federation
) -> None:
    publish(site_a, "roles/witness.toml", role_text("witness"))
    write(site_b, "roles/draft.toml", role_text("draft"))
    assert site_b.pull().status is MergeStatus.FAST_FORWARD
    assert (site_b.repo.path / "roles/draft.toml").exists()
