"""The scheduler's pull, status, and git never running code from the repository."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from doltplane.errors import FederationError, InvalidInput
from doltplane.federation import Federation, MergeStatus

from .conftest import formula_text, git, publish, role_text, write

PATROL = "formulas/mol-witness-patrol.formula.toml"


def test_pull_if_due_waits_for_the_interval(site_a: Federation, site_b: Federation) -> None:
    first = site_b.pull_if_due()
    assert first.ran and first.result is not None
    assert first.result.status is MergeStatus.UP_TO_DATE
    publish(site_a, "roles/witness.toml", role_text("witness"))
    assert not site_b.pull_if_due().ran
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    second = site_b.pull_if_due(now=later)
    assert second.ran and second.result is not None
    assert second.result.status is MergeStatus.FAST_FORWARD


def test_interval_zero_turns_scheduled_pulls_off(site_b: Federation) -> None:
    off = Federation(dataclasses.replace(site_b.settings, federation_pull_interval_seconds=0))
    result = off.pull_if_due()
    assert not result.ran and result.due_at == ""


def test_scheduled_pull_records_failures_and_never_resolves(
    site_a: Federation, site_b: Federation
) -> None:
    publish(site_a, PATROL, formula_text("mol-witness-patrol", 1, "Theirs."))
    write(site_b, PATROL, formula_text("mol-witness-patrol", 1, "Ours."))
    blocked = site_b.scheduled_pull()
    assert blocked.error is not None and "local uncommitted changes" in blocked.error
    last_pull = site_b.status().last_pull
    assert last_pull is not None and last_pull["status"] == "error"
    git(site_b, "commit", "-qam", "ours")
    conflicted = site_b.scheduled_pull()
    assert conflicted.result is not None and conflicted.result.conflicts == [PATROL]
    status = site_b.status()
    assert status.last_pull is not None and status.last_pull["conflicts"] == [PATROL]
    assert not status.merge_in_progress and status.local_changes == []


def test_status_reports_ahead_behind_and_local_changes(
    site_a: Federation, site_b: Federation
) -> None:
    publish(site_a, "roles/witness.toml", role_text("witness"))
    write(site_b, "roles/draft.toml", role_text("draft"))
    assert site_b.status().behind == 0  # not fetched yet
    status = site_b.status(fetch=True)
    assert (status.ahead, status.behind) == (0, 1)
    assert status.local_changes == ["roles/draft.toml"] and status.branch == "main"


def test_hooks_are_never_run(site_a: Federation, site_b: Federation, tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    for fed in (site_a, site_b):
        for hook in ("pre-commit", "post-commit", "pre-push", "post-merge", "post-checkout"):
            path = fed.repo.git_dir / "hooks" / hook
            path.write_text(f"#!/bin/sh\necho {hook} >> {marker}\n")
            path.chmod(0o755)
    write(site_a, "roles/witness.toml", role_text("witness"))
    site_a.push(review=False)
    site_b.pull()
    assert not marker.exists()


def test_pull_refuses_a_clone_on_another_branch(site_b: Federation) -> None:
    git(site_b, "checkout", "-qb", "experiment")
    with pytest.raises(FederationError, match="experiment"):
        site_b.pull()


def test_urls_that_look_like_options_are_refused(tmp_path: Path, site_a: Federation) -> None:
    other = Federation(dataclasses.replace(site_a.settings, data_dir=tmp_path / "other"))
    with pytest.raises(InvalidInput, match="not a repository URL"):
        other.clone("--upload-pack=touch /tmp/pwned")
    assert not (tmp_path / "other" / "federation").exists()
