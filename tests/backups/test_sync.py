"""Two sites share one ledger through a remote: pull merges (conflicts as data), push
refuses anything but a fast-forward."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from doltplane import DataPlane, MergeStatus, backups, connect
from doltplane.errors import RemoteError, RemoteRejected
from doltplane.store.remote_server import RemoteServer

from .conftest import Site


def _two_sites(site: Site, tmp_path: Path, url: str) -> tuple[DataPlane, DataPlane, str]:
    """Site a publishes its ledger at ``url``; site b starts as a restore of it."""
    a = site("a")
    shared = a.ledger.create_issue("shared", owner="mayor")
    backups.add_remote(a, "hub", url)
    backups.push_ledger(a, "hub")
    backups.restore(url, tmp_path / "b", remote="hub")
    return a, site("b"), shared.id


@pytest.mark.parametrize("strategy", ["ours", "theirs", "rows"])
def test_pull_with_a_conflict_resolved_either_way(
    site: Site, tmp_path: Path, strategy: str
) -> None:
    a, b, shared = _two_sites(site, tmp_path, f"file://{tmp_path}/hub")
    b.ledger.update_issue(shared, status="closed", owner="bob")
    only_b = b.ledger.create_issue("only at b").id
    assert backups.push_ledger(b, "hub").status == "pushed"
    a.ledger.update_issue(shared, status="blocked", owner="alice")
    only_a = a.ledger.create_issue("only at a").id
    main_before = a.engine("ledger").resolve_revision("main")

    result = backups.pull(a, "hub")
    assert result.status is MergeStatus.CONFLICT and result.source == "hub/main"
    [row] = result.conflicts
    assert row.key == {"id": shared}
    assert row.ours is not None and row.ours["owner"] == "alice"  # ours: this site
    assert row.theirs is not None and row.theirs["owner"] == "bob"  # theirs: the remote
    assert a.engine("ledger").resolve_revision("main") == main_before  # nothing changed
    assert not a.engine("ledger").is_dirty()

    resolution: Any = strategy
    if strategy == "rows":  # final rows, as for an agent merge
        resolution = {"issues": [{**row.theirs, "owner": "carol"}]}
    resolved = backups.resolve_pull(a, "hub", resolution)
    assert resolved.status is MergeStatus.MERGED
    rows = a.ledger.get_issues([shared, only_a, only_b])
    assert set(rows) == {shared, only_a, only_b}  # every non-conflicting row of both sides
    expected = {"ours": "alice", "theirs": "bob", "rows": "carol"}[strategy]
    assert rows[shared].owner == expected

    assert backups.push_ledger(a, "hub").status == "pushed"
    synced = backups.pull(b, "hub")
    assert synced.status is MergeStatus.FAST_FORWARD
    assert b.ledger.get_issues([shared])[shared].owner == rows[shared].owner
    assert backups.push_ledger(b, "hub").status == "up_to_date"


def test_push_that_is_not_a_fast_forward_is_refused_with_a_hint(site: Site, tmp_path: Path) -> None:
    a, b, _ = _two_sites(site, tmp_path, f"file://{tmp_path}/hub")
    b.ledger.create_issue("b first")
    backups.push_ledger(b, "hub")
    a.ledger.create_issue("a meanwhile")
    with pytest.raises(RemoteRejected) as refused:
        backups.push_ledger(a, "hub")
    assert "remote pull hub" in refused.value.one_line()
    assert refused.value.exit_code == 11
    heads = a.engine("ledger").remote_heads(f"file://{tmp_path}/hub/ledger.db")
    assert heads is not None
    assert heads.branches["main"] == b.engine("ledger").resolve_revision("main")

    assert backups.pull(a, "hub").status is MergeStatus.MERGED  # no conflict: merged
    assert backups.push_ledger(a, "hub").status == "pushed"


def test_sync_through_a_served_site_over_http(site: Site, tmp_path: Path) -> None:
    a = site("a")
    shared = a.ledger.create_issue("shared").id
    with backups.serve(a, 0) as server:
        backups.restore(server.url, tmp_path / "b", remote="a")
        b = site("b")
        b.ledger.update_issue(shared, status="closed")
        assert backups.push_ledger(b, "a").status == "pushed"  # into a's live ledger
        assert a.ledger.get_issues([shared])[shared].status == "closed"
        a.ledger.create_issue("new at a")
        assert backups.pull(b, "a").status is MergeStatus.FAST_FORWARD
        assert len(b.ledger.issues()) == 2


def test_pull_refuses_a_ledger_with_no_shared_history(site: Site, tmp_path: Path) -> None:
    a = site("a")
    # created in another second: databases made in the same second by the same steps
    # share identical (content-addressed) first commits, which is shared history
    time.sleep(1.1)
    stranger = site("stranger")
    a.ledger.create_issue("a")
    backups.add_remote(a, "hub", f"file://{tmp_path}/hub")
    backups.push_ledger(a, "hub")
    backups.add_remote(stranger, "hub", f"file://{tmp_path}/hub")
    before = stranger.engine("ledger").resolve_revision("main")
    with pytest.raises(RemoteError, match="shares no history"):
        backups.pull(stranger, "hub")
    assert stranger.engine("ledger").resolve_revision("main") == before


def test_resolve_without_a_pull_is_not_found(site: Site, tmp_path: Path) -> None:
    a = site("a")
    backups.add_remote(a, "hub", f"file://{tmp_path}/hub")
    with pytest.raises(LookupError, match="fetched ledger"):
        backups.resolve_pull(a, "hub", "ours")


def test_pull_from_a_remote_that_holds_nothing_is_a_typed_error(site: Site, tmp_path: Path) -> None:
    a = site("a")
    (tmp_path / "empty").mkdir()
    with RemoteServer(tmp_path / "empty") as server:
        backups.add_remote(a, "hub", server.url)
        with pytest.raises(RemoteError):
            backups.pull(a, "hub")
    with connect(tmp_path / "a") as again:
        assert again.ledger.log()
