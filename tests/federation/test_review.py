"""push --review, review list/show/approve/merge, plain push to main, rejected pushes."""

from __future__ import annotations

import pytest

from doltplane.errors import CatalogInvalid, InvalidBranchName, PushRejected, ReviewError
from doltplane.federation import Federation, Formula, MergeStatus, PushStatus

from .conftest import formula_text, git, publish, role_text, snapshot, write

NEW = "formulas/mol-deacon-sweep.formula.toml"


def test_review_flow_end_to_end(site_a: Federation, site_b: Federation) -> None:
    write(site_a, NEW, formula_text("mol-deacon-sweep", 2))
    pushed = site_a.push(topic="deacon-sweep", message="Add the deacon sweep")
    assert pushed.status is PushStatus.PUSHED and pushed.committed
    assert pushed.branch == "review/site-a/deacon-sweep"
    assert git(site_a, "ls-remote", "origin", "refs/heads/main").split()[0] != pushed.commit

    [listed] = site_b.reviews()
    assert listed.name == "site-a/deacon-sweep" and not listed.approved
    assert listed.subject == "Add the deacon sweep" and listed.merges_cleanly
    detail = site_b.review("site-a/deacon-sweep")
    assert detail.files == [{"status": "A", "path": NEW}]
    assert "mol-deacon-sweep" in detail.diff

    approved = site_b.approve("site-a/deacon-sweep", "reviewer@site-b")
    assert approved.approved and approved.approved_by == "reviewer@site-b"
    assert site_a.reviews()[0].approved  # other sites see it through the remote

    merged = site_b.merge_review("review/site-a/deacon-sweep")
    assert merged.status is MergeStatus.FAST_FORWARD
    assert site_b.reviews() == []  # the review branch is gone once merged

    assert site_b.pull().status is MergeStatus.FAST_FORWARD
    formula = site_b.get("formula", "mol-deacon-sweep", version=2)
    assert isinstance(formula, Formula) and [s.id for s in formula.steps] == ["first", "second"]
    assert site_a.pull().status is MergeStatus.FAST_FORWARD  # the author's commit is in main
    assert site_a.status().ahead == 0


def test_review_merged_with_a_merge_commit_when_main_moved(
    site_a: Federation, site_b: Federation
) -> None:
    write(site_a, NEW, formula_text("mol-deacon-sweep"))
    site_a.push(topic="sweep")
    publish(site_b, "roles/witness.toml", role_text("witness"))
    site_b.approve("site-a/sweep")
    merged = site_b.merge_review("site-a/sweep")
    assert merged.status is MergeStatus.MERGED
    site_b.pull()
    assert {"witness", "polecat"} <= {r.name for r in site_b.list("role")}
    assert site_b.get("formula", "mol-deacon-sweep").path == NEW


def test_merge_without_approval_is_refused(site_a: Federation, site_b: Federation) -> None:
    write(site_a, NEW, formula_text("mol-deacon-sweep"))
    site_a.push(topic="sweep")
    main_before = git(site_b, "ls-remote", "origin", "refs/heads/main")
    with pytest.raises(ReviewError, match="not approved"):
        site_b.merge_review("site-a/sweep")
    assert git(site_b, "ls-remote", "origin", "refs/heads/main") == main_before


def test_a_newer_push_needs_a_new_approval(site_a: Federation, site_b: Federation) -> None:
    write(site_a, NEW, formula_text("mol-deacon-sweep"))
    site_a.push(topic="sweep")
    site_b.approve("site-a/sweep")
    site_a.repo.fetch()
    git(site_a, "merge", "-q", "--ff-only", "origin/review/site-a/sweep")
    write(site_a, NEW, formula_text("mol-deacon-sweep", description="Changed after approval."))
    site_a.push(topic="sweep")
    assert not site_b.reviews()[0].approved
    with pytest.raises(ReviewError, match="not approved"):
        site_b.merge_review("site-a/sweep")


def test_merge_refused_when_review_no_longer_merges_cleanly(
    site_a: Federation, site_b: Federation
) -> None:
    patrol = "formulas/mol-witness-patrol.formula.toml"
    write(site_a, patrol, formula_text("mol-witness-patrol", 1, "From the review."))
    site_a.push(topic="patrol")
    site_b.approve("site-a/patrol")
    publish(site_b, patrol, formula_text("mol-witness-patrol", 1, "Changed on main meanwhile."))
    [listed] = site_b.reviews()
    assert not listed.merges_cleanly and listed.conflicts == [patrol]
    with pytest.raises(ReviewError, match="no longer merges cleanly"):
        site_b.merge_review("site-a/patrol")


def test_push_of_an_invalid_file_is_refused_and_nothing_is_committed(
    site_a: Federation,
) -> None:
    write(site_a, "roles/broken.toml", 'role = "broken"\nscope = "galaxy"\n')
    write(site_a, NEW, formula_text("mol-deacon-sweep", version='"two"'))
    before = snapshot(site_a)
    with pytest.raises(CatalogInvalid) as caught:
        site_a.push(topic="bad")
    problems = caught.value.problems
    assert any(p.startswith("roles/broken.toml:2: scope") for p in problems)
    assert any(p.startswith(f"{NEW}:2: version must be") for p in problems)
    assert snapshot(site_a) == before
    assert site_a.reviews() == []


def test_plain_push_to_main_needs_review_false(site_a: Federation, site_b: Federation) -> None:
    write(site_a, "roles/witness.toml", role_text("witness"))
    result = site_a.push(review=False)
    assert result.branch == "main" and result.status is PushStatus.PUSHED
    assert site_b.pull().status is MergeStatus.FAST_FORWARD


def test_non_fast_forward_push_is_rejected_with_pull_first(
    site_a: Federation, site_b: Federation
) -> None:
    publish(site_a, "roles/witness.toml", role_text("witness"))
    write(site_b, "roles/refinery.toml", role_text("refinery"))
    with pytest.raises(PushRejected, match="pull") as caught:
        site_b.push(review=False)
    assert "federation pull" in caught.value.one_line()
    assert site_b.pull().status is MergeStatus.MERGED
    assert site_b.push(review=False).status is PushStatus.PUSHED


def test_review_push_with_nothing_new_is_refused(site_a: Federation) -> None:
    with pytest.raises(ReviewError, match="nothing to review"):
        site_a.push(topic="empty")


@pytest.mark.parametrize("topic", ["../main", "a b", "x..y", "-rf", "topic.lock", ""])
def test_bad_topic_is_refused_before_anything_is_committed(site_a: Federation, topic: str) -> None:
    write(site_a, "roles/witness.toml", role_text("witness"))
    before = snapshot(site_a)
    with pytest.raises(InvalidBranchName):
        site_a.push(topic=topic)
    assert snapshot(site_a) == before
